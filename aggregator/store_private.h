/*
 * store_private.h - what the store's files share, and nothing else may use.
 *
 * The store (store.h) is one module in four files: store.c owns the queue
 * between the event loop and the writer thread, the thread itself and the
 * statistics; store_schema.c the file: its creation, schema, version,
 * pragmas, and what happens to a file that is not a usable database;
 * store_write.c turns a feed item's JSON line into a row; store_retention.c
 * removes what is too old or too much.
 */
#ifndef ULOGD_STORE_PRIVATE_H
#define ULOGD_STORE_PRIVATE_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "feed.h"
#include "store.h"

/* The schema this code writes; PRAGMA user_version of the file. */
#define STORE_SCHEMA_VERSION 1

/* A batch taken from the feed, waiting for the writer. */
struct store_queued {
    struct feed_batch *batch;
    uint64_t taken_ns;
    size_t bytes;
    struct store_queued *next;
};

/* The writer's prepared statements, reused for every row. */
struct store_statements {
    sqlite3_stmt *begin, *commit, *rollback;
    sqlite3_stmt *insert;     /* system_logs */
    sqlite3_stmt *insert_fts; /* system_logs_fts, same rowid */
};

struct store_retention {
    uint64_t max_age_s, max_size;
    uint64_t next_age_check_ns;  /* CLOCK_MONOTONIC */
    uint64_t next_size_check_ns;
    bool age_pending;            /* the last age chunk was full: more to delete */
    bool size_trimming;          /* deleting the oldest until under 90 % */
    bool vacuum_pending;         /* free pages to give back to the file system */
    sqlite3_stmt *age_fts, *age_rows;   /* ?1 cutoff, ?2 chunk */
    sqlite3_stmt *oldest_fts, *oldest_rows; /* ?1 chunk */
};

struct store {
    char *path;
    sqlite3 *db; /* the writer's connection: the opening thread's, then the writer's */
    uint64_t max_id;
    uint64_t queue_limit;

    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool started, stopping;
    uint64_t drain_deadline_ns; /* CLOCK_MONOTONIC */
    pthread_t thread;
    struct store_queued *head, *tail; /* under lock */
    struct store_stats stats;          /* under lock */
    void (*commit_hook)(void *ctx);
    void *commit_hook_ctx;

    /* The writer thread's own. */
    struct store_statements stmt;
    struct store_retention retention;
};

/* ---- store_schema.c ------------------------------------------------------------ */

/* Create or open the file at `path`, check and, when new, build it. `notice`
 * says when a broken file was moved aside. NULL with `err`. */
sqlite3 *store_schema_open(const char *path, char *notice, size_t notice_size, char *err,
                           size_t err_size);

/* "ulog.db + its WAL" in bytes. */
uint64_t store_file_bytes(const char *path);

/* ---- store_write.c ------------------------------------------------------------- */

int store_statements_prepare(struct store *store, char *err, size_t err_size);
void store_statements_finalize(struct store_statements *stmt);

/*
 * Insert one item (its row and its FTS entry) inside the open transaction.
 * 0, or -1 with `err` (the row is left out; the transaction goes on unless
 * sqlite3_get_autocommit says SQLite rolled it back).
 */
int store_insert_item(struct store_statements *stmt, const struct feed_item *item, char *err,
                      size_t err_size);

/* ---- store_retention.c --------------------------------------------------------- */

int store_retention_prepare(struct store *store, char *err, size_t err_size);
void store_retention_finalize(struct store_retention *retention);

/* Keep the WAL within an eighth of max_size (when one is set). */
void store_retention_bound_wal(struct store *store);

/*
 * One bounded step of retention, if one is due at `now_mono_ns`: a chunk of
 * rows older than max_age, or of the oldest while the file is over
 * max_size, or some free pages handed back. Returns the rows deleted (0 when
 * nothing was due) or -1 with `err`. *more says whether another step should
 * follow at once rather than after the next check interval.
 */
int64_t store_retention_step(struct store *store, uint64_t now_mono_ns, uint64_t now_real_ns,
                             bool *more, char *err, size_t err_size);

/* The earliest CLOCK_MONOTONIC time a step could have something to do. */
uint64_t store_retention_next_ns(const struct store *store);

/* ---- shared helpers (store.c) ------------------------------------------------ */

uint64_t store_monotonic_ns(void);

#endif
