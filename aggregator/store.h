/*
 * store.h - the embedded store: every record of all.log in SQLite, for
 * GET /logs, the live page's analysis and `ulog query`.
 *
 * One file (LOG_DIR/ulog.db by default, WAL, mode 0640 like the logs) with
 * the `system_logs` table of DESIGN.md, its indexes and an FTS5 index of the
 * messages. A writer thread of its own fills it from the feed (feed.h) in
 * batched transactions; the event loop only queues a reference to each
 * published batch and never waits. When the writer falls behind, what waits
 * is bounded (store.queue_bytes): beyond it whole batches are dropped from
 * the store (never from all.log) and counted; the lag is in store_stats
 * and on /metrics. Retention removes records older than store.max_age and,
 * when the file outgrows store.max_size, the oldest until it fits.
 *
 * Readers (the HTTP thread's workers, `ulog query`) open connections of
 * their own with store_reader_open; WAL lets them read while the writer
 * writes.
 */
#ifndef ULOGD_STORE_H
#define ULOGD_STORE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "feed.h"

#define STORE_FILE_NAME "ulog.db"

struct store;

struct store_stats {
    uint64_t queued_records;    /* taken from the feed, not yet committed */
    uint64_t queued_bytes;
    uint64_t committed_id;      /* the highest log_id committed (0: none) */
    uint64_t committed_total;   /* rows committed since start */
    uint64_t commits_total;     /* transactions */
    uint64_t dropped_total;     /* records dropped because the queue was full */
    uint64_t retention_deleted_total;
    uint64_t errors_total;      /* failed transactions (their records are counted in dropped) */
    uint64_t oldest_queued_ns;  /* CLOCK_REALTIME time the oldest queued batch was taken; 0 if none */
    uint64_t rows;              /* rows in the table (kept up to date by the writer) */
    uint64_t file_bytes;        /* ulog.db + its WAL */
    char last_error[256];       /* "" when none */
};

/*
 * Open (creating it, its schema and indexes when new) the store that
 * `settings` describe, under `log_dir` unless settings->path is absolute.
 * A file that is not a database, or is corrupt, is moved aside to
 * "<path>.corrupt-<unix time>" and a new one made; `notice` (size bytes,
 * may be NULL) then says so, for ulogd's own log. Returns NULL with `err`.
 */
struct store *store_open(const struct store_settings *settings, const char *log_dir,
                         char *notice, size_t notice_size, char *err, size_t err_size);

/* The highest log_id in the file (0 when empty): the feed starts after it. */
uint64_t store_max_id(struct store *store);

/* Start the writer thread. */
int store_start(struct store *store, char *err, size_t err_size);

/* The feed consumer (ctx is the store): queue a reference; never blocks. */
void store_take(void *store, struct feed_batch *batch);

/* Called on the writer thread after each commit (the HTTP thread's wake). */
void store_set_commit_hook(struct store *store, void (*hook)(void *ctx), void *ctx);

void store_get_stats(struct store *store, struct store_stats *out);
uint64_t store_committed_id(struct store *store);
const char *store_path(const struct store *store);

/* Commit what is queued (for at most `drain_ms`), stop the writer, close. */
void store_close(struct store *store, unsigned drain_ms);

/* A read-only connection of the caller's own, on any thread. NULL with `err`. */
sqlite3 *store_reader_open(const char *path, char *err, size_t err_size);

#endif
