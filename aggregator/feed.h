/*
 * feed.h - finished records on their way from the event loop to the threads
 * that serve them: the store's writer, the live stream, /metrics.
 *
 * The event loop must never wait for a reader, a disk or a client, so it
 * does not hand records over one by one: it gathers every record it writes
 * to all.log during one turn of the loop into a batch (feed_add, no lock),
 * and at the end of the turn publishes the whole batch (feed_commit): one
 * lock per turn, whatever the rate. A batch is immutable once published and
 * reference-counted; each consumer keeps it as long as it needs it and lets
 * go with feed_batch_unref, from any thread.
 *
 * Every record written to all.log gets the next log_id, here, in the order
 * the file has them: the store's primary key, the id POST /logs answers, and
 * the cursor of a live client. Ids go on across restarts (the first is the
 * store's highest + 1).
 */
#ifndef ULOGD_FEED_H
#define ULOGD_FEED_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "bytebuf.h"
#include "record.h"

struct feed_item {
    uint64_t id;
    uint64_t time_ns;       /* the record's timestamp, CLOCK_REALTIME ns */
    enum ulog_level level;
    /* NUL-terminated, inside the batch; "" when the record has none. Raw bytes
     * as the record had them (may be ill-formed UTF-8): compare, never print. */
    const char *service;
    const char *container;
    const char *source;
    /* The record exactly as all.log has it: one JSON object, valid UTF-8,
     * without the newline, NUL-terminated. */
    const char *line;
    size_t line_len;
};

struct feed_batch {
    atomic_uint refs;
    size_t count;
    uint64_t first_id, last_id; /* ids are consecutive: last_id - first_id + 1 == count */
    struct feed_item *items;
    char *bytes;                /* what the items point into */
};

void feed_batch_ref(struct feed_batch *batch);
void feed_batch_unref(struct feed_batch *batch); /* frees it with the last reference */

/* Who takes each published batch; called on the event loop's thread. */
struct feed_consumer {
    void (*take)(void *ctx, struct feed_batch *batch); /* takes a reference if it keeps it */
    void *ctx;
};

#define FEED_MAX_CONSUMERS 4

struct feed {
    uint64_t next_id;
    /* The batch being gathered during this turn of the loop. */
    struct bytebuf bytes;
    struct feed_item *items; /* offsets into bytes until feed_commit fixes them up */
    size_t count, cap;
    struct feed_consumer consumers[FEED_MAX_CONSUMERS];
    size_t consumer_count;
};

void feed_init(struct feed *feed, uint64_t first_id);
void feed_free(struct feed *feed);
void feed_add_consumer(struct feed *feed, struct feed_consumer consumer);

/* The record as written to all.log (`line`: its JSON, with or without the
 * newline). Returns its log_id. Cheap: a copy into the turn's batch. */
uint64_t feed_add(struct feed *feed, const struct record *record, const char *line, size_t len);

/* Publish what this turn gathered to every consumer; nothing when empty. */
void feed_commit(struct feed *feed);

/* The id the next record will get (so last written = feed_next_id - 1). */
static inline uint64_t feed_next_id(const struct feed *feed)
{
    return feed->next_id;
}

#endif
