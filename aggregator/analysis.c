/*
 * analysis.c - the analysis_request of the live page (see analysis.h): the
 * request checked on the HTTP thread, run on a job thread (jobs_submit:
 * SQLite never runs on the HTTP thread; the queries are analysis_sql.c),
 * and the answer handed back to the client by id, since the client may have
 * gone meanwhile.
 */
#include "analysis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "live_filter.h"
#include "record.h"
#include "timestamp.h"

#define NS_PER_SECOND 1000000000ull
#define DEFAULT_RANGE_SECONDS 3600ull
#define MAX_AGE_SECONDS (3650ull * 86400ull)

static const char *const request_fields[] = {"type", "id", "time_range", "service", "level"};

/* --- the request --------------------------------------------------------- */

/* "90s", "15m", "12h", "7d": that long, in seconds; 0 when it is not one. */
static uint64_t parse_age(const char *text)
{
    char *end;
    if (text[0] < '0' || text[0] > '9')
        return 0;
    unsigned long long n = strtoull(text, &end, 10);
    static const struct {
        char unit;
        uint64_t seconds;
    } units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (end[0] == units[i].unit && end[1] == '\0' && n > 0 &&
            n <= MAX_AGE_SECONDS / units[i].seconds)
            return n * units[i].seconds;
    return 0;
}

/* An RFC 3339 time with its zone, in ns; 0 when it is not one. */
static uint64_t parse_time(const json_t *value)
{
    if (!json_is_string(value))
        return 0;
    return timestamp_parse_text(json_string_value(value), json_string_length(value));
}

static int parse_time_range(const json_t *range, uint64_t now_ns, uint64_t *start,
                            uint64_t *end, char *err, size_t err_size)
{
    *end = now_ns;
    *start = now_ns - DEFAULT_RANGE_SECONDS * NS_PER_SECOND;
    if (!range || json_is_null(range))
        return 0;
    if (json_is_string(range)) {
        uint64_t age = parse_age(json_string_value(range));
        if (age == 0) {
            snprintf(err, err_size,
                     "time_range: expected an age such as \"90s\", \"15m\", \"12h\", \"7d\", "
                     "or {\"start\": RFC 3339, \"end\": RFC 3339}");
            return -1;
        }
        *start = age * NS_PER_SECOND < now_ns ? now_ns - age * NS_PER_SECOND : 0;
        return 0;
    }
    if (!json_is_object(range)) {
        snprintf(err, err_size, "time_range: expected an age (\"15m\") or an object");
        return -1;
    }
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)range, key, value) {
        if (strcmp(key, "start") != 0 && strcmp(key, "end") != 0) {
            snprintf(err, err_size, "time_range: unknown field \"%.64s\" (known: start, end)", key);
            return -1;
        }
    }
    const json_t *start_value = json_object_get(range, "start");
    const json_t *end_value = json_object_get(range, "end");
    *start = parse_time(start_value);
    if (*start == 0) {
        snprintf(err, err_size, "time_range.start: expected an RFC 3339 time with its zone, "
                                "such as \"2026-11-21T14:00:00Z\"");
        return -1;
    }
    if (end_value && !json_is_null(end_value)) {
        *end = parse_time(end_value);
        if (*end == 0) {
            snprintf(err, err_size, "time_range.end: expected an RFC 3339 time with its zone, "
                                    "or null for now");
            return -1;
        }
    }
    if (*start >= *end) {
        snprintf(err, err_size, "time_range: start must be before end");
        return -1;
    }
    return 0;
}

int analysis_query_parse(struct analysis_query *query, const json_t *request, uint64_t now_ns,
                         char *err, size_t err_size)
{
    *query = (struct analysis_query){.min_level = ULOG_DEBUG};
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)request, key, value) {
        bool known = false;
        for (size_t i = 0; i < sizeof request_fields / sizeof request_fields[0]; i++)
            known = known || strcmp(key, request_fields[i]) == 0;
        if (!known) {
            snprintf(err, err_size,
                     "unknown field \"%.64s\" (known: id, time_range, service, level)", key);
            return -1;
        }
    }
    uint64_t start, end;
    if (parse_time_range(json_object_get(request, "time_range"), now_ns, &start, &end, err,
                         err_size) != 0)
        return -1;
    record_format_timestamp(start, query->start);
    record_format_timestamp(end, query->end);

    const json_t *level = json_object_get(request, "level");
    if (level && !json_is_null(level)) {
        int parsed = json_is_string(level) ? ulog_level_parse(json_string_value(level)) : -1;
        if (parsed < 0) {
            snprintf(err, err_size,
                     "level: expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL, or null");
            return -1;
        }
        query->min_level = (enum ulog_level)parsed;
    }
    return live_filter_parse_services(json_object_get(request, "service"), &query->services, err,
                                      err_size);
}

void analysis_query_free(struct analysis_query *query)
{
    json_decref(query->services);
    query->services = NULL;
}

/* --- the job ---------------------------------------------------------------- */

struct analysis_job {
    struct live *live;
    uint64_t client_id;
    json_t *id;                 /* the request's, echoed (JSON null when it had none) */
    struct analysis_query query;
    json_t *answer;             /* from the worker */
    char err[256];
};

static void job_run(void *arg, sqlite3 *db)
{
    struct analysis_job *job = arg;
    if (!db) {
        snprintf(job->err, sizeof job->err, "the store cannot be read");
        return;
    }
    job->answer = analysis_run(db, &job->query, job->err, sizeof job->err);
}

static void reply_failure(struct live_client *client, const char *why, const json_t *id)
{
    char err[300];
    snprintf(err, sizeof err, "analysis: %s", why);
    live_client_reply_error(client, err, id);
}

static void job_free(struct analysis_job *job)
{
    json_decref(job->id);
    json_decref(job->answer);
    analysis_query_free(&job->query);
    free(job);
}

static void job_done(void *arg)
{
    struct analysis_job *job = arg;
    struct live_client *client = live_client_find(job->live, job->client_id);
    if (client) {
        live_client_job_finished(client);
        if (job->answer) {
            json_t *message = json_pack("{s:s, s:O}", "type", "analysis", "id", job->id);
            json_object_update(message, job->answer);
            live_client_reply(client, message);
        } else {
            reply_failure(client, job->err, job->id);
        }
    }
    job_free(job);
}

void analysis_start(struct http_shared *shared, struct live_client *client,
                    const json_t *request)
{
    const json_t *id = json_object_get(request, "id");
    char err[256];
    if (!shared->store) {
        reply_failure(client, "the store is off (store.mode: off)", id);
        return;
    }
    if (live_client_jobs(client) >= ANALYSIS_MAX_PENDING) {
        snprintf(err, sizeof err, "%u analyses already running for this client",
                 ANALYSIS_MAX_PENDING);
        reply_failure(client, err, id);
        return;
    }
    struct analysis_job *job = must_calloc(1, sizeof *job);
    if (analysis_query_parse(&job->query, request, record_now_ns(), err, sizeof err) != 0) {
        reply_failure(client, err, id);
        job_free(job);
        return;
    }
    job->live = shared->live;
    job->client_id = live_client_id(client);
    job->id = id ? json_incref((json_t *)id) : json_null();
    if (jobs_submit(shared->jobs, job_run, job_done, job) != 0) {
        reply_failure(client, "too many queries waiting, or stopping: try again", id);
        job_free(job);
        return;
    }
    live_client_job_started(client);
}
