/*
 * logsource.h - the records of a time window, for `ulog context` and
 * `ulog mcp`: from ulogd's store when its file exists (read-only, as `ulog
 * query` reads it), else from all.log and its rotated files. One reader so
 * that both commands see the same records the same way.
 */
#ifndef ULOG_CLI_LOGSOURCE_H
#define ULOG_CLI_LOGSOURCE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOGSOURCE_DEFAULT_MAX 20000u

struct logsource_options {
    const char *log_dir;   /* NULL: $LOG_DIR, else ./logs */
    const char *db;        /* an explicit store file (must exist), or NULL */
    uint64_t since_ns, until_ns; /* [since, until); 0: unbounded */
    const char *service;   /* exact, or NULL */
    int min_level;         /* enum ulog_level; <= 0 (DEBUG) or -1: every level */
    size_t max_records;    /* 0: LOGSOURCE_DEFAULT_MAX; the newest are kept */
};

struct logsource_result {
    json_t *records;    /* array of record objects, oldest first, each with "log_id" from the store */
    const char *origin; /* "store" | "all.log" (static) */
    size_t scanned;     /* rows or lines looked at */
    bool truncated;     /* more records matched than max_records: the oldest were left out */
    size_t unparsable;  /* all.log lines that were not JSON objects (skipped) */
};

/* 0, or -1 with `err` (the store cannot be opened or read, --db missing,
 * a log file that exists but cannot be read, no store and no all.log at
 * all: a wrong directory). An empty window is not an error. */
int logsource_read(const struct logsource_options *opt, struct logsource_result *result, char *err,
                   size_t err_size);
void logsource_result_free(struct logsource_result *result);

/* Where the store is for these options (malloc'd): --db, else
 * $ULOG_STORE_PATH (under the log directory unless absolute), else DIR/ulog.db. */
char *logsource_store_path(const struct logsource_options *opt);

#endif /* ULOG_CLI_LOGSOURCE_H */
