/*
 * rules.c - the user's rules and minimum levels (see rules.h).
 *
 * Everything that can be decided when the configuration is read is decided
 * then: field names become field_refs, regexes are compiled and JIT-ed,
 * level comparisons and pids become numbers, route names are split into
 * text and placeholders. Running a rule is then comparisons on the draft's
 * borrowed strings; the only writes are into the draft's arena and the set's
 * one substitution buffer, so no record costs a malloc unless it meets a new
 * service in a rate limit.
 *
 * Regexes are compiled as UTF-8 that tolerates invalid bytes
 * (PCRE2_MATCH_INVALID_UTF): a match never splits a character, so a
 * redaction of a metadata string (always valid UTF-8 in jansson) stays valid.
 */
#include "rules.h"

#include <ctype.h>
#include <math.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "bytebuf.h"
#include "utf8.h"

#define MAX_SERVICES_PER_LIMIT 1024
#define ROUTE_TEMPLATE_MAX 100
#define ROUTE_NAME_MAX 240
#define ROUTE_VALUE_MAX 64

#define PUSH(array, count, cap)                                                              \
    (((count) == (cap) ? ((cap) = (cap) ? 2 * (cap) : 4,                                      \
                          (array) = must_realloc((array), (cap) * sizeof *(array)))          \
                       : 0),                                                                 \
     memset(&(array)[(count)], 0, sizeof *(array)), &(array)[(count)++])

enum value_kind { VALUE_EXACT, VALUE_REGEX, VALUE_LEVEL, VALUE_NUMBER };
enum level_op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };

struct value {
    enum value_kind kind;
    char *text;
    size_t len;
    pcre2_code *re;
    enum level_op op;
    int level;
    uint32_t number;
};

struct condition {
    struct field_ref field;
    bool presence, present;
    struct value *values;
    size_t count, cap;
};

struct assignment {
    struct field_ref field;
    char *value;
};

struct redaction {
    pcre2_code *re;
    pcre2_match_data *match;
    char *replacement;
};

struct segment {
    char *text; /* NULL: a placeholder */
    size_t len;
    struct field_ref field;
};

struct route {
    struct segment *segments;
    size_t count, cap, static_len, placeholders;
};

struct bucket {
    char *service; /* NULL: an empty slot */
    double tokens;
    uint64_t refilled_ns, dropped, report_at;
};

struct limiter {
    double per_second, burst;
    struct bucket *slots, overflow; /* overflow: services past MAX_SERVICES_PER_LIMIT */
    size_t cap, used;
    bool overflow_started;
    uint64_t swept_ns;
};

struct rule {
    struct condition *conditions;
    size_t condition_count, condition_cap;
    struct assignment *sets;
    size_t set_count, set_cap;
    struct redaction *redactions;
    size_t redaction_count, redaction_cap;
    struct route *routes;
    size_t route_count, route_cap;
    struct limiter *limit;
    bool drop, keep, finished;
};

struct level_entry {
    char *name;
    size_t len;
    enum ulog_level level;
};

struct carried_report {
    size_t rule_index;
    char *service;
    uint64_t dropped, report_at;
    double per_second;
};

struct rule_set {
    struct rule **rules;
    size_t count, cap;
    pcre2_match_data *match; /* conditions only ask "does it match?" */
    struct bytebuf substituted;
    struct level_entry *levels[2]; /* [0] services, [1] components */
    size_t level_count[2], level_cap[2];
    struct carried_report *carried;
    size_t carried_count, carried_cap;
    uint64_t next_report;
};

static const char *const overflow_service = "(other services)";

struct rule_set *rule_set_new(void)
{
    struct rule_set *set = must_calloc(1, sizeof *set);
    set->match = pcre2_match_data_create(1, NULL);
    if (!set->match)
        abort();
    set->next_report = UINT64_MAX;
    return set;
}

static void condition_free(struct condition *c)
{
    for (size_t j = 0; j < c->count; j++) {
        free(c->values[j].text);
        pcre2_code_free(c->values[j].re);
    }
    free(c->values);
    field_ref_free(&c->field);
}

static void route_free(struct route *rt)
{
    for (size_t j = 0; j < rt->count; j++) {
        free(rt->segments[j].text);
        field_ref_free(&rt->segments[j].field);
    }
    free(rt->segments);
}

static void rule_free(struct rule *r)
{
    for (size_t i = 0; i < r->condition_count; i++)
        condition_free(&r->conditions[i]);
    for (size_t i = 0; i < r->set_count; i++) {
        field_ref_free(&r->sets[i].field);
        free(r->sets[i].value);
    }
    for (size_t i = 0; i < r->redaction_count; i++) {
        pcre2_code_free(r->redactions[i].re);
        pcre2_match_data_free(r->redactions[i].match);
        free(r->redactions[i].replacement);
    }
    for (size_t i = 0; i < r->route_count; i++)
        route_free(&r->routes[i]);
    if (r->limit) {
        for (size_t i = 0; i < r->limit->cap; i++)
            free(r->limit->slots[i].service);
        free(r->limit->slots);
        free(r->limit);
    }
    free(r->conditions);
    free(r->sets);
    free(r->redactions);
    free(r->routes);
    free(r);
}

void rule_set_free(struct rule_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->count; i++)
        rule_free(set->rules[i]);
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < set->level_count[k]; i++)
            free(set->levels[k][i].name);
        free(set->levels[k]);
    }
    for (size_t i = 0; i < set->carried_count; i++)
        free(set->carried[i].service);
    free(set->carried);
    free(set->rules);
    pcre2_match_data_free(set->match);
    bytebuf_free(&set->substituted);
    free(set);
}

size_t rule_set_count(const struct rule_set *set)
{
    return set->count;
}

struct rule *rule_set_append(struct rule_set *set)
{
    struct rule **slot = PUSH(set->rules, set->count, set->cap);
    *slot = must_calloc(1, sizeof **slot);
    return *slot;
}

static pcre2_code *compile(const char *regex, char *err, size_t err_size)
{
    int code;
    PCRE2_SIZE offset;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)regex, PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &code, &offset, NULL);
    if (!re) {
        PCRE2_UCHAR message[256];
        pcre2_get_error_message(code, message, sizeof message);
        snprintf(err, err_size, "%s at offset %zu in regex \"%s\"", (char *)message,
                 (size_t)offset, regex);
        return NULL;
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* without JIT it still matches, slower */
    return re;
}

/* ">=WARNING" and friends; 0, or -1 when `text` is no level. */
static int parse_level_value(struct value *v, const char *text)
{
    static const struct {
        const char *text;
        enum level_op op;
    } ops[] = {{">=", OP_GE}, {"<=", OP_LE}, {"!=", OP_NE}, {"==", OP_EQ},
               {">", OP_GT},  {"<", OP_LT},  {"=", OP_EQ}};
    v->kind = VALUE_LEVEL;
    v->op = OP_EQ;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        size_t n = strlen(ops[i].text);
        if (strncmp(text, ops[i].text, n) == 0) {
            v->op = ops[i].op;
            text += n;
            break;
        }
    }
    while (*text == ' ')
        text++;
    v->level = ulog_level_parse(text);
    return v->level < 0 ? -1 : 0;
}

static int parse_value(struct value *v, enum field_id id, const char *text, char *err,
                       size_t err_size)
{
    if (text[0] == '~') {
        v->kind = VALUE_REGEX;
        v->re = compile(text + 1, err, err_size);
        return v->re ? 0 : -1;
    }
    if (id == FIELD_LEVEL) {
        if (parse_level_value(v, text) == 0)
            return 0;
        snprintf(err, err_size,
                 "\"%s\" is not a level (DEBUG, INFO, WARNING, ERROR, CRITICAL, optionally "
                 "after >=, >, <=, <, != or =)",
                 text);
        return -1;
    }
    if (id == FIELD_PID || id == FIELD_TID) {
        char *end;
        unsigned long long n = strtoull(text, &end, 10);
        if (!isdigit((unsigned char)text[0]) || *end || n == 0 || n > UINT32_MAX) {
            snprintf(err, err_size, "\"%s\" is not a process or thread id", text);
            return -1;
        }
        v->kind = VALUE_NUMBER;
        v->number = (uint32_t)n;
        return 0;
    }
    v->kind = VALUE_EXACT;
    v->len = strlen(text);
    v->text = must_strdup(text);
    return 0;
}

static struct condition *add_condition(struct rule *r, const char *field, char *err,
                                       size_t err_size)
{
    struct field_ref ref;
    if (field_ref_parse(&ref, field, err, err_size) != 0)
        return NULL;
    struct condition *c = PUSH(r->conditions, r->condition_count, r->condition_cap);
    c->field = ref;
    return c;
}

int rule_match_values(struct rule *rule, const char *field, const char *const *values,
                      size_t count, char *err, size_t err_size)
{
    if (count == 0) {
        snprintf(err, err_size, "no value to match for field \"%s\"", field);
        return -1;
    }
    struct condition *c = add_condition(rule, field, err, err_size);
    if (!c)
        return -1;
    for (size_t i = 0; i < count; i++) {
        struct value *v = PUSH(c->values, c->count, c->cap);
        if (parse_value(v, c->field.id, values[i], err, err_size) != 0) {
            condition_free(c);
            rule->condition_count--;
            return -1;
        }
    }
    return 0;
}

int rule_match_presence(struct rule *rule, const char *field, bool present, char *err,
                        size_t err_size)
{
    struct condition *c = add_condition(rule, field, err, err_size);
    if (!c)
        return -1;
    c->presence = true;
    c->present = present;
    return 0;
}

int rule_action_drop(struct rule *rule, char *err, size_t err_size)
{
    (void)err, (void)err_size;
    rule->drop = true;
    return 0;
}

int rule_action_keep(struct rule *rule, char *err, size_t err_size)
{
    (void)err, (void)err_size;
    rule->keep = true;
    return 0;
}

int rule_action_set(struct rule *rule, const char *field, const char *value, char *err,
                    size_t err_size)
{
    struct field_ref ref;
    if (field_ref_parse(&ref, field, err, err_size) != 0)
        return -1;
    const char *refusal = NULL;
    if (ref.id == FIELD_PID || ref.id == FIELD_TID)
        refusal = "process and thread ids cannot be set";
    else if (ref.id == FIELD_CONTEXT)
        refusal = "context cannot be set (it is shared by every record of a process)";
    else if (ref.id == FIELD_METADATA && !ref.path)
        refusal = "set a key of metadata (metadata.KEY), not the whole object";
    else if (ref.id == FIELD_LEVEL && ulog_level_parse(value) < 0)
        refusal = "not a level (DEBUG, INFO, WARNING, ERROR, CRITICAL)";
    if (refusal) {
        snprintf(err, err_size, "cannot set %s to \"%s\": %s", field, value, refusal);
        field_ref_free(&ref);
        return -1;
    }
    struct assignment *a = PUSH(rule->sets, rule->set_count, rule->set_cap);
    a->field = ref;
    a->value = must_strdup(value);
    return 0;
}

/* pcre2_substitute checks the replacement only when a match happens; check it now. */
static int check_replacement(const pcre2_code *re, const char *text, char *err, size_t err_size)
{
    uint32_t groups = 0;
    pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &groups);
    const unsigned char *p = (const unsigned char *)text;
    for (size_t n, left = strlen(text); left; p += n, left -= n)
        if ((n = utf8_sequence_length(p, left)) == 0) {
            snprintf(err, err_size, "replacement \"%s\" is not valid UTF-8", text);
            return -1;
        }
    for (const char *s = text; (s = strchr(s, '$'));) {
        s++;
        bool brace = *s == '{';
        s += brace;
        const char *start = s;
        if (isdigit((unsigned char)*s))
            s += strspn(s, "0123456789");
        else
            while (isalnum((unsigned char)*s) || *s == '_' || (*s == '*' && s == start))
                s++;
        if (*s == '$' && s == start && !brace) {
            s++;
            continue;
        }
        char name[64];
        size_t len = (size_t)(s - start);
        bool ok = len > 0 && len < sizeof name && (!brace || *s++ == '}');
        if (ok && *start != '*') {
            memcpy(name, start, len);
            name[len] = '\0';
            if (isdigit((unsigned char)name[0]))
                ok = strtoul(name, NULL, 10) <= groups;
            else
                ok = pcre2_substring_number_from_name(re, (PCRE2_SPTR)name) >= 0;
        }
        if (!ok) {
            snprintf(err, err_size,
                     "replacement \"%s\": a '$' must be followed by $, a group number or name "
                     "of the regex, or {...}",
                     text);
            return -1;
        }
    }
    return 0;
}

int rule_action_redact(struct rule *rule, const char *regex, const char *replacement,
                       char *err, size_t err_size)
{
    if (!replacement)
        replacement = "[REDACTED]";
    pcre2_code *re = compile(regex, err, err_size);
    if (!re)
        return -1;
    if (check_replacement(re, replacement, err, err_size) != 0) {
        pcre2_code_free(re);
        return -1;
    }
    struct redaction *r = PUSH(rule->redactions, rule->redaction_count, rule->redaction_cap);
    r->re = re;
    r->match = pcre2_match_data_create_from_pattern(re, NULL);
    if (!r->match)
        abort();
    r->replacement = must_strdup(replacement);
    return 0;
}

/* ASCII only, whatever the locale: these bytes become file names. */
static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}

static bool route_char(char c)
{
    return name_char(c) || c == '.';
}

static void add_text(struct route *rt, const char *text, size_t len)
{
    struct segment *s = PUSH(rt->segments, rt->count, rt->cap);
    s->text = must_strndup(text, len);
    s->len = len;
    rt->static_len += len;
}

static int parse_route(struct route *rt, const char *t, char *err, size_t err_size)
{
    size_t len = strlen(t);
    const char *why = NULL;
    if (len == 0 || len > ROUTE_TEMPLATE_MAX)
        why = "a route name has 1 to 100 bytes";
    else if (t[0] == '.')
        why = "a route name cannot start with '.'";
    else if (strstr(t, ".."))
        why = "a route name cannot contain \"..\"";
    bool has_dot = false;
    for (const char *p = t; !why && *p;) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            if (!close || close == p + 1) {
                why = close ? "empty {} in route name" : "unclosed { in route name";
                break;
            }
            char name[ROUTE_TEMPLATE_MAX + 1];
            memcpy(name, p + 1, (size_t)(close - p - 1));
            name[close - p - 1] = '\0';
            struct segment *s = PUSH(rt->segments, rt->count, rt->cap);
            char why_field[256];
            if (field_ref_parse(&s->field, name, why_field, sizeof why_field) != 0) {
                snprintf(err, err_size, "route \"%s\" refused: %s", t, why_field);
                return -1;
            }
            rt->placeholders++;
            p = close + 1;
            continue;
        }
        size_t n = 0;
        while (p[n] && p[n] != '{' && route_char(p[n]))
            n++;
        if (n == 0) {
            why = "a route name has only letters, digits, '.', '_', '-' and {field}";
            break;
        }
        has_dot |= memchr(p, '.', n) != NULL;
        add_text(rt, p, n);
        p += n;
    }
    if (!why && !has_dot)
        add_text(rt, ".log", 4);
    char whole[ROUTE_TEMPLATE_MAX + 5] = "";
    for (size_t i = 0; !why && rt->placeholders == 0 && i < rt->count; i++)
        strcat(whole, rt->segments[i].text);
    if (!why && (!strcmp(whole, "all.log") || !strcmp(whole, "errors.log")))
        why = "all.log and errors.log are always written";
    if (why) {
        snprintf(err, err_size, "route \"%s\" refused: %s", t, why);
        return -1;
    }
    return 0;
}

int rule_action_route(struct rule *rule, const char *name_template, char *err, size_t err_size)
{
    struct route *rt = PUSH(rule->routes, rule->route_count, rule->route_cap);
    if (parse_route(rt, name_template, err, err_size) == 0)
        return 0;
    route_free(rt);
    rule->route_count--;
    return -1;
}

static void render_route(const struct route *rt, struct draft *d)
{
    char name[ROUTE_NAME_MAX + 1], scratch[64];
    /* Every placeholder gets at least one byte: no empty part can make a ".." */
    size_t len = 0, budget = ROUTE_NAME_MAX - rt->static_len, later = rt->placeholders;
    for (size_t i = 0; i < rt->count; i++) {
        const struct segment *s = &rt->segments[i];
        if (s->text) {
            memcpy(name + len, s->text, s->len);
            len += s->len;
            continue;
        }
        size_t n;
        const char *v = draft_get(d, &s->field, &n, scratch);
        if (!v || n == 0)
            v = "unknown", n = 7;
        later--;
        n = n < ROUTE_VALUE_MAX ? n : ROUTE_VALUE_MAX;
        n = n < budget - later ? n : budget - later;
        budget -= n;
        for (size_t j = 0; j < n; j++)
            name[len++] = name_char(v[j]) ? v[j] : '_';
    }
    name[len] = '\0';
    if (strcmp(name, "all.log") != 0 && strcmp(name, "errors.log") != 0)
        draft_add_route(d, name);
}

int rule_action_rate_limit(struct rule *rule, double per_second, double burst, char *err,
                           size_t err_size)
{
    if (rule->limit) {
        snprintf(err, err_size, "only one rate_limit per rule");
        return -1;
    }
    if (!(per_second > 0) || !isfinite(per_second) || !(burst >= 0) || !isfinite(burst)) {
        snprintf(err, err_size, "rate_limit needs a positive rate and a burst >= 0");
        return -1;
    }
    rule->limit = must_calloc(1, sizeof *rule->limit);
    rule->limit->per_second = per_second;
    burst = burst > 0 ? burst : per_second;
    rule->limit->burst = burst >= 1 ? burst : 1;
    return 0;
}

int rule_finish(struct rule *rule, char *err, size_t err_size)
{
    size_t others = rule->set_count + rule->redaction_count + rule->route_count +
                    (rule->limit != NULL) + rule->keep;
    if (!rule->drop && others == 0) {
        snprintf(err, err_size,
                 "a rule needs an action (drop, keep, set, redact, route or rate_limit)");
        return -1;
    }
    if (rule->drop && others > 0) {
        snprintf(err, err_size, "drop cannot be combined with other actions");
        return -1;
    }
    rule->finished = true;
    return 0;
}

/* --- minimum levels ------------------------------------------------------------------- */

int rule_set_min_level(struct rule_set *set, bool component, const char *name,
                       enum ulog_level level)
{
    int k = component;
    size_t len = name ? strlen(name) : 0;
    if (len == 0)
        return -1;
    for (size_t i = 0; i < set->level_count[k]; i++)
        if (set->levels[k][i].len == len && memcmp(set->levels[k][i].name, name, len) == 0) {
            set->levels[k][i].level = level;
            return 0;
        }
    struct level_entry *e = PUSH(set->levels[k], set->level_count[k], set->level_cap[k]);
    e->name = must_strdup(name);
    e->len = len;
    e->level = level;
    return 0;
}

static int find_level(const struct rule_set *set, int k, const char *name, size_t len)
{
    for (size_t i = 0; i < set->level_count[k]; i++)
        if (set->levels[k][i].len == len && memcmp(set->levels[k][i].name, name, len) == 0)
            return (int)set->levels[k][i].level;
    return -1;
}

int rule_set_min_level_for(const struct rule_set *set, const struct draft *d)
{
    const char *component = d->rec.component;
    if (set->level_count[1] && component && *component) {
        for (size_t len = strlen(component); len > 0;) {
            int level = find_level(set, 1, component, len);
            if (level >= 0)
                return level;
            while (len > 0 && component[--len] != '.')
                ;
        }
    }
    const char *service = d->rec.service;
    if (set->level_count[0] && service && *service)
        return find_level(set, 0, service, strlen(service));
    return -1;
}

/* --- rate limits: a token bucket per service, in a small open-addressing map ----------- */

static size_t hash_name(const char *s)
{
    size_t h = 14695981039346656037ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void refill(const struct limiter *l, struct bucket *b, uint64_t now_ns)
{
    if (now_ns > b->refilled_ns) {
        b->tokens += (double)(now_ns - b->refilled_ns) / 1e9 * l->per_second;
        if (b->tokens > l->burst)
            b->tokens = l->burst;
        b->refilled_ns = now_ns;
    }
}

static struct bucket *probe(struct limiter *l, const char *service)
{
    for (size_t i = hash_name(service) & (l->cap - 1);; i = (i + 1) & (l->cap - 1))
        if (!l->slots[i].service || strcmp(l->slots[i].service, service) == 0)
            return &l->slots[i];
}

/* Rebuild the map at `cap` slots; buckets that are full and owe no report are forgotten
 * when `forget_idle` (a full bucket behaves exactly like a new one). */
static void rehash(struct limiter *l, size_t cap, bool forget_idle, uint64_t now_ns)
{
    struct bucket *old = l->slots;
    size_t old_cap = l->cap;
    l->slots = must_calloc(cap, sizeof *l->slots);
    l->cap = cap;
    l->used = 0;
    for (size_t i = 0; i < old_cap; i++) {
        struct bucket *b = &old[i];
        if (!b->service)
            continue;
        if (forget_idle && b->dropped == 0) {
            refill(l, b, now_ns);
            if (b->tokens >= l->burst) {
                free(b->service);
                continue;
            }
        }
        *probe(l, b->service) = *b;
        l->used++;
    }
    free(old);
}

static struct bucket *bucket_for(struct limiter *l, const char *service, uint64_t now_ns)
{
    if (!service)
        service = "";
    if (l->cap == 0)
        rehash(l, 16, false, now_ns);
    struct bucket *b = probe(l, service);
    if (b->service)
        return b;
    if (l->used >= MAX_SERVICES_PER_LIMIT) {
        if (now_ns - l->swept_ns >= 1000000000u) { /* at most once a second: it is O(n) */
            l->swept_ns = now_ns;
            rehash(l, l->cap, true, now_ns);
        }
        if (l->used >= MAX_SERVICES_PER_LIMIT) {
            if (!l->overflow_started) {
                l->overflow_started = true;
                l->overflow.tokens = l->burst;
                l->overflow.refilled_ns = now_ns;
            }
            return &l->overflow;
        }
    } else if (2 * (l->used + 1) > l->cap) {
        rehash(l, 2 * l->cap, false, now_ns);
    }
    b = probe(l, service);
    b->service = must_strdup(service);
    b->tokens = l->burst;
    b->refilled_ns = now_ns;
    l->used++;
    return b;
}

/* true: the record may pass; false: over the limit, counted for the next report. */
static bool take_token(struct rule_set *set, struct limiter *l, const char *service,
                       uint64_t now_ns)
{
    struct bucket *b = bucket_for(l, service, now_ns);
    refill(l, b, now_ns);
    if (b->tokens >= 1) {
        b->tokens -= 1;
        return true;
    }
    if (b->dropped++ == 0) {
        b->report_at = now_ns + RULES_REPORT_INTERVAL_NS;
        if (b->report_at < set->next_report)
            set->next_report = b->report_at;
    }
    return false;
}

/* --- running the rules ------------------------------------------------------------------ */

static bool compare_level(enum level_op op, int have, int want)
{
    switch (op) {
    case OP_EQ: return have == want;
    case OP_NE: return have != want;
    case OP_LT: return have < want;
    case OP_LE: return have <= want;
    case OP_GT: return have > want;
    case OP_GE: return have >= want;
    }
    return false;
}

static bool condition_holds(struct rule_set *set, const struct condition *c,
                            const struct draft *d)
{
    if (c->presence)
        return draft_has(d, &c->field) == c->present;
    char scratch[64];
    size_t len = 0;
    const char *text = NULL;
    bool fetched = false;
    for (size_t i = 0; i < c->count; i++) {
        const struct value *v = &c->values[i];
        if (v->kind == VALUE_LEVEL) {
            if (compare_level(v->op, (int)d->rec.level, v->level))
                return true;
            continue;
        }
        if (v->kind == VALUE_NUMBER) {
            if ((c->field.id == FIELD_PID ? d->rec.pid : d->rec.tid) == v->number)
                return true;
            continue;
        }
        if (!fetched) {
            text = draft_get(d, &c->field, &len, scratch);
            fetched = true;
        }
        if (!text)
            return false;
        if (v->kind == VALUE_EXACT ? len == v->len && memcmp(text, v->text, len) == 0
                                   : pcre2_match(v->re, (PCRE2_SPTR)text, len, 0, 0,
                                                 set->match, NULL) >= 0)
            return true;
    }
    return false;
}

/* true: `text` had matches and set->substituted holds the new text. */
static bool substitute(struct rule_set *set, struct redaction *r, const char *text, size_t len)
{
    if (pcre2_match(r->re, (PCRE2_SPTR)text, len, 0, 0, r->match, NULL) < 0)
        return false;
    uint32_t options = PCRE2_SUBSTITUTE_GLOBAL | PCRE2_SUBSTITUTE_MATCHED |
                       PCRE2_SUBSTITUTE_OVERFLOW_LENGTH;
    struct bytebuf *out = &set->substituted;
    out->len = 0;
    if (out->cap < 256)
        bytebuf_reserve(out, 256);
    for (;;) {
        PCRE2_SIZE out_len = out->cap;
        int rc = pcre2_substitute(r->re, (PCRE2_SPTR)text, len, 0, options, r->match, NULL,
                                  (PCRE2_SPTR)r->replacement, PCRE2_ZERO_TERMINATED,
                                  (PCRE2_UCHAR *)out->data, &out_len);
        if (rc == PCRE2_ERROR_NOMEMORY) {
            bytebuf_reserve(out, out_len + 1);
            options &= ~PCRE2_SUBSTITUTE_MATCHED; /* the match data was used up */
            continue;
        }
        if (rc <= 0)
            return false;
        out->len = out_len;
        return true;
    }
}

static void redact_json(struct rule_set *set, struct redaction *r, json_t *value)
{
    const char *key;
    size_t index;
    json_t *child;
    if (json_is_object(value)) {
        json_object_foreach(value, key, child)
            redact_json(set, r, child);
    } else if (json_is_array(value)) {
        json_array_foreach(value, index, child)
            redact_json(set, r, child);
    } else if (json_is_string(value) &&
               substitute(set, r, json_string_value(value), json_string_length(value))) {
        if (json_string_setn(value, set->substituted.data, set->substituted.len) != 0)
            json_string_set(value, "[REDACTED]"); /* never keep the secret */
    }
}

static enum rule_verdict run_actions(struct rule_set *set, struct rule *r, struct draft *d,
                                     uint64_t now_ns)
{
    if (r->limit && !take_token(set, r->limit, d->rec.service, now_ns))
        return RULES_RATE_LIMITED;
    for (size_t i = 0; i < r->set_count; i++)
        draft_set(d, &r->sets[i].field, r->sets[i].value, strlen(r->sets[i].value));
    for (size_t i = 0; i < r->redaction_count; i++) {
        struct redaction *red = &r->redactions[i];
        if (substitute(set, red, d->rec.message ? d->rec.message : "", d->rec.message_len))
            draft_set_message(d, set->substituted.data, set->substituted.len);
        if (d->metadata)
            redact_json(set, red, d->metadata);
    }
    for (size_t i = 0; i < r->route_count; i++)
        render_route(&r->routes[i], d);
    if (r->drop)
        return RULES_DROP;
    if (r->keep) {
        d->kept = true;
        return RULES_KEEP;
    }
    return RULES_PASS;
}

enum rule_verdict rule_set_apply(struct rule_set *set, struct draft *d, uint64_t now_ns)
{
    for (size_t i = 0; i < set->count; i++) {
        struct rule *r = set->rules[i];
        if (!r->finished)
            continue;
        size_t c = 0;
        while (c < r->condition_count && condition_holds(set, &r->conditions[c], d))
            c++;
        if (c < r->condition_count)
            continue;
        enum rule_verdict verdict = run_actions(set, r, d, now_ns);
        if (verdict != RULES_PASS)
            return verdict;
    }
    return RULES_PASS;
}

/* --- reporting rate-limit drops --------------------------------------------------------- */

static void report_bucket(struct bucket *b, const char *service, size_t rule_index,
                          double per_second, uint64_t now_ns, uint64_t *next,
                          rate_limit_report_fn *report, void *ctx)
{
    if (b->dropped == 0)
        return;
    if (b->report_at <= now_ns) {
        report(ctx, rule_index, service, b->dropped, per_second);
        b->dropped = 0;
    } else if (b->report_at < *next) {
        *next = b->report_at;
    }
}

uint64_t rule_set_report(struct rule_set *set, uint64_t now_ns, rate_limit_report_fn *report,
                         void *ctx)
{
    uint64_t next = UINT64_MAX;
    size_t kept = 0;
    for (size_t i = 0; i < set->carried_count; i++) {
        struct carried_report *c = &set->carried[i];
        if (c->report_at <= now_ns) {
            report(ctx, c->rule_index, c->service, c->dropped, c->per_second);
            free(c->service);
            continue;
        }
        next = c->report_at < next ? c->report_at : next;
        set->carried[kept++] = *c;
    }
    set->carried_count = kept;
    for (size_t i = 0; i < set->count; i++) {
        struct limiter *l = set->rules[i]->limit;
        if (!l)
            continue;
        for (size_t j = 0; j < l->cap; j++)
            if (l->slots[j].service)
                report_bucket(&l->slots[j], l->slots[j].service, i, l->per_second, now_ns,
                              &next, report, ctx);
        report_bucket(&l->overflow, overflow_service, i, l->per_second, now_ns, &next, report,
                      ctx);
    }
    set->next_report = next;
    return next;
}

uint64_t rule_set_next_report(const struct rule_set *set)
{
    return set->next_report;
}

static void carry(struct rule_set *to, size_t rule_index, const char *service,
                  struct bucket *b, double per_second)
{
    if (b->dropped == 0)
        return;
    struct carried_report *c = PUSH(to->carried, to->carried_count, to->carried_cap);
    c->rule_index = rule_index;
    c->service = must_strdup(service);
    c->dropped = b->dropped;
    c->report_at = b->report_at;
    c->per_second = per_second;
    if (c->report_at < to->next_report)
        to->next_report = c->report_at;
    b->dropped = 0;
}

void rule_set_take_reports(struct rule_set *to, struct rule_set *from)
{
    for (size_t i = 0; i < from->carried_count; i++) {
        struct carried_report *c = PUSH(to->carried, to->carried_count, to->carried_cap);
        *c = from->carried[i];
        if (c->report_at < to->next_report)
            to->next_report = c->report_at;
    }
    from->carried_count = 0;
    for (size_t i = 0; i < from->count; i++) {
        struct limiter *l = from->rules[i]->limit;
        if (!l)
            continue;
        for (size_t j = 0; j < l->cap; j++)
            if (l->slots[j].service)
                carry(to, i, l->slots[j].service, &l->slots[j], l->per_second);
        carry(to, i, overflow_service, &l->overflow, l->per_second);
    }
    from->next_report = UINT64_MAX;
}
