/*
 * http.h - ulogd's HTTP and WebSocket server (libwebsockets), on a thread
 * of its own: GET/POST /logs, /ws (the live stream), /health, /metrics and
 * the page at /.
 *
 * It binds LOG_SERVICE_HOST:LOG_SERVICE_PORT (the configuration refuses a
 * bind beyond this machine without ULOG_TOKEN). Nothing here runs on the
 * event loop's thread but http_server_start and http_server_stop; what the
 * two threads share goes through the feed (feed.h), the inbox (inbox.h),
 * the store's own lock and the stats snapshot.
 */
#ifndef ULOGD_HTTP_H
#define ULOGD_HTTP_H

#include <stddef.h>

#include "ingest_stats.h"
#include "inbox.h"
#include "live.h"
#include "store.h"

struct pg_sink;

struct http_deps {
    const char *host;           /* bind address: "localhost", "127.0.0.1", "::1", "0.0.0.0" ... */
    unsigned port;
    const char *token;          /* NULL: no token */
    unsigned buffer_size;       /* LOG_BUFFER_SIZE */
    struct store *store;        /* NULL: the store is off (GET /logs answers 503) */
    struct pg_sink *pg;         /* NULL: no PostgreSQL */
    struct live *live;
    struct inbox *inbox;
    /* A copy of the event loop's latest counters. */
    void (*read_stats)(void *ctx, struct ingest_stats *out);
    void *stats_ctx;
};

struct http_server;

/* Bind and start the thread; NULL with `err` ("cannot listen on 127.0.0.1:8765:
 * Address already in use"). The strings in `deps` are copied. */
struct http_server *http_server_start(const struct http_deps *deps, char *err, size_t err_size);

/* The port actually bound (differs from deps->port only when that was 0 ... never: 0 is off). */
unsigned http_server_port(const struct http_server *server);

/* Close every client and stop the thread. */
void http_server_stop(struct http_server *server);

#endif
