/*
 * live.h - the live stream's side of the feed: the last LOG_BUFFER_SIZE
 * records for a client that connects, and every new record for the
 * WebSocket clients (http_ws.c), each behind a bounded queue of its own.
 *
 * live_take runs on the event loop's thread and only keeps a reference to
 * the batch and wakes the HTTP thread; filtering, encoding and sending
 * happen there. Everything else here is for the HTTP thread. Counting
 * records out per source, level and service for /metrics happens here too,
 * on the HTTP thread, since every batch passes through.
 */
#ifndef ULOGD_LIVE_H
#define ULOGD_LIVE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "feed.h"

struct live;

struct live *live_new(unsigned buffer_size);
void live_free(struct live *live);

/* Called (from the event loop's thread) when batches are waiting. */
void live_set_wake(struct live *live, void (*wake)(void *ctx), void *ctx);

/* The feed consumer (ctx is the live hub): queue a reference, wake; never blocks. */
void live_take(void *live, struct feed_batch *batch);

/* HTTP thread: move the batches taken since the last call into the ring and
 * the clients' queues (call on every wake). */
void live_pump(struct live *live);

/* HTTP thread: append the live side's metrics (records out per source, level
 * and service; clients; missed records) in Prometheus text format. */
void live_write_metrics(struct live *live, FILE *out);

#endif
