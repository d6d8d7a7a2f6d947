/*
 * filter.c - parses a line of all.log and decides whether `ulog tail`
 * shows it (--level, --service).
 *
 * ulogd already drops records below LOG_LEVEL; the filter here is the
 * reader's second, stricter choice, so it compares the same level names
 * (include/ulog/level.h) in the same order.
 */
#include "filter.h"

#include <string.h>

#include "ulog/level.h"

json_t *tail_record_parse(const char *line, size_t len)
{
    json_error_t error;
    /* ulogd writes a NUL in a message as \u0000, which jansson refuses unless told. */
    json_t *value = json_loadb(line, len, JSON_ALLOW_NUL, &error);

    if (value && !json_is_object(value)) {
        json_decref(value);
        return NULL;
    }
    return value;
}

static bool string_equals(const json_t *value, const char *expected)
{
    size_t len = strlen(expected);
    return json_is_string(value) && json_string_length(value) == len &&
           memcmp(json_string_value(value), expected, len) == 0;
}

bool tail_filter_match(const struct tail_filter *filter, const json_t *record)
{
    if (!record)
        return true;
    if (filter->service && !string_equals(json_object_get(record, "service"), filter->service))
        return false;
    if (filter->min_level >= 0) {
        const json_t *level = json_object_get(record, "level");
        int rank = -1;
        if (json_is_string(level) && strlen(json_string_value(level)) == json_string_length(level))
            rank = ulog_level_parse(json_string_value(level));
        if (rank >= 0 && rank < filter->min_level)
            return false;
    }
    return true;
}
