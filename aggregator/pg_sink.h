/*
 * pg_sink.h - the same records in PostgreSQL, for a team that outgrows one
 * SQLite file: the system_logs table of DESIGN.md in a database they run.
 *
 * A thread of its own takes published batches (feed.h) and writes them in
 * one transaction each (COPY), idempotently by log_id, so that a batch
 * retried after a lost connection is never stored twice. The event loop only
 * queues references; when PostgreSQL is away or slow, what waits is bounded
 * (the store's queue_bytes), the rest is dropped from PostgreSQL only and
 * counted; the connection is retried with backoff (0.5 s doubling to 30 s).
 */
#ifndef ULOGD_PG_SINK_H
#define ULOGD_PG_SINK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "feed.h"

struct pg_sink;

struct pg_sink_stats {
    uint64_t queued_records;
    uint64_t committed_id;
    uint64_t written_total;
    uint64_t dropped_total;
    uint64_t errors_total;
    uint64_t reconnects_total;
    int connected;                /* 1 while a connection is up */
    char last_error[256];
};

/* Does not connect yet (the thread does); NULL with `err` only for a
 * conninfo libpq cannot parse. */
struct pg_sink *pg_sink_new(const char *conninfo, uint64_t queue_bytes, char *err, size_t err_size);
int pg_sink_start(struct pg_sink *sink, char *err, size_t err_size);
void pg_sink_take(void *sink, struct feed_batch *batch); /* the feed consumer */
void pg_sink_get_stats(struct pg_sink *sink, struct pg_sink_stats *out);
/* Append its metrics in Prometheus text format. */
void pg_sink_write_metrics(struct pg_sink *sink, FILE *out);
/* Write what is queued (for at most drain_ms), stop, close. */
void pg_sink_close(struct pg_sink *sink, unsigned drain_ms);

#endif
