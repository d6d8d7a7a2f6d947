/*
 * pg_table.h - the system_logs table in PostgreSQL: its definition, and a
 * record of all.log as one of its rows in COPY's text format. The only
 * place that knows how all.log's keys become PostgreSQL's columns.
 */
#ifndef ULOGD_PG_TABLE_H
#define ULOGD_PG_TABLE_H

#include <stdbool.h>

#include "bytebuf.h"
#include "feed.h"

/* The table, its indexes and the connection's staging table, each created
 * when missing: run on every new connection. */
extern const char pg_table_schema_sql[];

/* The columns of a row, in its order. */
#define PG_TABLE_COLUMNS                                                                     \
    "log_id, timestamp, level, service, container, host, pid, tid, stream, source, "         \
    "component, event_type, message, trace_id, span_id, agent_id, task_id, context, metadata"

/* Append `item`'s row, newline included. False, nothing appended, when its
 * line is not a JSON object (all.log's lines always are). */
bool pg_table_row(struct bytebuf *out, const struct feed_item *item);

#endif
