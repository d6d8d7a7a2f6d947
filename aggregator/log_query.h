/*
 * log_query.h - a query of the store: GET /logs's parameters, checked once
 * here for every caller (the HTTP API, `ulog query`, the MCP server), and
 * the SQL they become.
 *
 * Parameters (all optional, any combination, AND-ed):
 *   start_time, end_time  RFC 3339 (any offset, fraction optional) or an age
 *                         ("90s", "15m", "2h", "7d": that long before now);
 *                         start inclusive, end exclusive
 *   level                 one level or a comma list (exact): ERROR,CRITICAL
 *   min_level             this level and above
 *   service, container, component, event_type, trace_id, agent_id, task_id,
 *   source, host          exact match (container: the 12-hex id, or a prefix of it)
 *   q                     full text over the message (FTS5); bare words must
 *                         all appear; "a phrase", word*, OR, NOT as in FTS5
 *   limit                 1..1000, default 100
 *   offset                0.., default 0
 * Results are newest first (log_id descending).
 */
#ifndef ULOGD_LOG_QUERY_H
#define ULOGD_LOG_QUERY_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOG_QUERY_DEFAULT_LIMIT 100u
#define LOG_QUERY_MAX_LIMIT 1000u

struct log_query {
    char start_time[32], end_time[32]; /* normalised "YYYY-MM-DDTHH:MM:SS.uuuuuuZ"; "" none */
    unsigned level_mask;               /* bit per enum ulog_level; 0: any */
    char *service, *container, *component, *event_type, *trace_id, *agent_id, *task_id;
    char *source, *host;
    char *q;                           /* as given */
    unsigned limit;
    uint64_t offset;
};

void log_query_init(struct log_query *query);
void log_query_free(struct log_query *query);

/*
 * Set one parameter from its text. -1 with `err` naming the parameter and
 * why ("limit: must be between 1 and 1000, not 5000") for a bad value or an
 * unknown name. `now_ns` (CLOCK_REALTIME) resolves ages.
 */
int log_query_set(struct log_query *query, const char *name, const char *value, uint64_t now_ns,
                  char *err, size_t err_size);

/*
 * Run it. `*result` becomes {"logs": [record, ...], "count": n, "limit": l,
 * "offset": o, "next_offset": o+n or null when there are no more}, each
 * record the object all.log has, with "log_id" first. -1 with `err` (an FTS
 * query SQLite cannot parse is the caller's fault: *bad_request is set).
 */
int log_query_run(sqlite3 *db, const struct log_query *query, json_t **result, bool *bad_request,
                  char *err, size_t err_size);

/* One row of system_logs (by its columns, as selected by LOG_QUERY_COLUMNS)
 * as the record object, "log_id" first. For other readers of the store. */
#define LOG_QUERY_COLUMNS                                                                    \
    "log_id, timestamp, level, service, container, host, pid, tid, stream, source, component, " \
    "event_type, message, trace_id, span_id, agent_id, task_id, context, metadata"
json_t *log_query_row_json(sqlite3_stmt *stmt, int first_column);

#endif
