/*
 * analysis_sql.c - the queries behind an analysis (see analysis.h): counts
 * by level and service, the most frequent messages, and the latest errors
 * with the records that led to each, over system_logs on a reader
 * connection of a job thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "log_query.h"
#include "record.h"
#include "timestamp.h"

#define NS_PER_SECOND 1000000000ull

/* Level names from their severity, in SQL: the column holds text. */
#define SEVERITY_SQL                                                                         \
    "CASE level WHEN 'DEBUG' THEN 0 WHEN 'INFO' THEN 1 WHEN 'WARNING' THEN 2 "              \
    "WHEN 'ERROR' THEN 3 ELSE 4 END"

/* The WHERE clause every query shares: ?1 start, ?2 end, ?3.. the services;
 * levels are written out (they are ours, not the client's). */
static void where_clause(const struct analysis_query *query, enum ulog_level min_level,
                         char *out, size_t size)
{
    size_t at = (size_t)snprintf(out, size, "timestamp >= ?1 AND timestamp < ?2");
    size_t services = query->services ? json_array_size(query->services) : 0;
    for (size_t i = 0; i < services && at < size; i++)
        at += (size_t)snprintf(out + at, size - at, "%s?%zu", i == 0 ? " AND service IN (" : ",",
                               i + 3);
    if (services > 0 && at < size)
        at += (size_t)snprintf(out + at, size - at, ")");
    if (min_level > ULOG_DEBUG && at < size) {
        at += (size_t)snprintf(out + at, size - at, " AND level IN (");
        for (unsigned level = min_level; level < ULOG_LEVEL_COUNT && at < size; level++)
            at += (size_t)snprintf(out + at, size - at, "%s'%s'", level == min_level ? "" : ",",
                                   ulog_level_name((enum ulog_level)level));
        if (at < size)
            snprintf(out + at, size - at, ")");
    }
}

static sqlite3_stmt *prepare(sqlite3 *db, const struct analysis_query *query, const char *sql)
{
    sqlite3_stmt *stmt;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_text(stmt, 1, query->start, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, query->end, -1, SQLITE_STATIC);
    size_t i;
    json_t *name;
    if (query->services)
        json_array_foreach(query->services, i, name)
            sqlite3_bind_text(stmt, (int)i + 3, json_string_value(name), -1, SQLITE_STATIC);
    return stmt;
}

static json_t *column_string(sqlite3_stmt *stmt, int column)
{
    const char *text = (const char *)sqlite3_column_text(stmt, column);
    json_t *value = text ? json_stringn(text, (size_t)sqlite3_column_bytes(stmt, column)) : NULL;
    return value ? value : json_string("");
}

/* total, by_level, by_service. */
static int count_by_level_and_service(sqlite3 *db, const struct analysis_query *query,
                                      const char *where, json_t *answer)
{
    char sql[8192];
    snprintf(sql, sizeof sql,
             "SELECT level, service, count(*) FROM system_logs WHERE %s "
             "GROUP BY level, service ORDER BY service, " SEVERITY_SQL,
             where);
    sqlite3_stmt *stmt = prepare(db, query, sql);
    if (!stmt)
        return -1;
    json_int_t total = 0;
    json_t *by_level = json_object(), *by_service = json_object();
    for (unsigned level = 0; level < ULOG_LEVEL_COUNT; level++)
        json_object_set_new(by_level, ulog_level_name((enum ulog_level)level), json_integer(0));
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *level = (const char *)sqlite3_column_text(stmt, 0);
        const char *service = (const char *)sqlite3_column_text(stmt, 1);
        json_int_t n = sqlite3_column_int64(stmt, 2);
        if (!level)
            continue;
        total += n;
        json_t *level_count = json_object_get(by_level, level);
        if (level_count)
            json_integer_set(level_count, json_integer_value(level_count) + n);
        /* Records without a service are counted under "". */
        json_t *entry = json_object_get(by_service, service ? service : "");
        if (!entry) {
            entry = json_pack("{s:I}", "total", (json_int_t)0);
            json_object_set_new(by_service, service ? service : "", entry);
        }
        json_t *service_total = json_object_get(entry, "total");
        json_integer_set(service_total, json_integer_value(service_total) + n);
        json_object_set_new(entry, level, json_integer(n));
    }
    sqlite3_finalize(stmt);
    json_object_set_new(answer, "total", json_integer(total));
    json_object_set_new(answer, "by_level", by_level);
    json_object_set_new(answer, "by_service", by_service);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* The most frequent messages (same text exactly), with the services that
 * wrote them and the highest level they had. */
static int top_messages(sqlite3 *db, const struct analysis_query *query, const char *where,
                        json_t *answer)
{
    char sql[8192];
    snprintf(sql, sizeof sql,
             "SELECT message, count(*) AS n, "
             "json_group_array(DISTINCT service) FILTER (WHERE service IS NOT NULL), "
             "max(" SEVERITY_SQL ") FROM system_logs WHERE %s "
             "GROUP BY message ORDER BY n DESC, max(log_id) DESC LIMIT %d",
             where, ANALYSIS_TOP_MESSAGES);
    sqlite3_stmt *stmt = prepare(db, query, sql);
    if (!stmt)
        return -1;
    json_t *list = json_array();
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *services_text = (const char *)sqlite3_column_text(stmt, 2);
        json_t *services = services_text ? json_loads(services_text, 0, NULL) : NULL;
        int severity = sqlite3_column_int(stmt, 3);
        json_array_append_new(
            list, json_pack("{s:o, s:I, s:o, s:s}", "message", column_string(stmt, 0), "count",
                            (json_int_t)sqlite3_column_int64(stmt, 1), "services",
                            services ? services : json_array(), "level",
                            ulog_level_name((enum ulog_level)severity)));
    }
    sqlite3_finalize(stmt);
    json_object_set_new(answer, "top_messages", list);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* What an error record's context is matched on, read after its columns. */
struct error_key {
    sqlite3_int64 log_id;
    char timestamp[RECORD_TIMESTAMP_SIZE];
    const unsigned char *service;
    bool has_pid, has_container;
    sqlite3_int64 pid;
    const unsigned char *container;
};

/* The records just before the error, same service and pid (or container
 * when it has no pid; the service alone when it has neither), within
 * ANALYSIS_CONTEXT_SECONDS, oldest first. */
static json_t *error_context(sqlite3 *db, const struct error_key *key, int *failed)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT " LOG_QUERY_COLUMNS " FROM system_logs WHERE service IS ?1 AND %s "
             "AND log_id < ?3 AND timestamp >= ?4 AND timestamp <= ?5 "
             "ORDER BY log_id DESC LIMIT %d",
             key->has_pid ? "pid = ?2" : key->has_container ? "container = ?2" : "?2 IS NULL",
             ANALYSIS_CONTEXT_RECORDS);
    json_t *context = json_array();
    sqlite3_stmt *stmt;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        *failed = 1;
        return context;
    }
    uint64_t at = timestamp_parse_text(key->timestamp, strlen(key->timestamp));
    uint64_t window = ANALYSIS_CONTEXT_SECONDS * NS_PER_SECOND;
    char since[RECORD_TIMESTAMP_SIZE];
    record_format_timestamp(at > window ? at - window : 0, since);
    if (key->service)
        sqlite3_bind_text(stmt, 1, (const char *)key->service, -1, SQLITE_TRANSIENT);
    if (key->has_pid)
        sqlite3_bind_int64(stmt, 2, key->pid);
    else if (key->has_container)
        sqlite3_bind_text(stmt, 2, (const char *)key->container, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(stmt, 3, key->log_id);
    sqlite3_bind_text(stmt, 4, since, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, 5, key->timestamp, -1, SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        json_array_insert_new(context, 0, log_query_row_json(stmt, 0));
    if (rc != SQLITE_DONE)
        *failed = 1;
    sqlite3_finalize(stmt);
    return context;
}

/* The newest ERROR and CRITICAL records (of those the request wants). */
static int latest_errors(sqlite3 *db, const struct analysis_query *query, json_t *answer)
{
    enum ulog_level min_level = query->min_level > ULOG_ERROR ? query->min_level : ULOG_ERROR;
    char where[4096], sql[8192];
    where_clause(query, min_level, where, sizeof where);
    snprintf(sql, sizeof sql,
             "SELECT " LOG_QUERY_COLUMNS ", log_id, timestamp, service, pid, container "
             "FROM system_logs WHERE %s ORDER BY timestamp DESC, log_id DESC LIMIT %d",
             where, ANALYSIS_LATEST_ERRORS);
    sqlite3_stmt *stmt = prepare(db, query, sql);
    if (!stmt)
        return -1;
    int extra = sqlite3_column_count(stmt) - 5;
    json_t *list = json_array();
    int rc, failed = 0;
    while (!failed && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct error_key key = {
            .log_id = sqlite3_column_int64(stmt, extra),
            .service = sqlite3_column_text(stmt, extra + 2),
            .has_pid = sqlite3_column_type(stmt, extra + 3) != SQLITE_NULL,
            .pid = sqlite3_column_int64(stmt, extra + 3),
            .has_container = sqlite3_column_type(stmt, extra + 4) != SQLITE_NULL,
            .container = sqlite3_column_text(stmt, extra + 4),
        };
        const char *timestamp = (const char *)sqlite3_column_text(stmt, extra + 1);
        snprintf(key.timestamp, sizeof key.timestamp, "%s", timestamp ? timestamp : "");
        json_t *record = log_query_row_json(stmt, 0);
        json_t *context = error_context(db, &key, &failed);
        json_array_append_new(list, json_pack("{s:o, s:o}", "record", record, "context", context));
    }
    if (!failed && rc != SQLITE_DONE)
        failed = 1;
    sqlite3_finalize(stmt);
    json_object_set_new(answer, "latest_errors", list);
    return failed ? -1 : 0;
}

json_t *analysis_run(sqlite3 *db, const struct analysis_query *query, char *err,
                     size_t err_size)
{
    char where[4096];
    where_clause(query, query->min_level, where, sizeof where);
    json_t *answer = json_pack("{s:{s:s, s:s}}", "time_range", "start", query->start, "end",
                               query->end);
    if (count_by_level_and_service(db, query, where, answer) != 0 ||
        top_messages(db, query, where, answer) != 0 || latest_errors(db, query, answer) != 0) {
        snprintf(err, err_size, "%s", sqlite3_errmsg(db));
        json_decref(answer);
        return NULL;
    }
    return answer;
}
