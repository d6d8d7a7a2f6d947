/*
 * redact.c - keeping secrets out of the log files (see redact.h).
 *
 * All patterns, built-in and the user's, are compiled into ONE alternation,
 * each branch followed by (*MARK:i) to say which pattern matched, and
 * JIT-ed: a line is scanned once whatever the number of patterns, and
 * PCRE2's start-character optimisation skips most positions without entering
 * any branch. Each pattern is also compiled alone first, so an error names
 * its own regex and offset, and to learn where its groups (its `secret`)
 * sit in the combined regex. A pattern that refers to groups by number
 * (backreferences, recursion) or uses backtracking verbs would mean
 * something else inside the alternation, so it is refused.
 *
 * The card check needs arithmetic a regex cannot do: the card branch ends in
 * a callout that runs Luhn, and a failure makes the regex carry on as if
 * the branch had not matched. The built-in patterns, that callout and the
 * reasons behind each pattern are in redact_builtins.c.
 */
#include "redact.h"
#include "regex_jit.h"

#include <ctype.h>
#include <pcre2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "redact_private.h"

#define REDACTED "[REDACTED]"
#define COMPILE_OPTIONS 0 /* bytes: see redact.h */
#define JIT_STACK_MAX (512 * 1024)

struct pattern {
    char *regex;
    char *replacement;
    size_t replacement_len;
    int builtin;     /* index in redact_builtins[], -1 for the user's */
    uint32_t groups; /* capture groups of its own */
    uint32_t secret; /* its group named `secret`, 0 when none */
    uint32_t base;   /* where its groups start in the combined regex */
};

struct redactor {
    struct pattern *patterns;
    size_t count, cap;
    bool keys_password, keys_authorization, keys_aws; /* by-key JSON redaction */
    pcre2_code *code; /* every pattern in one alternation; NULL: nothing to do */
    pcre2_match_data *match;
    pcre2_match_context *context;
    pcre2_jit_stack *jit_stack;
    struct bytebuf json_text; /* one JSON string's redacted text */
};

static void *must(void *p)
{
    if (!p) {
        fprintf(stderr, "ulogd: out of memory\n");
        abort();
    }
    return p;
}

struct redactor *redactor_new(void)
{
    struct redactor *r = must_calloc(1, sizeof *r);
    r->context = must(pcre2_match_context_create(NULL));
    r->jit_stack = must(pcre2_jit_stack_create(32 * 1024, JIT_STACK_MAX, NULL));
    pcre2_jit_stack_assign(r->context, NULL, r->jit_stack);
    return r;
}

static void drop_compiled(struct redactor *r)
{
    pcre2_match_data_free(r->match);
    pcre2_code_free(r->code);
    r->match = NULL;
    r->code = NULL;
}

void redactor_free(struct redactor *r)
{
    if (!r)
        return;
    drop_compiled(r);
    for (size_t i = 0; i < r->count; i++) {
        free(r->patterns[i].regex);
        free(r->patterns[i].replacement);
    }
    free(r->patterns);
    pcre2_jit_stack_free(r->jit_stack);
    pcre2_match_context_free(r->context);
    bytebuf_free(&r->json_text);
    free(r);
}

/* Recursion, subroutine calls, conditions on groups and (*VERB)s: constructs
 * that name groups by number or steer the whole match. Over-cautious on
 * purpose (a "(?1" inside a character class is refused too). */
static bool uses_whole_regex_constructs(const char *c)
{
    for (; *c; c++) {
        if (c[0] == '\\' && c[1] == 'Q') { /* literal up to \E */
            if (!(c = strstr(c + 2, "\\E")))
                return false;
            c++;
        } else if (c[0] == '\\') {
            if (c[1] == 'g')
                return true;
            c += c[1] != '\0';
        } else if (c[0] == '(' && c[1] == '*') {
            return true;
        } else if (c[0] == '(' && c[1] == '?') {
            const char *k = c + 2;
            if (isdigit((unsigned char)k[0]) || (k[0] && strchr("R&(", k[0])) ||
                ((k[0] == '+' || k[0] == '-') && isdigit((unsigned char)k[1])) ||
                (k[0] == 'P' && k[1] == '>'))
                return true;
        }
    }
    return false;
}

/* Compile the regex alone (for its errors, its groups and its secret), then
 * keep it. */
static int add(struct redactor *r, const char *regex, int builtin, const char *replacement,
               char *err, size_t err_size)
{
    struct pattern p = {.builtin = builtin};
    int error, secret;
    PCRE2_SIZE offset;
    uint32_t backrefs = 0;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)regex, PCRE2_ZERO_TERMINATED, COMPILE_OPTIONS,
                                     &error, &offset, NULL);
    if (!code) {
        PCRE2_UCHAR message[160];
        pcre2_get_error_message(error, message, sizeof message);
        snprintf(err, err_size, "%s at offset %zu in regex \"%s\"", (char *)message,
                 (size_t)offset, regex);
        return -1;
    }
    pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &p.groups);
    pcre2_pattern_info(code, PCRE2_INFO_BACKREFMAX, &backrefs);
    secret = pcre2_substring_number_from_name(code, (PCRE2_SPTR) "secret");
    pcre2_code_free(code);
    if (secret == PCRE2_ERROR_NOUNIQUESUBSTRING) {
        snprintf(err, err_size, "more than one group named secret in regex \"%s\"", regex);
        return -1;
    }
    if (backrefs > 0 || uses_whole_regex_constructs(regex)) {
        snprintf(err, err_size, "backreferences, recursion, group conditions, \\g and (*VERB)s "
                 "cannot be used in a redaction regex (\"%s\")", regex);
        return -1;
    }
    p.secret = secret > 0 ? (uint32_t)secret : 0;
    p.regex = must_strdup(regex);
    p.replacement = must_strdup(replacement);
    p.replacement_len = strlen(replacement);
    if (r->count == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->patterns = must_realloc(r->patterns, r->cap * sizeof *r->patterns);
    }
    r->patterns[r->count++] = p;
    return 0;
}

int redactor_enable_builtin(struct redactor *r, const char *name, char *err, size_t err_size)
{
    size_t b;
    for (b = 0; b < redact_builtin_count && strcmp(redact_builtins[b].name, name) != 0; b++)
        ;
    if (b == redact_builtin_count) {
        snprintf(err, err_size, "no built-in redaction pattern \"%s\"", name);
        return -1;
    }
    for (size_t i = 0; i < r->count; i++)
        if (r->patterns[i].builtin == (int)b)
            return 0;
    if (add(r, redact_builtins[b].regex, (int)b, REDACTED, err, err_size) != 0)
        return -1; /* a bug in redact_builtins.c */
    r->keys_password |= strcmp(name, "password") == 0;
    r->keys_authorization |= strcmp(name, "authorization") == 0;
    r->keys_aws |= strcmp(name, "aws_secret_key") == 0;
    return 0;
}

int redactor_enable_all_builtins(struct redactor *r)
{
    char err[256];
    for (size_t b = 0; b < redact_builtin_count; b++)
        if (redactor_enable_builtin(r, redact_builtins[b].name, err, sizeof err) != 0)
            return -1;
    return 0;
}

/* The name only helps the caller's messages: nothing here refers to it. */
int redactor_add_pattern(struct redactor *r, const char *name, const char *regex,
                         const char *replacement, char *err, size_t err_size)
{
    (void)name;
    return add(r, regex, -1, replacement ? replacement : REDACTED, err, err_size);
}

int redactor_finish(struct redactor *r, char *err, size_t err_size)
{
    struct bytebuf source = BYTEBUF_INIT;
    char mark[32];
    uint32_t groups = 0;
    int error;
    PCRE2_SIZE offset;

    drop_compiled(r);
    if (r->count == 0)
        return 0;
    for (size_t i = 0; i < r->count; i++) {
        struct pattern *p = &r->patterns[i];
        p->base = groups;
        groups += p->groups;
        if (i > 0)
            bytebuf_append_byte(&source, '|');
        bytebuf_append(&source, "(?:", 3);
        bytebuf_append(&source, p->regex, strlen(p->regex));
        /* The mark comes last so a mark inside the user's regex cannot hide it. */
        bytebuf_append(&source, mark, (size_t)snprintf(mark, sizeof mark, ")(*MARK:%zu)", i));
    }
    r->code = pcre2_compile((PCRE2_SPTR)source.data, source.len,
                            COMPILE_OPTIONS | PCRE2_DUPNAMES, &error, &offset, NULL);
    bytebuf_free(&source);
    if (!r->code) {
        PCRE2_UCHAR message[160];
        pcre2_get_error_message(error, message, sizeof message);
        snprintf(err, err_size, "the redaction patterns together do not compile: %s",
                 (char *)message);
        return -1;
    }
    /* Without JIT (an unsupported CPU) the interpreter gives the same answers. */
    regex_jit_compile(r->code);
    r->match = must(pcre2_match_data_create_from_pattern(r->code, NULL));
    pcre2_set_callout(r->context, redact_card_callout, NULL);
    return 0;
}

size_t redactor_pattern_count(const struct redactor *r)
{
    return r->count;
}

static const struct pattern *matched_pattern(const struct redactor *r)
{
    PCRE2_SPTR mark = pcre2_get_mark(r->match);
    size_t i = mark ? strtoul((const char *)mark, NULL, 10) : r->count;
    return &r->patterns[i < r->count ? i : 0]; /* every branch carries a mark */
}

size_t redactor_apply_text(struct redactor *r, const char *text, size_t len,
                           struct bytebuf *out)
{
    size_t count = 0, copied = 0, at = 0;

    if (!r->code)
        return 0;
    while (at <= len) {
        int rc = pcre2_match(r->code, (PCRE2_SPTR)text, len, at, 0, r->match, r->context);
        if (rc < 0) /* no (more) match, or a limit: what was found stays redacted */
            break;
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(r->match);
        const struct pattern *p = matched_pattern(r);
        size_t start = ov[0], end = ov[1];
        if (p->secret) {
            uint32_t g = p->base + p->secret;
            start = ov[2 * g];
            end = ov[2 * g + 1];
            if (start == PCRE2_UNSET) /* the secret took no part: nothing to hide */
                start = end = ov[1];
        }
        at = ov[1] > ov[0] ? ov[1] : ov[0] + 1; /* an empty match moves on */
        if (end > at)
            at = end; /* a secret inside a lookahead */
        if (start < copied)
            start = copied;
        if (end <= start)
            continue;
        if (count++ == 0)
            out->len = 0;
        bytebuf_append(out, text + copied, start - copied);
        bytebuf_append(out, p->replacement, p->replacement_len);
        copied = end;
    }
    if (count > 0)
        bytebuf_append(out, text + copied, len - copied);
    return count;
}

/* Does `key` end with `word`, the word starting the key, following a
 * non-alphanumeric byte or starting a camelCase hump? Case is ignored; a `_`
 * in the word matches `_`, `-` or nothing. */
static bool key_ends_with_word(const char *key, size_t len, const char *word)
{
    size_t i = len, j = strlen(word);
    while (j > 0) {
        char w = word[--j];
        if (w == '_') {
            if (i > 0 && (key[i - 1] == '_' || key[i - 1] == '-'))
                i--;
            continue;
        }
        if (i == 0 || tolower((unsigned char)key[i - 1]) != w)
            return false;
        i--;
    }
    if (i == 0 || !isalnum((unsigned char)key[i - 1]))
        return true;
    return islower((unsigned char)key[i - 1]) && isupper((unsigned char)key[i]);
}

static bool key_in(const char *key, const char *const *words)
{
    size_t len = strlen(key);
    for (; *words; words++)
        if (key_ends_with_word(key, len, *words))
            return true;
    return false;
}

static bool key_names_secret(const struct redactor *r, const char *key)
{
    return (r->keys_password && key_in(key, redact_password_keys)) ||
           (r->keys_authorization && key_in(key, redact_authorization_keys)) ||
           (r->keys_aws && key_in(key, redact_aws_secret_keys));
}

size_t redactor_apply_json(struct redactor *r, json_t *value)
{
    size_t count = 0;

    switch (json_typeof(value)) {
    case JSON_STRING:
        count = redactor_apply_text(r, json_string_value(value), json_string_length(value),
                                    &r->json_text);
        /* A user's regex may cut a character in two: hide the whole string then. */
        if (count > 0 && json_string_setn(value, r->json_text.data, r->json_text.len) != 0)
            json_string_set(value, REDACTED);
        bytebuf_reset(&r->json_text, 65536);
        return count;
    case JSON_ARRAY:
        for (size_t i = 0; i < json_array_size(value); i++)
            count += redactor_apply_json(r, json_array_get(value, i));
        return count;
    case JSON_OBJECT:
        for (void *it = json_object_iter(value); it; it = json_object_iter_next(value, it)) {
            json_t *member = json_object_iter_value(it);
            if (!key_names_secret(r, json_object_iter_key(it))) {
                count += redactor_apply_json(r, member);
            } else if (!json_is_string(member) ||
                       strcmp(json_string_value(member), REDACTED) != 0) {
                json_object_iter_set_new(value, it, json_string(REDACTED));
                count++;
            }
        }
        return count;
    default:
        return 0;
    }
}
