/*
 * logsource.c - reads a window of records for `ulog context` and `ulog
 * mcp` (see logsource.h).
 *
 * The store: one bounded SELECT, newest first (log_id descending, the order
 * the API uses), LIMIT max+1 to know whether more matched; rows become the
 * API's record objects through log_query_row_json. all.log: the current file
 * then all.log.1, all.log.2 ... (older), each read forwards line by line; a
 * file whose first record is already before the window ends the walk, and
 * once max_records newer records are held, older files are not read.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log_query.h"
#include "logsource.h"
#include "record.h"
#include "store.h"
#include "tail.h"
#include "timestamp.h"
#include "ulog/level.h"

#define MAX_ROTATED 64u

char *logsource_store_path(const struct logsource_options *opt)
{
    const char *dir = opt->log_dir ? opt->log_dir : getenv("LOG_DIR");
    const char *configured = getenv("ULOG_STORE_PATH");
    const char *name = opt->db ? opt->db : configured && configured[0] ? configured : "ulog.db";
    char *path = NULL;

    if (!dir || !dir[0])
        dir = "./logs";
    if (opt->db || name[0] == '/')
        return strdup(name);
    if (asprintf(&path, "%s/%s", dir, name) < 0)
        return NULL;
    return path;
}

static size_t max_of(const struct logsource_options *opt)
{
    return opt->max_records ? opt->max_records : LOGSOURCE_DEFAULT_MAX;
}

static int read_store(const struct logsource_options *opt, const char *path,
                      struct logsource_result *res, char *err, size_t size)
{
    char sql[1024], since[RECORD_TIMESTAMP_SIZE], until[RECORD_TIMESTAMP_SIZE];
    size_t max = max_of(opt), n = 0;
    int bind = 1, rc;
    sqlite3_stmt *stmt = NULL;
    sqlite3 *db = store_reader_open(path, err, size);

    if (!db)
        return -1;
    snprintf(sql, sizeof sql, "SELECT " LOG_QUERY_COLUMNS " FROM system_logs WHERE 1%s%s%s%s"
             " ORDER BY log_id DESC LIMIT ?",
             opt->since_ns ? " AND timestamp >= ?" : "", opt->until_ns ? " AND timestamp < ?" : "",
             opt->service ? " AND service = ?" : "",
             opt->min_level > 0 ? " AND level IN (SELECT value FROM json_each(?))" : "");
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
        goto sqlfail;
    if (opt->since_ns) {
        record_format_timestamp(opt->since_ns, since);
        sqlite3_bind_text(stmt, bind++, since, -1, SQLITE_STATIC);
    }
    if (opt->until_ns) {
        record_format_timestamp(opt->until_ns, until);
        sqlite3_bind_text(stmt, bind++, until, -1, SQLITE_STATIC);
    }
    if (opt->service)
        sqlite3_bind_text(stmt, bind++, opt->service, -1, SQLITE_STATIC);
    char levels[96] = "[";
    if (opt->min_level > 0) {
        for (int l = opt->min_level; l < ULOG_LEVEL_COUNT; l++)
            snprintf(levels + strlen(levels), sizeof levels - strlen(levels), "%s\"%s\"",
                     l > opt->min_level ? "," : "", ulog_level_name((enum ulog_level)l));
        strcat(levels, "]");
        sqlite3_bind_text(stmt, bind++, levels, -1, SQLITE_STATIC);
    }
    sqlite3_bind_int64(stmt, bind, (sqlite3_int64)max + 1);
    json_t *newest_first = json_array();
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        res->scanned++;
        if (n++ == max) {
            res->truncated = true;
            break;
        }
        json_array_append_new(newest_first, log_query_row_json(stmt, 0));
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        json_decref(newest_first);
        goto sqlfail;
    }
    for (size_t i = json_array_size(newest_first); i-- > 0;)
        json_array_append(res->records, json_array_get(newest_first, i));
    json_decref(newest_first);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    res->origin = "store";
    return 0;
sqlfail:
    snprintf(err, size, "cannot read %s: %s", path, sqlite3_errmsg(db));
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return -1;
}

static uint64_t record_time(const json_t *record)
{
    const char *t = json_string_value(json_object_get(record, "timestamp"));
    return t ? timestamp_parse_text(t, strlen(t)) : 0;
}

static bool record_matches(const struct logsource_options *opt, const json_t *record, uint64_t t)
{
    if ((opt->since_ns && t < opt->since_ns) || (opt->until_ns && t >= opt->until_ns))
        return false;
    if (opt->service) {
        const char *s = json_string_value(json_object_get(record, "service"));
        if (!s || strcmp(s, opt->service) != 0)
            return false;
    }
    if (opt->min_level > 0) {
        int level = ulog_level_parse(json_string_value(json_object_get(record, "level")));
        if (level >= 0 && level < opt->min_level)
            return false;
    }
    return true;
}

/* One file, forwards: its matching records appended to `out` (kept to the
 * newest `max`). *before_window: its first timed record is before since. */
static int read_file(FILE *f, const struct logsource_options *opt, struct logsource_result *res,
                     json_t *out, size_t max, bool *before_window)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    bool first = true;

    while ((len = getline(&line, &cap, f)) > 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0)
            continue;
        res->scanned++;
        json_t *record = json_loadb(line, (size_t)len, 0, NULL);
        if (!json_is_object(record)) {
            json_decref(record);
            res->unparsable++;
            continue;
        }
        uint64_t t = record_time(record);
        if (first && t) {
            *before_window = opt->since_ns && t < opt->since_ns;
            first = false;
        }
        if (record_matches(opt, record, t)) {
            json_array_append_new(out, record);
            if (json_array_size(out) >= 2 * max + 1) { /* drop the oldest in one sweep */
                json_t *kept = json_array();
                for (size_t i = json_array_size(out) - max; i < json_array_size(out); i++)
                    json_array_append(kept, json_array_get(out, i));
                json_array_clear(out);
                json_array_extend(out, kept);
                json_decref(kept);
                res->truncated = true;
            }
        } else {
            json_decref(record);
        }
    }
    free(line);
    return ferror(f) ? -1 : 0;
}

static bool has_any_log(const char *dir)
{
    char path[4096];

    snprintf(path, sizeof path, "%s/%s", dir, TAIL_LOG_NAME);
    if (access(path, F_OK) == 0)
        return true;
    snprintf(path, sizeof path, "%s/%s.1", dir, TAIL_LOG_NAME);
    return access(path, F_OK) == 0;
}

static int read_all_log(const struct logsource_options *opt, struct logsource_result *res,
                        char *err, size_t size)
{
    const char *dir = opt->log_dir ? opt->log_dir : getenv("LOG_DIR");
    size_t max = max_of(opt), held = 0;
    json_t *files[MAX_ROTATED + 1] = {0}; /* newest file first */
    unsigned nfiles = 0;
    int rc = 0;

    if (!dir || !dir[0])
        dir = "./logs";
    res->origin = "all.log";
    /* Nothing at all to read is a wrong directory far more often than a
     * silent stack: say where we looked rather than digest nothing. */
    if (!has_any_log(dir)) {
        snprintf(err, size, "no logs in %s: neither %s nor %s there (is ulogd writing to it? "
                 "--log-dir or LOG_DIR says where)", dir, STORE_FILE_NAME, TAIL_LOG_NAME);
        return -1;
    }
    for (unsigned gen = 0; gen <= MAX_ROTATED; gen++) {
        char path[4096];
        bool before = false;
        if (gen == 0)
            snprintf(path, sizeof path, "%s/%s", dir, TAIL_LOG_NAME);
        else
            snprintf(path, sizeof path, "%s/%s.%u", dir, TAIL_LOG_NAME, gen);
        if (held >= max) { /* older records would only be dropped */
            res->truncated |= access(path, F_OK) == 0;
            break;
        }
        FILE *f = fopen(path, "re");
        if (!f && errno == ENOENT && gen == 0)
            continue; /* between a rotation's rename and the new file */
        if (!f && errno == ENOENT)
            break;
        if (!f) {
            snprintf(err, size, "cannot open %s: %s", path, strerror(errno));
            rc = -1;
            break;
        }
        files[nfiles] = json_array();
        if (read_file(f, opt, res, files[nfiles], max, &before) != 0) {
            snprintf(err, size, "cannot read %s: %s", path, strerror(errno));
            rc = -1;
        }
        fclose(f);
        held += json_array_size(files[nfiles++]);
        if (rc != 0 || before)
            break;
    }
    if (held > max)
        res->truncated = true;
    /* Oldest first, dropping the oldest beyond max. */
    size_t skip = held > max ? held - max : 0;
    for (unsigned i = nfiles; i-- > 0;) {
        for (size_t j = 0; j < json_array_size(files[i]); j++) {
            if (skip) {
                skip--;
                continue;
            }
            json_array_append(res->records, json_array_get(files[i], j));
        }
        json_decref(files[i]);
    }
    return rc;
}

int logsource_read(const struct logsource_options *opt, struct logsource_result *result, char *err,
                   size_t err_size)
{
    struct stat st;
    int rc;

    memset(result, 0, sizeof *result);
    result->records = json_array();
    char *path = logsource_store_path(opt);
    if (!path) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    if (stat(path, &st) == 0)
        rc = read_store(opt, path, result, err, err_size);
    else if (opt->db) {
        snprintf(err, err_size, "there is no store at %s (%s)", path, strerror(errno));
        rc = -1;
    } else
        rc = read_all_log(opt, result, err, err_size);
    free(path);
    return rc;
}

void logsource_result_free(struct logsource_result *result)
{
    json_decref(result->records);
    result->records = NULL;
}
