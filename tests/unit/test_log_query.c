/*
 * test_log_query.c - GET /logs's parameters (aggregator/log_query.c): each
 * one accepted in its forms and refused with a reason naming it, and the
 * queries they make on a small store: every filter alone and combined,
 * newest first, pages, and full-text search with the words people type
 * (user-id, 10.0.0.1, a/b), phrases, prefixes, operators, and a syntax
 * error that is the caller's fault.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "log_query.h"
#include "store_fixture.h"

/* 2026-11-21T14:00:00Z; record i is i minutes later. */
#define T0_NS 1795269600000000000ull
#define MINUTE_NS 60000000000ull
#define NOW_NS (T0_NS + 60 * MINUTE_NS)

struct sample {
    enum ulog_level level;
    const char *service, *container, *component, *event_type, *trace_id, *agent_id, *task_id;
    const char *source, *host, *message;
};

/* log_id = index + 1; time = T0 + index minutes. */
static const struct sample samples[] = {
    {ULOG_INFO, "api", "aaaaaaaaaaaa", "http", "request", "tr-1", NULL, NULL, "shim", "h1",
     "GET /items answered 200"},
    {ULOG_DEBUG, "api", "aaaaaaaaaaaa", NULL, NULL, "tr-1", NULL, NULL, "shim", "h1",
     "cache miss for user-id=42"},
    {ULOG_WARNING, "db", "abcdef012345", "sql", NULL, NULL, NULL, NULL, "docker", "h1",
     "slow query took 2300 ms"},
    {ULOG_ERROR, "db", "abcdef012345", "sql", "timeout", "tr-2", NULL, NULL, "docker", "h2",
     "timeout talking to replica 10.0.0.1"},
    {ULOG_INFO, "web", "bbbbbbbbbbbb", NULL, NULL, NULL, "agent-7", "task-1", "http", "h2",
     "path a/b not found"},
    {ULOG_CRITICAL, "api", "aaaaaaaaaaaa", NULL, "exit", NULL, "agent-7", "task-2", "ebpf", "h1",
     "process exited: disk full"},
    {ULOG_ERROR, "web", "bbbbbbbbbbbb", "http", "request", "tr-3", NULL, NULL, "shim", "h2",
     "upstream timeout after 30 s"},
    {ULOG_INFO, "db", "abcdef012345", NULL, NULL, NULL, NULL, NULL, "docker", "h1",
     "checkpoint complete\nsecond line"},
};
#define SAMPLES (sizeof samples / sizeof samples[0])

struct query_fixture {
    struct store_fixture *store;
    sqlite3 *db;
};

static int setup(void **state)
{
    struct query_fixture *qf = calloc(1, sizeof *qf);
    qf->store = fixture_new();
    assert_non_null(fixture_open(qf->store, true));
    uint64_t last = 0;
    for (size_t i = 0; i < SAMPLES; i++) {
        const struct sample *s = &samples[i];
        struct record r = {.time_ns = T0_NS + i * MINUTE_NS, .level = s->level,
                           .service = s->service, .container = s->container,
                           .component = s->component, .event_type = s->event_type,
                           .trace_id = s->trace_id, .agent_id = s->agent_id,
                           .task_id = s->task_id, .source = s->source, .host = s->host,
                           .message = s->message, .message_len = strlen(s->message)};
        last = fixture_add(qf->store, &r);
    }
    feed_commit(&qf->store->feed);
    assert_true(fixture_wait(qf->store, last));
    char err[256];
    qf->db = store_reader_open(qf->store->path, err, sizeof err);
    assert_non_null(qf->db);
    *state = qf;
    return 0;
}

static int teardown(void **state)
{
    struct query_fixture *qf = *state;
    sqlite3_close(qf->db);
    fixture_free(qf->store);
    free(qf);
    return 0;
}

/* Parameters as "name", "value", ..., NULL; the log_ids found, as "8,6,3". */
static void run(struct query_fixture *qf, char *ids, size_t size, json_t **result_out, ...)
{
    struct log_query q;
    char err[512];
    va_list ap;
    bool bad;
    json_t *result;

    log_query_init(&q);
    va_start(ap, result_out);
    for (const char *name; (name = va_arg(ap, const char *));) {
        const char *value = va_arg(ap, const char *);
        if (log_query_set(&q, name, value, NOW_NS, err, sizeof err) != 0)
            fail_msg("%s=%s refused: %s", name, value, err);
    }
    va_end(ap);
    if (log_query_run(qf->db, &q, &result, &bad, err, sizeof err) != 0)
        fail_msg("query failed (bad request %d): %s", bad, err);
    ids[0] = '\0';
    json_t *logs = json_object_get(result, "logs"), *record;
    size_t i;
    json_array_foreach(logs, i, record) {
        size_t len = strlen(ids);
        snprintf(ids + len, size - len, "%s%lld", len ? "," : "",
                 (long long)json_integer_value(json_object_get(record, "log_id")));
    }
    assert_int_equal(json_integer_value(json_object_get(result, "count")), json_array_size(logs));
    if (result_out)
        *result_out = result;
    else
        json_decref(result);
    log_query_free(&q);
}

#define EXPECT(qf, expected, ...)                                                           \
    do {                                                                                    \
        char ids_[256];                                                                     \
        run(qf, ids_, sizeof ids_, NULL, __VA_ARGS__, NULL);                                \
        if (strcmp(ids_, expected) != 0)                                                    \
            fail_msg("expected [%s], got [%s]", expected, ids_);                            \
    } while (0)

static void refused(const char *name, const char *value, const char *reason)
{
    struct log_query q;
    char err[512] = "";

    log_query_init(&q);
    assert_int_equal(log_query_set(&q, name, value, NOW_NS, err, sizeof err), -1);
    if (!strstr(err, reason))
        fail_msg("%s=%s: expected \"%s\" in: %s", name, value, reason, err);
    log_query_free(&q);
}

static void accepted(struct log_query *q, const char *name, const char *value)
{
    char err[512];
    if (log_query_set(q, name, value, NOW_NS, err, sizeof err) != 0)
        fail_msg("%s=%s refused: %s", name, value, err);
}

static void parameters_accepted(void **state)
{
    struct log_query q;
    (void)state;

    log_query_init(&q);
    assert_int_equal(q.limit, 100);
    accepted(&q, "start_time", "2026-11-21T15:22:18.5+01:00");
    assert_string_equal(q.start_time, "2026-11-21T14:22:18.500000Z");
    accepted(&q, "start_time", "2026-11-21t14:22:18Z");
    assert_string_equal(q.start_time, "2026-11-21T14:22:18.000000Z");
    accepted(&q, "start_time", "2026-11-21 14:22:18.1234561-0130");
    assert_string_equal(q.start_time, "2026-11-21T15:52:18.123457Z"); /* rounded up */
    accepted(&q, "end_time", "2024-02-29T23:59:59.999999Z");
    assert_string_equal(q.end_time, "2024-02-29T23:59:59.999999Z");
    accepted(&q, "end_time", "15m");
    assert_string_equal(q.end_time, "2026-11-21T14:45:00.000000Z");
    accepted(&q, "start_time", "2h");
    assert_string_equal(q.start_time, "2026-11-21T13:00:00.000000Z");
    accepted(&q, "start_time", "90s");
    assert_string_equal(q.start_time, "2026-11-21T14:58:30.000000Z");
    accepted(&q, "start_time", "7d");
    assert_string_equal(q.start_time, "2026-11-14T15:00:00.000000Z");

    accepted(&q, "level", "error,CRITICAL");
    assert_int_equal(q.level_mask, (1u << ULOG_ERROR) | (1u << ULOG_CRITICAL));
    log_query_free(&q);
    accepted(&q, "min_level", "warn");
    assert_int_equal(q.level_mask,
                     (1u << ULOG_WARNING) | (1u << ULOG_ERROR) | (1u << ULOG_CRITICAL));
    accepted(&q, "level", "ERROR,INFO"); /* AND-ed: only ERROR is left */
    assert_int_equal(q.level_mask, 1u << ULOG_ERROR);

    accepted(&q, "limit", "1");
    assert_int_equal(q.limit, 1);
    accepted(&q, "limit", "1000");
    assert_int_equal(q.limit, 1000);
    accepted(&q, "offset", "0");
    accepted(&q, "offset", "123456");
    assert_int_equal(q.offset, 123456);
    accepted(&q, "container", "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789");
    assert_string_equal(q.container, "abcdef012345");
    accepted(&q, "container", "my-db-1");
    assert_string_equal(q.container, "my-db-1");
    static const char *const texts[] = {"service", "component", "event_type", "trace_id",
                                        "agent_id", "task_id", "source", "host", "q"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        accepted(&q, texts[i], "x y");
    assert_string_equal(q.service, "x y");
    assert_string_equal(q.q, "x y");
    assert_string_equal(q.host, "x y");
    log_query_free(&q);
}

static void parameters_refused(void **state)
{
    (void)state;
    refused("limit", "0", "limit: must be between 1 and 1000, not 0");
    refused("limit", "5000", "limit: must be between 1 and 1000, not 5000");
    refused("limit", "ten", "limit: expected a whole number");
    refused("limit", "-1", "limit: expected a whole number");
    refused("limit", "", "limit: expected a whole number");
    refused("offset", "1e3", "offset: expected a whole number");
    refused("offset", "99999999999999999999", "offset: expected a whole number");
    refused("level", "LOUD", "level: unknown level \"LOUD\"");
    refused("level", "", "level: expected a level or a comma list");
    refused("level", "ERROR,,INFO", "level: expected");
    refused("level", "ERROR,", "level: expected");
    refused("min_level", "ERROR,INFO", "min_level: expected one level");
    refused("min_level", "verbose", "min_level: unknown level");
    refused("start_time", "yesterday", "start_time: expected an RFC 3339 time");
    refused("start_time", "2026-02-29T00:00:00Z", "start_time: expected an RFC 3339");
    refused("start_time", "2026-11-21T14:22:18", "start_time: expected an RFC 3339");
    refused("start_time", "2026-11-21T24:00:00Z", "start_time: expected an RFC 3339");
    refused("start_time", "2026-11-21T14:22:18,5Z", "start_time: expected an RFC 3339");
    refused("end_time", "1763700000", "end_time: expected an RFC 3339");
    refused("end_time", "15", "end_time: expected");
    refused("end_time", "1969-12-31T23:59:59Z", "end_time: expected");
    refused("end_time", "99999d", "end_time: 99999d is longer ago than 1970");
    refused("service", "", "service: must not be empty");
    refused("trace_id", "\xff\xfe", "trace_id: not valid UTF-8");
    char long_text[1100];
    memset(long_text, 'a', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    refused("q", long_text, "q: longer than 1024 bytes");
    refused("colour", "red", "unknown parameter \"colour\" (known: start_time, end_time");
    refused("Service", "api", "unknown parameter \"Service\"");
}

static void each_filter(void **state)
{
    struct query_fixture *qf = *state;
    char ids[256];

    run(qf, ids, sizeof ids, NULL, NULL);
    assert_string_equal(ids, "8,7,6,5,4,3,2,1");
    EXPECT(qf, "6,2,1", "service", "api");
    EXPECT(qf, "", "service", "API");
    EXPECT(qf, "7,4", "level", "ERROR");
    EXPECT(qf, "7,6,4", "level", "ERROR,CRITICAL");
    EXPECT(qf, "7,6,4,3", "min_level", "WARNING");
    EXPECT(qf, "6", "min_level", "CRITICAL");
    EXPECT(qf, "", "level", "DEBUG", "min_level", "INFO");
    EXPECT(qf, "8,7,6", "start_time", "2026-11-21T14:05:00Z");
    EXPECT(qf, "6", "start_time", "2026-11-21T14:05:00Z", "end_time", "2026-11-21T14:06:00Z");
    EXPECT(qf, "2,1", "end_time", "2026-11-21T15:02:00+01:00");
    EXPECT(qf, "8,7,6,5,4,3,2,1", "start_time", "1h");
    EXPECT(qf, "", "start_time", "1m");
    EXPECT(qf, "7,1", "component", "http");
    EXPECT(qf, "7,1", "event_type", "request");
    EXPECT(qf, "2,1", "trace_id", "tr-1");
    EXPECT(qf, "6,5", "agent_id", "agent-7");
    EXPECT(qf, "6", "task_id", "task-2");
    EXPECT(qf, "8,4,3", "source", "docker");
    EXPECT(qf, "7,5,4", "host", "h2");
    EXPECT(qf, "6,2,1", "container", "aaaaaaaaaaaa");
    EXPECT(qf, "8,4,3", "container", "abc");
    EXPECT(qf, "8,6,4,3,2,1", "container", "a");
    EXPECT(qf, "8,4,3", "container",
           "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
    EXPECT(qf, "", "container", "abd");
    EXPECT(qf, "4", "service", "db", "min_level", "ERROR", "start_time", "2026-11-21T14:01:00Z",
           "component", "sql", "host", "h2");
}

static void pages_newest_first(void **state)
{
    struct query_fixture *qf = *state;
    char ids[256];
    json_t *result;

    run(qf, ids, sizeof ids, &result, "limit", "3", NULL);
    assert_string_equal(ids, "8,7,6");
    assert_int_equal(json_integer_value(json_object_get(result, "limit")), 3);
    assert_int_equal(json_integer_value(json_object_get(result, "offset")), 0);
    assert_int_equal(json_integer_value(json_object_get(result, "next_offset")), 3);
    json_decref(result);
    run(qf, ids, sizeof ids, &result, "limit", "3", "offset", "3", NULL);
    assert_string_equal(ids, "5,4,3");
    assert_int_equal(json_integer_value(json_object_get(result, "next_offset")), 6);
    json_decref(result);
    run(qf, ids, sizeof ids, &result, "limit", "3", "offset", "6", NULL);
    assert_string_equal(ids, "2,1");
    assert_true(json_is_null(json_object_get(result, "next_offset")));
    json_decref(result);
    run(qf, ids, sizeof ids, &result, "limit", "2", "offset", "6", NULL);
    assert_string_equal(ids, "2,1");
    assert_true(json_is_null(json_object_get(result, "next_offset")));
    json_decref(result);
    run(qf, ids, sizeof ids, &result, "offset", "100", NULL);
    assert_string_equal(ids, "");
    assert_int_equal(json_integer_value(json_object_get(result, "count")), 0);
    assert_true(json_is_null(json_object_get(result, "next_offset")));
    json_decref(result);
    EXPECT(qf, "7", "service", "web", "limit", "1");
    EXPECT(qf, "5", "service", "web", "limit", "1", "offset", "1");
    EXPECT(qf, "4", "q", "timeout", "limit", "1", "offset", "1");
}

static void full_text(void **state)
{
    struct query_fixture *qf = *state;

    EXPECT(qf, "7,4", "q", "timeout");
    EXPECT(qf, "7,4", "q", "TimeOut");
    EXPECT(qf, "2", "q", "user-id");
    EXPECT(qf, "2", "q", "user-id=42");
    EXPECT(qf, "4", "q", "10.0.0.1");
    EXPECT(qf, "5", "q", "a/b");
    EXPECT(qf, "1", "q", "/items");
    EXPECT(qf, "4", "q", "timeout replica");
    EXPECT(qf, "4", "q", "\"talking to replica\"");
    EXPECT(qf, "", "q", "\"replica talking\"");
    EXPECT(qf, "7,4", "q", "time*");
    EXPECT(qf, "7,6,4", "q", "timeout OR disk");
    EXPECT(qf, "7", "q", "timeout NOT replica");
    EXPECT(qf, "7,6,4", "q", "(timeout OR full) NOT nothing");
    EXPECT(qf, "8", "q", "second");
    EXPECT(qf, "", "q", "absent");
    EXPECT(qf, "4", "q", "timeout", "service", "db");
    EXPECT(qf, "7", "q", "timeout", "start_time", "2026-11-21T14:05:00Z");
    EXPECT(qf, "3", "q", "2300", "level", "WARNING");
}

static void full_text_errors_are_the_callers(void **state)
{
    struct query_fixture *qf = *state;
    static const char *const bad_queries[] = {"timeout AND", "\"unterminated", "OR", "( timeout",
                                              "   "};

    for (size_t i = 0; i < sizeof bad_queries / sizeof bad_queries[0]; i++) {
        struct log_query q;
        char err[512] = "";
        bool bad = false;
        json_t *result = NULL;

        log_query_init(&q);
        accepted(&q, "q", bad_queries[i]);
        assert_int_equal(log_query_run(qf->db, &q, &result, &bad, err, sizeof err), -1);
        assert_null(result);
        assert_true(bad);
        if (strncmp(err, "q: ", 3) != 0)
            fail_msg("q=%s: %s", bad_queries[i], err);
        log_query_free(&q);
    }
}

static void a_broken_store_is_not_a_bad_request(void **state)
{
    struct query_fixture *qf = *state;
    struct log_query q;
    char err[512] = "", path[160];
    bool bad = true;
    json_t *result = NULL;

    snprintf(path, sizeof path, "%s/empty.db", qf->store->dir);
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fclose(file);
    sqlite3 *db = store_reader_open(path, err, sizeof err);
    assert_non_null(db);
    log_query_init(&q);
    accepted(&q, "q", "timeout");
    assert_int_equal(log_query_run(db, &q, &result, &bad, err, sizeof err), -1);
    assert_false(bad);
    assert_non_null(strstr(err, "the store cannot be read"));
    log_query_free(&q);
    sqlite3_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parameters_accepted),
        cmocka_unit_test(parameters_refused),
        cmocka_unit_test_setup_teardown(each_filter, setup, teardown),
        cmocka_unit_test_setup_teardown(pages_newest_first, setup, teardown),
        cmocka_unit_test_setup_teardown(full_text, setup, teardown),
        cmocka_unit_test_setup_teardown(full_text_errors_are_the_callers, setup, teardown),
        cmocka_unit_test_setup_teardown(a_broken_store_is_not_a_bad_request, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
