/*
 * log_query.c - GET /logs's parameters, checked once for every caller (see
 * log_query.h); log_query_run.c turns them into SQL.
 *
 * Each refusal starts with the parameter's name and says what would be
 * accepted, because it goes back as it is to whoever typed the URL or the
 * `ulog query` flag. Times are stored as fixed-width UTC text, so each bound
 * is normalised to that form here and compared as text by SQLite.
 */
#include "log_query.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "config.h"
#include "log_query_private.h"
#include "record.h"
#include "timestamp.h"
#include "utf8.h"

#define MAX_TEXT_PARAMETER 1024

static const char known_names[] =
    "start_time, end_time, level, min_level, service, container, component, event_type, "
    "trace_id, agent_id, task_id, source, host, q, limit, offset";

void log_query_init(struct log_query *q)
{
    memset(q, 0, sizeof *q);
    q->limit = LOG_QUERY_DEFAULT_LIMIT;
}

void log_query_free(struct log_query *q)
{
    char **texts[] = {&q->service,  &q->container, &q->component, &q->event_type, &q->trace_id,
                      &q->agent_id, &q->task_id,   &q->source,    &q->host,       &q->q};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        free(*texts[i]);
        *texts[i] = NULL;
    }
    log_query_init(q);
}

int log_query_fail(char *err, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, size, fmt, ap);
    va_end(ap);
    return -1;
}

static bool valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s), n;

    for (size_t i = 0; i < len; i += n)
        if (!(n = utf8_sequence_length(p + i, len - i)))
            return false;
    return true;
}

/* How much of `s` a refusal quotes: at most `limit` bytes, never half a character. */
static int quoted_len(const char *s, size_t limit)
{
    size_t len = strlen(s);
    return (int)(len <= limit ? len : utf8_cut((const unsigned char *)s, len, limit));
}

static bool is_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static unsigned days_in_month(unsigned year, unsigned month)
{
    static const unsigned char days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

/*
 * RFC 3339 exactly: date, T (or t, or a space as URLs sometimes turn it
 * into), time, an optional fraction, and Z or an offset. timestamp.c does
 * the arithmetic; this refuses what it would also take (epoch numbers,
 * ",") and dates that do not exist.
 */
static bool parse_rfc3339(const char *s, uint64_t *ns)
{
    size_t len = strlen(s);

    if (len < 20 || !is_digits(s, 4) || s[4] != '-' || !is_digits(s + 5, 2) || s[7] != '-' ||
        !is_digits(s + 8, 2) || strchr("Tt ", s[10]) == NULL || s[10] == '\0' ||
        !is_digits(s + 11, 2) || s[13] != ':' || !is_digits(s + 14, 2) || s[16] != ':' ||
        !is_digits(s + 17, 2) || s[19] == ',')
        return false;
    unsigned year = (unsigned)atoi(s), month = (unsigned)atoi(s + 5), day = (unsigned)atoi(s + 8);
    if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month))
        return false;
    *ns = timestamp_parse_text(s, len);
    return *ns != 0;
}

/* start_time / end_time: into the stored form, rounded up to the microsecond
 * (both bounds then compare like the exact instant with stored times). */
static int set_time(char out[32], const char *name, const char *value, uint64_t now_ns,
                    char *err, size_t size)
{
    uint64_t ns, age_s;

    if (config_parse_age(value, &age_s)) {
        if (age_s > now_ns / 1000000000u)
            return log_query_fail(err, size, "%s: %s is longer ago than 1970", name, value);
        ns = now_ns - age_s * 1000000000u;
    } else if (!parse_rfc3339(value, &ns)) {
        return log_query_fail(err, size,
                              "%s: expected an RFC 3339 time such as 2026-11-21T14:22:18Z or "
                              "2026-11-21T15:22:18.5+01:00, or an age such as 90s, 15m, 2h or "
                              "7d, not \"%.*s\"",
                              name, quoted_len(value, 64), value);
    }
    if (ns % 1000u)
        ns += 1000u - ns % 1000u;
    record_format_timestamp(ns, out);
    return 0;
}

static int parse_levels(const char *name, const char *value, bool list, unsigned *mask,
                        char *err, size_t size)
{
    char *copy = must_strdup(value), *save = NULL;
    unsigned bits = 0;
    int rc = 0;

    /* strtok_r would skip an empty item; refuse it below instead. */
    if (value[0] == ',' || strstr(value, ",,") || (value[0] && value[strlen(value) - 1] == ','))
        copy[0] = '\0';
    for (char *word = strtok_r(copy, ",", &save); word; word = strtok_r(NULL, ",", &save)) {
        int level = ulog_level_parse(word);
        if (level < 0) {
            rc = log_query_fail(err, size,
                                "%s: unknown level \"%.*s\" (use DEBUG, INFO, WARNING, ERROR "
                                "or CRITICAL%s)",
                                name, quoted_len(word, 32), word,
                                list ? ", or a comma list of them" : "");
            break;
        }
        bits |= 1u << level;
        if (!list)
            bits = LOG_QUERY_ALL_LEVELS & ~((1u << level) - 1);
    }
    if (rc == 0 && (!bits || (!list && strchr(value, ','))))
        rc = log_query_fail(err, size, "%s: expected %s, not \"%.*s\"", name,
                            list ? "a level or a comma list of levels (ERROR,CRITICAL)"
                                 : "one level",
                            quoted_len(value, 64), value);
    free(copy);
    if (rc == 0 && !*mask) {
        *mask = bits;
    } else if (rc == 0) { /* AND-ed with what level or min_level already said */
        unsigned both = *mask & bits & LOG_QUERY_ALL_LEVELS;
        *mask = both ? both : LOG_QUERY_NO_LEVEL;
    }
    return rc;
}

static int parse_number(const char *name, const char *value, uint64_t low, uint64_t high,
                        uint64_t *out, char *err, size_t size)
{
    uint64_t number = 0;
    size_t len = strlen(value);

    if (!len || len > 19 || !is_digits(value, len))
        return log_query_fail(err, size, "%s: expected a whole number, not \"%.*s\"", name,
                              quoted_len(value, 32), value);
    for (size_t i = 0; i < len; i++)
        number = number * 10 + (uint64_t)(value[i] - '0');
    if (number < low || number > high)
        return log_query_fail(err, size, "%s: must be between %llu and %llu, not %s", name,
                              (unsigned long long)low, (unsigned long long)high, value);
    *out = number;
    return 0;
}

static char **text_slot(struct log_query *q, const char *name)
{
    static const char *const names[] = {"service",  "container", "component", "event_type",
                                        "trace_id", "agent_id",  "task_id",   "source",
                                        "host",     "q"};
    char **slots[] = {&q->service,  &q->container, &q->component, &q->event_type, &q->trace_id,
                      &q->agent_id, &q->task_id,   &q->source,    &q->host,       &q->q};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i]) == 0)
            return slots[i];
    return NULL;
}

int log_query_set(struct log_query *q, const char *name, const char *value, uint64_t now_ns,
                  char *err, size_t size)
{
    uint64_t number;
    char **slot;

    if (!name || !value)
        return log_query_fail(err, size, "a parameter without a name or a value");
    /* Refusals quote values, and they become JSON: only valid UTF-8 may be quoted. */
    if (!valid_utf8(name))
        return log_query_fail(err, size, "unknown parameter (not valid UTF-8; known: %s)",
                              known_names);
    if (!valid_utf8(value))
        return log_query_fail(err, size, "%.*s: not valid UTF-8", quoted_len(name, 64), name);
    if (strcmp(name, "start_time") == 0)
        return set_time(q->start_time, name, value, now_ns, err, size);
    if (strcmp(name, "end_time") == 0)
        return set_time(q->end_time, name, value, now_ns, err, size);
    if (strcmp(name, "level") == 0)
        return parse_levels(name, value, true, &q->level_mask, err, size);
    if (strcmp(name, "min_level") == 0)
        return parse_levels(name, value, false, &q->level_mask, err, size);
    if (strcmp(name, "limit") == 0) {
        if (parse_number(name, value, 1, LOG_QUERY_MAX_LIMIT, &number, err, size) != 0)
            return -1;
        q->limit = (unsigned)number;
        return 0;
    }
    if (strcmp(name, "offset") == 0)
        return parse_number(name, value, 0, 1000000000000ull, &q->offset, err, size);
    if (!(slot = text_slot(q, name)))
        return log_query_fail(err, size, "unknown parameter \"%.*s\" (known: %s)",
                              quoted_len(name, 64), name, known_names);
    if (!value[0])
        return log_query_fail(err, size, "%s: must not be empty", name);
    if (strlen(value) > MAX_TEXT_PARAMETER)
        return log_query_fail(err, size, "%s: longer than %d bytes", name, MAX_TEXT_PARAMETER);
    free(*slot);
    *slot = must_strdup(value);
    if (slot == &q->container && strspn(value, "0123456789abcdefABCDEF") == strlen(value)) {
        /* An id as `docker ps` shows it (12) or in full (64): records have the 12. */
        for (char *p = *slot; *p; p++)
            *p = (char)(*p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p);
        if (strlen(*slot) > 12)
            (*slot)[12] = '\0';
    }
    return 0;
}
