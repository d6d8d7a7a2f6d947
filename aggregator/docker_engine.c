/*
 * docker_engine.c - the connection to the Docker Engine: first contact,
 * backoff, the events stream, and ulogd's records about the engine (see
 * docker_engine.h; the containers' side is docker_collect.c).
 *
 * An event line is handled as soon as it is complete, from inside
 * libcurl's write callback: what it changes is done at once, and the
 * requests it needs are queued by docker_http until libcurl returns.
 * A reopened events stream resends the events of its `since` instant,
 * which are known again by their time, id and action and skipped.
 */
#include "docker_engine_private.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "alloc.h"
#include "assembler.h"
#include "record.h"
#include "docker_shim.h"

#define PING_TIMEOUT_MS 5000L
#define EVENT_LINE_MAX (1u << 20)
#define ERROR_BODY_MAX 4096u
#define EVENTS_PATH "/v" DOCKER_API_VERSION "/events?filters=%7B%22type%22%3A%5B%22container%22%5D%7D"

unsigned docker_backoff_next(unsigned *ms)
{
    unsigned now = *ms ? *ms : DOCKER_BACKOFF_MIN_MS;
    *ms = now * 2 > DOCKER_BACKOFF_MAX_MS ? DOCKER_BACKOFF_MAX_MS : now * 2;
    return now;
}

static uint64_t after_ms(unsigned ms)
{
    return assembler_monotonic_now() + (uint64_t)ms * 1000000u;
}

/* ---- reports ------------------------------------------------------------------ */

void docker_report_error(struct docker_engine *e, struct docker_container *c, const char *what,
                         const char *reason)
{
    uint64_t now = assembler_monotonic_now();
    uint64_t *at = c ? &c->error_reported_at : &e->error_reported_at;
    uint64_t *suppressed = c ? &c->errors_suppressed : &e->errors_suppressed;

    if (*at && now - *at < DOCKER_ERROR_INTERVAL_NS) {
        (*suppressed)++;
        return;
    }
    json_t *metadata = json_pack("{s:s, s:s, s:s}", "socket", e->socket, "stream", what,
                                 "reason", reason);
    if (c) {
        json_object_set_new(metadata, "container", json_string(c->short_id));
        json_object_set_new(metadata, "container_name", json_string(c->name));
    }
    if (*suppressed)
        json_object_set_new(metadata, "suppressed", json_integer((json_int_t)*suppressed));
    if (c)
        selflog_emit(e->selflog, ULOG_WARNING, "docker_error", metadata,
                     "Docker Engine: the %s of container %s (%s): %s", what, c->name, c->short_id,
                     reason);
    else
        selflog_emit(e->selflog, ULOG_WARNING, "docker_error", metadata,
                     "Docker Engine at %s: %s: %s", e->socket, what, reason);
    *at = now;
    *suppressed = 0;
}

static void retry_later(struct docker_engine *e)
{
    e->state = DOCKER_AWAY;
    e->retry_due = after_ms(docker_backoff_next(&e->backoff_ms));
}

void docker_engine_lost(struct docker_engine *e, const char *reason)
{
    bool was_up = e->state == DOCKER_UP;

    /* An engine that answers and drops every stream at once is not hammered. */
    if (was_up &&
        assembler_monotonic_now() - e->up_since >= DOCKER_BACKOFF_MAX_MS * 1000000ull)
        e->backoff_ms = 0;
    docker_http_cancel(e->ping);
    docker_http_cancel(e->events);
    docker_http_cancel(e->list);
    e->ping = e->events = e->list = NULL;
    e->events_due = e->list_due = 0;
    e->event_line.len = 0;
    docker_collect_disconnected(e);
    /* Nobody will answer for the connections that wait: their lines go out as they are. */
    docker_shim_answered(e->connections, NULL);
    retry_later(e);
    if (was_up)
        selflog_emit(e->selflog, ULOG_WARNING, "docker_disconnected",
                     json_pack("{s:s, s:s}", "socket", e->socket, "reason", reason),
                     "lost the Docker Engine at %s (%s); trying again every %u s at most",
                     e->socket, reason, DOCKER_BACKOFF_MAX_MS / 1000);
}

/* ---- the events stream ---------------------------------------------------------- */

static void handle_event_line(struct docker_engine *e, const char *text, size_t len)
{
    struct docker_event ev;
    char why[256], key[sizeof e->last_event_key];

    if (docker_event_parse(text, len, &ev, why, sizeof why) != 0) {
        docker_report_error(e, NULL, "events", why);
        /* Dropped, and reopened from the last good event after the backoff. */
        docker_http_cancel(e->events);
        e->events = NULL;
        e->events_due = after_ms(docker_backoff_next(&e->events_backoff_ms));
        return;
    }
    snprintf(key, sizeof key, "%.64s %.30s", ev.id, ev.action ? ev.action : "");
    if (ev.time_ns && ev.time_ns <= e->replay_until_ns &&
        (ev.time_ns < e->replay_until_ns || strcmp(key, e->last_event_key) == 0)) {
        docker_event_clear(&ev); /* seen before the stream was reopened */
        return;
    }
    e->events_received++;
    if (ev.time_ns >= e->last_event_ns) {
        e->last_event_ns = ev.time_ns;
        memcpy(e->last_event_key, key, sizeof key);
    }
    if (ev.id[0])
        docker_collect_event(e, &ev);
    docker_event_clear(&ev);
}

static void on_events_body(void *owner, const char *bytes, size_t len)
{
    struct docker_engine *e = owner;
    struct docker_request *stream = e->events;

    while (len && e->events == stream) {
        const char *newline = memchr(bytes, '\n', len);
        size_t take = newline ? (size_t)(newline - bytes) : len;
        if (e->event_line.len + take > EVENT_LINE_MAX) {
            docker_report_error(e, NULL, "events", "an event is longer than 1 MiB");
            docker_http_cancel(e->events);
            e->events = NULL;
            e->events_due = after_ms(docker_backoff_next(&e->events_backoff_ms));
            e->event_line.len = 0;
            return;
        }
        bytebuf_append(&e->event_line, bytes, take);
        if (!newline)
            return;
        bytes += take + 1;
        len -= take + 1;
        const char *line = e->event_line.data;
        size_t n = e->event_line.len;
        while (n && (line[n - 1] == '\r' || line[n - 1] == ' '))
            n--;
        if (n)
            handle_event_line(e, line, n);
        e->event_line.len = 0;
    }
}

/* The list comes once the events stream is in place, so that nothing it misses is lost. */
static void list_once(struct docker_engine *e)
{
    if (e->listed || e->state != DOCKER_UP)
        return;
    e->listed = true;
    docker_collect_list(e);
}

static void on_events_answer(void *owner, long status)
{
    (void)status; /* an error status still comes with its done: the list goes on */
    list_once(owner);
}

static void on_events_done(void *owner, struct docker_request *request,
                           const struct docker_response *response)
{
    struct docker_engine *e = owner;
    char reason[256];
    (void)request;

    e->events = NULL;
    e->event_line.len = 0;
    list_once(e);
    if (response->transport_failed || (response->status >= 200 && response->status < 300)) {
        docker_engine_lost(e, response->transport_failed ? response->error
                                                         : "the events stream ended");
        return;
    }
    snprintf(reason, sizeof reason, "HTTP %ld: %.*s", response->status,
             (int)(response->body_len < 200 ? response->body_len : 200), response->body);
    docker_report_error(e, NULL, "events", reason);
    e->events_due = after_ms(docker_backoff_next(&e->events_backoff_ms));
}

/*
 * The first stream after ulogd's start asks for what comes from now on (the
 * list tells what runs); every later one resumes after the last event seen,
 * or, when none came, from when the first was asked for.
 */
static void open_events(struct docker_engine *e)
{
    char path[256];
    uint64_t since = e->last_event_ns ? e->last_event_ns : e->events_floor_ns;

    e->events_due = 0;
    e->event_line.len = 0;
    e->replay_until_ns = e->last_event_ns;
    if (since)
        snprintf(path, sizeof path, "%s&since=%" PRIu64 ".%09" PRIu64, EVENTS_PATH,
                 since / 1000000000u, since % 1000000000u);
    else
        snprintf(path, sizeof path, "%s", EVENTS_PATH);
    if (!e->events_floor_ns)
        e->events_floor_ns = record_now_ns();
    e->events = docker_http_get(e->http, path, true, ERROR_BODY_MAX, 0, on_events_body,
                                on_events_done, e);
    docker_http_on_answer(e->events, on_events_answer);
}

/* ---- first contact --------------------------------------------------------------- */

static void on_ping_done(void *owner, struct docker_request *request,
                         const struct docker_response *response)
{
    struct docker_engine *e = owner;
    char reason[256];
    (void)request;

    e->ping = NULL;
    if (response->status != 200) {
        if (!response->transport_failed) {
            snprintf(reason, sizeof reason, "HTTP %ld from _ping", response->status);
            docker_report_error(e, NULL, "ping", reason);
        }
        retry_later(e);
        return;
    }
    e->state = DOCKER_UP;
    e->up_since = assembler_monotonic_now();
    e->events_backoff_ms = e->list_backoff_ms = 0;
    snprintf(e->api_version, sizeof e->api_version, "%s",
             response->api_version[0] ? response->api_version : DOCKER_API_VERSION);
    selflog_emit(e->selflog, ULOG_INFO, "docker_connected",
                 json_pack("{s:s, s:s, s:s, s:s}", "socket", e->socket, "api_version",
                           DOCKER_API_VERSION, "engine_api_version", e->api_version, "collect",
                           docker_collect_name(e->collect)),
                 "%s the Docker Engine at %s (API %s)", e->ever_up ? "reconnected to" : "reading",
                 e->socket, e->api_version);
    e->ever_up = true;
    e->listed = false;
    open_events(e); /* the list follows once it answers (list_once) */
}

static void try_contact(struct docker_engine *e)
{
    struct stat st;

    /* No socket file: nothing to ask, and nothing to say (auto waits quietly). */
    if (stat(e->socket, &st) != 0) {
        retry_later(e);
        return;
    }
    e->state = DOCKER_PINGING;
    e->ping = docker_http_get(e->http, "/v" DOCKER_API_VERSION "/_ping", false, ERROR_BODY_MAX,
                              PING_TIMEOUT_MS, NULL, on_ping_done, e);
}

/* ---- the loop's side ------------------------------------------------------------ */

int docker_engine_fd(const struct docker_engine *e)
{
    return e ? docker_http_fd(e->http) : -1;
}

void docker_engine_ready(struct docker_engine *e)
{
    if (e)
        docker_http_ready(e->http);
}

static uint64_t earliest(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

uint64_t docker_engine_housekeeping(struct docker_engine *e, uint64_t now)
{
    uint64_t due = UINT64_MAX;

    if (!e)
        return UINT64_MAX;
    if (e->state == DOCKER_AWAY && now >= e->retry_due)
        try_contact(e);
    if (e->state == DOCKER_UP) {
        if (!e->events && e->events_due && now >= e->events_due)
            open_events(e);
        if (!e->list && e->list_due && now >= e->list_due)
            docker_collect_list(e);
        if (e->containers_due <= now)
            docker_collect_visit(e, now);
    }
    /* After the above: the requests they started are due at once. */
    due = docker_http_housekeeping(e->http, assembler_monotonic_now());
    if (e->state == DOCKER_AWAY)
        due = earliest(due, e->retry_due);
    if (e->state == DOCKER_UP) {
        if (e->events_due)
            due = earliest(due, e->events_due);
        if (e->list_due)
            due = earliest(due, e->list_due);
        due = earliest(due, e->containers_due);
    }
    return due;
}

void docker_engine_counts(const struct docker_engine *e, uint64_t *lines, uint64_t *events)
{
    *lines = e ? e->counts.lines : 0;
    *events = e ? e->events_received : 0;
}

/* ---- start and stop ------------------------------------------------------------- */

/* Does something listen on the unix socket `path`? (For mode on, before the loop runs.) */
static bool socket_answers(const char *path, char *why, size_t why_size)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    bool ok;

    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
    ok = fd >= 0 && (connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0 || errno == EAGAIN);
    if (!ok)
        snprintf(why, why_size, "%s: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    return ok;
}

int docker_engine_start(struct docker_engine **out, const struct ulogd_config *config,
                        struct connection_context *connections, char *err, size_t err_size)
{
    const struct docker_settings *d = &config->docker;
    char why[512];
    struct docker_http *http;

    *out = NULL;
    if (d->mode == DOCKER_MODE_OFF)
        return 0;
    if (d->unsupported_host) {
        snprintf(why, sizeof why, "DOCKER_HOST=%.200s is not a unix socket (unix:///PATH); "
                                  "ulogd reads the Docker Engine over its unix socket only",
                 d->unsupported_host);
        if (d->mode == DOCKER_MODE_ON) {
            snprintf(err, err_size, "the Docker Engine is required (docker.mode on, or "
                                    "ULOG_DOCKER=on), but %s", why);
            return -1;
        }
        selflog_emit(connections->selflog, ULOG_WARNING, "docker_unavailable",
                     json_pack("{s:s, s:s, s:s}", "reason", why, "docker_host",
                               d->unsupported_host, "mode", "auto"),
                     "%s: the Docker collector is off (set ULOG_DOCKER_SOCKET to the engine's "
                     "socket, or ULOG_DOCKER=off to stop this warning)",
                     why);
        return 0;
    }
    if (d->mode == DOCKER_MODE_ON && !socket_answers(d->socket, why, sizeof why)) {
        snprintf(err, err_size, "the Docker Engine is required (docker.mode on, or ULOG_DOCKER=on) "
                                "but its socket (from %s) does not answer: %s",
                 d->socket_origin, why);
        return -1;
    }
    if (!(http = docker_http_new(d->socket, why, sizeof why))) {
        if (d->mode == DOCKER_MODE_ON) {
            snprintf(err, err_size, "the Docker Engine is required, but %s", why);
            return -1;
        }
        selflog_emit(connections->selflog, ULOG_WARNING, "docker_unavailable",
                     json_pack("{s:s, s:s}", "reason", why, "mode", "auto"),
                     "%s: the Docker collector is off", why);
        return 0;
    }
    struct docker_engine *e = must_calloc(1, sizeof *e);
    e->socket = must_strdup(d->socket);
    e->socket_origin = d->socket_origin;
    e->mode = d->mode;
    e->collect = d->collect;
    e->connections = connections;
    e->selflog = connections->selflog;
    e->http = http;
    e->table = docker_table_new();
    e->start_ns = record_now_ns();
    e->state = DOCKER_AWAY; /* retry_due 0: the first contact is tried at once */
    e->containers_due = UINT64_MAX;
    e->event_line = (struct bytebuf)BYTEBUF_INIT;
    docker_self_detect(&e->self);
    *out = e;
    return 0;
}

void docker_engine_close(struct docker_engine *e)
{
    if (!e)
        return;
    docker_http_ready(e->http); /* what the engine already sent */
    docker_http_cancel(e->ping);
    docker_http_cancel(e->events);
    docker_http_cancel(e->list);
    docker_shim_answered(e->connections, NULL);
    docker_collect_free(e);
    docker_http_free(e->http);
    bytebuf_free(&e->event_line);
    free(e->socket);
    free(e);
}
