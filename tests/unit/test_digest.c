/*
 * test_digest.c - the digest of `ulog context` (cli/digest.c) on a window
 * shaped like a real run: thousands of ordinary lines, a message repeated
 * 500 times, a few distinct errors (one of them 50 times), a traceback, a
 * crash with the lines before it and its exit record, and planted secrets.
 * It must keep every distinct error and the crash, collapse the repeated
 * message into one template of 500, stay within every budget and print no
 * secret that the built-in redaction covers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "digest.h"
#include "logsource.h"

static int seq;

static void add(json_t *records, const char *level, const char *service, int pid,
                const char *message, json_t *extra)
{
    char ts[40];
    int n = seq++;
    snprintf(ts, sizeof ts, "2026-11-21T14:%02d:%02d.%06dZ", 10 + n / 60000, (n / 1000) % 60,
             n % 1000 * 1000);
    json_t *r = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s}", "timestamp", ts, "level", level,
                          "service", service, "pid", pid, "stream", "stderr", "message", message);
    if (extra) {
        json_object_update(r, extra);
        json_decref(extra);
    }
    json_array_append_new(records, r);
}

static json_t *window(void)
{
    json_t *records = json_array();
    char msg[256];
    seq = 0;
    for (int i = 0; i < 3000; i++) {
        snprintf(msg, sizeof msg, "GET /api/items/%d 200 in %dms from 10.0.%d.%d", i, i % 97,
                 i % 200, i % 250);
        add(records, "INFO", "web", 10, msg, NULL);
        if (i % 6 == 0) {
            snprintf(msg, sizeof msg, "cache miss for key user:%d (id 5f3a%04x9e)", i, i);
            add(records, "WARNING", "api", 30, msg, NULL);
        }
        if (i % 60 == 0) {
            snprintf(msg, sizeof msg, "payment failed for order %d: card declined", 7000 + i);
            add(records, "ERROR", "api", 30, msg, NULL);
        }
    }
    add(records, "ERROR", "api", 30, "database timeout after 30s on /var/lib/db/main.sqlite", NULL);
    add(records, "INFO", "api", 30, "login with password=hunter2xyz accepted", NULL);
    add(records, "ERROR", "api", 30,
        "upstream refused: Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.sig for /v1", NULL);
    add(records, "ERROR", "worker", 40,
        "unhandled error in worker\nTraceback (most recent call last):\n  File \"/app/w.py\", "
        "line 13, in <module>\n    {}[\"missing\"]\nKeyError: 'missing'",
        NULL);
    add(records, "ERROR", "worker", 40, "worker (pid 40) exited with status 3",
        json_pack("{s:s, s:s, s:{s:i}}", "event_type", "process_exit", "stream", "event",
                  "metadata", "exit_status", 3));
    for (int i = 0; i < 8; i++) {
        snprintf(msg, sizeof msg, "step %d of loading config /etc/app/%d.conf", i, i);
        add(records, "INFO", "loader", 50, msg, NULL);
    }
    add(records, "CRITICAL", "loader", 50, "fatal: inconsistent state, aborting", NULL);
    add(records, "CRITICAL", "loader", 50, "loader (pid 50) killed by SIGABRT (core dumped)",
        json_pack("{s:s, s:s, s:{s:i, s:s}}", "event_type", "process_exit", "stream", "event",
                  "metadata", "signal", 6, "signal_name", "SIGABRT"));
    for (int i = 0; i < 40; i++) {
        snprintf(msg, sizeof msg, "heartbeat %d ok", i);
        add(records, "DEBUG", "web", 10, msg, NULL);
    }
    return records;
}

static const char *const distinct[] = {
    "payment failed for order", "database timeout after 30s", "upstream refused",
    "unhandled error in worker", "worker (pid 40) exited", "fatal: inconsistent state",
    "loader (pid 50) killed by SIGABRT",
};

static char *build(json_t *records, size_t budget, bool tokens, json_t **json)
{
    struct digest_options opt = {.min_level = -1, .budget = budget, .budget_in_tokens = tokens};
    char *md = NULL, err[256];
    assert_int_equal(digest_build(records, &opt, "all.log", json, &md, err, sizeof err), 0);
    assert_non_null(md);
    return md;
}

static void test_content(void **state)
{
    (void)state;
    json_t *records = window();
    char *md = build(records, 8000, false, NULL);
    assert_true(strlen(md) <= 8000);
    for (size_t i = 0; i < sizeof distinct / sizeof distinct[0]; i++)
        if (!strstr(md, distinct[i]))
            fail_msg("missing \"%s\" in:\n%s", distinct[i], md);
    /* The repeated warning: one template with the right count. */
    assert_non_null(strstr(md, "| 500 | WARNING | api |"));
    assert_non_null(strstr(md, "`cache miss for key user:<NUM> (id <HEX>)`"));
    assert_non_null(strstr(md, "| 3000 | INFO | web |"));
    /* The crash: the lines before it and its exit record. */
    const char *crash = strstr(md, "### CRITICAL 2026-11-21T14:10:");
    assert_non_null(crash);
    const char *entry = strstr(md, "fatal: inconsistent state");
    assert_non_null(entry);
    assert_non_null(strstr(md, "step 7 of loading config /etc/app/7.conf"));
    assert_non_null(strstr(md, "step 3 of loading config /etc/app/3.conf"));
    assert_null(strstr(md, "step 2 of loading config")); /* 5 lines before, not more */
    assert_non_null(strstr(md, "Exit of the process:\n- 2026"));
    /* The traceback kept whole, in a fenced block. */
    assert_non_null(strstr(md, "```\nunhandled error in worker\nTraceback (most recent call last):\n"));
    /* Redaction. */
    assert_null(strstr(md, "hunter2xyz"));
    assert_null(strstr(md, "eyJhbGciOiJIUzI1NiJ9"));
    assert_non_null(strstr(md, "Bearer [REDACTED]"));
    /* Sections, and the same problem once before its repeats. */
    assert_non_null(strstr(md, "## Window"));
    assert_non_null(strstr(md, "## Services"));
    assert_non_null(strstr(md, "## Repeated messages"));
    assert_non_null(strstr(md, "## Errors and crashes"));
    assert_non_null(strstr(md, "## Cut"));
    free(md);
    json_decref(records);
}

static void test_budgets(void **state)
{
    (void)state;
    json_t *records = window();
    static const struct {
        size_t budget;
        bool tokens;
        size_t chars;
    } cases[] = {{1000, false, 1000}, {4000, false, 4000}, {8000, false, 8000}, {2000, true, 8000},
                 {250, true, 1000}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        json_t *json = NULL;
        char *md = build(records, cases[c].budget, cases[c].tokens, &json);
        if (strlen(md) > cases[c].chars)
            fail_msg("budget %zu%s: %zu characters", cases[c].budget, cases[c].tokens ? "t" : "",
                     strlen(md));
        assert_null(strstr(md, "hunter2xyz"));
        /* Always: the header, the counts, and the newest crash at least. */
        assert_non_null(strstr(md, "## Window"));
        assert_non_null(strstr(md, "| web | 3040 |"));
        assert_non_null(strstr(md, "loader (pid 50) killed by SIGABRT"));
        assert_non_null(strstr(md, "## Cut"));
        char *text = json_dumps(json, JSON_COMPACT);
        assert_true(strlen(text) <= 2 * cases[c].chars); /* JSON: twice the budget */
        assert_null(strstr(text, "hunter2xyz"));
        assert_non_null(json_object_get(json, "window"));
        assert_non_null(json_object_get(json, "cut"));
        if (cases[c].chars >= 4000) /* every distinct error before any repeat */
            for (size_t i = 0; i < sizeof distinct / sizeof distinct[0]; i++)
                if (!strstr(md, distinct[i]))
                    fail_msg("budget %zu: missing \"%s\"", cases[c].chars, distinct[i]);
        free(text);
        free(md);
        json_decref(json);
    }
    json_decref(records);
}

static void test_json(void **state)
{
    (void)state;
    json_t *records = window(), *json = NULL;
    char *md = build(records, 8000, false, &json);
    json_t *problems = json_object_get(json, "problems");
    assert_true(json_array_size(problems) >= 7);
    json_t *newest = json_array_get(problems, 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(newest, "record"), "message")),
                        "loader (pid 50) killed by SIGABRT (core dumped)");
    json_t *fatal = json_array_get(problems, 1);
    assert_string_equal(json_string_value(json_object_get(json_object_get(fatal, "record"), "message")),
                        "fatal: inconsistent state, aborting");
    assert_true(json_array_size(json_object_get(fatal, "preceding")) >= 1);
    assert_true(json_is_object(json_object_get(fatal, "exit")));
    json_t *t0 = json_array_get(json_object_get(json, "templates"), 0);
    assert_int_equal(json_integer_value(json_object_get(t0, "count")), 3000);
    json_t *t1 = json_array_get(json_object_get(json, "templates"), 1);
    assert_int_equal(json_integer_value(json_object_get(t1, "count")), 500);
    assert_string_equal(json_string_value(json_object_get(t1, "template")), "cache miss for key user:<NUM> (id <HEX>)");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(json, "window"), "records")),
                     (json_int_t)json_array_size(records));
    free(md);
    json_decref(json);
    json_decref(records);
}

static void test_empty_and_errors(void **state)
{
    (void)state;
    json_t *records = json_array();
    char *md = build(records, 0, false, NULL);
    assert_non_null(strstr(md, "0 records"));
    assert_non_null(strstr(md, "None in the window."));
    free(md);
    struct digest_options opt = {.budget = 999};
    char err[256], *out = NULL;
    assert_int_equal(digest_build(records, &opt, "store", NULL, &out, err, sizeof err), -1);
    assert_null(out);
    assert_non_null(strstr(err, "at least 1000"));
    json_decref(records);

    size_t budget;
    bool tokens;
    assert_true(digest_parse_budget("8k", &budget, &tokens));
    assert_int_equal(budget, 8000);
    assert_false(tokens);
    assert_true(digest_parse_budget("2000t", &budget, &tokens));
    assert_int_equal(budget, 2000);
    assert_true(tokens);
    assert_true(digest_parse_budget("12000", &budget, &tokens));
    assert_false(digest_parse_budget("", &budget, &tokens));
    assert_false(digest_parse_budget("8x", &budget, &tokens));
    assert_false(digest_parse_budget("-5", &budget, &tokens));
    assert_false(digest_parse_budget("0", &budget, &tokens));
}

/* logsource.c on all.log and its rotated file: the window, oldest first,
 * unparsable lines counted, max_records keeping the newest. */
static void test_logsource_all_log(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_digest.XXXXXX", path[64], err[256];
    assert_non_null(mkdtemp(dir));
    for (int f = 1; f >= 0; f--) {
        snprintf(path, sizeof path, f ? "%s/all.log.1" : "%s/all.log", dir);
        FILE *out = fopen(path, "w");
        assert_non_null(out);
        for (int i = 0; i < 5; i++)
            fprintf(out, "{\"timestamp\":\"2026-11-21T14:0%d:0%dZ\",\"level\":\"%s\","
                         "\"service\":\"%s\",\"message\":\"m%d\"}\n",
                    f ? 0 : 1, i, i == 4 ? "ERROR" : "INFO", i % 2 ? "a" : "b", (1 - f) * 5 + i);
        fputs(f ? "not json\n" : "{\"broken\n", out);
        fclose(out);
    }
    struct logsource_options opt = {.log_dir = dir, .since_ns = 1795269602ull * 1000000000ull};
    struct logsource_result res;
    assert_int_equal(logsource_read(&opt, &res, err, sizeof err), 0);
    assert_string_equal(res.origin, "all.log");
    assert_int_equal(res.unparsable, 2);
    assert_false(res.truncated);
    /* 14:00:02 on: m2..m9, oldest first */
    assert_int_equal(json_array_size(res.records), 8);
    assert_string_equal(json_string_value(json_object_get(json_array_get(res.records, 0), "message")), "m2");
    assert_string_equal(json_string_value(json_object_get(json_array_get(res.records, 7), "message")), "m9");
    logsource_result_free(&res);
    opt.max_records = 3;
    opt.service = "b";
    assert_int_equal(logsource_read(&opt, &res, err, sizeof err), 0);
    assert_true(res.truncated);
    assert_int_equal(json_array_size(res.records), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(res.records, 0), "message")), "m5");
    assert_string_equal(json_string_value(json_object_get(json_array_get(res.records, 2), "message")), "m9");
    logsource_result_free(&res);
    opt.max_records = 0;
    opt.service = NULL;
    opt.min_level = 3;
    assert_int_equal(logsource_read(&opt, &res, err, sizeof err), 0);
    assert_int_equal(json_array_size(res.records), 2); /* m4, m9 */
    logsource_result_free(&res);
    opt.db = "/nonexistent/ulog.db";
    assert_int_equal(logsource_read(&opt, &res, err, sizeof err), -1);
    assert_non_null(strstr(err, "no store"));
    logsource_result_free(&res);
    snprintf(path, sizeof path, "%s/all.log", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/all.log.1", dir);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content),
        cmocka_unit_test(test_budgets),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_empty_and_errors),
        cmocka_unit_test(test_logsource_all_log),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
