/*
 * templates.c - mining templates from masked messages (see templates.h),
 * after Drain: a fixed-depth tree (token count, then the first token, a
 * token with digits or a mask going to the wildcard child), and in each leaf
 * the most similar template joined when at least half the tokens agree.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytebuf.h"
#include "templates.h"

#define SIMILARITY_THRESHOLD 0.5
#define BUCKETS 1024u

struct group {
    struct template t;
    char **tokens; /* the template's tokens; "<*>" where members differ */
    size_t ntokens;
    struct group *next_in_leaf;
    size_t index;
};

struct leaf {
    char *key; /* "<token count> <first token>" */
    struct group *groups;
    struct leaf *next;
};

struct template_miner {
    struct leaf *buckets[BUCKETS];
    struct group **all; /* by index */
    size_t count, cap;
};

struct template_miner *template_miner_new(void)
{
    struct template_miner *m = calloc(1, sizeof *m);
    if (!m)
        abort();
    return m;
}

void template_miner_free(struct template_miner *m)
{
    if (!m)
        return;
    for (size_t b = 0; b < BUCKETS; b++)
        for (struct leaf *l = m->buckets[b], *next; l; l = next) {
            next = l->next;
            free(l->key);
            free(l);
        }
    for (size_t i = 0; i < m->count; i++) {
        struct group *g = m->all[i];
        for (size_t k = 0; k < g->ntokens; k++)
            free(g->tokens[k]);
        free(g->tokens);
        free(g->t.text);
        free(g->t.first);
        free(g->t.last);
        free(g->t.example);
        for (size_t k = 0; k < g->t.service_count; k++)
            free(g->t.services[k]);
        free(g);
    }
    free(m->all);
    free(m);
}

size_t template_miner_count(const struct template_miner *m) { return m->count; }

const struct template *template_miner_get(const struct template_miner *m, size_t index)
{
    return index < m->count ? &m->all[index]->t : NULL;
}

static char *xstrdup(const char *s)
{
    char *copy = strdup(s ? s : "");
    if (!copy)
        abort();
    return copy;
}

static size_t tokenize(char *masked, char ***tokens)
{
    size_t n = 0, cap = 8;
    char *save = NULL;
    *tokens = malloc(cap * sizeof **tokens);
    for (char *t = strtok_r(masked, " \t\r\v\f", &save); t; t = strtok_r(NULL, " \t\r\v\f", &save)) {
        if (n == cap)
            *tokens = realloc(*tokens, (cap *= 2) * sizeof **tokens);
        (*tokens)[n++] = t;
    }
    return n;
}

/* A token that is (or holds) a mask or digits goes to the wildcard child. */
static const char *leaf_token(const char *token)
{
    for (const char *p = token; *p; p++)
        if (isdigit((unsigned char)*p) || *p == '<')
            return "<*>";
    return token;
}

static struct leaf *find_leaf(struct template_miner *m, size_t ntokens, const char *first)
{
    char key[128];
    uint32_t h = 2166136261u;
    snprintf(key, sizeof key, "%zu %s", ntokens, first);
    for (const char *p = key; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    struct leaf **slot = &m->buckets[h % BUCKETS];
    for (struct leaf *l = *slot; l; l = l->next)
        if (strcmp(l->key, key) == 0)
            return l;
    struct leaf *l = calloc(1, sizeof *l);
    if (!l)
        abort();
    l->key = xstrdup(key);
    l->next = *slot;
    *slot = l;
    return l;
}

/* Drain's simSeq: the share of positions whose tokens are equal (a wildcard
 * position of the template counts as equal but is counted apart, to prefer
 * the template with fewer wildcards on a tie). */
static double similarity(const struct group *g, char **tokens, size_t n, size_t *wildcards,
                         size_t *equal)
{
    size_t same = 0;
    *wildcards = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(g->tokens[i], "<*>") == 0)
            (*wildcards)++;
        else if (strcmp(g->tokens[i], tokens[i]) == 0)
            same++;
    }
    *equal = same;
    return n ? (double)same / (double)n : 1.0;
}

static void join_text(struct group *g)
{
    struct bytebuf b = {0};
    for (size_t i = 0; i < g->ntokens; i++) {
        if (i)
            bytebuf_append_byte(&b, ' ');
        bytebuf_append(&b, g->tokens[i], strlen(g->tokens[i]));
    }
    bytebuf_append_byte(&b, '\0');
    free(g->t.text);
    g->t.text = b.data;
}

static void note_service(struct template *t, const char *service)
{
    if (!service)
        return;
    for (size_t i = 0; i < t->service_count; i++)
        if (strcmp(t->services[i], service) == 0)
            return;
    if (t->service_count < TEMPLATE_MAX_SERVICES)
        t->services[t->service_count++] = xstrdup(service);
    else
        t->more_services++; /* an estimate: not deduplicated beyond the kept ones */
}

size_t template_miner_add(struct template_miner *m, const char *message, const char *service,
                          int level, const char *timestamp)
{
    const char *msg = message ? message : "";
    size_t len = strlen(msg);
    char *masked = template_mask(msg, len), **tokens;
    size_t n = tokenize(masked, &tokens);
    struct leaf *leaf = find_leaf(m, n, n ? leaf_token(tokens[0]) : "");
    struct group *best = NULL;
    double best_sim = -1;
    size_t best_wild = 0, best_same = 0;

    for (struct group *g = leaf->groups; g; g = g->next_in_leaf) {
        size_t wild, same;
        double sim = similarity(g, tokens, n, &wild, &same);
        if (sim > best_sim || (sim == best_sim && wild < best_wild)) {
            best_same = same;
            best = g;
            best_sim = sim;
            best_wild = wild;
        }
    }
    if (best && (best_sim >= SIMILARITY_THRESHOLD || n == 0 || best_same + best_wild == n)) {
        bool changed = false;
        for (size_t i = 0; i < n; i++)
            if (strcmp(best->tokens[i], "<*>") != 0 && strcmp(best->tokens[i], tokens[i]) != 0) {
                free(best->tokens[i]);
                best->tokens[i] = xstrdup("<*>");
                changed = true;
            }
        if (changed)
            join_text(best);
    } else {
        best = calloc(1, sizeof *best);
        if (!best)
            abort();
        best->ntokens = n;
        best->tokens = malloc((n ? n : 1) * sizeof *best->tokens);
        for (size_t i = 0; i < n; i++)
            best->tokens[i] = xstrdup(tokens[i]);
        join_text(best);
        const char *nl = strchr(msg, '\n');
        best->t.example = strndup(msg, nl ? (size_t)(nl - msg) : len);
        best->t.first = xstrdup(timestamp);
        best->t.max_level = -1;
        best->next_in_leaf = leaf->groups;
        leaf->groups = best;
        if (m->count == m->cap) {
            m->cap = m->cap ? 2 * m->cap : 64;
            m->all = realloc(m->all, m->cap * sizeof *m->all);
            if (!m->all)
                abort();
        }
        best->index = m->count;
        m->all[m->count++] = best;
    }
    free(tokens);
    free(masked);
    struct template *t = &best->t;
    t->count++;
    free(t->last);
    t->last = xstrdup(timestamp);
    if (level > t->max_level)
        t->max_level = level;
    note_service(t, service);
    return best->index;
}
