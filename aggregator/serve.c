/*
 * serve.c - the event loop's side of serving (see serve.h).
 *
 * Owns the order things start and stop in, which is what keeps a record
 * from being lost between threads: the store is opened before the first
 * record so that ids continue where the file left off; consumers are in
 * place before the loop runs; at a stop the HTTP thread goes first (no more
 * posts), then the last turn's records are published, then the store and
 * PostgreSQL drain what they hold.
 */
#include "serve.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "http.h"
#include "inbox.h"
#include "live.h"
#include "pg_sink.h"
#include "store.h"

/* How long a stop may wait for the store and PostgreSQL to write what they hold. */
#define SERVE_DRAIN_MS 5000u
/* Troubles of the store and PostgreSQL are told at most this often. */
#define SERVE_REPORT_INTERVAL_NS 1000000000u

struct serve {
    const struct ulogd_config *config;
    char *host;
    struct feed feed;
    struct store *store;   /* NULL: off, or could not be opened */
    char store_notice[512];
    char store_error[512];
    struct pg_sink *pg;
    struct live *live;
    struct inbox *inbox;
    struct http_server *http;
    struct pipeline *pipeline;
    struct selflog *selflog;
    uint64_t http_entries;
    /* The latest counters, for the HTTP thread. */
    pthread_mutex_t stats_lock;
    struct ingest_stats stats;
    /* What was last told about the store and PostgreSQL. */
    uint64_t next_report;
    uint64_t store_dropped_told, store_errors_told;
    uint64_t pg_dropped_told, pg_errors_told;
    int pg_connected_told;
};

struct serve *serve_open(const struct ulogd_config *config, const char *host)
{
    struct serve *s = must_calloc(1, sizeof *s);
    uint64_t first_id = 1;

    s->config = config;
    s->host = must_strdup(host);
    pthread_mutex_init(&s->stats_lock, NULL);
    if (config->store.enabled) {
        s->store = store_open(&config->store, config->log_dir, s->store_notice,
                              sizeof s->store_notice, s->store_error, sizeof s->store_error);
        if (s->store)
            first_id = store_max_id(s->store) + 1;
    }
    feed_init(&s->feed, first_id);
    if (s->store)
        feed_add_consumer(&s->feed, (struct feed_consumer){store_take, s->store});
    s->live = live_new(config->buffer_size);
    return s;
}

struct feed *serve_feed(struct serve *s)
{
    return &s->feed;
}

static void read_stats(void *ctx, struct ingest_stats *out)
{
    struct serve *s = ctx;

    pthread_mutex_lock(&s->stats_lock);
    *out = s->stats;
    pthread_mutex_unlock(&s->stats_lock);
}

static int start_postgresql(struct serve *s, char *err, size_t size)
{
    const struct store_settings *settings = &s->config->store;
    char reason[256];

    if (!settings->postgresql || !*settings->postgresql)
        return 0;
    s->pg = pg_sink_new(settings->postgresql, settings->queue_bytes, reason, sizeof reason);
    if (!s->pg || pg_sink_start(s->pg, reason, sizeof reason) != 0) {
        snprintf(err, size, "store.postgresql: %s", reason);
        if (s->pg)
            pg_sink_close(s->pg, 0);
        s->pg = NULL;
        return -1;
    }
    feed_add_consumer(&s->feed, (struct feed_consumer){pg_sink_take, s->pg});
    return 0;
}

static void start_http(struct serve *s)
{
    const struct ulogd_config *c = s->config;
    char err[512];

    if (c->service_port == 0)
        return;
    s->inbox = inbox_new();
    if (!s->inbox) {
        selflog_emit(s->selflog, ULOG_ERROR, "http_unavailable", NULL,
                     "no HTTP API: cannot make its event descriptor");
        return;
    }
    struct http_deps deps = {
        .host = c->service_host,
        .port = c->service_port,
        .token = c->token,
        .buffer_size = c->buffer_size,
        .store = s->store,
        .pg = s->pg,
        .live = s->live,
        .inbox = s->inbox,
        .read_stats = read_stats,
        .stats_ctx = s,
    };
    s->http = http_server_start(&deps, err, sizeof err);
    if (!s->http) {
        fprintf(stderr, "ulogd: no HTTP API: %s\n", err);
        selflog_emit(s->selflog, ULOG_ERROR, "http_unavailable",
                     json_pack("{s:s, s:i}", "host", c->service_host, "port", (int)c->service_port),
                     "no HTTP API, WebSocket or page: %s", err);
        inbox_free(s->inbox);
        s->inbox = NULL;
        return;
    }
    /* Only with someone to hand them on: without the HTTP thread the live
     * hub's queue would only grow. */
    feed_add_consumer(&s->feed, (struct feed_consumer){live_take, s->live});
    selflog_emit(s->selflog, ULOG_INFO, "http_start",
                 json_pack("{s:s, s:i, s:b}", "host", c->service_host, "port",
                           (int)http_server_port(s->http), "token_required", c->token != NULL),
                 "serving the API, the live stream and the page on http://%s:%u/",
                 c->service_host, http_server_port(s->http));
}

int serve_start(struct serve *s, struct pipeline *pipeline, struct selflog *selflog, char *err,
                size_t size)
{
    char reason[256];

    s->pipeline = pipeline;
    s->selflog = selflog;
    if (s->store_notice[0])
        selflog_emit(selflog, ULOG_WARNING, "store_recreated", NULL, "%s", s->store_notice);
    if (s->config->store.enabled && !s->store)
        selflog_emit(selflog, ULOG_ERROR, "store_unavailable", NULL,
                     "no store: GET /logs and `ulog query` have nothing to read: %s",
                     s->store_error);
    if (s->store && store_start(s->store, reason, sizeof reason) != 0) {
        selflog_emit(selflog, ULOG_ERROR, "store_unavailable", NULL, "no store: %s", reason);
        store_close(s->store, 0);
        s->store = NULL;
        /* Its consumer slot would point nowhere: nothing else is on the list yet. */
        s->feed.consumer_count = 0;
    }
    if (start_postgresql(s, err, size) != 0)
        return -1;
    start_http(s);
    return 0;
}

int serve_inbox_fd(const struct serve *s)
{
    return s->inbox ? inbox_fd(s->inbox) : -1;
}

/* "2026-11-21T14:22:18.214521Z", "...+02:00", fraction optional; 0 if not RFC 3339. */
static uint64_t parse_time(const char *text)
{
    struct tm tm = {0};
    const char *p = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm);
    uint64_t fraction_ns = 0, scale = 100000000u;
    long offset = 0;

    if (!p)
        return 0;
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
            fraction_ns += (uint64_t)(*p - '0') * scale;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if ((*p == '+' || *p == '-') && p[1] && p[2] && p[3] == ':') {
        int hours, minutes;
        if (sscanf(p + 1, "%2d:%2d", &hours, &minutes) != 2)
            return 0;
        offset = (hours * 60L + minutes) * 60L * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return 0;
    }
    if (*p)
        return 0;
    time_t t = timegm(&tm) - offset;
    if (t < 0)
        return 0;
    return (uint64_t)t * 1000000000u + fraction_ns;
}

static const char *field(json_t *entry, const char *name)
{
    return json_string_value(json_object_get(entry, name));
}

/* One posted entry (validated by the HTTP thread) through the pipeline. */
static struct inbox_result take_entry(struct serve *s, json_t *entry, const char *client)
{
    const struct pipeline_stats before = s->pipeline->stats;
    json_t *message = json_object_get(entry, "message");
    json_t *metadata = json_object_get(entry, "metadata");
    const char *level_name = field(entry, "level");
    const char *timestamp = field(entry, "timestamp");
    const char *service = field(entry, "service");
    int level = level_name ? ulog_level_parse(level_name) : ULOG_INFO;
    uint64_t first = feed_next_id(&s->feed);

    metadata = metadata ? json_deep_copy(metadata) : json_object();
    if (client)
        json_object_set_new(metadata, "client", json_string(client));
    struct record record = {
        .time_ns = timestamp ? parse_time(timestamp) : 0,
        .level = level < 0 ? ULOG_INFO : (enum ulog_level)level,
        .service = service && *service ? service : "http",
        .host = s->host,
        .stream = "http",
        .source = "http",
        .component = field(entry, "component"),
        .event_type = field(entry, "event_type"),
        .message = json_string_value(message),
        .message_len = json_string_length(message),
        .trace_id = field(entry, "trace_id"),
        .span_id = field(entry, "span_id"),
        .agent_id = field(entry, "agent_id"),
        .task_id = field(entry, "task_id"),
        .metadata = json_object_size(metadata) ? metadata : NULL,
    };
    pipeline_record(s->pipeline, &record);
    json_decref(metadata);
    s->http_entries++;
    if (feed_next_id(&s->feed) > first)
        return (struct inbox_result){.outcome = INBOX_WRITTEN, .id = first};
    const struct pipeline_stats *after = &s->pipeline->stats;
    if (after->rate_limited > before.rate_limited)
        return (struct inbox_result){.outcome = INBOX_RATE_LIMITED};
    if (after->below_level > before.below_level)
        return (struct inbox_result){.outcome = INBOX_BELOW_LEVEL};
    return (struct inbox_result){.outcome = INBOX_DROPPED_RULE};
}

void serve_take_posts(struct serve *s)
{
    struct inbox_request *r, *next;

    if (!s->inbox)
        return;
    for (r = inbox_take_posts(s->inbox); r; r = next) {
        next = r->next;
        for (size_t i = 0; i < r->count; i++)
            r->results[i] = take_entry(s, json_array_get(r->entries, i), r->client);
        inbox_answer(s->inbox, r);
    }
}

void serve_end_turn(struct serve *s, const struct ingest_stats *stats)
{
    /* The counters first: a record on /logs is never ahead of /metrics. */
    pthread_mutex_lock(&s->stats_lock);
    s->stats = *stats;
    s->stats.http_entries_total = s->http_entries;
    pthread_mutex_unlock(&s->stats_lock);
    feed_commit(&s->feed);
}

unsigned serve_http_port(const struct serve *s)
{
    return s->http ? http_server_port(s->http) : 0;
}

uint64_t serve_http_entries(const struct serve *s)
{
    return s->http_entries;
}

static void report_store(struct serve *s)
{
    struct store_stats st;

    store_get_stats(s->store, &st);
    if (st.dropped_total > s->store_dropped_told) {
        selflog_emit(s->selflog, ULOG_WARNING, "store_behind",
                     json_pack("{s:I, s:I}", "dropped", (json_int_t)(st.dropped_total -
                                                                  s->store_dropped_told),
                               "dropped_total", (json_int_t)st.dropped_total),
                     "the store fell behind: %" PRIu64 " records are in all.log but not in the "
                     "store (its queue is full: store.queue_bytes)",
                     st.dropped_total - s->store_dropped_told);
        s->store_dropped_told = st.dropped_total;
    }
    if (st.errors_total > s->store_errors_told) {
        selflog_emit(s->selflog, ULOG_ERROR, "store_error",
                     json_pack("{s:I}", "errors_total", (json_int_t)st.errors_total),
                     "the store could not write: %s", st.last_error);
        s->store_errors_told = st.errors_total;
    }
}

static void report_postgresql(struct serve *s)
{
    struct pg_sink_stats st;

    pg_sink_get_stats(s->pg, &st);
    if (st.connected != s->pg_connected_told) {
        if (st.connected)
            selflog_emit(s->selflog, ULOG_INFO, "postgresql_connected", NULL,
                         "writing records to PostgreSQL");
        else if (s->pg_connected_told)
            selflog_emit(s->selflog, ULOG_WARNING, "postgresql_disconnected", NULL,
                         "lost PostgreSQL, reconnecting: %s", st.last_error);
        s->pg_connected_told = st.connected;
    }
    if (st.dropped_total > s->pg_dropped_told) {
        selflog_emit(s->selflog, ULOG_WARNING, "postgresql_behind",
                     json_pack("{s:I}", "dropped_total", (json_int_t)st.dropped_total),
                     "%" PRIu64 " records are in all.log but not in PostgreSQL: %s",
                     st.dropped_total - s->pg_dropped_told, st.last_error);
        s->pg_dropped_told = st.dropped_total;
    }
    if (st.errors_total > s->pg_errors_told && !st.connected && !s->pg_errors_told)
        selflog_emit(s->selflog, ULOG_WARNING, "postgresql_unavailable", NULL,
                     "cannot reach PostgreSQL, retrying: %s", st.last_error);
    s->pg_errors_told = st.errors_total;
}

void serve_housekeeping(struct serve *s, uint64_t now)
{
    /* Checked on the loop's turns, never on a timer of its own: an idle ulogd
     * sleeps, and records that could fall behind make turns. */
    if ((!s->store && !s->pg) || now < s->next_report)
        return;
    s->next_report = now + SERVE_REPORT_INTERVAL_NS;
    if (s->store)
        report_store(s);
    if (s->pg)
        report_postgresql(s);
}

void serve_stop(struct serve *s)
{
    if (!s)
        return;
    if (s->inbox)
        inbox_close(s->inbox);
    if (s->http)
        http_server_stop(s->http);
    s->http = NULL;
    feed_commit(&s->feed);
    if (s->store)
        store_close(s->store, SERVE_DRAIN_MS);
    if (s->pg)
        pg_sink_close(s->pg, SERVE_DRAIN_MS);
    inbox_free(s->inbox);
    live_free(s->live);
    feed_free(&s->feed);
    pthread_mutex_destroy(&s->stats_lock);
    free(s->host);
    free(s);
}
