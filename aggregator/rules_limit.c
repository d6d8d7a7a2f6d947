/*
 * rules_limit.c - the rate_limit action: a token bucket per (rule, service),
 * and the reports of what the buckets dropped (see rules.h).
 *
 * A rule's buckets live in a small open-addressing map keyed by service, so
 * a record costs a hash and a probe, and a malloc only when it brings a
 * new service. The map is bounded: past MAX_SERVICES_PER_LIMIT services it
 * first forgets the idle ones (a full bucket that owes no report behaves
 * exactly like a new one), at most once a second, and what still does not
 * fit shares one overflow bucket. Drops are only counted here; the caller
 * asks for the sums when the earliest deadline comes (rule_set_report), and
 * a reload hands the unreported ones to the new rule set. Apart from rules.c
 * because it is the only part of the rules that keeps state between records.
 */
#include "rules_private.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

#define MAX_SERVICES_PER_LIMIT 1024

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

struct carried_report {
    size_t rule_index;
    char *service;
    uint64_t dropped, report_at;
    double per_second;
};

static const char *const overflow_service = "(other services)";

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

void rules_limit_free(struct limiter *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->cap; i++)
        free(l->slots[i].service);
    free(l->slots);
    free(l);
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
bool rules_limit_take(struct rule_set *set, struct limiter *l, const char *service,
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

void rules_reports_free(struct rule_set *set)
{
    for (size_t i = 0; i < set->carried_count; i++)
        free(set->carried[i].service);
    free(set->carried);
}
