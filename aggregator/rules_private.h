/*
 * rules_private.h - what rules*.c share, and nothing else may use.
 *
 * The user's rules are one module (see rules.h) kept in four files so each
 * can be read alone: rules.c builds and runs the rule set (the
 * set/redact/keep/drop actions, minimum levels), rules_match.c reads a
 * rule's conditions and decides whether they hold for a record (and
 * compiles every regex), rules_route.c checks route templates when they are
 * read and renders them per record, rules_limit.c keeps the per-service
 * token buckets and reports what they dropped. The rule and the rule set
 * are shared by all four, so they are defined here; a route is here too
 * because a rule holds an array of them. Conditions are rules_match.c's
 * alone and the buckets rules_limit.c's: elsewhere they are only pointers.
 */
#ifndef ULOGD_RULES_PRIVATE_H
#define ULOGD_RULES_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <pcre2.h>

#include "alloc.h"
#include "bytebuf.h"
#include "draft.h"
#include "rules.h"

/* Append a zeroed element to a growable array; evaluates to its address. */
#define PUSH(array, count, cap)                                                              \
    (((count) == (cap) ? ((cap) = (cap) ? 2 * (cap) : 4,                                      \
                          (array) = must_realloc((array), (cap) * sizeof *(array)))          \
                       : 0),                                                                 \
     memset(&(array)[(count)], 0, sizeof *(array)), &(array)[(count)++])

struct condition;      /* rules_match.c */
struct assignment;     /* rules.c */
struct redaction;      /* rules.c */
struct level_entry;    /* rules.c */
struct limiter;        /* rules_limit.c */
struct carried_report; /* rules_limit.c */

struct segment {
    char *text; /* NULL: a placeholder */
    size_t len;
    struct field_ref field;
};

struct route {
    struct segment *segments;
    size_t count, cap, static_len, placeholders;
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

/* rules_match.c */
/* Free the rule's conditions and their array. */
void rules_match_free(struct rule *r);
/* true: every condition of `r` holds for `d` (a rule without conditions always applies). */
bool rules_match(struct rule_set *set, const struct rule *r, const struct draft *d);
/* A regex as every rule uses it: UTF-8, invalid bytes tolerated, JIT-ed when possible.
 * NULL, with the reason in `err`, when it does not compile. */
pcre2_code *rules_compile(const char *regex, char *err, size_t err_size);

/* rules_route.c */
void rules_route_free(struct route *rt);
/* Add the route's name, filled from `d`, to d's routes (unless it is all.log or errors.log). */
void rules_route_render(const struct route *rt, struct draft *d);

/* rules_limit.c */
void rules_limit_free(struct limiter *l); /* NULL: nothing */
/* true: the record may pass; false: over the limit, counted for the next report. */
bool rules_limit_take(struct rule_set *set, struct limiter *l, const char *service,
                      uint64_t now_ns);
/* The counts carried over from an earlier rule set (rule_set_take_reports), unreported. */
void rules_reports_free(struct rule_set *set);

#endif
