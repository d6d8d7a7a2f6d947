/*
 * live_metrics.c - records written, by source, level and service, with a
 * bounded number of label values (see live_metrics.h).
 */
#include "live_metrics.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "utf8.h"

/* Open addressing over a power of two at most half full: a name is found
 * in one or two probes, and the tables never grow. */
#define SERVICE_SLOTS 1024u
#define SOURCE_SLOTS 128u

struct name_table {
    char **names;       /* by index; index == max is "other" */
    size_t count, max;
    int32_t *slots;     /* index of the name, -1 when empty */
    size_t slot_count;
};

/* One source's counts: [service index][level]; "other" is index max. */
typedef uint64_t service_counts[LIVE_METRICS_MAX_SERVICES + 1][ULOG_LEVEL_COUNT];

struct live_metrics {
    struct name_table sources, services;
    service_counts *by_source[LIVE_METRICS_MAX_SOURCES + 1];
};

static void table_init(struct name_table *table, size_t max, size_t slot_count)
{
    table->names = must_calloc(max, sizeof *table->names);
    table->count = 0;
    table->max = max;
    table->slots = must_malloc(slot_count * sizeof *table->slots);
    for (size_t i = 0; i < slot_count; i++)
        table->slots[i] = -1;
    table->slot_count = slot_count;
}

static void table_free(struct name_table *table)
{
    for (size_t i = 0; i < table->count; i++)
        free(table->names[i]);
    free(table->names);
    free(table->slots);
}

static uint32_t fnv1a(const char *s)
{
    uint32_t hash = 2166136261u;
    for (; *s; s++)
        hash = (hash ^ (unsigned char)*s) * 16777619u;
    return hash;
}

/* The name's index, a new one while there is room, else max ("other"; a
 * record's own "other" too, so that no two series have the same labels). */
static size_t table_index(struct name_table *table, const char *name)
{
    if (strcmp(name, "other") == 0)
        return table->max;
    size_t mask = table->slot_count - 1;
    for (size_t slot = fnv1a(name) & mask;; slot = (slot + 1) & mask) {
        int32_t index = table->slots[slot];
        if (index < 0) {
            if (table->count == table->max)
                return table->max;
            table->names[table->count] = must_strdup(name);
            table->slots[slot] = (int32_t)table->count;
            return table->count++;
        }
        if (strcmp(table->names[index], name) == 0)
            return (size_t)index;
    }
}

static const char *table_name(const struct name_table *table, size_t index)
{
    return index < table->count ? table->names[index] : "other";
}

struct live_metrics *live_metrics_new(void)
{
    struct live_metrics *metrics = must_calloc(1, sizeof *metrics);
    table_init(&metrics->sources, LIVE_METRICS_MAX_SOURCES, SOURCE_SLOTS);
    table_init(&metrics->services, LIVE_METRICS_MAX_SERVICES, SERVICE_SLOTS);
    return metrics;
}

void live_metrics_free(struct live_metrics *metrics)
{
    if (!metrics)
        return;
    for (size_t i = 0; i <= LIVE_METRICS_MAX_SOURCES; i++)
        free(metrics->by_source[i]);
    table_free(&metrics->sources);
    table_free(&metrics->services);
    free(metrics);
}

void live_metrics_count(struct live_metrics *metrics, const struct feed_item *item)
{
    size_t source = table_index(&metrics->sources, item->source);
    size_t service = table_index(&metrics->services, item->service);
    unsigned level = (unsigned)item->level < ULOG_LEVEL_COUNT ? (unsigned)item->level : ULOG_INFO;
    if (!metrics->by_source[source])
        metrics->by_source[source] = must_calloc(1, sizeof(service_counts));
    (*metrics->by_source[source])[service][level]++;
}

void live_metrics_write_label_value(FILE *out, const char *value)
{
    const unsigned char *s = (const unsigned char *)value;
    size_t len = strlen(value);
    for (size_t at = 0; at < len;) {
        size_t n = utf8_sequence_length(s + at, len - at);
        if (n == 0) {
            fputs("\xef\xbf\xbd", out);
            at++;
            continue;
        }
        if (s[at] == '\\')
            fputs("\\\\", out);
        else if (s[at] == '"')
            fputs("\\\"", out);
        else if (s[at] == '\n')
            fputs("\\n", out);
        else
            fwrite(s + at, 1, n, out);
        at += n;
    }
}

void live_metrics_write(const struct live_metrics *metrics, FILE *out)
{
    fprintf(out, "# HELP ulog_records_written_total Records written to all.log, by source, level"
                 " and service (services past the first %u distinct are counted as \"other\").\n"
                 "# TYPE ulog_records_written_total counter\n",
            LIVE_METRICS_MAX_SERVICES);
    for (size_t source = 0; source <= LIVE_METRICS_MAX_SOURCES; source++) {
        const service_counts *counts = metrics->by_source[source];
        if (!counts)
            continue;
        for (size_t service = 0; service <= LIVE_METRICS_MAX_SERVICES; service++) {
            for (unsigned level = 0; level < ULOG_LEVEL_COUNT; level++) {
                uint64_t n = (*counts)[service][level];
                if (n == 0)
                    continue;
                fputs("ulog_records_written_total{source=\"", out);
                live_metrics_write_label_value(out, table_name(&metrics->sources, source));
                fprintf(out, "\",level=\"%s\",service=\"", ulog_level_name((enum ulog_level)level));
                live_metrics_write_label_value(out, table_name(&metrics->services, service));
                fprintf(out, "\"} %llu\n", (unsigned long long)n);
            }
        }
    }
}
