/*
 * filter.h - which records of all.log `ulog tail` shows.
 */
#ifndef ULOG_CLI_FILTER_H
#define ULOG_CLI_FILTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct tail_filter {
    int min_level;       /* an enum ulog_level, or -1 to show every level */
    const char *service; /* exact service name, or NULL for every service */
};

/* The record on one line of all.log, or NULL when the line is not a JSON object. */
json_t *tail_record_parse(const char *line, size_t len);

/*
 * Whether `record` passes the filter. A line that is not a record (NULL) and
 * a record whose level is missing or not one of the five always pass: what
 * cannot be judged is shown rather than hidden.
 */
bool tail_filter_match(const struct tail_filter *filter, const json_t *record);

#endif /* ULOG_CLI_FILTER_H */
