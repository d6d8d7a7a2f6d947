/*
 * store_schema.c - the store's file: made, checked, built, tuned (see
 * store_private.h).
 *
 * The file is created by ulogd itself before SQLite sees it, so that it has
 * the logs' mode (0640) whatever the umask, and, when ulogd runs as root in
 * a container, the owner of the log directory like all.log (logfile.c);
 * SQLite gives its -wal and -shm the same owner and mode.
 *
 * auto_vacuum can only be chosen before the first table exists, so a new
 * file gets it first; WAL lets readers read while the writer writes;
 * synchronous=NORMAL in WAL mode loses at most the last commits on a power
 * cut, never consistency, and all.log holds every record anyway. The
 * schema's version is PRAGMA user_version.
 *
 * Indexes: the ones on level, service and container are single-column on
 * purpose: SQLite appends the rowid (log_id) to every index entry, so
 * `WHERE service = ? ORDER BY log_id DESC LIMIT 100` walks the index
 * backwards and stops after 100 rows. An index on (service, timestamp)
 * would order by time instead and make SQLite sort every row of the
 * service (480 ms instead of 0.2 ms on a million rows). The columns most
 * records leave empty have partial indexes (WHERE x IS NOT NULL): an
 * equality on them still uses the index, and rows without them cost
 * nothing to index.
 *
 * A file that is not a database or is corrupt is moved aside, never
 * deleted: it may be all someone has left of those records.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "logfile.h"
#include "store_private.h"

static const char schema_sql[] =
    "CREATE TABLE system_logs ("
    " log_id INTEGER PRIMARY KEY,"
    " timestamp TEXT NOT NULL,"
    " level TEXT NOT NULL CHECK (level IN ('DEBUG','INFO','WARNING','ERROR','CRITICAL')),"
    " service TEXT, container TEXT, host TEXT, pid INTEGER, tid INTEGER, stream TEXT,"
    " source TEXT, component TEXT, event_type TEXT,"
    " message TEXT NOT NULL,"
    " trace_id TEXT, span_id TEXT, agent_id TEXT, task_id TEXT,"
    " context TEXT, metadata TEXT);"
    "CREATE INDEX system_logs_timestamp ON system_logs(timestamp);"
    "CREATE INDEX system_logs_level ON system_logs(level);"
    "CREATE INDEX system_logs_service ON system_logs(service);"
    "CREATE INDEX system_logs_container ON system_logs(container);"
    "CREATE INDEX system_logs_component ON system_logs(component) WHERE component IS NOT NULL;"
    "CREATE INDEX system_logs_event_type ON system_logs(event_type) WHERE event_type IS NOT NULL;"
    "CREATE INDEX system_logs_trace_id ON system_logs(trace_id) WHERE trace_id IS NOT NULL;"
    "CREATE INDEX system_logs_agent_id ON system_logs(agent_id) WHERE agent_id IS NOT NULL;"
    "CREATE INDEX system_logs_task_id ON system_logs(task_id) WHERE task_id IS NOT NULL;"
    /* External content: the text is stored once, in system_logs. The writer
     * keeps the index in step in the same transactions (store_write.c,
     * store_retention.c). columnsize=0: results are ordered by log_id,
     * never ranked, so the per-row sizes bm25 needs are not kept. */
    "CREATE VIRTUAL TABLE system_logs_fts USING fts5(message, content='system_logs',"
    " content_rowid='log_id', columnsize=0);";

uint64_t store_file_bytes(const char *path)
{
    size_t len = strlen(path);
    char wal[len + 5];
    struct stat st;
    uint64_t total = 0;

    if (stat(path, &st) == 0)
        total += (uint64_t)st.st_size;
    memcpy(wal, path, len);
    memcpy(wal + len, "-wal", 5);
    if (stat(wal, &st) == 0)
        total += (uint64_t)st.st_size;
    return total;
}

/* mkdir -p of the directory `path` is in. */
static int make_parent_directories(const char *path)
{
    char *copy = must_strdup(path);
    int rc = 0;

    for (char *p = copy + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(copy, 0755) != 0 && errno != EEXIST)
            rc = -1;
        *p = '/';
    }
    free(copy);
    return rc;
}

/* See the opening comment: 0640, and the log directory's owner when root. */
static int precreate(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, LOGFILE_MODE);
    struct stat st;

    if (fd < 0)
        return errno == EEXIST ? 0 : -1;
    fchmod(fd, LOGFILE_MODE);
    char *dir = must_strdup(path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    else
        strcpy(dir, ".");
    if (geteuid() == 0 && stat(dir, &st) == 0 && !(st.st_uid == 0 && st.st_gid == 0)) {
        /* No CAP_CHOWN (a container) is no reason not to store: it stays ulogd's. */
        int refused = fchown(fd, st.st_uid, st.st_gid);
        (void)refused;
    }
    free(dir);
    close(fd);
    return 0;
}

static bool is_broken(int rc)
{
    return (rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT;
}

/* Run `sql`, which has no result to read; the SQLite code. */
static int exec(sqlite3 *db, const char *sql, char *err, size_t size)
{
    char *message = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &message);
    if (rc != SQLITE_OK)
        snprintf(err, size, "%s", message ? message : sqlite3_errstr(rc));
    sqlite3_free(message);
    return rc;
}

/* The first column of the first row of `sql` as an integer; the SQLite code. */
static int query_int(sqlite3 *db, const char *sql, int64_t *out, char *err, size_t size)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);

    if (rc == SQLITE_OK) {
        rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int64(stmt, 0);
            rc = SQLITE_OK;
        } else if (rc == SQLITE_DONE) {
            *out = 0;
            rc = SQLITE_OK;
        }
    }
    if (rc != SQLITE_OK)
        snprintf(err, size, "%s", sqlite3_errmsg(db));
    sqlite3_finalize(stmt);
    return rc;
}

static int create_schema(sqlite3 *db, char *err, size_t size)
{
    char sql[64];
    int rc;

    /* Before any table: auto_vacuum cannot be switched on later without VACUUM. */
    if ((rc = exec(db, "PRAGMA auto_vacuum=INCREMENTAL", err, size)) != SQLITE_OK ||
        (rc = exec(db, "PRAGMA journal_mode=WAL", err, size)) != SQLITE_OK ||
        (rc = exec(db, "BEGIN IMMEDIATE", err, size)) != SQLITE_OK)
        return rc;
    snprintf(sql, sizeof sql, "PRAGMA user_version=%d", STORE_SCHEMA_VERSION);
    if ((rc = exec(db, schema_sql, err, size)) != SQLITE_OK ||
        (rc = exec(db, sql, err, size)) != SQLITE_OK ||
        (rc = exec(db, "COMMIT", err, size)) != SQLITE_OK) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    return SQLITE_OK;
}

/*
 * Open `path` and make it a store of this version. SQLITE_OK; a code that
 * is_broken() for a file to move aside; any other with `err`.
 */
static int open_checked(const char *path, sqlite3 **out, char *err, size_t size)
{
    sqlite3 *db = NULL;
    int64_t version = 0, tables = 0, probe = 0;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);

    *out = NULL;
    if (rc != SQLITE_OK) {
        snprintf(err, size, "%s", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return rc;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, 5000);
    if ((rc = query_int(db, "PRAGMA user_version", &version, err, size)) != SQLITE_OK ||
        (rc = query_int(db, "SELECT count(*) FROM sqlite_schema", &tables, err, size)) !=
            SQLITE_OK)
        goto fail;
    if (version == 0 && tables == 0) {
        if ((rc = create_schema(db, err, size)) != SQLITE_OK)
            goto fail;
    } else if (version == 0) {
        snprintf(err, size, "it is a SQLite database ulogd did not make (no schema version): "
                            "move it away or set store.path (ULOG_STORE_PATH) to another file");
        rc = SQLITE_ERROR;
        goto fail;
    } else if (version > STORE_SCHEMA_VERSION) {
        snprintf(err, size, "it has schema version %lld, made by a newer ulogd than this one "
                            "(version %d)",
                 (long long)version, STORE_SCHEMA_VERSION);
        rc = SQLITE_ERROR;
        goto fail;
    }
    /*
     * A damaged file usually shows on its first pages; reading the whole of
     * it (quick_check: about a second per 400 MB) would delay every start.
     * WAL, set again in case the file was copied without it; FAST secure
     * delete overwrites removed records only where that costs no extra
     * I/O (Debian's SQLite overwrites always); the WAL is cut back after
     * checkpoints instead of keeping its peak size. The page cache stays at
     * SQLite's 2 MB: 16 MB made no measurable difference to the writer on
     * 1.3 million rows (22-26 us of CPU a row either way).
     */
    if ((rc = query_int(db, "SELECT max(log_id) FROM system_logs", &probe, err, size)) !=
            SQLITE_OK ||
        (rc = query_int(db, "SELECT count(*) FROM system_logs", &probe, err, size)) != SQLITE_OK ||
        (rc = exec(db, "PRAGMA journal_mode=WAL", err, size)) != SQLITE_OK ||
        (rc = exec(db, "PRAGMA synchronous=NORMAL; PRAGMA secure_delete=FAST;"
                       "PRAGMA journal_size_limit=16777216;"
                       "PRAGMA foreign_keys=OFF",
                   err, size)) != SQLITE_OK)
        goto fail;
    *out = db;
    return SQLITE_OK;
fail:
    sqlite3_close(db);
    return rc;
}

static char *suffixed(const char *path, const char *suffix)
{
    size_t len = strlen(path) + strlen(suffix) + 1;
    char *out = must_malloc(len);
    snprintf(out, len, "%s%s", path, suffix);
    return out;
}

/* Rename `path` (and its WAL) to PATH.corrupt-TIME; the new name in *moved. */
static int move_aside(const char *path, char **moved)
{
    char suffix[64];
    long long now = (long long)time(NULL);
    struct stat st;

    snprintf(suffix, sizeof suffix, ".corrupt-%lld", now);
    *moved = suffixed(path, suffix);
    for (int i = 1; stat(*moved, &st) == 0 && i < 100; i++) {
        free(*moved);
        snprintf(suffix, sizeof suffix, ".corrupt-%lld.%d", now, i);
        *moved = suffixed(path, suffix);
    }
    if (rename(path, *moved) != 0)
        return -1;
    /* A WAL belongs to the file it was written for, never to a new one. */
    char *from = suffixed(path, "-wal"), *to = suffixed(*moved, "-wal");
    if (rename(from, to) != 0 && errno != ENOENT)
        unlink(from);
    free(from);
    free(to);
    from = suffixed(path, "-shm");
    unlink(from);
    free(from);
    return 0;
}

sqlite3 *store_schema_open(const char *path, char *notice, size_t notice_size, char *err,
                           size_t err_size)
{
    char reason[512], *moved = NULL;
    sqlite3 *db = NULL;

    if (notice && notice_size)
        notice[0] = '\0';
    if (make_parent_directories(path) != 0 || precreate(path) != 0) {
        snprintf(err, err_size, "cannot create %s: %s", path, strerror(errno));
        return NULL;
    }
    int rc = open_checked(path, &db, reason, sizeof reason);
    if (rc == SQLITE_OK)
        return db;
    if (!is_broken(rc)) {
        snprintf(err, err_size, "%s: %s", path, reason);
        return NULL;
    }
    if (move_aside(path, &moved) != 0) {
        snprintf(err, err_size, "%s: %s, and it cannot be moved aside: %s", path, reason,
                 strerror(errno));
        free(moved);
        return NULL;
    }
    if (notice && notice_size)
        snprintf(notice, notice_size, "%s was not a usable database (%s): moved to %s, and a "
                                      "new store started",
                 path, reason, moved);
    free(moved);
    if (precreate(path) != 0) {
        snprintf(err, err_size, "cannot create %s: %s", path, strerror(errno));
        return NULL;
    }
    if (open_checked(path, &db, reason, sizeof reason) != SQLITE_OK) {
        snprintf(err, err_size, "%s: %s", path, reason);
        return NULL;
    }
    return db;
}

sqlite3 *store_reader_open(const char *path, char *err, size_t err_size)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);

    if (rc != SQLITE_OK) {
        snprintf(err, err_size, "%s: %s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, 2000);
    /* Sorts of a large time range stay in memory; query_only refuses writes
     * even through a pragma a bad query might smuggle in. */
    char *message = NULL;
    rc = sqlite3_exec(db, "PRAGMA query_only=1; PRAGMA temp_store=MEMORY", NULL, NULL, &message);
    if (rc != SQLITE_OK) {
        snprintf(err, err_size, "%s: %s", path, message ? message : sqlite3_errstr(rc));
        sqlite3_free(message);
        sqlite3_close(db);
        return NULL;
    }
    return db;
}
