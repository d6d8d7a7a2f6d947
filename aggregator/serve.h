/*
 * serve.h - what the event loop does for the serving side: the feed of
 * finished records to the store, PostgreSQL and the live stream; posted
 * entries into the pipeline; counters out; and the HTTP thread's start and
 * stop.
 *
 * The event loop calls in at a few fixed points and never waits: records
 * are gathered during a turn and published at its end (serve_end_turn),
 * posted entries arrive through a descriptor it polls (serve_inbox_fd), and
 * the store's and PostgreSQL's troubles come back as counters it turns into
 * records of ulogd's own, at most once a second (serve_housekeeping).
 */
#ifndef ULOGD_SERVE_H
#define ULOGD_SERVE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "feed.h"
#include "ingest_stats.h"
#include "pipeline.h"
#include "selflog.h"

struct serve;

/*
 * Open the store (its highest id starts the feed) and make the feed, the
 * live hub, the inbox and the PostgreSQL sink; nothing runs yet. A store
 * that cannot be opened leaves the store off (`*notice` says why, for the
 * log) rather than stopping ulogd: all.log is what must not stop.
 */
struct serve *serve_open(const struct ulogd_config *config, const char *host);

/* The feed outputs_write adds every all.log record to. */
struct feed *serve_feed(struct serve *serve);

/* Start the store's writer, PostgreSQL's and the HTTP thread; what could not
 * start is told in ulogd's own log. -1 with `err` only for what the
 * configuration demands and cannot be had (a bad PostgreSQL conninfo). */
int serve_start(struct serve *serve, struct pipeline *pipeline, struct selflog *selflog,
                char *err, size_t err_size);

/* The eventfd posted entries wake the loop on; -1 without an HTTP server. */
int serve_inbox_fd(const struct serve *serve);

/* Run what was posted through the pipeline and answer with the ids. */
void serve_take_posts(struct serve *serve);

/* End of a turn of the loop: publish its records and a copy of `stats`. */
void serve_end_turn(struct serve *serve, const struct ingest_stats *stats);

/* The HTTP server's port, or 0 when none runs. */
unsigned serve_http_port(const struct serve *serve);

/* Entries posted and taken, for the counters. */
uint64_t serve_http_entries(const struct serve *serve);

/* Report the store's and PostgreSQL's troubles (at most once a second). */
void serve_housekeeping(struct serve *serve, uint64_t now_mono_ns);

/* Stop the HTTP thread, publish the last records, let the store and
 * PostgreSQL write what they hold (a few seconds at most), close. */
void serve_stop(struct serve *serve);

#endif
