/*
 * templates.h - log-template mining for the digest: messages that differ
 * only in their variable parts (numbers, ids, addresses, paths, quoted
 * strings, durations ...) are collapsed into one template with a count.
 *
 * Two steps, after the Drain algorithm (He et al., ICWS 2017): the variable
 * parts are masked first (template_mask), then the masked message is placed
 * in a fixed-depth parse tree - by token count, then by its first token - and
 * joins the most similar template of that leaf when at least half of the
 * tokens agree; positions where they differ become the wildcard <*>.
 */
#ifndef ULOG_CLI_TEMPLATES_H
#define ULOG_CLI_TEMPLATES_H

#include <stdbool.h>
#include <stddef.h>

/* The first line of `text` with its variable parts replaced by <NUM>, <HEX>,
 * <UUID>, <IP>, <PATH>, <URL>, <STR>, <DUR>, <EMAIL> (malloc'd). */
char *template_mask(const char *text, size_t len);

#define TEMPLATE_MAX_SERVICES 8

struct template {
    char *text;            /* the masked first line, tokens joined by one space */
    size_t count;
    char *first, *last;    /* the timestamps of the first and last message seen */
    char *services[TEMPLATE_MAX_SERVICES];
    size_t service_count;  /* kept; more_services beyond that */
    size_t more_services;
    int max_level;         /* the highest enum ulog_level seen, -1 none */
    char *example;         /* the first line of the first message */
};

struct template_miner;

struct template_miner *template_miner_new(void);
void template_miner_free(struct template_miner *m);

/* Adds one message (only its first line counts); returns its template's
 * index, stable for the life of the miner. service/timestamp may be NULL,
 * level -1 when unknown. */
size_t template_miner_add(struct template_miner *m, const char *message, const char *service,
                          int level, const char *timestamp);

size_t template_miner_count(const struct template_miner *m);
const struct template *template_miner_get(const struct template_miner *m, size_t index);

#endif /* ULOG_CLI_TEMPLATES_H */
