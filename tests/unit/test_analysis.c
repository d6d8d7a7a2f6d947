/*
 * test_analysis.c - the live page's analysis (aggregator/analysis.c,
 * analysis_sql.c): what a request may ask, and what a store filled the way
 * ulogd fills it answers - counts, the most frequent messages, the latest
 * errors and the records that led to each (same service and pid, or
 * container, within 60 s, oldest first).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "analysis.h"
#include "store_fixture.h"

/* 2026-11-21T14:22:18Z */
#define T0 (1795270938ull * 1000000000ull)
#define SECOND 1000000000ull

static json_t *request(const char *text)
{
    json_t *value = json_loads(text, 0, NULL);
    assert_non_null(value);
    return value;
}

static void parse_ok(const char *text, uint64_t now, const char *start, const char *end,
                     enum ulog_level level, size_t services)
{
    struct analysis_query query;
    char err[256] = "";
    json_t *r = request(text);
    if (analysis_query_parse(&query, r, now, err, sizeof err) != 0)
        fail_msg("%s: %s", text, err);
    assert_string_equal(query.start, start);
    assert_string_equal(query.end, end);
    assert_int_equal(query.min_level, level);
    assert_int_equal(query.services ? json_array_size(query.services) : 0, services);
    analysis_query_free(&query);
    json_decref(r);
}

static void parse_refused(const char *text, const char *error_part)
{
    struct analysis_query query;
    char err[256] = "";
    json_t *r = request(text);
    assert_int_equal(analysis_query_parse(&query, r, T0, err, sizeof err), -1);
    if (!strstr(err, error_part))
        fail_msg("%s: error \"%s\" does not name \"%s\"", text, err, error_part);
    analysis_query_free(&query);
    json_decref(r);
}

static void requests_are_checked(void **state)
{
    (void)state;
    parse_ok("{\"type\":\"analysis_request\"}", T0, "2026-11-21T13:22:18.000000Z",
             "2026-11-21T14:22:18.000000Z", ULOG_DEBUG, 0);
    parse_ok("{\"type\":\"analysis_request\",\"id\":[1],\"time_range\":\"15m\",\"level\":\"warn\","
             "\"service\":[\"api\",\"db\"]}",
             T0, "2026-11-21T14:07:18.000000Z", "2026-11-21T14:22:18.000000Z", ULOG_WARNING, 2);
    parse_ok("{\"time_range\":{\"start\":\"2026-11-21T15:00:00+01:00\",\"end\":null},"
             "\"service\":\"api\",\"level\":null}",
             T0, "2026-11-21T14:00:00.000000Z", "2026-11-21T14:22:18.000000Z", ULOG_DEBUG, 1);
    parse_ok("{\"time_range\":{\"start\":\"2026-11-20T00:00:00Z\",\"end\":\"2026-11-20T00:00:01.5Z\"}}",
             T0, "2026-11-20T00:00:00.000000Z", "2026-11-20T00:00:01.500000Z", ULOG_DEBUG, 0);

    parse_refused("{\"time_range\":\"15x\"}", "time_range");
    parse_refused("{\"time_range\":\"0m\"}", "time_range");
    parse_refused("{\"time_range\":15}", "time_range");
    parse_refused("{\"time_range\":{\"start\":\"yesterday\"}}", "time_range.start");
    parse_refused("{\"time_range\":{\"start\":\"2026-11-21T14:00:00\"}}", "time_range.start");
    parse_refused("{\"time_range\":{\"start\":\"2026-11-21T14:00:00Z\",\"end\":\"2026-11-21T13:00:00Z\"}}",
                  "start must be before end");
    parse_refused("{\"time_range\":{\"from\":\"2026-11-21T14:00:00Z\"}}", "from");
    parse_refused("{\"level\":\"loud\"}", "level");
    parse_refused("{\"service\":{}}", "service");
    parse_refused("{\"services\":[\"api\"]}", "services");
}

struct row {
    int64_t offset_ms;
    enum ulog_level level;
    const char *service, *container;
    uint32_t pid;
    const char *message;
};

static const struct row rows[] = {
    {-120000, ULOG_INFO, "api", NULL, 10, "long before"},   /* 1: outside the 60 s */
    {0, ULOG_INFO, "api", NULL, 10, "starting"},             /* 2 */
    {1000, ULOG_INFO, "api", NULL, 10, "cache miss"},        /* 3 */
    {1100, ULOG_INFO, "api", NULL, 10, "cache miss"},        /* 4 */
    {1200, ULOG_DEBUG, "api", NULL, 10, "cache miss"},       /* 5 */
    {1500, ULOG_INFO, "db", "0123456789ab", 0, "query"},     /* 6 */
    {2000, ULOG_WARNING, "api", NULL, 10, "slow upstream"},  /* 7 */
    {2500, ULOG_INFO, "api", NULL, 11, "another process"},   /* 8: not the same pid */
    {3000, ULOG_ERROR, "api", NULL, 10, "upstream timeout"}, /* 9 */
    {4000, ULOG_ERROR, "db", "0123456789ab", 0, "db down"},  /* 10 */
    {5000, ULOG_CRITICAL, "web", NULL, 20, "out of memory"}, /* 11 */
    {6000, ULOG_ERROR, NULL, NULL, 0, "who knows"},          /* 12: no service at all */
};

static struct store_fixture *filled_store(void)
{
    struct store_fixture *f = fixture_new();
    assert_non_null(fixture_open(f, true));
    uint64_t last = 0;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct record r = {.time_ns = T0 + (uint64_t)(rows[i].offset_ms * 1000000),
                           .level = rows[i].level, .service = rows[i].service,
                           .container = rows[i].container, .pid = rows[i].pid,
                           .source = "preload", .message = rows[i].message,
                           .message_len = strlen(rows[i].message)};
        last = fixture_add(f, &r);
    }
    feed_commit(&f->feed);
    assert_true(fixture_wait(f, last));
    return f;
}

static json_t *run(struct store_fixture *f, const char *text)
{
    struct analysis_query query;
    char err[256] = "";
    json_t *r = request(text);
    assert_int_equal(analysis_query_parse(&query, r, T0 + 10 * SECOND, err, sizeof err), 0);
    sqlite3 *db = store_reader_open(f->path, err, sizeof err);
    assert_non_null(db);
    json_t *answer = analysis_run(db, &query, err, sizeof err);
    if (!answer)
        fail_msg("analysis_run: %s", err);
    sqlite3_close(db);
    analysis_query_free(&query);
    json_decref(r);
    return answer;
}

static json_int_t integer_at(const json_t *value, const char *path1, const char *path2)
{
    const json_t *inner = json_object_get(value, path1);
    return json_integer_value(path2 ? json_object_get(inner, path2) : inner);
}

static void ids_are(const json_t *records, const json_int_t *ids, size_t count)
{
    assert_int_equal(json_array_size(records), count);
    for (size_t i = 0; i < count; i++)
        assert_int_equal(integer_at(json_array_get(records, i), "log_id", NULL), ids[i]);
}

static void counts_top_messages_and_latest_errors(void **state)
{
    (void)state;
    struct store_fixture *f = filled_store();
    json_t *a = run(f, "{\"time_range\":\"15m\"}");

    assert_string_equal(json_string_value(json_object_get(json_object_get(a, "time_range"), "end")),
                        "2026-11-21T14:22:28.000000Z");
    assert_int_equal(integer_at(a, "total", NULL), 12);
    assert_int_equal(integer_at(a, "by_level", "DEBUG"), 1);
    assert_int_equal(integer_at(a, "by_level", "INFO"), 6);
    assert_int_equal(integer_at(a, "by_level", "WARNING"), 1);
    assert_int_equal(integer_at(a, "by_level", "ERROR"), 3);
    assert_int_equal(integer_at(a, "by_level", "CRITICAL"), 1);
    const json_t *api = json_object_get(json_object_get(a, "by_service"), "api");
    assert_int_equal(integer_at(api, "total", NULL), 8);
    assert_int_equal(integer_at(api, "INFO", NULL), 5);
    assert_int_equal(integer_at(api, "ERROR", NULL), 1);
    assert_null(json_object_get(api, "CRITICAL"));
    assert_int_equal(integer_at(json_object_get(a, "by_service"), "", "total"), 1);

    const json_t *top = json_array_get(json_object_get(a, "top_messages"), 0);
    assert_string_equal(json_string_value(json_object_get(top, "message")), "cache miss");
    assert_int_equal(integer_at(top, "count", NULL), 3);
    assert_string_equal(json_string_value(json_object_get(top, "level")), "INFO");
    assert_string_equal(json_string_value(json_array_get(json_object_get(top, "services"), 0)),
                        "api");

    /* Newest first; each with what came before it, oldest first. */
    const json_t *errors = json_object_get(a, "latest_errors");
    assert_int_equal(json_array_size(errors), 4);
    static const json_int_t newest[] = {12, 11, 10, 9};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(integer_at(json_object_get(json_array_get(errors, i), "record"),
                                    "log_id", NULL),
                         newest[i]);
    const json_t *timeout = json_array_get(errors, 3);
    assert_string_equal(json_string_value(json_object_get(json_object_get(timeout, "record"),
                                                          "message")),
                        "upstream timeout");
    static const json_int_t same_pid[] = {2, 3, 4, 5, 7};
    ids_are(json_object_get(timeout, "context"), same_pid, 5);
    static const json_int_t same_container[] = {6};
    ids_are(json_object_get(json_array_get(errors, 2), "context"), same_container, 1);
    ids_are(json_object_get(json_array_get(errors, 1), "context"), NULL, 0);
    ids_are(json_object_get(json_array_get(errors, 0), "context"), NULL, 0);
    json_decref(a);

    /* Filtered: one service, ERROR and up. */
    a = run(f, "{\"time_range\":\"15m\",\"service\":[\"api\",\"db\"],\"level\":\"ERROR\"}");
    assert_int_equal(integer_at(a, "total", NULL), 2);
    assert_int_equal(integer_at(a, "by_level", "INFO"), 0);
    assert_int_equal(json_array_size(json_object_get(a, "latest_errors")), 2);
    /* The context is any level: what led to the error. */
    ids_are(json_object_get(json_array_get(json_object_get(a, "latest_errors"), 1), "context"),
            same_pid, 5);
    json_decref(a);

    /* A range with nothing in it. */
    a = run(f, "{\"time_range\":{\"start\":\"2020-01-01T00:00:00Z\",\"end\":\"2020-01-02T00:00:00Z\"}}");
    assert_int_equal(integer_at(a, "total", NULL), 0);
    assert_int_equal(json_object_size(json_object_get(a, "by_service")), 0);
    assert_int_equal(json_array_size(json_object_get(a, "top_messages")), 0);
    assert_int_equal(json_array_size(json_object_get(a, "latest_errors")), 0);
    json_decref(a);
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(requests_are_checked),
        cmocka_unit_test(counts_top_messages_and_latest_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
