/*
 * http_metrics.c - GET /metrics: ulogd's counters in the Prometheus text
 * format (0.0.4), every family with its # HELP and # TYPE.
 *
 * Nothing is counted here: the numbers are the event loop's published
 * snapshot (ingest_stats.h), the store's and PostgreSQL's own statistics,
 * the live hub's (records written per source, level and service; WebSocket
 * clients) and this server's answers per status code. Reading each takes a
 * short lock at most, so the page is written on the HTTP thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "http_internal.h"
#include "pg_sink.h"

static void family(FILE *out, const char *name, const char *type, const char *help)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void single(FILE *out, const char *name, const char *type, const char *help,
                   unsigned long long value)
{
    family(out, name, type, help);
    fprintf(out, "%s %llu\n", name, value);
}

static void write_ingest(FILE *out, const struct ingest_stats *s)
{
    single(out, "ulog_records_received_total", "counter",
           "Records that entered the pipeline, from every input.",
           (unsigned long long)s->records_in_total);
    family(out, "ulog_records_dropped_total", "counter",
           "Records not written to all.log, by reason: a rule, a rate limit, below the "
           "minimum level, all.log refusing them (output), lost in a shim (shim).");
    fprintf(out,
            "ulog_records_dropped_total{reason=\"rule\"} %llu\n"
            "ulog_records_dropped_total{reason=\"rate_limit\"} %llu\n"
            "ulog_records_dropped_total{reason=\"level\"} %llu\n"
            "ulog_records_dropped_total{reason=\"output\"} %llu\n"
            "ulog_records_dropped_total{reason=\"shim\"} %llu\n",
            (unsigned long long)s->dropped_by_rule_total, (unsigned long long)s->rate_limited_total,
            (unsigned long long)s->below_level_total, (unsigned long long)s->records_lost_total,
            (unsigned long long)s->shim_dropped_lines_total);
    single(out, "ulog_shim_connections", "gauge", "Shim connections open now.",
           (unsigned long long)s->connections_open);
    single(out, "ulog_shim_connections_total", "counter", "Shim connections accepted.",
           (unsigned long long)s->connections_total);
    single(out, "ulog_connection_errors_total", "counter",
           "Shim connections closed for a protocol fault.",
           (unsigned long long)s->connection_errors_total);
    single(out, "ulog_ebpf_events_total", "counter", "Events read from the eBPF probes.",
           (unsigned long long)s->ebpf_events_total);
    single(out, "ulog_docker_lines_total", "counter",
           "Lines read from containers through the Docker Engine.",
           (unsigned long long)s->docker_lines_total);
    single(out, "ulog_http_entries_total", "counter",
           "Entries posted to POST /logs and taken by the pipeline.",
           (unsigned long long)s->http_entries_total);
}

static void write_store(FILE *out, struct store *store)
{
    struct store_stats s = {0};
    struct timespec now;
    double lag_seconds = 0;

    if (store) {
        store_get_stats(store, &s);
        clock_gettime(CLOCK_REALTIME, &now);
        uint64_t now_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
        if (s.oldest_queued_ns && now_ns > s.oldest_queued_ns)
            lag_seconds = (double)(now_ns - s.oldest_queued_ns) / 1e9;
    }
    single(out, "ulog_store_lag_records", "gauge",
           "Records taken by the store, not yet committed.",
           (unsigned long long)s.queued_records);
    family(out, "ulog_store_lag_seconds", "gauge",
           "Age of the oldest batch waiting for its commit (0: none waits).");
    fprintf(out, "ulog_store_lag_seconds %.3f\n", lag_seconds);
    single(out, "ulog_store_queue_bytes", "gauge", "Bytes of records waiting for the store.",
           (unsigned long long)s.queued_bytes);
    single(out, "ulog_store_committed_total", "counter", "Records committed to the store.",
           (unsigned long long)s.committed_total);
    single(out, "ulog_store_dropped_total", "counter",
           "Records the store dropped (queue full, failed transaction); all.log has them.",
           (unsigned long long)s.dropped_total);
    single(out, "ulog_store_rows", "gauge", "Rows in the store.", (unsigned long long)s.rows);
    single(out, "ulog_store_bytes", "gauge", "Size of the store's file and its WAL.",
           (unsigned long long)s.file_bytes);
    single(out, "ulog_store_errors_total", "counter", "Store transactions that failed.",
           (unsigned long long)s.errors_total);
    single(out, "ulog_store_retention_deleted_total", "counter",
           "Records removed by retention (store.max_age, store.max_size).",
           (unsigned long long)s.retention_deleted_total);
}

static void write_requests(FILE *out, const uint64_t *counts)
{
    family(out, "ulog_http_requests_total", "counter",
           "HTTP requests answered, by status code.");
    for (int code = 100; code < HTTP_STATUS_CODES; code++)
        if (counts[code])
            fprintf(out, "ulog_http_requests_total{code=\"%d\"} %llu\n", code,
                    (unsigned long long)counts[code]);
}

void http_metrics(struct lws *wsi)
{
    struct http_shared *shared = http_shared_of(wsi);
    struct ingest_stats stats;
    struct timespec now;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    unsigned long long uptime = 0;

    if (!out) {
        http_reply_error(wsi, 500, "cannot build the metrics");
        return;
    }
    http_read_stats(shared, &stats);
    if (shared->live)
        live_write_metrics(shared->live, out);
    write_ingest(out, &stats);
    write_store(out, shared->store);
    write_requests(out, http_replies_of(shared)->counts);
    if (shared->pg)
        pg_sink_write_metrics(shared->pg, out);
    clock_gettime(CLOCK_REALTIME, &now);
    if (stats.start_time_ns && (uint64_t)now.tv_sec >= stats.start_time_ns / 1000000000u)
        uptime = (unsigned long long)now.tv_sec - stats.start_time_ns / 1000000000u;
    single(out, "ulog_uptime_seconds", "gauge", "Seconds since ulogd started.", uptime);
    if (fclose(out) != 0) {
        free(text);
        http_reply_error(wsi, 500, "cannot build the metrics");
        return;
    }
    http_reply(wsi, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}
