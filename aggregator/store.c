/*
 * store.c - the store's writer thread and the queue that feeds it (see
 * store.h).
 *
 * The event loop hands over published feed batches by reference under a
 * mutex held for a few pointer moves (store_take), and never waits: when
 * more than store.queue_bytes of lines wait, the new batch is left out of
 * the store and counted. The writer wakes, takes everything queued (up to
 * STORE_MAX_TRANSACTION_ROWS) and writes it in one transaction: one commit,
 * one fsync of the WAL at most, however many batches arrived meanwhile, so
 * a slow disk makes transactions bigger rather than the queue longer.
 * Between transactions it runs a bounded step of retention.
 *
 * The writer thread never prints and never writes ulogd's own records (that
 * would feed back into the feed it is draining): what goes wrong is counted
 * in the statistics with the last error's text, and the event loop, which
 * reads them, turns them into records.
 */
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "record.h"
#include "store_private.h"

/* A transaction's size cap: bounds the time to the first commit after a
 * backlog (about 0.3 s on this machine), not the throughput. */
#define STORE_MAX_TRANSACTION_ROWS 20000
/* What one queued batch is counted as, beyond its lines. */
#define ITEM_OVERHEAD_BYTES (sizeof(struct feed_item) + 8)

uint64_t store_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Relative paths are under the log directory, like every file ulogd writes. */
static char *resolve_path(const struct store_settings *settings, const char *log_dir)
{
    const char *name = settings->path && settings->path[0] ? settings->path : STORE_FILE_NAME;
    if (name[0] == '/')
        return must_strdup(name);
    size_t len = strlen(log_dir) + 1 + strlen(name) + 1;
    char *path = must_malloc(len);
    snprintf(path, len, "%s/%s", log_dir, name);
    return path;
}

static int64_t query_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    int64_t value = 0;

    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
        value = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return value;
}

struct store *store_open(const struct store_settings *settings, const char *log_dir, char *notice,
                         size_t notice_size, char *err, size_t err_size)
{
    struct store *store = must_calloc(1, sizeof *store);
    char reason[512];

    /* SQLite's allocation statistics take a process-wide mutex on every
     * malloc (5 % of the writer's time); nothing reads them. Only possible
     * before SQLite's first use in the process, else harmlessly refused. */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);

    store->path = resolve_path(settings, log_dir ? log_dir : ".");
    store->queue_limit = settings->queue_bytes ? settings->queue_bytes : CONFIG_DEFAULT_STORE_QUEUE;
    store->retention.max_age_s = settings->max_age_s;
    store->retention.max_size = settings->max_size;
    store->db = store_schema_open(store->path, notice, notice_size, err, err_size);
    if (!store->db) {
        free(store->path);
        free(store);
        return NULL;
    }
    if (store_statements_prepare(store, reason, sizeof reason) != 0 ||
        store_retention_prepare(store, reason, sizeof reason) != 0) {
        snprintf(err, err_size, "%s: %s", store->path, reason);
        store_statements_finalize(&store->stmt);
        store_retention_finalize(&store->retention);
        sqlite3_close(store->db);
        free(store->path);
        free(store);
        return NULL;
    }
    store_retention_bound_wal(store);
    store->max_id = (uint64_t)query_int(store->db, "SELECT max(log_id) FROM system_logs");
    pthread_mutex_init(&store->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&store->wake, &attr);
    pthread_condattr_destroy(&attr);
    store->stats.committed_id = store->max_id;
    store->stats.rows = (uint64_t)query_int(store->db, "SELECT count(*) FROM system_logs");
    store->stats.file_bytes = store_file_bytes(store->path);
    return store;
}

uint64_t store_max_id(struct store *store)
{
    return store->max_id;
}

const char *store_path(const struct store *store)
{
    return store->path;
}

void store_set_commit_hook(struct store *store, void (*hook)(void *ctx), void *ctx)
{
    pthread_mutex_lock(&store->lock);
    store->commit_hook = hook;
    store->commit_hook_ctx = ctx;
    pthread_mutex_unlock(&store->lock);
}

void store_get_stats(struct store *store, struct store_stats *out)
{
    pthread_mutex_lock(&store->lock);
    *out = store->stats;
    pthread_mutex_unlock(&store->lock);
}

uint64_t store_committed_id(struct store *store)
{
    pthread_mutex_lock(&store->lock);
    uint64_t id = store->stats.committed_id;
    pthread_mutex_unlock(&store->lock);
    return id;
}

static size_t batch_bytes(const struct feed_batch *batch)
{
    size_t bytes = 0;
    for (size_t i = 0; i < batch->count; i++)
        bytes += batch->items[i].line_len + ITEM_OVERHEAD_BYTES;
    return bytes;
}

void store_take(void *ctx, struct feed_batch *batch)
{
    struct store *store = ctx;
    size_t bytes = batch_bytes(batch);

    pthread_mutex_lock(&store->lock);
    /* An empty queue takes any batch: a limit below one batch must not stop the store. */
    if (store->stopping ||
        (store->stats.queued_bytes && store->stats.queued_bytes + bytes > store->queue_limit)) {
        store->stats.dropped_total += batch->count;
        pthread_mutex_unlock(&store->lock);
        return;
    }
    struct store_queued *node = must_malloc(sizeof *node);
    feed_batch_ref(batch);
    *node = (struct store_queued){.batch = batch, .taken_ns = record_now_ns(), .bytes = bytes};
    if (store->tail)
        store->tail->next = node;
    else
        store->head = node;
    store->tail = node;
    if (!store->stats.oldest_queued_ns)
        store->stats.oldest_queued_ns = node->taken_ns;
    store->stats.queued_records += batch->count;
    store->stats.queued_bytes += bytes;
    pthread_cond_signal(&store->wake);
    pthread_mutex_unlock(&store->lock);
}

static void set_error(struct store *store, const char *text)
{
    store->stats.errors_total++;
    snprintf(store->stats.last_error, sizeof store->stats.last_error, "%s", text);
}

static void release(struct store_queued *list)
{
    while (list) {
        struct store_queued *next = list->next;
        feed_batch_unref(list->batch);
        free(list);
        list = next;
    }
}

/*
 * Write `list` in one transaction. Returns the rows inserted (-1: the
 * transaction failed), the highest id among them in *last_id, and the rows
 * left out one by one in *skipped.
 */
static int64_t write_batches(struct store *store, const struct store_queued *list,
                             uint64_t *last_id, uint64_t *skipped, char *err, size_t size)
{
    struct store_statements *s = &store->stmt;
    int64_t inserted = 0;
    char row_err[256];
    int rc;

    *skipped = 0;
    if ((rc = sqlite3_step(s->begin)) != SQLITE_DONE) {
        sqlite3_reset(s->begin);
        snprintf(err, size, "begin: %s", sqlite3_errmsg(store->db));
        return -1;
    }
    sqlite3_reset(s->begin);
    for (const struct store_queued *q = list; q; q = q->next) {
        for (size_t i = 0; i < q->batch->count; i++) {
            rc = store_insert_item(s, &q->batch->items[i], row_err, sizeof row_err);
            if (rc < 0) {
                snprintf(err, size, "%s", row_err);
                if (!sqlite3_get_autocommit(store->db)) {
                    sqlite3_step(s->rollback);
                    sqlite3_reset(s->rollback);
                }
                return -1;
            }
            if (rc > 0) {
                (*skipped)++;
                snprintf(err, size, "%s", row_err);
                continue;
            }
            inserted++;
            *last_id = q->batch->items[i].id;
        }
    }
    rc = sqlite3_step(s->commit);
    sqlite3_reset(s->commit);
    if (rc != SQLITE_DONE) {
        snprintf(err, size, "commit: %s", sqlite3_errmsg(store->db));
        if (!sqlite3_get_autocommit(store->db)) {
            sqlite3_step(s->rollback);
            sqlite3_reset(s->rollback);
        }
        return -1;
    }
    return inserted;
}

/* Detach the queue's first batches, up to the transaction cap (at least one). */
static struct store_queued *grab(struct store *store)
{
    struct store_queued *first = store->head, *last = first;
    size_t rows = first->batch->count;

    while (last->next && rows + last->next->batch->count <= STORE_MAX_TRANSACTION_ROWS) {
        last = last->next;
        rows += last->batch->count;
    }
    store->head = last->next;
    if (!store->head)
        store->tail = NULL;
    last->next = NULL;
    return first;
}

static void write_grabbed(struct store *store, struct store_queued *list)
{
    uint64_t last_id = 0, skipped = 0, records = 0, bytes = 0;
    char err[256] = "";
    int64_t inserted = write_batches(store, list, &last_id, &skipped, err, sizeof err);
    uint64_t file_bytes = store_file_bytes(store->path);

    for (struct store_queued *q = list; q; q = q->next) {
        records += q->batch->count;
        bytes += q->bytes;
    }
    pthread_mutex_lock(&store->lock);
    store->stats.queued_records -= records;
    store->stats.queued_bytes -= bytes;
    store->stats.oldest_queued_ns = store->head ? store->head->taken_ns : 0;
    store->stats.file_bytes = file_bytes;
    if (inserted < 0) {
        set_error(store, err);
        store->stats.dropped_total += records;
    } else {
        store->stats.commits_total++;
        store->stats.committed_total += (uint64_t)inserted;
        store->stats.rows += (uint64_t)inserted;
        if (last_id > store->stats.committed_id)
            store->stats.committed_id = last_id;
        if (skipped) {
            store->stats.errors_total += skipped;
            store->stats.dropped_total += skipped;
            snprintf(store->stats.last_error, sizeof store->stats.last_error, "%s", err);
        }
    }
    void (*hook)(void *) = store->commit_hook;
    void *hook_ctx = store->commit_hook_ctx;
    pthread_mutex_unlock(&store->lock);
    release(list);
    /* After a failure too: whoever waits for these ids must stop waiting. */
    if (hook)
        hook(hook_ctx);
}

static void retention(struct store *store, bool *more)
{
    char err[256] = "";
    bool vacuuming = store->retention.vacuum_pending;
    int64_t deleted = store_retention_step(store, store_monotonic_ns(), record_now_ns(), more, err,
                                           sizeof err);
    if (deleted == 0 && !vacuuming)
        return;
    uint64_t file_bytes = store_file_bytes(store->path);
    pthread_mutex_lock(&store->lock);
    store->stats.file_bytes = file_bytes;
    if (deleted < 0) {
        set_error(store, err);
        /* Try again at the next check, not in a loop. */
        store->retention.age_pending = store->retention.size_trimming = false;
        store->retention.vacuum_pending = false;
        *more = false;
    } else {
        store->stats.retention_deleted_total += (uint64_t)deleted;
        store->stats.rows -= (uint64_t)deleted < store->stats.rows ? (uint64_t)deleted
                                                                    : store->stats.rows;
    }
    pthread_mutex_unlock(&store->lock);
}

static void wait_for_work(struct store *store, bool retention_more)
{
    while (!store->head && !store->stopping && !retention_more) {
        uint64_t due = store_retention_next_ns(store);
        if (due == UINT64_MAX) {
            pthread_cond_wait(&store->wake, &store->lock);
            continue;
        }
        if (due <= store_monotonic_ns())
            return;
        struct timespec until = {.tv_sec = (time_t)(due / 1000000000ull),
                                 .tv_nsec = (long)(due % 1000000000ull)};
        if (pthread_cond_timedwait(&store->wake, &store->lock, &until) == ETIMEDOUT)
            return;
    }
}

static void *writer_main(void *arg)
{
    struct store *store = arg;
    bool retention_more = false;

    for (;;) {
        pthread_mutex_lock(&store->lock);
        wait_for_work(store, retention_more);
        if (store->stopping && (!store->head || store_monotonic_ns() >= store->drain_deadline_ns)) {
            pthread_mutex_unlock(&store->lock);
            break;
        }
        struct store_queued *list = store->head ? grab(store) : NULL;
        bool stopping = store->stopping;
        pthread_mutex_unlock(&store->lock);
        if (list)
            write_grabbed(store, list);
        if (!stopping)
            retention(store, &retention_more);
    }
    return NULL;
}

int store_start(struct store *store, char *err, size_t err_size)
{
    int rc = pthread_create(&store->thread, NULL, writer_main, store);
    if (rc != 0) {
        snprintf(err, err_size, "cannot start the store's writer: %s", strerror(rc));
        return -1;
    }
    store->started = true;
    return 0;
}

void store_close(struct store *store, unsigned drain_ms)
{
    if (!store)
        return;
    pthread_mutex_lock(&store->lock);
    store->stopping = true;
    store->drain_deadline_ns = store_monotonic_ns() + (uint64_t)drain_ms * 1000000ull;
    pthread_cond_signal(&store->wake);
    pthread_mutex_unlock(&store->lock);
    if (store->started)
        pthread_join(store->thread, NULL);
    /* What the drain could not write in time is left out, and counted. */
    pthread_mutex_lock(&store->lock);
    struct store_queued *left = store->head;
    for (struct store_queued *q = left; q; q = q->next)
        store->stats.dropped_total += q->batch->count;
    store->head = store->tail = NULL;
    pthread_mutex_unlock(&store->lock);
    release(left);
    store_statements_finalize(&store->stmt);
    store_retention_finalize(&store->retention);
    sqlite3_close(store->db);
    pthread_cond_destroy(&store->wake);
    pthread_mutex_destroy(&store->lock);
    free(store->path);
    free(store);
}
