/*
 * mcp_tools_store.c - what each of `ulog mcp`'s tools reads (mcp_tools.h):
 * ulogd's store, found and opened as `ulog query` does (read-only; WAL lets
 * it read while ulogd writes), through the same query code as GET /logs
 * where that fits (log_query.h), SQL of its own over system_logs where it
 * does not (per-service counts, process events); and, for log_context, the
 * records of logsource.h made into the digest of `ulog context`.
 *
 * The arguments arrive already checked against the tool's schema
 * (mcp_tools.c): types and ranges need no second look here, only what the
 * schema cannot say (a time that is no time, an FTS query SQLite refuses).
 * The store is looked for at each call, so a ulogd started after `ulog mcp`
 * is found.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "digest.h"
#include "log_query.h"
#include "logsource.h"
#include "mcp_tools.h"
#include "store.h"
#include "ulog/level.h"

static const char *str_arg(json_t *args, const char *key)
{
    return json_string_value(json_object_get(args, key));
}

static long long int_arg(json_t *args, const char *key, long long fallback)
{
    json_t *v = json_object_get(args, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : fallback;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* log_query's "name: why" told as the tool's argument: "argument \"since\": why". */
static void argument_error(const char *argument, const char *parameter, const char *why,
                           char *err, size_t size)
{
    size_t len = strlen(parameter);
    if (strncmp(why, parameter, len) == 0 && strncmp(why + len, ": ", 2) == 0)
        why += len + 2;
    snprintf(err, size, "argument \"%s\": %s", argument, why);
}

int mcp_time_argument(const char *argument, const char *value, char out[32], char *err,
                      size_t err_size)
{
    struct log_query q;
    char why[512];

    log_query_init(&q);
    int rc = log_query_set(&q, "start_time", value, now_ns(), why, sizeof why);
    if (rc == 0)
        memcpy(out, q.start_time, sizeof q.start_time);
    else
        argument_error(argument, "start_time", why, err, err_size);
    log_query_free(&q);
    return rc;
}

/* since (default `fallback`) and until of a window tool, as store times ("" no end). */
static int window(json_t *args, const char *fallback, char since[32], char until[32], char *err,
                  size_t size)
{
    const char *s = str_arg(args, "since"), *u = str_arg(args, "until");
    until[0] = '\0';
    if (mcp_time_argument("since", s ? s : fallback, since, err, size) != 0 ||
        (u && mcp_time_argument("until", u, until, err, size) != 0))
        return -1;
    if (until[0] && strcmp(until, since) <= 0) {
        snprintf(err, size, "argument \"until\": must be after since (%s), not %s", since, until);
        return -1;
    }
    return 0;
}

/* The store's read connection, or -1 with where it was looked for. */
static sqlite3 *open_store(const struct mcp_source *source, char *err, size_t size)
{
    struct logsource_options where = {.log_dir = source->log_dir, .db = source->db};
    char *path = logsource_store_path(&where), why[512];
    struct stat st;
    sqlite3 *db = NULL;

    if (!path || stat(path, &st) != 0)
        snprintf(err, size, "there is no store at %s (%s): ulogd creates it when it runs with "
                            "the store on (the default; store.mode, ULOG_STORE). Start ulogd, or "
                            "start `ulog mcp` with --log-dir or --db. log_context and tail_logs "
                            "still work: they read all.log.",
                 path ? path : "?", strerror(errno));
    else if (!(db = store_reader_open(path, why, sizeof why)))
        snprintf(err, size, "cannot read the store %s: %s", path, why);
    free(path);
    return db;
}

static int run_query(const struct mcp_source *source, const struct log_query *q, json_t **result,
                     char *err, size_t size)
{
    bool bad_request = false;
    char why[512];
    sqlite3 *db = open_store(source, err, size);
    if (!db)
        return -1;
    int rc = log_query_run(db, q, result, &bad_request, why, sizeof why);
    sqlite3_close(db);
    if (rc != 0) {
        if (bad_request)
            argument_error("q", "q", why, err, size);
        else
            snprintf(err, size, "the store could not be read: %s", why);
    }
    return rc;
}

/* Set every argument given as the GET /logs parameter of the same name. */
static int set_parameters(struct log_query *q, json_t *args, char *err, size_t size)
{
    const char *key;
    json_t *v;
    char text[32], why[512];
    uint64_t now = now_ns();

    json_object_foreach(args, key, v) {
        const char *value = json_string_value(v);
        if (json_is_integer(v)) {
            snprintf(text, sizeof text, "%lld", (long long)json_integer_value(v));
            value = text;
        }
        if (value && log_query_set(q, key, value, now, why, sizeof why) != 0) {
            argument_error(key, key, why, err, size);
            return -1;
        }
    }
    return 0;
}

int mcp_query_logs(const struct mcp_source *source, json_t *args, struct mcp_output *out,
                   char *err, size_t size)
{
    struct log_query q;
    json_t *result = NULL;

    log_query_init(&q);
    int rc = set_parameters(&q, args, err, size);
    if (rc == 0)
        rc = run_query(source, &q, &result, err, size);
    log_query_free(&q);
    if (rc == 0)
        *out = (struct mcp_output){.object = result, .list_key = "logs"};
    return rc;
}

/* The page's records reversed: oldest first. */
static json_t *reversed(json_t *logs)
{
    json_t *list = json_array();
    for (size_t i = json_array_size(logs); i > 0; i--)
        json_array_append(list, json_array_get(logs, i - 1));
    return list;
}

static bool store_exists(const struct mcp_source *source)
{
    struct logsource_options where = {.log_dir = source->log_dir, .db = source->db};
    char *path = logsource_store_path(&where);
    struct stat st;
    bool exists = path && stat(path, &st) == 0;
    free(path);
    return exists;
}

/* Without a store (ulogd with the store off, or not running): all.log's newest records. */
static int tail_all_log(const struct mcp_source *source, json_t *args, struct mcp_output *out,
                        char *err, size_t size)
{
    const char *level = str_arg(args, "min_level");
    struct logsource_options opt = {.log_dir = source->log_dir, .service = str_arg(args, "service"),
                                    .min_level = level ? ulog_level_parse(level) : -1,
                                    .max_records = (size_t)int_arg(args, "limit", 50)};
    struct logsource_result records = {0};
    char why[512];

    if (logsource_read(&opt, &records, why, sizeof why) != 0) {
        snprintf(err, size, "the logs could not be read: %s", why);
        logsource_result_free(&records);
        return -1;
    }
    out->object = json_pack("{s:O, s:I, s:b, s:s}", "logs", records.records, "count",
                            (json_int_t)json_array_size(records.records), "older_records_exist",
                            records.truncated, "origin", records.origin);
    out->list_key = "logs";
    out->keep_last = true;
    logsource_result_free(&records);
    return 0;
}

int mcp_tail_logs(const struct mcp_source *source, json_t *args, struct mcp_output *out,
                  char *err, size_t size)
{
    struct log_query q;
    json_t *result = NULL, *limit;

    if (!source->db && !store_exists(source))
        return tail_all_log(source, args, out, err, size);
    limit = json_integer(int_arg(args, "limit", 50));
    log_query_init(&q);
    json_object_set_new(args, "limit", limit);
    int rc = set_parameters(&q, args, err, size);
    if (rc == 0)
        rc = run_query(source, &q, &result, err, size);
    log_query_free(&q);
    if (rc != 0)
        return rc;
    json_t *logs = reversed(json_object_get(result, "logs"));
    out->object = json_pack("{s:o, s:I, s:b, s:s}", "logs", logs, "count",
                            (json_int_t)json_array_size(logs), "older_records_exist",
                            json_is_integer(json_object_get(result, "next_offset")), "origin",
                            "store");
    out->list_key = "logs";
    out->keep_last = true;
    json_decref(result);
    return 0;
}

static int by_time(const void *a, const void *b)
{
    json_t *const *x = a, *const *y = b;
    int c = strcmp(json_string_value(json_object_get(*x, "timestamp")) ?: "",
                   json_string_value(json_object_get(*y, "timestamp")) ?: "");
    if (c)
        return c;
    json_int_t i = json_integer_value(json_object_get(*x, "log_id")),
               j = json_integer_value(json_object_get(*y, "log_id"));
    return (i > j) - (i < j);
}

int mcp_trace(const struct mcp_source *source, json_t *args, struct mcp_output *out, char *err,
              size_t size)
{
    struct log_query q;
    json_t *result = NULL;

    log_query_init(&q);
    json_object_set_new(args, "limit", json_integer(int_arg(args, "limit", 1000)));
    int rc = set_parameters(&q, args, err, size);
    if (rc == 0)
        rc = run_query(source, &q, &result, err, size);
    log_query_free(&q);
    if (rc != 0)
        return rc;
    json_t *logs = json_object_get(result, "logs"), *services = json_array(), *r;
    size_t n = json_array_size(logs), i;
    json_t **sorted = calloc(n ? n : 1, sizeof *sorted);
    json_array_foreach(logs, i, r) sorted[i] = r;
    qsort(sorted, n, sizeof *sorted, by_time);
    json_t *list = json_array();
    for (i = 0; i < n; i++) {
        json_t *service = json_object_get(sorted[i], "service");
        size_t k;
        json_t *seen;
        bool known = false;
        json_array_foreach(services, k, seen) known |= json_equal(seen, service);
        if (service && !known)
            json_array_append(services, service);
        json_array_append(list, sorted[i]);
    }
    free(sorted);
    out->object = json_pack("{s:s, s:o, s:o, s:I, s:b}", "trace_id", str_arg(args, "trace_id"),
                            "services", services, "logs", list, "count", (json_int_t)n,
                            "more_records_exist",
                            json_is_integer(json_object_get(result, "next_offset")));
    out->list_key = "logs";
    json_decref(result);
    return 0;
}

/* Prepare `sql` and bind the window: ?1 since, ?2 until or NULL. */
static sqlite3_stmt *prepare(sqlite3 *db, const char *sql, const char *since, const char *until,
                             char *err, size_t size)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        snprintf(err, size, "the store could not be read: %s", sqlite3_errmsg(db));
        return NULL;
    }
    sqlite3_bind_text(stmt, 1, since, -1, SQLITE_TRANSIENT);
    if (until[0])
        sqlite3_bind_text(stmt, 2, until, -1, SQLITE_TRANSIENT);
    return stmt;
}

static json_t *text_column(sqlite3_stmt *stmt, int column)
{
    const unsigned char *text = sqlite3_column_text(stmt, column);
    return text ? json_string((const char *)text) : json_null();
}

/* The window is read through the timestamp index: "+service" keeps SQLite
 * from scanning the whole table in service order to group it. */
static const char services_sql[] =
    "SELECT service, COUNT(*), SUM(level = 'DEBUG'), SUM(level = 'INFO'), "
    "SUM(level = 'WARNING'), SUM(level = 'ERROR'), SUM(level = 'CRITICAL'), MIN(timestamp), "
    "MAX(timestamp) FROM system_logs WHERE timestamp >= ?1 AND (?2 IS NULL OR timestamp < ?2) "
    "GROUP BY +service ORDER BY COUNT(*) DESC, service";
static const char containers_sql[] =
    "SELECT service, container, MAX(CASE WHEN json_valid(context) THEN "
    "json_extract(context, '$.container_name') END), COUNT(*) FROM system_logs "
    "WHERE timestamp >= ?1 AND (?2 IS NULL OR timestamp < ?2) AND container IS NOT NULL "
    "GROUP BY +service, +container ORDER BY COUNT(*) DESC";

int mcp_list_services(const struct mcp_source *source, json_t *args, struct mcp_output *out,
                      char *err, size_t size)
{
    char since[32], until[32];
    json_int_t all = 0;

    if (window(args, "1h", since, until, err, size) != 0)
        return -1;
    sqlite3 *db = open_store(source, err, size);
    if (!db)
        return -1;
    sqlite3_stmt *stmt = prepare(db, services_sql, since, until, err, size);
    json_t *services = json_array(), *by_name = json_object();
    int rc = stmt ? SQLITE_ROW : SQLITE_ERROR;
    while (stmt && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        json_t *levels = json_object();
        for (int l = 0; l < ULOG_LEVEL_COUNT; l++)
            json_object_set_new(levels, ulog_level_name((enum ulog_level)l),
                                json_integer(sqlite3_column_int64(stmt, 2 + l)));
        json_t *s = json_pack("{s:o, s:I, s:o, s:I, s:o, s:o, s:[]}", "service",
                              text_column(stmt, 0), "records",
                              (json_int_t)sqlite3_column_int64(stmt, 1), "levels", levels,
                              "errors",
                              (json_int_t)(sqlite3_column_int64(stmt, 5) +
                                           sqlite3_column_int64(stmt, 6)),
                              "first_seen", text_column(stmt, 7), "last_seen",
                              text_column(stmt, 8), "containers");
        all += sqlite3_column_int64(stmt, 1);
        const unsigned char *name = sqlite3_column_text(stmt, 0);
        json_object_set(by_name, name ? (const char *)name : "", s);
        json_array_append_new(services, s);
    }
    sqlite3_finalize(stmt);
    stmt = rc == SQLITE_DONE ? prepare(db, containers_sql, since, until, err, size) : NULL;
    while (stmt && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const unsigned char *name = sqlite3_column_text(stmt, 0);
        json_t *s = json_object_get(by_name, name ? (const char *)name : "");
        json_array_append_new(json_object_get(s, "containers"),
                              json_pack("{s:o, s:o, s:I}", "id", text_column(stmt, 1), "name",
                                        text_column(stmt, 2), "records",
                                        (json_int_t)sqlite3_column_int64(stmt, 3)));
    }
    if (stmt && rc != SQLITE_DONE)
        snprintf(err, size, "the store could not be read: %s", sqlite3_errmsg(db));
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    json_decref(by_name);
    if (rc != SQLITE_DONE) {
        json_decref(services);
        return -1;
    }
    out->object = json_pack("{s:{s:s, s:s?}, s:I, s:I, s:o}", "window", "since", since, "until",
                            until[0] ? until : NULL, "services_count",
                            (json_int_t)json_array_size(services), "records", all, "services",
                            services);
    out->list_key = "services";
    return 0;
}

/* An abnormal end (see the only_abnormal argument's description). */
static const char abnormal_sql[] =
    " AND (event_type IN ('oom_kill', 'container_oom')"
    " OR (event_type = 'process_exit' AND (COALESCE(json_extract(metadata, '$.exit_status'), -1)"
    " != 0 OR json_extract(metadata, '$.oom_killed')))"
    " OR (event_type = 'container_die' AND COALESCE(json_extract(metadata, '$.exit_code'), -1)"
    " != 0))";

/* Through the event_type index (events are few); "+service" keeps SQLite
 * from walking every record of the service instead. */
int mcp_process_events(const struct mcp_source *source, json_t *args, struct mcp_output *out,
                       char *err, size_t size)
{
    char since[32], until[32], sql[2048];
    const char *service = str_arg(args, "service");
    bool abnormal = json_is_true(json_object_get(args, "only_abnormal"));
    long long limit = int_arg(args, "limit", 100);

    if (window(args, "1h", since, until, err, size) != 0)
        return -1;
    snprintf(sql, sizeof sql,
             "SELECT " LOG_QUERY_COLUMNS " FROM system_logs WHERE event_type IN ('process_exit', "
             "'oom_kill', 'container_die', 'container_kill', 'container_oom', "
             "'container_restart') AND timestamp >= ?1 AND (?2 IS NULL OR timestamp < ?2)%s%s "
             "ORDER BY log_id DESC LIMIT %lld",
             service ? " AND +service = ?3" : "", abnormal ? abnormal_sql : "", limit + 1);
    sqlite3 *db = open_store(source, err, size);
    if (!db)
        return -1;
    sqlite3_stmt *stmt = prepare(db, sql, since, until, err, size);
    if (stmt && service)
        sqlite3_bind_text(stmt, 3, service, -1, SQLITE_TRANSIENT);
    json_t *events = json_array();
    int rc = stmt ? SQLITE_ROW : SQLITE_ERROR;
    while (stmt && (rc = sqlite3_step(stmt)) == SQLITE_ROW)
        json_array_append_new(events, log_query_row_json(stmt, 0));
    if (stmt && rc != SQLITE_DONE)
        snprintf(err, size, "the store could not be read: %s", sqlite3_errmsg(db));
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    if (rc != SQLITE_DONE) {
        json_decref(events);
        return -1;
    }
    bool more = json_array_size(events) > (size_t)limit;
    if (more)
        json_array_remove(events, (size_t)limit);
    out->object = json_pack("{s:{s:s, s:s?}, s:b, s:o, s:I, s:b}", "window", "since", since,
                            "until", until[0] ? until : NULL, "only_abnormal", abnormal, "events",
                            events, "count", (json_int_t)json_array_size(events),
                            "more_events_exist", more);
    out->list_key = "events";
    return 0;
}

/* A store time ("2026-11-21T14:22:18.214521Z") in ns since the epoch. */
static uint64_t store_time_ns(const char *text)
{
    struct tm tm = {0};
    unsigned micro = 0;
    if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d.%6uZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &micro) < 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    return t < 0 ? 0 : (uint64_t)t * 1000000000ull + micro * 1000ull;
}

int mcp_log_context(const struct mcp_source *source, json_t *args, struct mcp_output *out,
                    char *err, size_t size)
{
    char since[32], until[32], why[512];
    const char *level = str_arg(args, "level");
    /* Like `ulog context`: every record is read (counts and templates cover every
     * level); the level is the lowest that counts as a problem shown in full. */
    struct logsource_options opt = {.log_dir = source->log_dir, .db = source->db,
                                    .service = str_arg(args, "service"), .min_level = -1};
    struct logsource_result records = {0};

    if (window(args, "15m", since, until, err, size) != 0)
        return -1;
    opt.since_ns = store_time_ns(since);
    opt.until_ns = until[0] ? store_time_ns(until) : 0;
    if (logsource_read(&opt, &records, why, sizeof why) != 0) {
        snprintf(err, size, "the logs could not be read: %s", why);
        logsource_result_free(&records);
        return -1;
    }
    struct digest_options d = {.since_ns = opt.since_ns, .until_ns = opt.until_ns,
                               .service = opt.service,
                               .min_level = level ? ulog_level_parse(level) : ULOG_ERROR,
                               .budget = (size_t)int_arg(args, "budget", 8000)};
    json_t *json = NULL;
    char *markdown = NULL;
    int rc = digest_build(records.records, &d, records.origin, &json, &markdown, why, sizeof why);
    logsource_result_free(&records);
    if (rc != 0) {
        snprintf(err, size, "the digest could not be made: %s", why);
        json_decref(json);
        free(markdown);
        return -1;
    }
    *out = (struct mcp_output){.object = json, .markdown = markdown};
    return 0;
}
