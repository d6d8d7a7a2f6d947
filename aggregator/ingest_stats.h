/*
 * ingest_stats.h - the event loop's counters, as /metrics shows them.
 *
 * The event loop owns these numbers and changes them on every record; the
 * HTTP thread may only read a copy. At the end of every turn the loop
 * publishes a snapshot (serve_publish_stats), under the same lock as the
 * records of that turn, so /metrics never shows a torn or stale-by-seconds
 * view.
 */
#ifndef ULOGD_INGEST_STATS_H
#define ULOGD_INGEST_STATS_H

#include <stdint.h>

struct ingest_stats {
    uint64_t start_time_ns;           /* when ulogd started (CLOCK_REALTIME) */
    /* Shim connections. */
    uint64_t connections_open;
    uint64_t connections_total;
    uint64_t connection_errors_total; /* closed for a protocol fault */
    uint64_t shim_messages_total;
    uint64_t shim_lines_total;
    uint64_t shim_dropped_lines_total; /* lines the shims reported as lost (DROPPED) */
    /* Other inputs. */
    uint64_t ebpf_events_total;
    uint64_t ebpf_lost_total;
    uint64_t docker_lines_total;
    uint64_t docker_events_total;
    uint64_t http_entries_total;      /* entries posted and taken by the pipeline */
    /* The pipeline. */
    uint64_t records_in_total;
    uint64_t records_out_total;
    uint64_t dropped_by_rule_total;
    uint64_t rate_limited_total;
    uint64_t below_level_total;
    uint64_t redactions_total;
    uint64_t records_lost_total;      /* all.log could not take them */
};

#endif
