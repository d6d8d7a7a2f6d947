/*
 * live_metrics.h - ulog_records_written_total{source,level,service}: every
 * record written to all.log counted once, on the HTTP thread, as the live
 * hub moves it out of the feed.
 *
 * Label values come from the records, so their number is bounded: the
 * first LIVE_METRICS_MAX_SERVICES distinct services (and
 * LIVE_METRICS_MAX_SOURCES sources) have labels of their own, every later
 * one is counted as "other". A series once shown never goes away, as
 * Prometheus expects of a counter.
 */
#ifndef ULOGD_LIVE_METRICS_H
#define ULOGD_LIVE_METRICS_H

#include <stdio.h>

#include "feed.h"

#define LIVE_METRICS_MAX_SERVICES 256u
#define LIVE_METRICS_MAX_SOURCES 32u

struct live_metrics;

struct live_metrics *live_metrics_new(void);
void live_metrics_free(struct live_metrics *metrics);

void live_metrics_count(struct live_metrics *metrics, const struct feed_item *item);

/* The family, # HELP and # TYPE included (Prometheus text format 0.0.4). */
void live_metrics_write(const struct live_metrics *metrics, FILE *out);

/* A label value as the text format wants it: \ " and newline escaped, a
 * byte that is not well-formed UTF-8 written as U+FFFD. */
void live_metrics_write_label_value(FILE *out, const char *value);

#endif
