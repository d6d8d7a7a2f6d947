/*
 * http_internal.h - what the HTTP thread's files (http.c, http_logs.c,
 * http_ws.c, analysis.c, jobs.c) share, and nobody else may use.
 */
#ifndef ULOGD_HTTP_INTERNAL_H
#define ULOGD_HTTP_INTERNAL_H

#include <libwebsockets.h>
#include <sqlite3.h>
#include <stdbool.h>

#include "http.h"

/* Work that must not run on the HTTP thread (SQLite reads): a small pool of
 * threads, each with its own read connection to the store. `run` runs on a
 * worker (db is NULL when the store is off or cannot be opened); `done` runs
 * afterwards on the HTTP thread, which is woken for it. */
struct jobs;
int jobs_submit(struct jobs *jobs, void (*run)(void *arg, sqlite3 *db), void (*done)(void *arg),
                void *arg);

/* The server's state, as the HTTP thread's files see it. */
struct http_shared {
    struct lws_context *context;
    struct live *live;
    struct store *store;          /* NULL: off */
    struct pg_sink *pg;
    struct inbox *inbox;
    struct jobs *jobs;
    const char *token;            /* NULL: none */
    unsigned buffer_size;
};

/* The shared state of the server `wsi` belongs to. */
struct http_shared *http_shared_of(struct lws *wsi);

/* Does the request carry the token (Authorization: Bearer, or ?token=)?
 * True when no token is set. Constant-time comparison. */
bool http_authorized(struct lws *wsi);

/* The live stream's protocol (http_ws.c): http.c lists it as the vhost's
 * default WebSocket protocol, served at /ws. */
extern const struct lws_protocols http_ws_protocol;

/* ---- Below: the HTTP side's own (http.c, http_listen.c, http_reply.c,
 * http_access.c, http_logs.c, http_entries.c, http_metrics.c, jobs.c). ---- */

/* lws broadcasts LWS_CALLBACK_EVENT_WAIT_CANCELLED (the wake) once per vhost,
 * and "localhost" gets two (127.0.0.1 and ::1; lws moves every connection
 * onto the first, choosing by port): act on the wake only when this is true.
 * Return 0 from that callback: anything else makes lws close its wake pipe. */
bool http_is_first_vhost(struct lws *wsi);

/* The job pool (jobs.c): JOBS_WORKERS threads, at most JOBS_QUEUE_MAX jobs
 * waiting; jobs_submit answers -1 beyond that (answer 503) or when stopping.
 * `wake` is called from a worker when a job is done; the HTTP thread then
 * calls jobs_collect, which runs the finished jobs' `done`. jobs_free stops
 * the workers (a job running finishes; one not started runs with db NULL)
 * and runs every `done` still owed, on the caller's thread - at ulogd's stop,
 * after the lws context is gone, so a `done` must find its connection again
 * by an id and cope with its absence. */
#define JOBS_WORKERS 2
#define JOBS_QUEUE_MAX 64
struct jobs *jobs_new(const char *store_path, void (*wake)(void *ctx), void *wake_ctx);
void jobs_collect(struct jobs *jobs);
void jobs_free(struct jobs *jobs);

/* --- http_access.c: who may ask --- */

/* Is the request's Host this machine (always true with a token)? Without a
 * token, a page elsewhere could reach loopback under a name of its own. */
bool http_request_is_local(struct lws *wsi);
/* LWS_CALLBACK_HTTP_CONFIRM_UPGRADE, for both protocols (http.c puts it in
 * front of http_ws_protocol's callback): 0 lets a "websocket" upgrade of
 * GET /ws through - with the token, and without one from a local Host and
 * an Origin (if any) of that same host. Otherwise the refusal is written
 * and 1 returned, lws's "answered". */
int http_upgrade_check(struct lws *wsi, const char *upgrade);
/* Call fn on each URL argument (decoded by lws, split at the first '=');
 * stops at, and returns, the first nonzero fn returns. */
int http_foreach_arg(struct lws *wsi, int (*fn)(const char *name, const char *value, void *ctx),
                     void *ctx);

/* --- http_reply.c: requests, their replies, and those parked meanwhile --- */

/* What a parked request waits for. */
enum http_wait { HTTP_WAIT_NONE, HTTP_WAIT_JOB, HTTP_WAIT_INBOX, HTTP_WAIT_COMMIT };

/* One HTTP transaction: the "http" protocol's per-session data, which lws
 * zeroes for each request of a keep-alive connection. */
struct http_request {
    struct lws *wsi;
    struct lws_dll2 parked;        /* in the server's list while cookie != 0 */
    uint64_t cookie;               /* 0: not parked */
    enum http_wait wait;
    int method;                    /* LWSHUMETH_* */
    char peer[64];                 /* the client's address */
    /* POST /logs: the body, then the answer waiting for the store. */
    bool reading_body, single_entry;
    char *body;
    size_t body_len, body_cap;
    json_t *answer;
    uint64_t commit_id;
    /* The reply, written by the writeable callbacks. */
    bool replied, headers_sent, finished, close_after, head_only, page;
    int status;
    const char *content_type;
    const char *allow;             /* 405's Allow header */
    char *reply;                   /* owned, or NULL with reply_static */
    const unsigned char *reply_static;
    size_t reply_len, reply_sent;
};

#define HTTP_STATUS_CODES 600
#define HTTP_CHUNK (32u << 10)

/* The replies' state, one per server (http.c keeps it, http_replies_of
 * finds it); the HTTP thread's only. */
struct http_replies {
    uint64_t counts[HTTP_STATUS_CODES]; /* answers sent, by status code */
    struct lws_dll2_owner parked;       /* requests waiting for an answer */
    uint64_t next_cookie;
    unsigned in_flight;                 /* replies queued, not yet all written */
    unsigned char chunk[LWS_PRE + HTTP_CHUNK];
};
struct http_replies *http_replies_of(struct http_shared *shared);

/* Each queues the whole answer (the request stops waiting) and asks for
 * writeable callbacks. `body` is taken (malloc'd), `data` must outlive the
 * server, `value` is stolen. */
void http_reply(struct lws *wsi, int status, const char *content_type, char *body, size_t len);
void http_reply_static(struct lws *wsi, int status, const char *content_type,
                       const unsigned char *data, size_t len);
void http_reply_json(struct lws *wsi, int status, json_t *value);
void http_reply_error(struct lws *wsi, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A JSON {"error": reason} written at once, outside a writeable callback
 * (the upgrade check); 1 when written. */
int http_reply_now(struct lws *wsi, int status, const char *reason);
/* LWS_CALLBACK_HTTP_WRITEABLE: the next piece of the reply. */
int http_reply_write(struct lws *wsi, struct http_request *req);
/* lws is done with the request (transaction over, connection closed). */
void http_request_release(struct lws *wsi, struct http_request *req);

/* A request waiting for a job or the inbox is named by a cookie: its
 * connection may be gone by the time the answer comes. find gives NULL then. */
uint64_t http_request_park(struct lws *wsi, enum http_wait wait);
struct lws *http_request_find(struct http_shared *shared, uint64_t cookie);
void http_request_foreach_parked(struct http_shared *shared,
                                 void (*fn)(struct lws *wsi, struct http_request *req, void *ctx),
                                 void *ctx);

/* --- http_listen.c --- */

/* One vhost of `base` (its protocols and options) per address `host` names
 * ("localhost": 127.0.0.1, and ::1 where IPv6 is up), bound to `port`;
 * at most HTTP_MAX_VHOSTS. -1 with `err` ("cannot listen on 127.0.0.1:8765:
 * Address already in use"). */
#define HTTP_MAX_VHOSTS 2
int http_listen(struct lws_context *context, const char *host, unsigned port,
                const struct lws_context_creation_info *base, struct lws_vhost **vhosts,
                size_t *vhost_count, char *err, size_t err_size);

/* --- http_entries.c: what POST /logs takes --- */

/* Content-Type application/json (parameters allowed; a charset must be UTF-8). */
bool http_entries_content_type_ok(struct lws *wsi);
/* The body as an array of 1..1000 checked entries: only known fields, each
 * of its type and size; "level" one of the five names, "service" always
 * there, "timestamp" (if given) in UTC. NULL with `err` naming the entry and
 * the field. `*single`: the body was one object (answered {"id"}). */
json_t *http_entries_parse(const char *body, size_t len, bool *single, char *err,
                           size_t err_size);

/* --- http.c, http_metrics.c, http_logs.c: the endpoints --- */

/* LOG_SERVICE_HOST as configured; the event loop's latest counters (a copy). */
const char *http_server_host(struct http_shared *shared);
void http_read_stats(struct http_shared *shared, struct ingest_stats *out);

/* GET /health (http.c), GET /metrics (http_metrics.c), GET and POST /logs
 * (http_logs.c) and what /logs does on a wake and on its timer. */
void http_health(struct lws *wsi);
void http_metrics(struct lws *wsi);
void http_logs_get(struct lws *wsi, struct http_request *req);
int http_logs_post_begin(struct lws *wsi, struct http_request *req);
int http_logs_post_body(struct lws *wsi, struct http_request *req, const void *data, size_t len);
void http_logs_post_end(struct lws *wsi, struct http_request *req);
void http_logs_wake(struct http_shared *shared);
void http_logs_timer(struct lws *wsi, struct http_request *req);

#endif
