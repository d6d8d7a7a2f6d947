/*
 * store_retention.c - records leave the store when too old (store.max_age)
 * or when the file is too big (store.max_size) (see store_private.h).
 *
 * Everything here runs on the writer thread between its insert
 * transactions, in bounded steps: one chunk of rows per transaction, so
 * that a first start on a big old file, or a max_age lowered from 30d to
 * 1d, never holds new records back for more than one chunk's time. The age
 * is checked at most once a second, by the timestamp index; the size at
 * most once a second too, by the page counts SQLite keeps (no file system
 * call). Over max_size, the oldest records (by log_id) go until the pages
 * in use are under 90 % of it, then the free pages are handed back to the
 * file system with incremental vacuum, also in steps. Each deleted row's
 * full-text entry is deleted in the same transaction: an external-content
 * FTS5 index needs the old text to remove it, so it goes first.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "record.h"
#include "store_private.h"

/*
 * Rows per delete transaction. Deleting costs about 55 us a row here (the
 * row, its index entries, and its FTS entry, which needs the text read
 * back and tokenized): 1000 rows keep a pause for inserts near 60 ms;
 * a transaction's own cost (1 ms) stays small beside it.
 */
#define RETENTION_CHUNK_ROWS 1000
/* Pages handed back per step (16 MB of 4 KiB pages). */
#define VACUUM_CHUNK_PAGES 4096
#define CHECK_INTERVAL_NS 1000000000ull

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out, char *err, size_t size)
{
    int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL);
    if (rc != SQLITE_OK)
        snprintf(err, size, "%s", sqlite3_errmsg(db));
    return rc == SQLITE_OK ? 0 : -1;
}

#define AGE_CHUNK "SELECT log_id FROM system_logs WHERE timestamp < ?1 ORDER BY timestamp LIMIT ?2"
#define OLDEST_CHUNK "SELECT log_id FROM system_logs ORDER BY log_id LIMIT ?1"
#define FTS_DELETE                                                                          \
    "INSERT INTO system_logs_fts (system_logs_fts, rowid, message) "                        \
    "SELECT 'delete', log_id, message FROM system_logs WHERE log_id IN "

int store_retention_prepare(struct store *store, char *err, size_t size)
{
    struct store_retention *r = &store->retention;
    sqlite3 *db = store->db;

    if (prepare(db, FTS_DELETE "(" AGE_CHUNK ")", &r->age_fts, err, size) != 0 ||
        prepare(db, "DELETE FROM system_logs WHERE log_id IN (" AGE_CHUNK ")", &r->age_rows, err,
                size) != 0 ||
        prepare(db, FTS_DELETE "(" OLDEST_CHUNK ")", &r->oldest_fts, err, size) != 0 ||
        prepare(db, "DELETE FROM system_logs WHERE log_id IN (" OLDEST_CHUNK ")", &r->oldest_rows,
                err, size) != 0)
        return -1;
    return 0;
}

void store_retention_finalize(struct store_retention *r)
{
    sqlite3_finalize(r->age_fts);
    sqlite3_finalize(r->age_rows);
    sqlite3_finalize(r->oldest_fts);
    sqlite3_finalize(r->oldest_rows);
    r->age_fts = r->age_rows = r->oldest_fts = r->oldest_rows = NULL;
}

uint64_t store_retention_next_ns(const struct store *store)
{
    const struct store_retention *r = &store->retention;
    uint64_t next = UINT64_MAX;

    if (r->age_pending || r->size_trimming || r->vacuum_pending)
        return 0;
    if (r->max_age_s && r->next_age_check_ns < next)
        next = r->next_age_check_ns;
    if (r->max_size && r->next_size_check_ns < next)
        next = r->next_size_check_ns;
    return next;
}

static int step_done(sqlite3_stmt *stmt)
{
    int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int64_t pragma_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    int64_t value = -1;

    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
        value = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return value;
}

/* One transaction: the FTS entries of the chunk, then its rows. The rows deleted, or -1. */
static int64_t delete_chunk(struct store *store, sqlite3_stmt *fts, sqlite3_stmt *rows,
                            char *err, size_t size)
{
    sqlite3 *db = store->db;
    int rc;

    if ((rc = step_done(store->stmt.begin)) != SQLITE_OK)
        goto fail;
    if ((rc = step_done(fts)) != SQLITE_OK || (rc = step_done(rows)) != SQLITE_OK) {
        snprintf(err, size, "retention: %s", sqlite3_errmsg(db));
        step_done(store->stmt.rollback);
        return -1;
    }
    int64_t deleted = sqlite3_changes64(db);
    if ((rc = step_done(store->stmt.commit)) != SQLITE_OK)
        goto fail;
    return deleted;
fail:
    snprintf(err, size, "retention: %s", sqlite3_errmsg(db));
    if (!sqlite3_get_autocommit(db))
        step_done(store->stmt.rollback);
    return -1;
}

static int64_t age_step(struct store *store, uint64_t now_real_ns, bool *more, char *err,
                        size_t size)
{
    struct store_retention *r = &store->retention;
    char cutoff[RECORD_TIMESTAMP_SIZE];
    uint64_t age_ns = r->max_age_s * 1000000000ull;

    r->age_pending = false;
    if (r->max_age_s > UINT64_MAX / 1000000000ull || age_ns >= now_real_ns)
        return 0;
    record_format_timestamp(now_real_ns - age_ns, cutoff);
    sqlite3_bind_text(r->age_fts, 1, cutoff, RECORD_TIMESTAMP_LEN, SQLITE_TRANSIENT);
    sqlite3_bind_int(r->age_fts, 2, RETENTION_CHUNK_ROWS);
    sqlite3_bind_text(r->age_rows, 1, cutoff, RECORD_TIMESTAMP_LEN, SQLITE_TRANSIENT);
    sqlite3_bind_int(r->age_rows, 2, RETENTION_CHUNK_ROWS);
    int64_t deleted = delete_chunk(store, r->age_fts, r->age_rows, err, size);
    if (deleted == RETENTION_CHUNK_ROWS)
        *more = r->age_pending = true;
    return deleted;
}

/* While over max_size: a chunk of the oldest, sized by the average row. */
static int64_t size_step(struct store *store, bool *more, char *err, size_t size)
{
    struct store_retention *r = &store->retention;
    int64_t page_size = pragma_int(store->db, "PRAGMA page_size");
    int64_t pages = pragma_int(store->db, "PRAGMA page_count");
    int64_t free_pages = pragma_int(store->db, "PRAGMA freelist_count");

    if (page_size <= 0 || pages < 0 || free_pages < 0) {
        snprintf(err, size, "retention: %s", sqlite3_errmsg(store->db));
        return -1;
    }
    if (!r->size_trimming && (uint64_t)(pages * page_size) <= r->max_size)
        return 0;
    uint64_t used = (uint64_t)((pages - free_pages) * page_size);
    uint64_t target = r->max_size / 10 * 9;
    if (used <= target || store->stats.rows == 0) {
        r->size_trimming = false;
        if (free_pages > 0)
            *more = r->vacuum_pending = true;
        return 0;
    }
    r->size_trimming = *more = true;
    uint64_t row_bytes = used / store->stats.rows + 1;
    uint64_t rows = (used - target) / row_bytes + 1;
    int chunk = rows < RETENTION_CHUNK_ROWS ? (int)rows : RETENTION_CHUNK_ROWS;
    sqlite3_bind_int(r->oldest_fts, 1, chunk);
    sqlite3_bind_int(r->oldest_rows, 1, chunk);
    return delete_chunk(store, r->oldest_fts, r->oldest_rows, err, size);
}

static int vacuum_step(struct store *store, bool *more, char *err, size_t size)
{
    char sql[64], *message = NULL;
    int64_t before = pragma_int(store->db, "PRAGMA freelist_count");

    snprintf(sql, sizeof sql, "PRAGMA incremental_vacuum(%d)", VACUUM_CHUNK_PAGES);
    if (sqlite3_exec(store->db, sql, NULL, NULL, &message) != SQLITE_OK) {
        snprintf(err, size, "retention: vacuum: %s", message ? message : "failed");
        sqlite3_free(message);
        store->retention.vacuum_pending = false;
        return -1;
    }
    /* A file without auto_vacuum (made elsewhere) cannot give pages back: stop trying. */
    int64_t after = pragma_int(store->db, "PRAGMA freelist_count");
    store->retention.vacuum_pending = after > 0 && after < before;
    *more = store->retention.vacuum_pending;
    /* The pages given back are gone from the file only once the WAL holding
     * the vacuum is checkpointed; cut the WAL too (readers may hold it: then
     * the next checkpoint does it). */
    if (!store->retention.vacuum_pending)
        sqlite3_exec(store->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
    return 0;
}

void store_retention_bound_wal(struct store *store)
{
    int64_t page_size = pragma_int(store->db, "PRAGMA page_size");
    uint64_t wal_bytes, pages;
    char sql[128];

    /* The WAL is part of the file's footprint: under a small max_size, the
     * default (checkpoints every 1000 pages, 16 MiB kept) would outgrow the
     * database it serves. An eighth of the bound, within SQLite's defaults. */
    if (!store->retention.max_size || page_size <= 0)
        return;
    wal_bytes = store->retention.max_size / 8;
    if (wal_bytes > 16u << 20)
        wal_bytes = 16u << 20;
    pages = wal_bytes / (uint64_t)page_size;
    pages = pages < 16 ? 16 : pages > 1000 ? 1000 : pages;
    snprintf(sql, sizeof sql, "PRAGMA wal_autocheckpoint=%" PRIu64 "; PRAGMA journal_size_limit=%" PRIu64,
             pages, wal_bytes);
    sqlite3_exec(store->db, sql, NULL, NULL, NULL);
}

int64_t store_retention_step(struct store *store, uint64_t now_mono_ns, uint64_t now_real_ns,
                             bool *more, char *err, size_t size)
{
    struct store_retention *r = &store->retention;

    *more = false;
    if (r->max_size && (r->size_trimming || now_mono_ns >= r->next_size_check_ns)) {
        if (!r->size_trimming)
            r->next_size_check_ns = now_mono_ns + CHECK_INTERVAL_NS;
        int64_t deleted = size_step(store, more, err, size);
        if (deleted != 0 || *more)
            return deleted;
    }
    if (r->max_age_s && (r->age_pending || now_mono_ns >= r->next_age_check_ns)) {
        if (!r->age_pending)
            r->next_age_check_ns = now_mono_ns + CHECK_INTERVAL_NS;
        int64_t deleted = age_step(store, now_real_ns, more, err, size);
        if (deleted != 0)
            return deleted;
    }
    if (r->vacuum_pending)
        return vacuum_step(store, more, err, size);
    return 0;
}
