/*
 * analysis.h - the live page's summary of a time range, asked over the
 * WebSocket and computed from the store on a job thread:
 *
 *   {"type":"analysis_request","id":any,"time_range":"15m" |
 *    {"start":RFC3339,"end":RFC3339},"service":"api"|["api",...]|null,
 *    "level":"WARNING"|null}
 *
 * (defaults: the last hour, every service, every level; level = minimum)
 * is answered, once the job is done, through the client's replies:
 *
 *   {"type":"analysis","id":same,"time_range":{"start","end"},"total":N,
 *    "by_level":{"DEBUG":n,...,"CRITICAL":n},
 *    "by_service":{"api":{"total":n,"ERROR":n,...}},
 *    "top_messages":[{"message","count","services":[...],"level"}],
 *    "latest_errors":[{"record":{...},"context":[{...},...]}]}
 *
 * or {"type":"error","error":"analysis: ...","id":same}. A client that has
 * gone by then is simply not answered.
 */
#ifndef ULOGD_ANALYSIS_H
#define ULOGD_ANALYSIS_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdint.h>

#include "http_internal.h"
#include "live_client.h"

/* At most this many analyses waiting per client; more are refused. */
#define ANALYSIS_MAX_PENDING 4u
#define ANALYSIS_TOP_MESSAGES 10
#define ANALYSIS_LATEST_ERRORS 10
#define ANALYSIS_CONTEXT_RECORDS 5
#define ANALYSIS_CONTEXT_SECONDS 60

/* Check the request, and run it on a job (HTTP thread). */
void analysis_start(struct http_shared *shared, struct live_client *client,
                    const json_t *request);

/* The parts, for tests: what a request asks, and the answer it gets. */
struct analysis_query {
    char start[32], end[32];   /* "2026-11-21T14:22:18.214521Z"; start inclusive, end exclusive */
    json_t *services;          /* list of names, NULL: all */
    enum ulog_level min_level;
};

/* -1 with `err` naming the field for a bad request. */
int analysis_query_parse(struct analysis_query *query, const json_t *request, uint64_t now_ns,
                         char *err, size_t err_size);
void analysis_query_free(struct analysis_query *query);

/* The answer's fields from time_range on (type and id are the caller's);
 * NULL with `err` when SQLite fails. analysis_sql.c. */
json_t *analysis_run(sqlite3 *db, const struct analysis_query *query, char *err,
                     size_t err_size);

#endif
