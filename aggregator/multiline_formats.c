/*
 * multiline_formats.c - building, checking and matching multiline formats.
 *
 * A format is compiled once (each regex JIT-compiled) and then only read.
 * The start rules of every format are also compiled together into one
 * alternation, so a line that starts nothing - nearly every line - costs one
 * JIT match whatever the number of formats; only a line that does start a
 * block is tried rule by rule, to find the first in order. The alternation
 * uses a branch-reset group, (?|...), so each rule's \1 keeps meaning its own
 * group; a rule set that cannot be combined that way is simply tried rule by
 * rule.
 */
#include "multiline_formats.h"
#include "regex_jit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "bytebuf.h"
#include "ulog/level.h"

struct rule {
    pcre2_code *re;
    char *source; /* kept for the combined start regex */
    int next;     /* a state index or MULTILINE_END */
    bool claims;  /* a match is evidence of the format: the regex needs some text */
};

struct state {
    char *name;
    struct rule *rules;
    size_t count;
};

struct multiline_format {
    char *name;
    int level;
    struct state *states; /* states[0] is start_state */
    size_t state_count;
};

struct multiline_formats {
    struct multiline_format **items;
    size_t count;
    pcre2_code *any_start; /* every start rule at once; NULL: try them one by one */
};

/* ---- building ----------------------------------------------------------- */

struct multiline_formats *multiline_formats_new(void)
{
    return must_calloc(1, sizeof(struct multiline_formats));
}

static void format_free(struct multiline_format *f)
{
    for (size_t s = 0; s < f->state_count; s++) {
        for (size_t r = 0; r < f->states[s].count; r++) {
            pcre2_code_free(f->states[s].rules[r].re);
            free(f->states[s].rules[r].source);
        }
        free(f->states[s].rules);
        free(f->states[s].name);
    }
    free(f->states);
    free(f->name);
    free(f);
}

void multiline_formats_free(struct multiline_formats *formats)
{
    if (!formats)
        return;
    for (size_t i = 0; i < formats->count; i++)
        format_free(formats->items[i]);
    free(formats->items);
    pcre2_code_free(formats->any_start);
    free(formats);
}

size_t multiline_formats_count(const struct multiline_formats *formats)
{
    return formats ? formats->count : 0;
}

static pcre2_code *compile(const char *regex, char *err, size_t err_size)
{
    int code;
    PCRE2_SIZE offset;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)regex, PCRE2_ZERO_TERMINATED, 0, &code, &offset,
                                   NULL);
    if (!re) {
        PCRE2_UCHAR message[256];
        pcre2_get_error_message(code, message, sizeof message);
        snprintf(err, err_size, "%s at offset %zu in regex \"%.100s\"", (char *)message,
                 (size_t)offset, regex);
        return NULL;
    }
    regex_jit_compile(re);
    return re;
}

static bool matches(const pcre2_code *re, pcre2_match_data *md, const unsigned char *s, size_t len)
{
    return pcre2_match(re, s ? s : (const unsigned char *)"", len, 0, 0, md, NULL) >= 0;
}

static int state_index(const struct multiline_format *f, const char *name)
{
    for (size_t s = 0; s < f->state_count; s++)
        if (strcmp(f->states[s].name, name) == 0)
            return (int)s;
    return -1;
}

/* The one regex that tells whether any start rule matches (see the top).
 * Backtracking verbs could make one alternative cut the others off, and a
 * pattern that does not compile combined is no error: both mean no shortcut. */
static void combine_start_rules(struct multiline_formats *formats)
{
    struct bytebuf pattern = BYTEBUF_INIT;
    char err[256];

    pcre2_code_free(formats->any_start);
    formats->any_start = NULL;
    bytebuf_append(&pattern, "(?|", 3);
    for (size_t i = 0; i < formats->count; i++) {
        const struct state *start = &formats->items[i]->states[0];
        for (size_t r = 0; r < start->count; r++) {
            const char *source = start->rules[r].source;
            if (strstr(source, "(*") || strchr(source, '\n'))
                goto out;
            if (pattern.len > 3)
                bytebuf_append_byte(&pattern, '|');
            bytebuf_append(&pattern, "(?:", 3);
            bytebuf_append(&pattern, source, strlen(source));
            bytebuf_append_byte(&pattern, ')');
        }
    }
    bytebuf_append(&pattern, ")", 2); /* with its NUL */
    if (formats->count > 0)
        formats->any_start = compile(pattern.data, err, sizeof err);
out:
    bytebuf_free(&pattern);
}

static bool is_empty(const char *s)
{
    return !s || !*s;
}

/* The rule's own faults: empty fields, "end" as a state, a bad regex. */
static int check_rule(const struct multiline_rule_spec *rule, char *err, size_t err_size)
{
    if (is_empty(rule->state) || is_empty(rule->regex) || is_empty(rule->next)) {
        snprintf(err, err_size, "a rule needs a state, a regex and a next state");
        return -1;
    }
    if (strcmp(rule->state, "end") == 0) {
        snprintf(err, err_size, "\"end\" closes a block: it cannot be a rule's state");
        return -1;
    }
    return 0;
}

static int format_fault(const char *name, const struct multiline_formats *formats, int level,
                        const struct multiline_rule_spec *rules, size_t count, char *err,
                        size_t err_size)
{
    if (is_empty(name)) {
        snprintf(err, err_size, "a multiline format needs a name");
        return -1;
    }
    for (size_t i = 0; i < formats->count; i++)
        if (strcmp(formats->items[i]->name, name) == 0) {
            snprintf(err, err_size, "multiline format \"%.64s\" is defined twice", name);
            return -1;
        }
    if (level < -1 || level >= ULOG_LEVEL_COUNT) {
        snprintf(err, err_size, "level %d is not a level", level);
        return -1;
    }
    for (size_t i = 0; i < count; i++)
        if (rules[i].state && strcmp(rules[i].state, "start_state") == 0)
            return 0;
    snprintf(err, err_size, "multiline format \"%.64s\" has no rule from start_state", name);
    return -1;
}

/* States in order of first mention, start_state first; each rule under its state. */
static void lay_out_states(struct multiline_format *f, const struct multiline_rule_spec *rules,
                           size_t count)
{
    f->states = must_calloc(count + 1, sizeof *f->states);
    f->states[0].name = must_strdup("start_state");
    f->state_count = 1;
    for (size_t i = 0; i < count; i++) {
        int s = state_index(f, rules[i].state);
        if (s < 0) {
            s = (int)f->state_count++;
            f->states[s].name = must_strdup(rules[i].state);
        }
        f->states[s].count++;
    }
    for (size_t s = 0; s < f->state_count; s++) {
        f->states[s].rules = must_calloc(f->states[s].count, sizeof(struct rule));
        f->states[s].count = 0;
    }
}

int multiline_formats_add(struct multiline_formats *formats, const char *name, int level,
                          const struct multiline_rule_spec *rules, size_t count,
                          size_t *bad_rule, char *err, size_t err_size)
{
    struct multiline_format *f;
    pcre2_match_data *md;

    *bad_rule = SIZE_MAX;
    if (format_fault(name, formats, level, rules, count, err, err_size) != 0)
        return -1;
    for (size_t i = 0; i < count; i++)
        if (check_rule(&rules[i], err, err_size) != 0) {
            *bad_rule = i;
            return -1;
        }
    f = must_calloc(1, sizeof *f);
    f->name = must_strdup(name);
    f->level = level;
    lay_out_states(f, rules, count);
    md = pcre2_match_data_create(1, NULL);
    for (size_t i = 0; i < count; i++) {
        struct state *st = &f->states[state_index(f, rules[i].state)];
        struct rule *r = &st->rules[st->count];
        bool to_end = strcmp(rules[i].next, "end") == 0;
        int next = to_end ? MULTILINE_END : state_index(f, rules[i].next);
        if (!to_end && next < 0) {
            snprintf(err, err_size, "no rule starts from state \"%.64s\" (the next of this rule)",
                     rules[i].next);
            goto fail;
        }
        if (!(r->re = compile(rules[i].regex, err, err_size)))
            goto fail;
        r->source = must_strdup(rules[i].regex);
        r->next = next;
        r->claims = !matches(r->re, md, NULL, 0);
        st->count++;
        if (st == &f->states[0] && !r->claims) {
            snprintf(err, err_size, "regex \"%.100s\" matches an empty line: every line "
                     "would start a block", rules[i].regex);
            goto fail;
        }
        continue;
    fail:
        *bad_rule = i;
        pcre2_match_data_free(md);
        format_free(f);
        return -1;
    }
    pcre2_match_data_free(md);
    formats->items = must_realloc(formats->items, (formats->count + 1) * sizeof *formats->items);
    formats->items[formats->count++] = f;
    combine_start_rules(formats);
    return 0;
}

int multiline_formats_add_builtin(struct multiline_formats *formats, const char *name,
                                  char *err, size_t err_size)
{
    size_t count, bad;
    int level = -1;
    const struct multiline_rule_spec *rules =
        name ? multiline_builtin_rules(name, &count, &level) : NULL;

    if (!rules) {
        snprintf(err, err_size,
                 "no built-in multiline format \"%.64s\" (python, java, go, node, sanitizer, "
                 "pem)",
                 name ? name : "");
        return -1;
    }
    return multiline_formats_add(formats, name, level, rules, count, &bad, err, err_size);
}

/* ---- matching ----------------------------------------------------------- */

const struct multiline_format *multiline_formats_start(const struct multiline_formats *formats,
                                                       pcre2_match_data *md,
                                                       const unsigned char *line, size_t len,
                                                       int *state)
{
    if (formats->any_start && !matches(formats->any_start, md, line, len))
        return NULL;
    for (size_t i = 0; i < formats->count; i++) {
        const struct state *start = &formats->items[i]->states[0];
        for (size_t r = 0; r < start->count; r++)
            if (matches(start->rules[r].re, md, line, len)) {
                *state = start->rules[r].next;
                return formats->items[i];
            }
    }
    return NULL;
}

int multiline_format_step(const struct multiline_format *format, int state, pcre2_match_data *md,
                          const unsigned char *line, size_t len, bool *claims)
{
    const struct state *st = &format->states[state];
    for (size_t r = 0; r < st->count; r++)
        if (matches(st->rules[r].re, md, line, len)) {
            *claims = st->rules[r].claims && len > 0;
            return st->rules[r].next;
        }
    return MULTILINE_NO_RULE;
}

const char *multiline_format_name(const struct multiline_format *format)
{
    return format->name;
}

int multiline_format_level(const struct multiline_format *format)
{
    return format->level;
}
