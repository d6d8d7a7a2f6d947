/*
 * rules.c - the user's rules and minimum levels (see rules.h): building the
 * rule set, its set, redact, keep and drop actions, and running records
 * through it. Conditions (and the regex compiler) are rules_match.c's,
 * routes rules_route.c's, rate limits and their reports rules_limit.c's;
 * what the four share is rules_private.h.
 *
 * Everything that can be decided when the configuration is read is decided
 * then: field names become field_refs, regexes are compiled and JIT-ed,
 * replacements are checked, route names are split into text and
 * placeholders. Running a rule is then comparisons on the draft's borrowed
 * strings; the only writes are into the draft's arena and the set's one
 * substitution buffer, so no record costs a malloc unless it meets a new
 * service in a rate limit.
 */
#include "rules.h"

#include <ctype.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "bytebuf.h"
#include "rules_private.h"
#include "utf8.h"

struct assignment {
    struct field_ref field;
    char *value;
};

struct redaction {
    pcre2_code *re;
    pcre2_match_data *match;
    char *replacement;
};

struct level_entry {
    char *name;
    size_t len;
    enum ulog_level level;
};

struct rule_set *rule_set_new(void)
{
    struct rule_set *set = must_calloc(1, sizeof *set);
    set->match = pcre2_match_data_create(1, NULL);
    if (!set->match)
        abort();
    set->next_report = UINT64_MAX;
    return set;
}

static void rule_free(struct rule *r)
{
    rules_match_free(r);
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
        rules_route_free(&r->routes[i]);
    rules_limit_free(r->limit);
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
    rules_reports_free(set);
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
    else if (ref.id == FIELD_TIMESTAMP)
        refusal = "the timestamp cannot be set (timestamp: line takes it from the line)";
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
    pcre2_code *re = rules_compile(regex, err, err_size);
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

/* --- running the rules ------------------------------------------------------------------ */

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
    if (r->limit && !rules_limit_take(set, r->limit, d->rec.service, now_ns))
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
        rules_route_render(&r->routes[i], d);
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
        if (!rules_match(set, r, d))
            continue;
        enum rule_verdict verdict = run_actions(set, r, d, now_ns);
        if (verdict != RULES_PASS)
            return verdict;
    }
    return RULES_PASS;
}
