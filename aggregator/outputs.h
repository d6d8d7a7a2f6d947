/*
 * outputs.h - where finished records go: all.log, errors.log, routed files,
 * and the console mirror.
 *
 * A record is encoded once and the same line goes to every destination that
 * wants it: all.log always (the pipeline has already applied the minimum
 * levels), errors.log from its level up, each file a rule routed it to, and
 * the console mirror when one runs. Every file is a logfile (logfile.h):
 * buffered, rotated like all.log, kept in memory across a write failure.
 * Route files open on their first record, so a rule naming "{service}"
 * costs nothing until a service appears; at most OUTPUTS_MAX_ROUTES are
 * open, and a record routed beyond that stays in all.log (and is counted).
 */
#ifndef ULOGD_OUTPUTS_H
#define ULOGD_OUTPUTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytebuf.h"
#include "config.h"
#include "console.h"
#include "feed.h"
#include "logfile.h"
#include "record.h"

#define OUTPUTS_MAX_ROUTES 64
#define OUTPUTS_CONSOLE_QUEUE (4u << 20)

struct output_file {
    struct logfile log;
    char *name;
    uint64_t records;
    int reported_errno;     /* the write failure already reported, or 0 */
    uint64_t lost_reported; /* log.refused_lines already reported */
    bool unopenable;        /* a route whose file could not be opened: not retried per record */
};

struct outputs {
    char *dir;
    uint64_t rotation_size;
    unsigned backup_count;
    struct output_file all;
    struct output_file errors;       /* errors.name NULL: switched off */
    enum ulog_level errors_level;
    struct output_file routes[OUTPUTS_MAX_ROUTES];
    size_t route_count;
    uint64_t unrouted;               /* records a full route table kept from their file */
    uint64_t unencodable;
    struct console *console;
    enum console_mode console_mode;
    struct bytebuf line;
    struct feed *feed;               /* where every all.log record also goes (serve.h); may be NULL */
    /* Report failures and recoveries in the log itself (set after opening). */
    void (*report)(void *ctx, enum ulog_level level, const char *event_type, json_t *metadata,
                   const char *message);
    void *report_ctx;
};

/* Open all.log and errors.log under config->log_dir and start the console. */
int outputs_open(struct outputs *o, const struct ulogd_config *config, char *err,
                 size_t err_size);

/* Write `record` to all.log, errors.log when its level is high enough, and `routes`. */
void outputs_write(struct outputs *o, const struct record *record, const char *const *routes,
                   size_t route_count);

bool outputs_have_queued(const struct outputs *o);

/* Write what is queued in every file; -1 if any failed (reported, retried on the next call). */
int outputs_flush(struct outputs *o);

/* Flush, close and re-open every file (SIGHUP, or an outside rotation). */
void outputs_reopen(struct outputs *o);

/* Take on a reloaded configuration's rotation, errors file and console mode. */
void outputs_reconfigure(struct outputs *o, const struct ulogd_config *config);

/* Flush and close everything; -1 if records were left unwritten (then `left` says how many bytes). */
int outputs_close(struct outputs *o, size_t *left);

#endif
