/*
 * test_rules.c - the user's rules and minimum levels (aggregator/rules.c).
 *
 * Each test builds a rule set the way the configuration reader does, runs
 * drafts through it and looks at the verdict and the rewritten fields. The
 * rate limit runs on a clock the tests pass in, so its counts are exact.
 * Every refusal is tested too: a rule that cannot work must never load.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rules.h"

#define SEC 1000000000ull

static char err[512];

struct fixture {
    struct rule_set *set;
    struct draft d;
    json_t *meta;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->set = rule_set_new();
    draft_init(&f->d);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    draft_free(&f->d);
    rule_set_free(f->set);
    json_decref(f->meta);
    free(f);
    return 0;
}

/* Start a draft for a record with these fields (the previous one ended). */
static void begin(struct fixture *f, enum ulog_level level, const char *service,
                  const char *message)
{
    draft_end(&f->d);
    json_decref(f->meta);
    f->meta = NULL;
    struct record r = {.level = level, .service = service, .message = message,
                       .message_len = message ? strlen(message) : 0, .pid = 100, .tid = 101};
    draft_begin(&f->d, &r);
}

static enum rule_verdict run(struct fixture *f, uint64_t now)
{
    return rule_set_apply(f->set, &f->d, now);
}

static void match(struct rule *r, const char *field, const char *value)
{
    assert_int_equal(rule_match_values(r, field, &value, 1, err, sizeof err), 0);
}

static void finish(struct rule *r)
{
    assert_int_equal(rule_finish(r, err, sizeof err), 0);
}

static struct rule *drop_when(struct rule_set *set, const char *field, const char *value)
{
    struct rule *r = rule_set_append(set);
    match(r, field, value);
    assert_int_equal(rule_action_drop(r, err, sizeof err), 0);
    finish(r);
    return r;
}

static void no_rules_pass_everything(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(rule_set_count(f->set), 0);
    begin(f, ULOG_DEBUG, "api", "hello");
    assert_int_equal(run(f, 0), RULES_PASS);
    assert_false(f->d.kept);
    assert_int_equal(rule_set_min_level_for(f->set, &f->d), -1);
    assert_int_equal(rule_set_next_report(f->set), UINT64_MAX);
}

static void exact_values_match_whole_text_only(void **state)
{
    struct fixture *f = *state;
    const char *values[] = {"api", "worker"};
    struct rule *r = rule_set_append(f->set);
    assert_int_equal(rule_match_values(r, "service", values, 2, err, sizeof err), 0);
    rule_action_drop(r, err, sizeof err);
    finish(r);
    assert_int_equal(rule_set_count(f->set), 1);
    begin(f, ULOG_INFO, "api", "x");
    assert_int_equal(run(f, 0), RULES_DROP);
    begin(f, ULOG_INFO, "worker", "x");
    assert_int_equal(run(f, 0), RULES_DROP);
    static const char *const others[] = {"ap", "api2", "API", " api", "work"};
    for (size_t i = 0; i < 5; i++) {
        begin(f, ULOG_INFO, others[i], "x");
        assert_int_equal(run(f, 0), RULES_PASS);
    }
    begin(f, ULOG_INFO, NULL, "x"); /* absent matches no value */
    assert_int_equal(run(f, 0), RULES_PASS);
}

static void regexes_are_unanchored_and_tolerate_bad_utf8(void **state)
{
    struct fixture *f = *state;
    drop_when(f->set, "message", "~GET /health(z|check)? ");
    drop_when(f->set, "message", "~^\\d+$");
    const char *drop[] = {"10.0.0.1 GET /health HTTP/1.1", "GET /healthz 200",
                          "x GET /healthcheck y", "12345"};
    const char *pass[] = {"POST /health HTTP/1.1", "GET /healthy 200", "get /health x",
                          "12345a", "", "\xff\xfe GET /api \xc3"};
    for (size_t i = 0; i < 4; i++) {
        begin(f, ULOG_INFO, "api", drop[i]);
        assert_int_equal(run(f, 0), RULES_DROP);
    }
    for (size_t i = 0; i < 6; i++) {
        begin(f, ULOG_INFO, "api", pass[i]);
        assert_int_equal(run(f, 0), RULES_PASS);
    }
    begin(f, ULOG_INFO, "api", "\xff GET /health \xfe"); /* invalid bytes around a match */
    assert_int_equal(run(f, 0), RULES_DROP);
    static const char nul[] = "a\0GET /health b"; /* NUL inside a message */
    struct record r = {.level = ULOG_INFO, .message = nul, .message_len = sizeof nul - 1};
    draft_end(&f->d);
    draft_begin(&f->d, &r);
    assert_int_equal(run(f, 0), RULES_DROP);
}

static void level_comparisons(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *value;
        bool holds[ULOG_LEVEL_COUNT]; /* DEBUG INFO WARNING ERROR CRITICAL */
    } cases[] = {
        {"WARNING", {0, 0, 1, 0, 0}},   {"warn", {0, 0, 1, 0, 0}},    {">=WARNING", {0, 0, 1, 1, 1}},
        {">ERROR", {0, 0, 0, 0, 1}},    {"<=INFO", {1, 1, 0, 0, 0}},  {"<INFO", {1, 0, 0, 0, 0}},
        {"!=DEBUG", {0, 1, 1, 1, 1}},   {"=error", {0, 0, 0, 1, 0}},  {">= err", {0, 0, 0, 1, 1}},
        {"==fatal", {0, 0, 0, 0, 1}},   {"~^(DEBUG|INFO)$", {1, 1, 0, 0, 0}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rule_set_free(f->set);
        f->set = rule_set_new();
        drop_when(f->set, "level", cases[i].value);
        for (int level = 0; level < ULOG_LEVEL_COUNT; level++) {
            begin(f, (enum ulog_level)level, "api", "x");
            assert_int_equal(run(f, 0), cases[i].holds[level] ? RULES_DROP : RULES_PASS);
        }
    }
    static const char *const bad[] = {"LOUD", ">=", ">>ERROR", "", "=>INFO", "INFO,ERROR"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct rule *r = rule_set_append(f->set);
        assert_int_equal(rule_match_values(r, "level", &bad[i], 1, err, sizeof err), -1);
        assert_non_null(strstr(err, "not a level"));
    }
}

static void all_conditions_must_hold(void **state)
{
    struct fixture *f = *state;
    struct rule *r = rule_set_append(f->set);
    match(r, "service", "api");
    match(r, "level", ">=ERROR");
    match(r, "message", "~timeout");
    rule_action_drop(r, err, sizeof err);
    finish(r);
    begin(f, ULOG_ERROR, "api", "db timeout");
    assert_int_equal(run(f, 0), RULES_DROP);
    begin(f, ULOG_WARNING, "api", "db timeout");
    assert_int_equal(run(f, 0), RULES_PASS);
    begin(f, ULOG_ERROR, "web", "db timeout");
    assert_int_equal(run(f, 0), RULES_PASS);
    begin(f, ULOG_ERROR, "api", "db refused");
    assert_int_equal(run(f, 0), RULES_PASS);
}

static void pids_and_metadata_values(void **state)
{
    struct fixture *f = *state;
    drop_when(f->set, "pid", "100");
    begin(f, ULOG_INFO, "api", "x");
    assert_int_equal(run(f, 0), RULES_DROP);
    f->d.rec.pid = 1000;
    assert_int_equal(run(f, 0), RULES_PASS);

    rule_set_free(f->set);
    f->set = rule_set_new();
    drop_when(f->set, "metadata.http.status", "~^5");
    drop_when(f->set, "metadata.user.admin", "true");
    drop_when(f->set, "context.env", "test");
    begin(f, ULOG_INFO, "api", "x");
    f->meta = json_pack("{s:{s:i}}", "http", "status", 503);
    f->d.metadata = f->meta;
    f->d.rec.metadata = f->meta;
    json_incref(f->meta);
    assert_int_equal(run(f, 0), RULES_DROP);
    json_object_set_new(json_object_get(f->meta, "http"), "status", json_integer(200));
    assert_int_equal(run(f, 0), RULES_PASS);
    json_object_set_new(f->meta, "user", json_pack("{s:b}", "admin", 1));
    assert_int_equal(run(f, 0), RULES_DROP);
    json_object_set_new(f->meta, "user", json_pack("{s:s}", "admin", "no"));
    assert_int_equal(run(f, 0), RULES_PASS);
    json_t *context = json_pack("{s:s}", "env", "test");
    f->d.rec.context = context;
    assert_int_equal(run(f, 0), RULES_DROP);
    f->d.rec.context = NULL;
    json_decref(context);

    static const char *const bad[] = {"abc", "-1", "0", "4294967296", "12x", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct rule *r = rule_set_append(f->set);
        assert_int_equal(rule_match_values(r, "tid", &bad[i], 1, err, sizeof err), -1);
    }
}

static void presence_conditions(void **state)
{
    struct fixture *f = *state;
    struct rule *r = rule_set_append(f->set);
    assert_int_equal(rule_match_presence(r, "trace_id", true, err, sizeof err), 0);
    assert_int_equal(rule_match_presence(r, "metadata.user", false, err, sizeof err), 0);
    rule_action_drop(r, err, sizeof err);
    finish(r);
    begin(f, ULOG_INFO, "api", "x");
    assert_int_equal(run(f, 0), RULES_PASS); /* no trace id */
    f->d.rec.trace_id = "abc";
    assert_int_equal(run(f, 0), RULES_DROP);
    f->d.rec.trace_id = "";
    assert_int_equal(run(f, 0), RULES_PASS); /* empty is absent */
    f->d.rec.trace_id = "abc";
    json_object_set_new(draft_metadata(&f->d), "user", json_object());
    assert_int_equal(run(f, 0), RULES_PASS); /* the user is there */
    assert_int_equal(rule_match_presence(r, "nonsense", true, err, sizeof err), -1);
    assert_non_null(strstr(err, "nonsense"));
}

static void set_then_match_on_the_set_value(void **state)
{
    struct fixture *f = *state;
    struct rule *r = rule_set_append(f->set);
    match(r, "message", "~^\\[db\\]");
    assert_int_equal(rule_action_set(r, "component", "db", err, sizeof err), 0);
    assert_int_equal(rule_action_set(r, "level", "WARNING", err, sizeof err), 0);
    assert_int_equal(rule_action_set(r, "metadata.tags.origin", "rule", err, sizeof err), 0);
    finish(r);
    r = rule_set_append(f->set);
    match(r, "component", "db");
    match(r, "level", "WARNING");
    match(r, "metadata.tags.origin", "rule");
    assert_int_equal(rule_action_keep(r, err, sizeof err), 0);
    finish(r);
    begin(f, ULOG_INFO, "api", "[db] slow query");
    assert_int_equal(run(f, 0), RULES_KEEP);
    assert_true(f->d.kept);
    assert_string_equal(f->d.rec.component, "db");
    assert_int_equal(f->d.rec.level, ULOG_WARNING);
    begin(f, ULOG_INFO, "api", "x [db] slow query");
    assert_int_equal(run(f, 0), RULES_PASS);
    assert_false(f->d.kept);
    assert_null(f->d.rec.component);
}

static void keep_ends_the_evaluation(void **state)
{
    struct fixture *f = *state;
    struct rule *r = rule_set_append(f->set);
    match(r, "level", ">=ERROR");
    rule_action_keep(r, err, sizeof err);
    finish(r);
    drop_when(f->set, "service", "noisy");
    begin(f, ULOG_ERROR, "noisy", "x");
    assert_int_equal(run(f, 0), RULES_KEEP);
    assert_true(f->d.kept);
    begin(f, ULOG_INFO, "noisy", "x");
    assert_int_equal(run(f, 0), RULES_DROP);
    assert_false(f->d.kept);

    struct rule *empty = rule_set_append(f->set); /* unfinished: never runs */
    rule_action_drop(empty, err, sizeof err);
    begin(f, ULOG_INFO, "quiet", "x");
    assert_int_equal(run(f, 0), RULES_PASS);
}

static void redact_message_and_metadata(void **state)
{
    struct fixture *f = *state;
    struct rule *r = rule_set_append(f->set);
    assert_int_equal(rule_action_redact(r, "\\d{3}-\\d{2}-\\d{4}", NULL, err, sizeof err), 0);
    assert_int_equal(rule_action_redact(r, "(user=)(?<name>\\w+)", "$1<${name}:$$>", err,
                                        sizeof err), 0);
    finish(r);
    begin(f, ULOG_INFO, "api", "ssn 123-45-6789 and 987-65-4321; user=ann ok");
    f->meta = json_pack("{s:s, s:{s:[s, i]}, s:s}", "ssn", "000-12-3456", "deep", "list",
                        "a 111-22-3333 b", 5, "plain", "nothing here");
    f->d.metadata = json_incref(f->meta);
    f->d.rec.metadata = f->meta;
    const char *original = f->d.rec.message;
    assert_int_equal(run(f, 0), RULES_PASS);
    assert_string_equal(f->d.rec.message, "ssn [REDACTED] and [REDACTED]; user=<ann:$> ok");
    assert_int_equal(f->d.rec.message_len, strlen(f->d.rec.message));
    assert_string_equal(original, "ssn 123-45-6789 and 987-65-4321; user=ann ok"); /* a copy */
    assert_string_equal(json_string_value(json_object_get(f->meta, "ssn")), "[REDACTED]");
    json_t *list = json_object_get(json_object_get(f->meta, "deep"), "list");
    assert_string_equal(json_string_value(json_array_get(list, 0)), "a [REDACTED] b");
    assert_int_equal(json_integer_value(json_array_get(list, 1)), 5);
    assert_string_equal(json_string_value(json_object_get(f->meta, "plain")), "nothing here");

    /* No match: the message is the caller's, untouched. */
    begin(f, ULOG_INFO, "api", "nothing to hide");
    original = f->d.rec.message;
    run(f, 0);
    assert_ptr_equal(f->d.rec.message, original);

    /* Longer than the first substitution buffer; invalid UTF-8 kept as is. */
    char big[3000];
    memset(big, 'a', sizeof big);
    memcpy(big + 100, "123-45-6789", 11);
    big[5] = '\xff';
    big[sizeof big - 1] = '\0';
    begin(f, ULOG_INFO, "api", big);
    run(f, 0);
    assert_int_equal(f->d.rec.message_len, sizeof big - 1 - 11 + 10);
    assert_memory_equal(f->d.rec.message + 100, "[REDACTED]", 10);
    assert_int_equal(f->d.rec.message[5], '\xff');
}

static void redact_refuses_bad_regexes_and_replacements(void **state)
{
    struct fixture *f = *state;
    struct rule *r = rule_set_append(f->set);
    assert_int_equal(rule_action_redact(r, "a(b", NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "at offset 3 in regex \"a(b\""));
    assert_int_equal(rule_match_values(r, "message", (const char *[]){"~x[y"}, 1, err,
                                       sizeof err), -1);
    assert_non_null(strstr(err, "in regex \"x[y\""));
    static const char *const bad[] = {"$2", "${x}", "$", "${1", "$-", "\xff"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(rule_action_redact(r, "(a)", bad[i], err, sizeof err), -1);
    static const char *const good[] = {"$1", "${1}", "$$", "$0", "x$1y", "$*MARK", "é"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_int_equal(rule_action_redact(r, "(a)", good[i], err, sizeof err), 0);
}

static void routes_render_safe_names(void **state)
{
    struct fixture *f = *state;
    struct rule *r = rule_set_append(f->set);
    assert_int_equal(rule_action_route(r, "trade", err, sizeof err), 0);
    assert_int_equal(rule_action_route(r, "audit.jsonl", err, sizeof err), 0);
    assert_int_equal(rule_action_route(r, "svc-{service}", err, sizeof err), 0);
    assert_int_equal(rule_action_route(r, "{service}.{level}.log", err, sizeof err), 0);
    assert_int_equal(rule_action_route(r, "by-{metadata.tenant}", err, sizeof err), 0);
    finish(r);
    begin(f, ULOG_ERROR, "../evil", "x");
    assert_int_equal(run(f, 0), RULES_PASS);
    assert_int_equal(f->d.route_count, 5);
    assert_string_equal(f->d.routes[0], "trade.log");
    assert_string_equal(f->d.routes[1], "audit.jsonl");
    assert_string_equal(f->d.routes[2], "svc-___evil.log");
    assert_string_equal(f->d.routes[3], "___evil.ERROR.log");
    assert_string_equal(f->d.routes[4], "by-unknown.log");

    begin(f, ULOG_INFO, NULL, "x");
    json_object_set_new(draft_metadata(&f->d), "tenant", json_string("Acme Co/ü"));
    run(f, 0);
    assert_string_equal(f->d.routes[2], "svc-unknown.log");
    assert_string_equal(f->d.routes[4], "by-Acme_Co___.log");

    char service[400];
    memset(service, 's', sizeof service);
    service[sizeof service - 1] = '\0';
    begin(f, ULOG_INFO, service, "x");
    run(f, 0);
    assert_int_equal(strlen(f->d.routes[2]), 4 + 64 + 4); /* a value is cut at 64 bytes */
    assert_string_equal(f->d.routes[2] + 4 + 64, ".log");

    /* Many long placeholders: cut to 240 bytes, and never an empty part. */
    rule_set_free(f->set);
    f->set = rule_set_new();
    r = rule_set_append(f->set);
    assert_int_equal(rule_action_route(r, "{service}.{service}.{service}.{service}.{level}.log",
                                       err, sizeof err), 0);
    finish(r);
    begin(f, ULOG_INFO, service, "x");
    run(f, 0);
    assert_int_equal(strlen(f->d.routes[0]), 240);
    assert_null(strstr(f->d.routes[0], ".."));
    assert_string_equal(f->d.routes[0] + 240 - 7, "s.I.log");
}

static void routes_refuse_unsafe_names(void **state)
{
    struct fixture *f = *state;
    struct rule *r = rule_set_append(f->set);
    static const char *const bad[] = {
        "../x",   "/abs",    ".hidden", "{service}/x", "a..b",      "all",      "all.log",
        "errors", "errors.log", "",     "{nope}",      "{service", "x{}",      "a b",
        "x}",     "tab\t",   "ü.log",   "{metadata.}", "{service}..log",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(rule_action_route(r, bad[i], err, sizeof err), -1);
        assert_true(strlen(err) > 0);
    }
    char longest[102];
    memset(longest, 'a', sizeof longest);
    longest[100] = '\0';
    assert_int_equal(rule_action_route(r, longest, err, sizeof err), 0);
    longest[100] = 'a';
    longest[101] = '\0';
    assert_int_equal(rule_action_route(r, longest, err, sizeof err), -1);

    /* A rendered name that would be all.log or errors.log is not routed. */
    rule_set_free(f->set);
    f->set = rule_set_new();
    r = rule_set_append(f->set);
    assert_int_equal(rule_action_route(r, "{service}", err, sizeof err), 0);
    finish(r);
    begin(f, ULOG_INFO, "all", "x");
    run(f, 0);
    assert_int_equal(f->d.route_count, 0);
    begin(f, ULOG_INFO, "errors", "x");
    run(f, 0);
    assert_int_equal(f->d.route_count, 0);
    begin(f, ULOG_INFO, "alls", "x");
    run(f, 0);
    assert_int_equal(f->d.route_count, 1);
    assert_string_equal(f->d.routes[0], "alls.log");
}

struct report {
    size_t rule;
    char service[64];
    uint64_t dropped;
    double per_second;
};
static struct report reports[2048];
static size_t report_count;

static void collect(void *ctx, size_t rule_index, const char *service, uint64_t dropped,
                    double per_second)
{
    (void)ctx;
    assert_true(report_count < sizeof reports / sizeof reports[0]);
    struct report *rep = &reports[report_count++];
    rep->rule = rule_index;
    snprintf(rep->service, sizeof rep->service, "%s", service);
    rep->dropped = dropped;
    rep->per_second = per_second;
}

/* Records of `service` at `now`: how many passed. */
static int feed(struct fixture *f, const char *service, int count, uint64_t now)
{
    int passed = 0;
    for (int i = 0; i < count; i++) {
        begin(f, ULOG_INFO, service, "x");
        enum rule_verdict v = run(f, now);
        assert_true(v == RULES_PASS || v == RULES_RATE_LIMITED);
        passed += v == RULES_PASS;
        if (v == RULES_PASS)
            assert_int_equal(f->d.route_count, 1);
        else
            assert_int_equal(f->d.route_count, 0); /* nothing else of the rule ran */
    }
    return passed;
}

static void rate_limit_per_service_with_exact_counts(void **state)
{
    struct fixture *f = *state;
    report_count = 0;
    drop_when(f->set, "service", "never");
    struct rule *r = rule_set_append(f->set);
    match(r, "level", "<=INFO");
    assert_int_equal(rule_action_rate_limit(r, 2, 0, err, sizeof err), 0); /* burst 2 */
    assert_int_equal(rule_action_route(r, "limited", err, sizeof err), 0);
    finish(r);
    uint64_t t0 = 1000 * SEC;
    assert_int_equal(feed(f, "api", 5, t0), 2);
    assert_int_equal(feed(f, "web", 3, t0), 2); /* its own bucket */
    assert_int_equal(rule_set_next_report(f->set), t0 + 10 * SEC);
    assert_int_equal(feed(f, "api", 3, t0 + SEC / 2), 1); /* 0.5 s refills one */
    assert_int_equal(feed(f, "api", 1, t0 + SEC / 2 + SEC / 4), 0);
    begin(f, ULOG_ERROR, "api", "x"); /* the rule does not match: not limited */
    assert_int_equal(run(f, t0 + SEC), RULES_PASS);

    assert_int_equal(rule_set_report(f->set, t0 + 10 * SEC - 1, collect, NULL), t0 + 10 * SEC);
    assert_int_equal(report_count, 0);
    assert_int_equal(rule_set_report(f->set, t0 + 10 * SEC, collect, NULL), UINT64_MAX);
    assert_int_equal(report_count, 2);
    uint64_t api = 0, web = 0;
    for (size_t i = 0; i < report_count; i++) {
        assert_int_equal(reports[i].rule, 1);
        assert_true(reports[i].per_second == 2);
        if (!strcmp(reports[i].service, "api"))
            api = reports[i].dropped;
        else if (!strcmp(reports[i].service, "web"))
            web = reports[i].dropped;
    }
    assert_int_equal(api, 3 + 2 + 1);
    assert_int_equal(web, 1);
    assert_int_equal(rule_set_next_report(f->set), UINT64_MAX);

    report_count = 0;
    assert_int_equal(feed(f, "api", 3, t0 + 60 * SEC), 2); /* refilled to the burst only */
    assert_int_equal(rule_set_next_report(f->set), t0 + 70 * SEC);
    assert_int_equal(rule_set_report(f->set, t0 + 70 * SEC, collect, NULL), UINT64_MAX);
    assert_int_equal(report_count, 1);
    assert_string_equal(reports[0].service, "api");
    assert_int_equal(reports[0].dropped, 1);
}

static void rate_limit_reports_survive_a_reload(void **state)
{
    struct fixture *f = *state;
    report_count = 0;
    struct rule *r = rule_set_append(f->set);
    assert_int_equal(rule_action_rate_limit(r, 0.5, 0, err, sizeof err), 0); /* burst 1 */
    rule_action_route(r, "x", err, sizeof err);
    finish(r);
    assert_int_equal(feed(f, NULL, 4, 5 * SEC), 1);
    assert_int_equal(feed(f, "api", 2, 6 * SEC), 1);

    struct rule_set *next = rule_set_new();
    rule_set_take_reports(next, f->set);
    assert_int_equal(rule_set_next_report(f->set), UINT64_MAX);
    assert_int_equal(rule_set_report(f->set, UINT64_MAX, collect, NULL), UINT64_MAX);
    assert_int_equal(report_count, 0);
    assert_int_equal(rule_set_next_report(next), 15 * SEC);
    assert_int_equal(rule_set_report(next, 15 * SEC, collect, NULL), 16 * SEC);
    assert_int_equal(report_count, 1);
    assert_string_equal(reports[0].service, "");
    assert_int_equal(reports[0].dropped, 3);
    assert_true(reports[0].per_second == 0.5);

    struct rule_set *third = rule_set_new(); /* carried counts move on again */
    rule_set_take_reports(third, next);
    rule_set_free(next);
    assert_int_equal(rule_set_report(third, UINT64_MAX - 1, collect, NULL), UINT64_MAX);
    assert_int_equal(report_count, 2);
    assert_string_equal(reports[1].service, "api");
    assert_int_equal(reports[1].dropped, 1);
    rule_set_free(third);
}

static void rate_limit_bounds_its_services(void **state)
{
    struct fixture *f = *state;
    report_count = 0;
    struct rule *r = rule_set_append(f->set);
    rule_action_rate_limit(r, 1, 1, err, sizeof err);
    rule_action_route(r, "x", err, sizeof err);
    finish(r);
    char name[32];
    for (int i = 0; i < 1100; i++) { /* each bucket is left empty, so none can be forgotten */
        snprintf(name, sizeof name, "svc%d", i);
        assert_int_equal(feed(f, name, 1, SEC), i <= 1024 ? 1 : 0);
    }
    assert_int_equal(feed(f, "svc7", 1, SEC), 0);
    rule_set_report(f->set, UINT64_MAX - 1, collect, NULL);
    assert_int_equal(report_count, 2);
    uint64_t other = 0;
    for (size_t i = 0; i < report_count; i++)
        if (!strcmp(reports[i].service, "(other services)"))
            other = reports[i].dropped;
    assert_int_equal(other, 1100 - 1025);
    /* Much later every bucket is full again and idle ones make room. */
    report_count = 0;
    assert_int_equal(feed(f, "newcomer", 2, 100 * SEC), 1);
    rule_set_report(f->set, UINT64_MAX - 1, collect, NULL);
    assert_int_equal(report_count, 1);
    assert_string_equal(reports[0].service, "newcomer");
}

static void actions_that_cannot_work_are_refused(void **state)
{
    struct fixture *f = *state;
    struct rule *r = rule_set_append(f->set);
    assert_int_equal(rule_finish(r, err, sizeof err), -1); /* no action */
    match(r, "service", "api");
    assert_int_equal(rule_finish(r, err, sizeof err), -1);
    assert_non_null(strstr(err, "action"));
    rule_action_drop(r, err, sizeof err);
    rule_action_keep(r, err, sizeof err);
    assert_int_equal(rule_finish(r, err, sizeof err), -1);
    r = rule_set_append(f->set);
    rule_action_drop(r, err, sizeof err);
    rule_action_set(r, "component", "x", err, sizeof err);
    assert_int_equal(rule_finish(r, err, sizeof err), -1);
    assert_non_null(strstr(err, "drop"));

    r = rule_set_append(f->set);
    static const char *const unsettable[][2] = {
        {"pid", "1"},   {"tid", "1"},       {"context.env", "x"}, {"metadata", "x"},
        {"level", "x"}, {"colour", "blue"}, {"metadata..a", "x"},
    };
    for (size_t i = 0; i < sizeof unsettable / sizeof unsettable[0]; i++)
        assert_int_equal(
            rule_action_set(r, unsettable[i][0], unsettable[i][1], err, sizeof err), -1);
    assert_int_equal(rule_match_values(r, "service", NULL, 0, err, sizeof err), -1);
    assert_int_equal(rule_match_values(r, "nope", (const char *[]){"x"}, 1, err, sizeof err),
                     -1);
    assert_int_equal(rule_action_rate_limit(r, 0, 0, err, sizeof err), -1);
    assert_int_equal(rule_action_rate_limit(r, -1, 0, err, sizeof err), -1);
    assert_int_equal(rule_action_rate_limit(r, 1, -1, err, sizeof err), -1);
    assert_int_equal(rule_action_rate_limit(r, INFINITY, 0, err, sizeof err), -1);
    assert_int_equal(rule_action_rate_limit(r, 10, 20, err, sizeof err), 0);
    assert_int_equal(rule_action_rate_limit(r, 10, 20, err, sizeof err), -1);
    assert_int_equal(rule_action_set(r, "metadata.a.b", "x", err, sizeof err), 0);
    assert_int_equal(rule_finish(r, err, sizeof err), 0);
}

static void minimum_levels_by_service_and_component(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(rule_set_min_level(f->set, false, "api", ULOG_WARNING), 0);
    assert_int_equal(rule_set_min_level(f->set, false, "api", ULOG_ERROR), 0); /* replaces */
    assert_int_equal(rule_set_min_level(f->set, true, "app.db", ULOG_DEBUG), 0);
    assert_int_equal(rule_set_min_level(f->set, true, "app", ULOG_CRITICAL), 0);
    assert_int_equal(rule_set_min_level(f->set, true, "", ULOG_CRITICAL), -1);
    assert_int_equal(rule_set_min_level(f->set, false, NULL, ULOG_CRITICAL), -1);
    begin(f, ULOG_INFO, "api", "x");
    assert_int_equal(rule_set_min_level_for(f->set, &f->d), ULOG_ERROR);
    f->d.rec.component = "app.db";
    assert_int_equal(rule_set_min_level_for(f->set, &f->d), ULOG_DEBUG); /* component wins */
    f->d.rec.component = "app.db.pool";
    assert_int_equal(rule_set_min_level_for(f->set, &f->d), ULOG_DEBUG); /* its parent's */
    f->d.rec.component = "app.http";
    assert_int_equal(rule_set_min_level_for(f->set, &f->d), ULOG_CRITICAL);
    f->d.rec.component = "app.dbx";
    assert_int_equal(rule_set_min_level_for(f->set, &f->d), ULOG_CRITICAL); /* not a child */
    f->d.rec.component = "application";
    assert_int_equal(rule_set_min_level_for(f->set, &f->d), ULOG_ERROR);
    f->d.rec.component = "";
    assert_int_equal(rule_set_min_level_for(f->set, &f->d), ULOG_ERROR);
    f->d.rec.service = "web";
    assert_int_equal(rule_set_min_level_for(f->set, &f->d), -1);
    f->d.rec.service = NULL;
    assert_int_equal(rule_set_min_level_for(f->set, &f->d), -1);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(no_rules_pass_everything),
        T(exact_values_match_whole_text_only),
        T(regexes_are_unanchored_and_tolerate_bad_utf8),
        T(level_comparisons),
        T(all_conditions_must_hold),
        T(pids_and_metadata_values),
        T(presence_conditions),
        T(set_then_match_on_the_set_value),
        T(keep_ends_the_evaluation),
        T(redact_message_and_metadata),
        T(redact_refuses_bad_regexes_and_replacements),
        T(routes_render_safe_names),
        T(routes_refuse_unsafe_names),
        T(rate_limit_per_service_with_exact_counts),
        T(rate_limit_reports_survive_a_reload),
        T(rate_limit_bounds_its_services),
        T(actions_that_cannot_work_are_refused),
        T(minimum_levels_by_service_and_component),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
