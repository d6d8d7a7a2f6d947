/*
 * http.c - ulogd's HTTP server (see http.h): the libwebsockets context and
 * the thread that services it, the "http" protocol's routes, GET /health
 * and the page.
 *
 * Everything lws calls back runs on that one thread, which never blocks:
 * SQLite reads go to the job pool (jobs.c), posted entries to the event loop
 * (inbox.h), and whoever has something for this thread - a job done, ids
 * answered, a batch for the live stream, a commit - wakes it with
 * lws_cancel_service (http_wake). The wake arrives as
 * LWS_CALLBACK_EVENT_WAIT_CANCELLED, where the live hub is pumped and the
 * answers collected; the requests that waited for them are found again by
 * their cookie (http_reply.c). Who may ask is http_access.c's business.
 *
 * One vhost per address: "localhost" is 127.0.0.1 and, where IPv6 is up,
 * ::1. Its protocols are "http" (this file) and the live stream's
 * (http_ws.c), the default one for a WebSocket that names none.
 */
#include "http.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "http_internal.h"
#include "live_client.h"
#include "web_assets.h"

/* A body announced beyond this is not even read to be thrown away. */
#define HTTP_DISCARD_MAX (64u << 20)
/* At a stop, answers already decided (503s for posts the stop cut off,
 * queries finishing) get this long to reach their clients. */
#define HTTP_DRAIN_STEP_US 20000
#define HTTP_DRAIN_STEPS 50

struct http_server {
    struct http_shared shared; /* first: the context's user pointer is the server */
    struct http_replies replies;
    char *host, *token;
    unsigned port;
    void (*read_stats)(void *ctx, struct ingest_stats *out);
    void *stats_ctx;
    struct lws_vhost *vhosts[HTTP_MAX_VHOSTS];
    size_t vhost_count;
    struct lws_protocol_vhost_options pvo_default, pvo_ws;
    struct lws_protocols ws_protocol; /* http_ws_protocol behind the upgrade check */
    const struct lws_protocols *protocols[3];
    pthread_t thread;
    bool thread_started;
    atomic_bool draining, drained, stopping;
    /* The store's failed transactions as last seen, and when they grew. */
    uint64_t store_errors_seen, store_error_at_ns;
    struct http_server *next_wakeable;
};

/* --- waking the HTTP thread ---------------------------------------------------
 * The inbox, the live hub, the store and the jobs call http_wake from their
 * threads, possibly after http_server_stop has freed the server (a commit
 * hook is not unset atomically with its last call): only a server listed
 * here is woken, and it leaves the list before its context is destroyed. */
static pthread_mutex_t wake_lock = PTHREAD_MUTEX_INITIALIZER;
static struct http_server *wakeable;

static void http_wake(void *ctx)
{
    pthread_mutex_lock(&wake_lock);
    for (struct http_server *s = wakeable; s; s = s->next_wakeable) {
        if (s == ctx) {
            lws_cancel_service(s->shared.context);
            break;
        }
    }
    pthread_mutex_unlock(&wake_lock);
}

static void wakeable_add(struct http_server *server)
{
    pthread_mutex_lock(&wake_lock);
    server->next_wakeable = wakeable;
    wakeable = server;
    pthread_mutex_unlock(&wake_lock);
}

static void wakeable_remove(struct http_server *server)
{
    pthread_mutex_lock(&wake_lock);
    for (struct http_server **p = &wakeable; *p; p = &(*p)->next_wakeable) {
        if (*p == server) {
            *p = server->next_wakeable;
            break;
        }
    }
    pthread_mutex_unlock(&wake_lock);
}

/* --- shared state ------------------------------------------------------------ */

static struct http_server *server_of(struct lws *wsi)
{
    return lws_context_user(lws_get_context(wsi));
}

struct http_shared *http_shared_of(struct lws *wsi)
{
    return &server_of(wsi)->shared;
}

bool http_is_first_vhost(struct lws *wsi)
{
    return lws_get_vhost(wsi) == server_of(wsi)->vhosts[0];
}

struct http_replies *http_replies_of(struct http_shared *shared)
{
    return &((struct http_server *)shared)->replies;
}

const char *http_server_host(struct http_shared *shared)
{
    return ((struct http_server *)shared)->host;
}

void http_read_stats(struct http_shared *shared, struct ingest_stats *out)
{
    struct http_server *server = (struct http_server *)shared;

    memset(out, 0, sizeof *out);
    if (server->read_stats)
        server->read_stats(server->stats_ctx, out);
}

/* --- GET /health ------------------------------------------------------------------ */

#define STORE_ERROR_RECENT_NS (60 * 1000000000ull)
#define STORE_BEHIND_NS (5 * 1000000000ull)

/* "error" while the store's transactions fail (one did in the last minute),
 * "behind" when a batch has waited longer than a few commits take. */
static const char *store_state(struct http_server *server)
{
    struct store_stats stats;
    struct timespec now;
    uint64_t now_ns;

    if (!server->shared.store)
        return "off";
    store_get_stats(server->shared.store, &stats);
    clock_gettime(CLOCK_REALTIME, &now);
    now_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
    if (stats.errors_total != server->store_errors_seen) {
        server->store_errors_seen = stats.errors_total;
        server->store_error_at_ns = now_ns;
    }
    if (server->store_error_at_ns && now_ns - server->store_error_at_ns < STORE_ERROR_RECENT_NS)
        return "error";
    if (stats.oldest_queued_ns && now_ns > stats.oldest_queued_ns + STORE_BEHIND_NS)
        return "behind";
    return "ok";
}

void http_health(struct lws *wsi)
{
    struct http_shared *shared = http_shared_of(wsi);
    struct ingest_stats stats;
    struct timespec now;
    uint64_t uptime = 0;

    http_read_stats(shared, &stats);
    clock_gettime(CLOCK_REALTIME, &now);
    if (stats.start_time_ns && (uint64_t)now.tv_sec >= stats.start_time_ns / 1000000000u)
        uptime = (uint64_t)now.tv_sec - stats.start_time_ns / 1000000000u;
    http_reply_json(wsi, 200,
                    json_pack("{s:s,s:s,s:I,s:s,s:I}", "status", "ok", "version", ULOG_VERSION,
                              "uptime_seconds", (json_int_t)uptime, "store",
                              store_state(server_of(wsi)), "clients",
                              (json_int_t)(shared->live ? live_client_count(shared->live) : 0)));
}

/* --- routes -------------------------------------------------------------------- */

static bool is_read(int method)
{
    return method == LWSHUMETH_GET || method == LWSHUMETH_HEAD;
}

static void refuse_method(struct lws *wsi, struct http_request *req, const char *allow)
{
    req->allow = allow;
    http_reply_error(wsi, 405, "method not allowed here; allowed: %s", allow);
}

static void serve_asset(struct lws *wsi, struct http_request *req, const struct web_asset *asset)
{
    req->page = true;
    http_reply_static(wsi, 200, asset->content_type, asset->data, asset->size);
}

/* A body lws would read to its announced end; without a length there is no
 * end to find (lws does not take chunked bodies), so such a request is
 * answered and the connection closed. */
static bool body_length_ok(struct lws *wsi, struct http_request *req)
{
    char text[32];
    bool body_method = req->method == LWSHUMETH_POST || req->method == LWSHUMETH_PUT ||
                       req->method == LWSHUMETH_PATCH;
    int n = lws_hdr_copy(wsi, text, sizeof text, WSI_TOKEN_HTTP_CONTENT_LENGTH);

    if (n <= 0) {
        if (!body_method)
            return true;
        req->close_after = true;
        http_reply_error(wsi, 411, "a body needs a Content-Length (chunked bodies are not taken)");
        return false;
    }
    if (strtoull(text, NULL, 10) > HTTP_DISCARD_MAX) {
        req->close_after = true;
        http_reply_error(wsi, 413, "the body is larger than %u bytes", 1u << 20);
        return false;
    }
    return true;
}

static int on_request(struct lws *wsi, struct http_request *req, const char *path)
{
    const struct web_asset *asset;
    char *uri;
    int uri_len;
    bool page;

    req->wsi = wsi;
    req->method = lws_http_get_uri_and_method(wsi, &uri, &uri_len);
    req->head_only = req->method == LWSHUMETH_HEAD;
    lws_get_peer_simple(wsi, req->peer, sizeof req->peer);
    if (!body_length_ok(wsi, req))
        return 0;

    if (strcmp(path, "/health") == 0) {
        if (!is_read(req->method))
            refuse_method(wsi, req, "GET, HEAD");
        else
            http_health(wsi);
        return 0;
    }
    if (!http_request_is_local(wsi)) {
        http_reply_error(wsi, 403, "without ULOG_TOKEN, only requests naming this machine "
                                   "(localhost, 127.0.0.1, [::1]) are served");
        return 0;
    }
    /* The page's script and style hold nothing secret and are fetched by
     * the browser without the token; the page itself, like the API, needs it. */
    asset = web_asset_find(path);
    page = asset && asset->content_type && strncmp(asset->content_type, "text/html", 9) == 0;
    if (asset && !page) {
        if (!is_read(req->method))
            refuse_method(wsi, req, "GET, HEAD");
        else
            serve_asset(wsi, req, asset);
        return 0;
    }
    if (!http_authorized(wsi)) {
        http_reply_error(wsi, 401, "missing or wrong token: send Authorization: Bearer "
                                   "<ULOG_TOKEN> or ?token=<ULOG_TOKEN>");
        return 0;
    }
    if (asset) {
        if (!is_read(req->method))
            refuse_method(wsi, req, "GET, HEAD");
        else
            serve_asset(wsi, req, asset);
    } else if (strcmp(path, "/logs") == 0) {
        if (is_read(req->method))
            http_logs_get(wsi, req);
        else if (req->method == LWSHUMETH_POST)
            return http_logs_post_begin(wsi, req);
        else
            refuse_method(wsi, req, "GET, HEAD, POST");
    } else if (strcmp(path, "/metrics") == 0) {
        if (!is_read(req->method))
            refuse_method(wsi, req, "GET, HEAD");
        else
            http_metrics(wsi);
    } else if (strcmp(path, "/ws") == 0) {
        http_reply_error(wsi, 426, "/ws is the live stream: connect with a WebSocket client");
    } else {
        http_reply_error(wsi, 404, "no such endpoint: %s", path);
    }
    return 0;
}

static void on_wake(struct lws *wsi)
{
    struct http_server *server = server_of(wsi);

    if (!http_is_first_vhost(wsi) || atomic_load(&server->stopping))
        return;
    if (server->shared.live)
        live_pump(server->shared.live);
    http_logs_wake(&server->shared);
    if (server->shared.jobs)
        jobs_collect(server->shared.jobs);
}

static int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len)
{
    struct http_request *req = user;

    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return on_request(wsi, req, in ? (const char *)in : "/");
    case LWS_CALLBACK_HTTP_BODY:
        if (req && req->reading_body)
            return http_logs_post_body(wsi, req, in, len);
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (req && req->reading_body) {
            req->reading_body = false;
            http_logs_post_end(wsi, req);
        }
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return req ? http_reply_write(wsi, req) : 0;
    case LWS_CALLBACK_TIMER:
        if (req && req->wait != HTTP_WAIT_NONE)
            http_logs_timer(wsi, req);
        return 0;
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return http_upgrade_check(wsi, in);
    case LWS_CALLBACK_HTTP_BIND_PROTOCOL:
        if (req)
            req->wsi = wsi;
        return 0;
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        http_request_release(wsi, req);
        return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        on_wake(wsi);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

/* A new connection is bound to the default protocol, the live stream's, so
 * that protocol is the one asked to confirm an upgrade: the check is put in
 * front of its callback here, whatever http_ws.c does. */
static int ws_gate(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                   size_t len)
{
    if (reason == LWS_CALLBACK_HTTP_CONFIRM_UPGRADE)
        return http_upgrade_check(wsi, in);
    return http_ws_protocol.callback(wsi, reason, user, in, len);
}

static const struct lws_protocols http_protocol = {
    .name = "http",
    .callback = http_callback,
    .per_session_data_size = sizeof(struct http_request),
};

/* --- start and stop -------------------------------------------------------------- */

/* lws's own complaints, when it has any, go to stderr like ulogd's. */
static void lws_log_line(int level, const char *line)
{
    (void)level;
    fprintf(stderr, "ulogd: libwebsockets: %s", line);
}

static void *service_thread(void *arg)
{
    struct http_server *server = arg;

    while (!atomic_load(&server->stopping)) {
        if (lws_service(server->shared.context, 0) < 0)
            break;
        if (atomic_load(&server->draining) && !server->replies.in_flight &&
            !server->replies.parked.count)
            break;
    }
    atomic_store(&server->drained, true);
    return NULL;
}

static void free_server(struct http_server *server)
{
    free(server->host);
    free(server->token);
    free(server);
}

struct http_server *http_server_start(const struct http_deps *deps, char *err, size_t err_size)
{
    struct lws_context_creation_info info, vhost_info;
    struct http_server *server;
    sigset_t all, old;
    int rc;

    server = must_calloc(1, sizeof *server);
    server->host = must_strdup(deps->host && *deps->host ? deps->host : "localhost");
    server->token = deps->token && *deps->token ? must_strdup(deps->token) : NULL;
    server->port = deps->port;
    server->read_stats = deps->read_stats;
    server->stats_ctx = deps->stats_ctx;
    server->shared.live = deps->live;
    server->shared.store = deps->store;
    server->shared.pg = deps->pg;
    server->shared.inbox = deps->inbox;
    server->shared.token = server->token;
    server->shared.buffer_size = deps->buffer_size;
    server->protocols[0] = &http_protocol;
    server->ws_protocol = http_ws_protocol;
    server->ws_protocol.callback = ws_gate;
    server->protocols[1] = &server->ws_protocol;
    /* A WebSocket client that names no subprotocol lands on the live stream. */
    server->pvo_default = (struct lws_protocol_vhost_options){NULL, NULL, "default", "1"};
    server->pvo_ws = (struct lws_protocol_vhost_options){NULL, &server->pvo_default,
                                                         http_ws_protocol.name, ""};

    /* Quiet while binding: a failure is reported through err, once. */
    lws_set_log_level(0, lws_log_line);
    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
    info.user = server;
    info.uid = -1;
    info.gid = -1;
    info.fd_limit_per_thread = 4096;
    info.max_http_header_data = 8192;
    info.pt_serv_buf_size = HTTP_CHUNK;
    server->shared.context = lws_create_context(&info);
    if (!server->shared.context) {
        snprintf(err, err_size, "cannot start the HTTP server: libwebsockets failed to start");
        free_server(server);
        return NULL;
    }
    memset(&vhost_info, 0, sizeof vhost_info);
    vhost_info.pprotocols = server->protocols;
    vhost_info.pvo = &server->pvo_ws;
    rc = http_listen(server->shared.context, server->host, server->port, &vhost_info,
                     server->vhosts, &server->vhost_count, err, err_size);
    lws_set_log_level(LLL_ERR, lws_log_line);
    if (rc) {
        lws_context_destroy(server->shared.context);
        free_server(server);
        return NULL;
    }
    server->port = (unsigned)lws_get_vhost_listen_port(server->vhosts[0]);
    server->shared.jobs = jobs_new(deps->store ? store_path(deps->store) : NULL, http_wake, server);
    if (deps->store) {
        struct store_stats stats;
        store_get_stats(deps->store, &stats);
        server->store_errors_seen = stats.errors_total;
    }

    wakeable_add(server);
    if (deps->inbox)
        inbox_set_wake(deps->inbox, http_wake, server);
    if (deps->live)
        live_set_wake(deps->live, http_wake, server);
    if (deps->store)
        store_set_commit_hook(deps->store, http_wake, server);

    /* Signals stay with the event loop's thread. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    rc = pthread_create(&server->thread, NULL, service_thread, server);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        snprintf(err, err_size, "cannot start the HTTP thread: %s", strerror(rc));
        http_server_stop(server);
        return NULL;
    }
    server->thread_started = true;
    return server;
}

unsigned http_server_port(const struct http_server *server)
{
    return server->port;
}

void http_server_stop(struct http_server *server)
{
    struct inbox_request *answers;

    if (!server)
        return;
    if (server->thread_started) {
        atomic_store(&server->draining, true);
        for (int i = 0; i < HTTP_DRAIN_STEPS && !atomic_load(&server->drained); i++) {
            lws_cancel_service(server->shared.context);
            usleep(HTTP_DRAIN_STEP_US);
        }
        atomic_store(&server->stopping, true);
        lws_cancel_service(server->shared.context);
        pthread_join(server->thread, NULL);
    }
    atomic_store(&server->stopping, true);
    wakeable_remove(server);
    if (server->shared.inbox)
        inbox_set_wake(server->shared.inbox, NULL, NULL);
    if (server->shared.live)
        live_set_wake(server->shared.live, NULL, NULL);
    if (server->shared.store)
        store_set_commit_hook(server->shared.store, NULL, NULL);
    /* Every connection closes here, and with it every parked request. */
    lws_context_destroy(server->shared.context);
    jobs_free(server->shared.jobs);
    if (server->shared.inbox) {
        answers = inbox_take_answers(server->shared.inbox);
        while (answers) {
            struct inbox_request *next = answers->next;
            inbox_request_free(answers);
            answers = next;
        }
    }
    free_server(server);
}
