/*
 * selflog.h - ulogd's records about itself.
 *
 * ulogd reports its start, its stop, refused connections and trouble with
 * all.log into all.log itself (source "ulogd", service "ulogd"), where the
 * people reading the stack's logs already look. Records below the sink's
 * level are not even built.
 */
#ifndef ULOGD_SELFLOG_H
#define ULOGD_SELFLOG_H

#include <jansson.h>
#include <sys/types.h>

#include "record.h"

struct selflog {
    struct record_sink sink;
    const char *host;
    pid_t pid;
};

void selflog_init(struct selflog *log, struct record_sink sink, const char *host);

/* Write one record; `metadata` (an object or NULL) is taken over. */
void selflog_emit(struct selflog *log, enum ulog_level level, const char *event_type,
                  json_t *metadata, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
