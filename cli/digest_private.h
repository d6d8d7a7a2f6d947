/*
 * digest_private.h - what the parts of the digest share: digest.c (the
 * Markdown and the budget), digest_select.c (counting, templates, which
 * problems and which lines around them), digest_json.c (the JSON).
 */
#ifndef ULOG_CLI_DIGEST_PRIVATE_H
#define ULOG_CLI_DIGEST_PRIVATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "digest.h"
#include "redact.h"
#include "templates.h"
#include "ulog/level.h"

#define LOOKBACK 5000u     /* records searched for preceding lines / the exit */
#define REPEATS_PER_ERROR 3u
#define INLINE_MAX 240u    /* a preceding line or a table cell, at most */

struct rec {
    const json_t *r;
    const char *ts, *service, *container, *message, *event;
    json_int_t pid;
    int level;
    size_t tmpl;
};

struct svc {
    const char *name;
    size_t total, levels[ULOG_LEVEL_COUNT];
};

struct digest {
    const struct digest_options *opt;
    struct redactor *redactor;
    struct rec *recs;
    size_t n;
    struct svc *svcs;
    size_t nsvcs;
    size_t levels[ULOG_LEVEL_COUNT];
    struct template_miner *miner;
    size_t *problems, nproblems, problems_total; /* in showing order */
    size_t *occurrences;                         /* per template: problems */
    size_t budget;
    /* what was cut */
    size_t svcs_shown, problems_shown, preceding_trimmed, templates_shown, templates_total;
    size_t *shown_problems, *shown_preceding; /* per shown entry: record index, lines kept */
    size_t *shown_templates;
};


/* digest_select.c */
void digest_analyse(struct digest *d, json_t *records);
/* Up to `want` preceding records of i's process, indices oldest first. */
size_t digest_preceding(const struct digest *d, size_t i, size_t want, size_t *out);
/* The process_exit record of i's pid after it, or SIZE_MAX. */
size_t digest_exit_record(const struct digest *d, size_t i);

/* digest_json.c: the JSON of what the text shows, fitted to the budget. */
json_t *digest_json(struct digest *d, const char *origin);

#endif /* ULOG_CLI_DIGEST_PRIVATE_H */
