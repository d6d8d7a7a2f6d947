/*
 * record.h - the record: one line of all.log, and its JSON-Lines encoding.
 *
 * Every input (shim lines, drop reports, ulogd's own events) fills the same
 * struct; only this file knows the key order of DESIGN.md's table and how a
 * record becomes one line of JSON. Strings are borrowed, not owned: a record
 * lives for one call and points into the connection or the received message.
 */
#ifndef ULOGD_RECORD_H
#define ULOGD_RECORD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytebuf.h"
#include "ulog/level.h"

struct record {
    uint64_t time_ns; /* CLOCK_REALTIME; 0 means "now" */
    enum ulog_level level;
    /* NUL-terminated strings; NULL (or "") omits the key. Any bytes allowed. */
    const char *service;
    const char *container;
    const char *host;
    uint32_t pid, tid; /* 0 omits the key */
    const char *stream;
    const char *source;
    const char *component;
    const char *event_type;
    /* The message is a byte range: captured lines may contain NULs. */
    const char *message;
    size_t message_len;
    const char *trace_id, *span_id, *agent_id, *task_id;
    const json_t *context;  /* an object, or NULL */
    const json_t *metadata; /* an object, or NULL */
};

/* Where finished records go, and the lowest level it wants. */
struct record_sink {
    void (*write)(void *ctx, const struct record *record);
    void *ctx;
    enum ulog_level min_level;
};

static inline bool record_sink_wants(const struct record_sink *sink, enum ulog_level level)
{
    return level >= sink->min_level;
}

/* Length of "2026-11-21T14:22:18.214521Z" and room for its NUL. */
#define RECORD_TIMESTAMP_LEN 27
#define RECORD_TIMESTAMP_SIZE (RECORD_TIMESTAMP_LEN + 1)

/* RFC 3339 UTC with microseconds; writes RECORD_TIMESTAMP_SIZE bytes. */
void record_format_timestamp(uint64_t time_ns, char out[RECORD_TIMESTAMP_SIZE]);

/* CLOCK_REALTIME in nanoseconds. */
uint64_t record_now_ns(void);

/*
 * Append `record` to `out` as one line of JSON ending in "\n". Ill-formed
 * UTF-8 in any string becomes the text \xNN; control characters and NUL are
 * escaped. Returns 0, or -1 (out unchanged) if jansson could not serialise
 * context or metadata.
 */
int record_append_json(const struct record *record, struct bytebuf *out);

#endif
