/*
 * selflog.c - ulogd's records about itself (see selflog.h).
 */
#include "selflog.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

void selflog_init(struct selflog *log, struct record_sink sink, const char *host)
{
    log->sink = sink;
    log->host = host;
    log->pid = getpid();
}

void selflog_emit(struct selflog *log, enum ulog_level level, const char *event_type,
                  json_t *metadata, const char *fmt, ...)
{
    char message[1024];
    va_list ap;
    int len;

    if (!record_sink_wants(&log->sink, level)) {
        json_decref(metadata);
        return;
    }
    va_start(ap, fmt);
    len = vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    if (len < 0)
        len = 0;
    if ((size_t)len >= sizeof message)
        len = sizeof message - 1;

    struct record record = {
        .level = level,
        .service = "ulogd",
        .host = log->host,
        .pid = (uint32_t)log->pid,
        .source = "ulogd",
        .event_type = event_type,
        .message = message,
        .message_len = (size_t)len,
        .metadata = metadata,
    };
    log->sink.write(log->sink.ctx, &record);
    json_decref(metadata);
}
