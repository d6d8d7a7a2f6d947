/*
 * rules_match.c - a rule's conditions (see rules.h): reading the values a
 * field is matched against, and deciding per record whether every
 * condition of a rule holds. Also the one regex compiler of the rules
 * (rules_compile), since redact in rules.c needs the same kind of regex.
 *
 * A condition is decided when the configuration is read as far as it can
 * be: the field name becomes a field_ref, a "~regex" is compiled and JIT-ed,
 * a level comparison (">=WARNING") and a pid or tid become numbers, so a
 * record costs only comparisons on the draft's borrowed strings and matches
 * into the set's one match block. Apart from rules.c because it is the
 * question "does this rule apply?", not what a rule then does.
 *
 * Regexes are compiled as UTF-8 that tolerates invalid bytes
 * (PCRE2_MATCH_INVALID_UTF): a match never splits a character, so a
 * redaction of a metadata string (always valid UTF-8 in jansson) stays valid.
 */
#include "rules_private.h"
#include "regex_jit.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "draft.h"

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

static void condition_free(struct condition *c)
{
    for (size_t j = 0; j < c->count; j++) {
        free(c->values[j].text);
        pcre2_code_free(c->values[j].re);
    }
    free(c->values);
    field_ref_free(&c->field);
}

void rules_match_free(struct rule *r)
{
    for (size_t i = 0; i < r->condition_count; i++)
        condition_free(&r->conditions[i]);
    free(r->conditions);
}

pcre2_code *rules_compile(const char *regex, char *err, size_t err_size)
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
    regex_jit_compile(re);
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
        v->re = rules_compile(text + 1, err, err_size);
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

bool rules_match(struct rule_set *set, const struct rule *r, const struct draft *d)
{
    size_t c = 0;
    while (c < r->condition_count && condition_holds(set, &r->conditions[c], d))
        c++;
    return c == r->condition_count;
}
