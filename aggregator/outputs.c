/*
 * outputs.c - all.log, errors.log, routed files, console (see outputs.h).
 *
 * A failed write is reported once when it starts (stderr: the log itself may
 * be what fails) and once when writing works again, in the log, with what
 * the outage cost; in between the bytes wait in memory and each flush
 * retries them.
 */
#include "outputs.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

static int open_file(struct outputs *o, struct output_file *f, const char *name)
{
    memset(f, 0, sizeof *f);
    if (logfile_open_named(&f->log, o->dir, name, o->rotation_size, o->backup_count) != 0)
        return -1;
    f->name = must_strdup(name);
    return 0;
}

static void close_file(struct output_file *f)
{
    if (!f->name)
        return;
    if (!f->unopenable)
        logfile_close(&f->log);
    free(f->name);
    f->name = NULL;
}

static void start_console(struct outputs *o, enum console_mode mode)
{
    char err[256];

    o->console_mode = mode;
    if (mode == CONSOLE_OFF)
        return;
    o->console = console_start(mode, 1, OUTPUTS_CONSOLE_QUEUE, err, sizeof err);
    if (!o->console) {
        fprintf(stderr, "ulogd: no console mirror: %s\n", err);
        o->console_mode = CONSOLE_OFF;
    }
}

int outputs_open(struct outputs *o, const struct ulogd_config *config, char *err, size_t size)
{
    memset(o, 0, sizeof *o);
    o->line = (struct bytebuf)BYTEBUF_INIT;
    o->dir = must_strdup(config->log_dir);
    o->rotation_size = config->rotation_size;
    o->backup_count = config->backup_count;
    o->errors_level = config->errors_level;
    if (open_file(o, &o->all, LOGFILE_NAME) != 0) {
        snprintf(err, size, "cannot open %s/%s: %s", o->dir, LOGFILE_NAME, strerror(errno));
        free(o->dir);
        return -1;
    }
    if (config->errors_file[0] && open_file(o, &o->errors, config->errors_file) != 0) {
        snprintf(err, size, "cannot open %s/%s: %s", o->dir, config->errors_file,
                 strerror(errno));
        close_file(&o->all);
        free(o->dir);
        return -1;
    }
    start_console(o, config->console);
    return 0;
}

static void report(struct outputs *o, enum ulog_level level, const char *event_type,
                   json_t *metadata, const char *message)
{
    if (o->report)
        o->report(o->report_ctx, level, event_type, metadata, message);
    else
        json_decref(metadata);
}

static struct output_file *route_file(struct outputs *o, const char *name)
{
    for (size_t i = 0; i < o->route_count; i++)
        if (strcmp(o->routes[i].name, name) == 0)
            return o->routes[i].unopenable ? NULL : &o->routes[i];
    if (o->route_count == OUTPUTS_MAX_ROUTES) {
        if (o->unrouted++ == 0) {
            char message[256];
            snprintf(message, sizeof message,
                     "more than %d route files: records routed to %.100s and further new files "
                     "stay in all.log only",
                     OUTPUTS_MAX_ROUTES, name);
            report(o, ULOG_ERROR, "route_limit", json_pack("{s:s}", "route", name), message);
        }
        return NULL;
    }
    struct output_file *f = &o->routes[o->route_count++];
    if (open_file(o, f, name) != 0) {
        /* Said once; its records stay in all.log until SIGHUP tries again. */
        char message[512];
        snprintf(message, sizeof message,
                 "cannot open route file %s/%s: %s; its records stay in all.log", o->dir, name,
                 strerror(errno));
        f->name = must_strdup(name);
        f->unopenable = true;
        fprintf(stderr, "ulogd: %s\n", message);
        report(o, ULOG_ERROR, "route_error", json_pack("{s:s}", "route", name), message);
        return NULL;
    }
    return f;
}

static void append(struct output_file *f, const struct bytebuf *line)
{
    if (logfile_append(&f->log, line->data, line->len) == 0)
        f->records++;
}

void outputs_write(struct outputs *o, const struct record *record, const char *const *routes,
                   size_t route_count)
{
    struct record stamped;

    /* "Now" read once: the line and the feed's item must tell the same time. */
    if (!record->time_ns) {
        stamped = *record;
        stamped.time_ns = record_now_ns();
        record = &stamped;
    }
    o->line.len = 0;
    if (record_append_json(record, &o->line) != 0) {
        o->unencodable++;
        return;
    }
    append(&o->all, &o->line);
    if (o->feed)
        feed_add(o->feed, record, o->line.data, o->line.len);
    if (o->errors.name && record->level >= o->errors_level)
        append(&o->errors, &o->line);
    for (size_t i = 0; i < route_count; i++) {
        struct output_file *f = route_file(o, routes[i]);
        if (f)
            append(f, &o->line);
    }
    if (o->console)
        console_submit(o->console, o->line.data, o->line.len);
}

bool outputs_have_queued(const struct outputs *o)
{
    if (logfile_has_queued(&o->all.log) || (o->errors.name && logfile_has_queued(&o->errors.log)))
        return true;
    for (size_t i = 0; i < o->route_count; i++)
        if (!o->routes[i].unopenable && logfile_has_queued(&o->routes[i].log))
            return true;
    return false;
}

static int flush_file(struct outputs *o, struct output_file *f)
{
    struct logfile *log = &f->log;

    if (logfile_flush(log) != 0) {
        if (errno != f->reported_errno)
            fprintf(stderr, "ulogd: cannot write %s: %s; keeping records in memory and retrying\n",
                    log->path, strerror(errno));
        f->reported_errno = errno;
        return -1;
    }
    if (f->reported_errno == 0 && log->refused_lines == f->lost_reported)
        return 0;
    /* Writing works again: say what the outage cost, in the log itself. */
    uint64_t lost = log->refused_lines - f->lost_reported;
    const char *why = strerror(f->reported_errno ? f->reported_errno : ENOSPC);
    char message[512];
    fprintf(stderr, "ulogd: writing %s works again (%" PRIu64 " records lost)\n", log->path,
            lost);
    snprintf(message, sizeof message,
             "%s could not be written for a while (%s); %" PRIu64 " records were lost",
             log->path, why, lost);
    f->reported_errno = 0;
    f->lost_reported = log->refused_lines;
    report(o, ULOG_ERROR, "write_error",
           json_pack("{s:s, s:s, s:I}", "file", f->name, "error", why, "lost_records",
                     (json_int_t)lost),
           message);
    return 0;
}

int outputs_flush(struct outputs *o)
{
    int rc = 0;

    /* Reports made while flushing land in all.log's queue: all.log goes last. */
    if (o->errors.name && flush_file(o, &o->errors) != 0)
        rc = -1;
    for (size_t i = 0; i < o->route_count; i++)
        if (!o->routes[i].unopenable && flush_file(o, &o->routes[i]) != 0)
            rc = -1;
    if (flush_file(o, &o->all) != 0)
        rc = -1;
    return rc;
}

static void reopen_file(struct output_file *f)
{
    if (f->name && logfile_reopen(&f->log) != 0)
        fprintf(stderr, "ulogd: cannot re-open %s: %s; retrying\n", f->log.path, strerror(errno));
}

void outputs_reopen(struct outputs *o)
{
    size_t kept = 0;

    reopen_file(&o->all);
    reopen_file(&o->errors);
    /* Routes that could not be opened get another chance with their next record. */
    for (size_t i = 0; i < o->route_count; i++) {
        if (o->routes[i].unopenable) {
            free(o->routes[i].name);
            continue;
        }
        reopen_file(&o->routes[i]);
        o->routes[kept++] = o->routes[i];
    }
    o->route_count = kept;
}

static void set_rotation(struct output_file *f, const struct ulogd_config *c)
{
    if (!f->name || f->unopenable)
        return;
    f->log.rotation_size = c->rotation_size;
    f->log.backup_count = c->backup_count;
}

void outputs_reconfigure(struct outputs *o, const struct ulogd_config *config)
{
    o->rotation_size = config->rotation_size;
    o->backup_count = config->backup_count;
    set_rotation(&o->all, config);
    set_rotation(&o->errors, config);
    for (size_t i = 0; i < o->route_count; i++)
        set_rotation(&o->routes[i], config);

    o->errors_level = config->errors_level;
    if (!o->errors.name || strcmp(o->errors.name, config->errors_file) != 0) {
        if (o->errors.name) {
            flush_file(o, &o->errors);
            close_file(&o->errors);
        }
        if (config->errors_file[0] && open_file(o, &o->errors, config->errors_file) != 0)
            fprintf(stderr, "ulogd: cannot open %s/%s: %s\n", o->dir, config->errors_file,
                    strerror(errno));
    }
    if (config->console != o->console_mode) {
        if (o->console)
            console_stop(o->console);
        o->console = NULL;
        start_console(o, config->console);
    }
}

int outputs_close(struct outputs *o, size_t *left)
{
    int rc = outputs_flush(o);

    *left = o->all.log.queued.len;
    if (o->console)
        console_stop(o->console);
    o->console = NULL;
    for (size_t i = 0; i < o->route_count; i++)
        close_file(&o->routes[i]);
    close_file(&o->errors);
    close_file(&o->all);
    bytebuf_free(&o->line);
    free(o->dir);
    return rc;
}
