/*
 * digest_select.c - the digest's reading of the window (see digest.h): counts
 * per service and level, the message templates, which records are problems
 * and in what order they are shown (the newest of each distinct message
 * first, then at most REPEATS_PER_ERROR of one), and the lines of the same
 * process around a problem.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "digest_private.h"

static const char *str(const json_t *r, const char *key)
{
    return json_string_value(json_object_get(r, key));
}

/* Redacted, control characters made visible; inline: one line, | escaped. */
static bool is_problem(const struct rec *x, int min_level)
{
    const json_t *meta = json_object_get(x->r, "metadata");
    if (x->level >= min_level)
        return true;
    if (!x->event)
        return false;
    if (strcmp(x->event, "process_exit") == 0)
        return json_object_get(meta, "signal") || json_is_true(json_object_get(meta, "oom_killed")) ||
               json_integer_value(json_object_get(meta, "exit_status")) != 0;
    if (strcmp(x->event, "oom_kill") == 0 || strcmp(x->event, "container_oom") == 0)
        return true;
    if (strcmp(x->event, "container_die") == 0)
        return json_integer_value(json_object_get(meta, "exit_code")) != 0;
    return false;
}

static struct svc *service_of(struct digest *d, const char *name)
{
    for (size_t i = 0; i < d->nsvcs; i++)
        if (strcmp(d->svcs[i].name, name) == 0)
            return &d->svcs[i];
    d->svcs = realloc(d->svcs, (d->nsvcs + 1) * sizeof *d->svcs);
    if (!d->svcs)
        abort();
    memset(&d->svcs[d->nsvcs], 0, sizeof *d->svcs);
    d->svcs[d->nsvcs].name = name;
    return &d->svcs[d->nsvcs++];
}

static int by_volume(const void *a, const void *b)
{
    const struct svc *x = a, *y = b;
    return x->total != y->total ? (x->total < y->total ? 1 : -1) : strcmp(x->name, y->name);
}

void digest_analyse(struct digest *d, json_t *records)
{
    int min_level = d->opt->min_level < 0 ? ULOG_ERROR : d->opt->min_level;
    d->n = json_array_size(records);
    d->recs = calloc(d->n + 1, sizeof *d->recs);
    d->problems = calloc(d->n + 1, sizeof *d->problems);
    if (!d->recs || !d->problems)
        abort();
    d->miner = template_miner_new();
    for (size_t i = 0; i < d->n; i++) {
        struct rec *x = &d->recs[i];
        x->r = json_array_get(records, i);
        x->ts = str(x->r, "timestamp");
        x->service = str(x->r, "service");
        x->container = str(x->r, "container");
        x->message = str(x->r, "message");
        x->event = str(x->r, "event_type");
        x->pid = json_integer_value(json_object_get(x->r, "pid"));
        x->level = ulog_level_parse(str(x->r, "level"));
        x->tmpl = template_miner_add(d->miner, x->message, x->service, x->level, x->ts);
        struct svc *s = service_of(d, x->service ? x->service : "(none)");
        s->total++;
        if (x->level >= 0) {
            s->levels[x->level]++;
            d->levels[x->level]++;
        }
    }
    if (d->nsvcs)
        qsort(d->svcs, d->nsvcs, sizeof *d->svcs, by_volume);
    /* Problems, newest first: the newest of each template, then repeats. */
    size_t nt = template_miner_count(d->miner);
    d->occurrences = calloc(nt + 1, sizeof *d->occurrences);
    size_t *taken = calloc(nt + 1, sizeof *taken);
    bool *chosen = calloc(d->n + 1, sizeof *chosen);
    if (!d->occurrences || !taken || !chosen)
        abort();
    for (size_t i = 0; i < d->n; i++)
        if (is_problem(&d->recs[i], min_level)) {
            d->occurrences[d->recs[i].tmpl]++;
            d->problems_total++;
        }
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = d->n; i-- > 0;) {
            size_t t = d->recs[i].tmpl;
            if (chosen[i] || !is_problem(&d->recs[i], min_level) ||
                (pass == 0 && taken[t] > 0) || taken[t] >= REPEATS_PER_ERROR)
                continue;
            chosen[i] = true;
            taken[t]++;
            d->problems[d->nproblems++] = i;
        }
    free(taken);
    free(chosen);
}

static bool same_process(const struct rec *a, const struct rec *b)
{
    if (a->pid && b->pid && a->service && b->service)
        return a->pid == b->pid && strcmp(a->service, b->service) == 0;
    if (a->container && b->container)
        return strcmp(a->container, b->container) == 0;
    return a->service && b->service && strcmp(a->service, b->service) == 0 && !a->pid && !b->pid;
}

size_t digest_preceding(const struct digest *d, size_t i, size_t want, size_t *out)
{
    size_t n = 0;
    for (size_t j = i, looked = 0; j-- > 0 && n < want && looked < LOOKBACK; looked++)
        if (same_process(&d->recs[j], &d->recs[i]))
            out[n++] = j;
    for (size_t a = 0; a < n / 2; a++) {
        size_t t = out[a];
        out[a] = out[n - 1 - a];
        out[n - 1 - a] = t;
    }
    return n;
}

size_t digest_exit_record(const struct digest *d, size_t i)
{
    const struct rec *x = &d->recs[i];
    if (!x->pid || (x->event && strcmp(x->event, "process_exit") == 0))
        return SIZE_MAX;
    for (size_t j = i + 1; j < d->n && j - i <= LOOKBACK; j++) {
        const struct rec *y = &d->recs[j];
        if (y->event && strcmp(y->event, "process_exit") == 0 && y->pid == x->pid &&
            (!x->service || !y->service || strcmp(x->service, y->service) == 0))
            return j;
    }
    return SIZE_MAX;
}

