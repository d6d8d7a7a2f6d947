/*
 * test_lift.c - JSON and logfmt lines into fields (aggregator/lift.c).
 *
 * The structured lines are what the libraries print with their default
 * settings (pino, zap, logrus, structlog, python-json-logger, Serilog's
 * compact and plain JSON formatters, bunyan, go-kit, logrus' text format,
 * Heroku's router), so a library's spelling that the table misses shows up
 * here. The negatives are the lines that must stay plain text: prose with
 * an '=', JSON that is not an object, broken UTF-8, NUL bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lift.h"
#include "ulog/level.h"

#define S 1000000000ull

static struct lifted lifted;

static int setup(void **state)
{
    (void)state;
    lifted_init(&lifted);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    lifted_free(&lifted);
    return 0;
}

/* Lift `line` into the shared struct, clearing what the last test left. */
static int lift(const char *line)
{
    lifted_clear(&lifted);
    return lift_line(&lifted, line, strlen(line));
}

static void assert_text(const char *got, size_t got_len, const char *want)
{
    assert_non_null(got);
    assert_int_equal(got_len, strlen(want));
    assert_memory_equal(got, want, got_len);
}

static const char *meta_string(const char *key)
{
    json_t *v = lifted.metadata ? json_object_get(lifted.metadata, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static json_int_t meta_int(const char *key)
{
    json_t *v = json_object_get(lifted.metadata, key);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

static void assert_no_meta(const char *key)
{
    assert_null(lifted.metadata ? json_object_get(lifted.metadata, key) : NULL);
}

static void test_pino_and_bunyan(void **state)
{
    (void)state;
    assert_int_equal(lift("{\"level\":30,\"time\":1531171074631,\"pid\":657,\"hostname\":"
                          "\"Davids-MBP-3.fritz.box\",\"msg\":\"hello world\"}"),
                     1);
    assert_int_equal(lifted.format, LIFT_JSON);
    assert_int_equal(lifted.level, ULOG_INFO);
    assert_text(lifted.level_text, lifted.level_len, "30");
    assert_text(lifted.message, lifted.message_len, "hello world");
    assert_int_equal(lifted.time_ns, 1531171074631ull * 1000000);
    assert_text(lifted.time_text, lifted.time_len, "1531171074631");
    assert_int_equal(meta_int("pid"), 657);
    assert_string_equal(meta_string("hostname"), "Davids-MBP-3.fritz.box");
    assert_int_equal(meta_int("time"), 1531171074631); /* kept under its own key */
    assert_no_meta("level");
    assert_no_meta("msg");
    assert_null(lifted.component);

    assert_int_equal(lift("{\"level\":50,\"time\":1531171074631,\"pid\":657,\"hostname\":\"h\","
                          "\"err\":{\"type\":\"Error\",\"message\":\"boom\",\"stack\":\"Error: boom\\n"
                          "    at Object.<anonymous> (/app/x.js:3:9)\"},\"msg\":\"boom\"}"),
                     1);
    assert_int_equal(lifted.level, ULOG_ERROR);
    json_t *err = json_object_get(lifted.metadata, "err");
    assert_true(json_is_object(err));
    assert_string_equal(json_string_value(json_object_get(err, "type")), "Error");

    assert_int_equal(lift("{\"name\":\"myapp\",\"hostname\":\"banana.local\",\"pid\":40161,"
                          "\"level\":30,\"msg\":\"hi\",\"time\":\"2013-01-04T18:46:23.851Z\",\"v\":0}"),
                     1);
    assert_string_equal(lifted.component, "myapp");
    assert_int_equal(lifted.level, ULOG_INFO);
    assert_int_equal(lifted.time_ns, 1357325183ull * S + 851000000);
    assert_string_equal(meta_string("time"), "2013-01-04T18:46:23.851Z");
    assert_int_equal(meta_int("v"), 0);
    assert_no_meta("name");
}

static void test_zap_and_logrus(void **state)
{
    (void)state;
    assert_int_equal(lift("{\"level\":\"info\",\"ts\":1732198938.2145212,\"caller\":\"app/main.go:42\","
                          "\"msg\":\"failed to fetch URL\",\"url\":\"http://example.com\","
                          "\"attempt\":3,\"backoff\":1}"),
                     1);
    assert_int_equal(lifted.level, ULOG_INFO);
    assert_text(lifted.message, lifted.message_len, "failed to fetch URL");
    uint64_t want = 1732198938ull * S + 214521200;
    assert_true(lifted.time_ns > want - 1000 && lifted.time_ns < want + 1000);
    assert_string_equal(meta_string("caller"), "app/main.go:42");
    assert_int_equal(meta_int("attempt"), 3);
    assert_true(json_is_real(json_object_get(lifted.metadata, "ts")));

    assert_int_equal(lift("{\"level\":\"error\",\"ts\":1732198938.2145212,\"logger\":\"http\","
                          "\"caller\":\"app/main.go:42\",\"msg\":\"request failed\",\"error\":\"EOF\","
                          "\"stacktrace\":\"main.main\\n\\t/app/main.go:42\"}"),
                     1);
    assert_int_equal(lifted.level, ULOG_ERROR);
    assert_string_equal(lifted.component, "http");
    assert_string_equal(meta_string("error"), "EOF");
    assert_string_equal(meta_string("stacktrace"), "main.main\n\t/app/main.go:42");

    assert_int_equal(lift("{\"animal\":\"walrus\",\"level\":\"warning\",\"msg\":\"The group's number "
                          "increased tremendously!\",\"number\":122,\"omg\":true,"
                          "\"time\":\"2014-03-10T19:57:38-04:00\"}"),
                     1);
    assert_int_equal(lifted.level, ULOG_WARNING);
    assert_int_equal(lifted.time_ns, 1394495858ull * S);
    assert_true(json_is_true(json_object_get(lifted.metadata, "omg")));
    assert_string_equal(meta_string("animal"), "walrus");
}

static void test_structlog_and_python_json_logger(void **state)
{
    (void)state;
    assert_int_equal(lift("{\"event\": \"user logged in\", \"user_id\": 42, \"level\": \"info\", "
                          "\"timestamp\": \"2026-11-21T14:22:18.214521Z\", \"logger\": \"app.auth\"}"),
                     1);
    assert_text(lifted.message, lifted.message_len, "user logged in");
    assert_null(lifted.event_type);
    assert_string_equal(lifted.component, "app.auth");
    assert_int_equal(lifted.time_ns, 1795270938ull * S + 214521000);
    assert_int_equal(meta_int("user_id"), 42);
    assert_no_meta("event");

    /* With a message, `event` is what happened. */
    assert_int_equal(lift("{\"msg\": \"payment refused\", \"event\": \"payment.refused\"}"), 1);
    assert_text(lifted.message, lifted.message_len, "payment refused");
    assert_string_equal(lifted.event_type, "payment.refused");
    assert_null(lifted.metadata);
    assert_int_equal(lift("{\"event\": \"started\", \"event_type\": \"boot\"}"), 1);
    assert_text(lifted.message, lifted.message_len, "started");
    assert_string_equal(lifted.event_type, "boot");

    assert_int_equal(lift("{\"asctime\": \"2026-11-21 14:22:18,214\", \"name\": \"app.db\", "
                          "\"levelname\": \"ERROR\", \"message\": \"connection lost\", "
                          "\"taskName\": null}"),
                     1);
    assert_int_equal(lifted.level, ULOG_ERROR);
    assert_text(lifted.level_text, lifted.level_len, "ERROR");
    assert_string_equal(lifted.component, "app.db");
    assert_text(lifted.time_text, lifted.time_len, "2026-11-21 14:22:18,214");
    assert_int_equal(lifted.time_ns, 0); /* no zone: whose local time? */
    assert_string_equal(meta_string("asctime"), "2026-11-21 14:22:18,214");
    assert_true(json_is_null(json_object_get(lifted.metadata, "taskName")));
}

static void test_serilog(void **state)
{
    (void)state;
    /* CLEF leaves @l out for Information. */
    assert_int_equal(lift("{\"@t\":\"2016-06-07T03:44:57.8532799Z\",\"@mt\":\"Hello, {User}\","
                          "\"User\":\"nblumhardt\"}"),
                     1);
    assert_text(lifted.message, lifted.message_len, "Hello, {User}");
    assert_int_equal(lifted.level, ULOG_INFO);
    assert_null(lifted.level_text);
    assert_int_equal(lifted.time_ns, 1465271097ull * S + 853279900);
    assert_string_equal(meta_string("User"), "nblumhardt");
    assert_string_equal(meta_string("@t"), "2016-06-07T03:44:57.8532799Z");

    assert_int_equal(lift("{\"@t\":\"2026-11-21T14:22:18.2145210Z\",\"@mt\":\"Order {OrderId} failed\","
                          "\"@m\":\"Order 42 failed\",\"@l\":\"Warning\",\"@tr\":"
                          "\"0af7651916cd43dd8448eb211c80319c\",\"@sp\":\"b7ad6b7169203331\","
                          "\"OrderId\":42,\"SourceContext\":\"Shop.Orders\"}"),
                     1);
    assert_text(lifted.message, lifted.message_len, "Order 42 failed");
    assert_int_equal(lifted.level, ULOG_WARNING);
    assert_string_equal(lifted.trace_id, "0af7651916cd43dd8448eb211c80319c");
    assert_string_equal(lifted.span_id, "b7ad6b7169203331");
    assert_string_equal(lifted.component, "Shop.Orders");
    assert_string_equal(meta_string("@mt"), "Order {OrderId} failed"); /* the loser is kept */
    assert_no_meta("@m");

    assert_int_equal(lift("{\"Timestamp\":\"2016-06-07T13:44:57.8532799+10:00\",\"Level\":\"Information\","
                          "\"MessageTemplate\":\"Hello, {User}\",\"RenderedMessage\":\"Hello, "
                          "\\\"nblumhardt\\\"\",\"Properties\":{\"User\":\"nblumhardt\"}}"),
                     1);
    assert_int_equal(lifted.level, ULOG_INFO);
    assert_text(lifted.message, lifted.message_len, "Hello, \"nblumhardt\"");
    assert_int_equal(lifted.time_ns, 1465271097ull * S + 853279900);
    assert_string_equal(meta_string("MessageTemplate"), "Hello, {User}");
    assert_true(json_is_object(json_object_get(lifted.metadata, "Properties")));
}

static void test_json_key_rules(void **state)
{
    (void)state;
    /* Any case; duplicates: the last wins. */
    assert_int_equal(lift("{\"LEVEL\":\"WARN\",\"Message\":\"x\",\"Logger\":\"y\",\"TraceId\":\"t\","
                          "\"SpanID\":\"s\",\"agentId\":\"a\",\"TASK_ID\":\"k\"}"),
                     1);
    assert_int_equal(lifted.level, ULOG_WARNING);
    assert_text(lifted.message, lifted.message_len, "x");
    assert_string_equal(lifted.component, "y");
    assert_string_equal(lifted.trace_id, "t");
    assert_string_equal(lifted.span_id, "s");
    assert_string_equal(lifted.agent_id, "a");
    assert_string_equal(lifted.task_id, "k");
    assert_null(lifted.metadata);
    assert_int_equal(lift("{\"msg\":\"a\",\"msg\":\"b\"}"), 1);
    assert_text(lifted.message, lifted.message_len, "b");

    /* Numbers and booleans become text; objects, arrays and nulls stay metadata. */
    assert_int_equal(lift("{\"msg\":\"x\",\"trace_id\":12345,\"span_id\":true,\"task_id\":{\"a\":1},"
                          "\"agent_id\":null,\"level\":{\"x\":1},\"component\":[1]}"),
                     1);
    assert_string_equal(lifted.trace_id, "12345");
    assert_string_equal(lifted.span_id, "true");
    assert_null(lifted.task_id);
    assert_null(lifted.agent_id);
    assert_null(lifted.component);
    assert_int_equal(lifted.level, -1);
    assert_null(lifted.level_text);
    assert_true(json_is_object(json_object_get(lifted.metadata, "task_id")));
    assert_true(json_is_null(json_object_get(lifted.metadata, "agent_id")));
    assert_true(json_is_object(json_object_get(lifted.metadata, "level")));
    assert_true(json_is_array(json_object_get(lifted.metadata, "component")));
    assert_no_meta("trace_id");

    /* An unknown level keeps its text; a NUL escape is allowed in the message. */
    assert_int_equal(lift("  {\"level\":\"chatty\",\"msg\":\"a\\u0000b\"}  \r"), 1);
    assert_int_equal(lifted.level, -1);
    assert_text(lifted.level_text, lifted.level_len, "chatty");
    assert_int_equal(lifted.message_len, 3);
    assert_memory_equal(lifted.message, "a\0b", 3);

    assert_int_equal(lift("{}"), 1);
    assert_null(lifted.message);
    assert_null(lifted.metadata);
    assert_int_equal(lifted.level, -1);
}

static void test_times(void **state)
{
    (void)state;
    static const struct {
        const char *line;
        uint64_t ns;
    } cases[] = {
        {"{\"time\":1732198938}", 1732198938ull * S},
        {"{\"time\":1732198938214}", 1732198938214ull * 1000000},
        {"{\"time\":1732198938214521}", 1732198938214521ull * 1000},
        {"{\"time\":1732198938214521000}", 1732198938214521000ull},
        {"{\"time\":\"1732198938\"}", 1732198938ull * S},
        {"{\"ts\":\"2026-11-21T14:22:18Z\"}", 1795270938ull * S},
        {"{\"ts\":\"2026-11-21t14:22:18.5z\"}", 1795270938ull * S + 500000000},
        {"{\"ts\":\"2026-11-21T09:22:18.000000001-05:00\"}", 1795270938ull * S + 1},
        {"{\"ts\":\"2026-11-21T15:52:18+0130\"}", 1795270938ull * S},
        {"{\"ts\":\"2000-02-29T12:00:00Z\"}", 951825600ull * S},
        {"{\"ts\":\"2026-11-21T14:22:18.1234567891234Z\"}", 1795270938ull * S + 123456789},
        {"{\"ts\":\"2026-11-21T14:22:18\"}", 0},
        {"{\"ts\":\"2026-13-21T14:22:18Z\"}", 0},
        {"{\"ts\":\"2026-11-21T14:22:18Zjunk\"}", 0},
        {"{\"ts\":\"2026-11-21T14:22:18.Z\"}", 0},
        {"{\"ts\":\"1969-12-31T23:59:59Z\"}", 0},
        {"{\"ts\":\"yesterday\"}", 0},
        {"{\"ts\":-5}", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        assert_int_equal(lift(cases[i].line), 1);
        if (lifted.time_ns != cases[i].ns)
            print_error("case %zu: %s\n", i, cases[i].line);
        assert_int_equal(lifted.time_ns, cases[i].ns);
        assert_non_null(lifted.time_text);
    }
    assert_int_equal(lift("{\"time\":true,\"timestamp\":\"2026-11-21T14:22:18Z\"}"), 1);
    assert_int_equal(lifted.time_ns, 1795270938ull * S);
    assert_true(json_is_true(json_object_get(lifted.metadata, "time")));
}

static void test_logfmt(void **state)
{
    (void)state;
    /* go-kit */
    assert_int_equal(lift("level=info ts=2026-11-21T14:22:18.214521Z caller=main.go:42 "
                          "msg=\"listening on :8080\" transport=HTTP"),
                     1);
    assert_int_equal(lifted.format, LIFT_LOGFMT);
    assert_int_equal(lifted.level, ULOG_INFO);
    assert_text(lifted.message, lifted.message_len, "listening on :8080");
    assert_int_equal(lifted.time_ns, 1795270938ull * S + 214521000);
    assert_string_equal(meta_string("caller"), "main.go:42");
    assert_string_equal(meta_string("transport"), "HTTP");
    assert_string_equal(meta_string("ts"), "2026-11-21T14:22:18.214521Z");
    assert_no_meta("level");
    assert_no_meta("msg");

    /* logrus' text formatter */
    assert_int_equal(lift("time=\"2026-11-21T14:22:18Z\" level=warning msg=\"The group's number "
                          "increased tremendously!\" animal=walrus number=122 omg=true"),
                     1);
    assert_int_equal(lifted.level, ULOG_WARNING);
    assert_text(lifted.message, lifted.message_len, "The group's number increased tremendously!");
    assert_string_equal(meta_string("number"), "122"); /* logfmt values are strings */
    assert_string_equal(meta_string("omg"), "true");

    /* Heroku's router: at= is its level */
    assert_int_equal(lift("at=info method=GET path=\"/\" host=myapp.herokuapp.com "
                          "request_id=8601b555-6a83-4c12-8269-97c8e32cdb22 fwd=\"204.204.204.204\" "
                          "dyno=web.1 connect=1ms service=18ms status=200 bytes=13 protocol=https"),
                     1);
    assert_int_equal(lifted.level, ULOG_INFO);
    assert_null(lifted.message);
    assert_string_equal(meta_string("path"), "/");
    assert_string_equal(meta_string("status"), "200");
    assert_no_meta("at");
    assert_int_equal(lift("at=error code=H12 desc=\"Request timeout\" method=GET path=\"/\" "
                          "host=myapp.herokuapp.com dyno=web.1 connect=0ms service=30000ms status=503"),
                     1);
    assert_int_equal(lifted.level, ULOG_ERROR);
    assert_string_equal(meta_string("desc"), "Request timeout");

    /* Escapes, a lone key, ids, duplicate keys (the last wins). */
    assert_int_equal(lift("level=error msg=\"say \\\"hi\\\"\\nnext\" path=C:\\\\x trace_id=abc "
                          "dry_run msg=\"second\""),
                     1);
    assert_text(lifted.message, lifted.message_len, "second");
    assert_string_equal(lifted.trace_id, "abc");
    assert_true(json_is_true(json_object_get(lifted.metadata, "dry_run")));
    assert_string_equal(meta_string("path"), "C:\\\\x"); /* bare values are taken as they are */
    assert_int_equal(lift("\tlevel=debug   msg=\"say \\\"hi\\\"\\nnext\"  \r"), 1);
    assert_text(lifted.message, lifted.message_len, "say \"hi\"\nnext");
    assert_null(lifted.metadata);
    assert_int_equal(lift("level=info msg= q=\"\""), 1);
    assert_text(lifted.message, lifted.message_len, "");
    assert_string_equal(meta_string("q"), "");
}

static void test_stays_plain(void **state)
{
    (void)state;
    const char *plain[] = {
        "", "   ", "hello world", "[1,2,3]", "42", "\"a string\"", "null", "true",
        "{not json}", "{\"a\":1} trailing", "{\"a\":1", "{\"msg\":\"\xff\"}",
        "retrying with level=3 for user", "x = y", "a=1 b=2", "level=info and more words here",
        "level=info msg=\"unterminated", "level=info msg=a\"b", "level=info \"quoted\" msg=x",
        "=x level=info msg=y", "level=info msg=\"x\"y", "level=info msg=hi\xff",
        "level=info msg=\"bad escape\\", "2026/11/21 14:22:18 [error] 1#1: upstream=x level=y",
        "curl -d a=1 -d level=2 http://x", "level=info", "SELECT * FROM t WHERE level=1 AND msg=2",
    };
    for (size_t i = 0; i < sizeof plain / sizeof *plain; i++) {
        int got = lift(plain[i]);
        if (got != 0)
            print_error("case %zu: %s\n", i, plain[i]);
        assert_int_equal(got, 0);
        assert_int_equal(lifted.format, LIFT_NONE);
        assert_null(lifted.metadata);
        assert_null(lifted.message);
        assert_int_equal(lifted.level, -1);
    }
    /* A NUL byte in the line keeps it plain, JSON or logfmt. */
    static const char json_nul[] = "{\"msg\":\"a\"}\0";
    static const char logfmt_nul[] = "level=info msg=a\0b";
    lifted_clear(&lifted);
    assert_int_equal(lift_line(&lifted, json_nul, sizeof json_nul - 1), 0);
    assert_int_equal(lift_line(&lifted, logfmt_nul, sizeof logfmt_nul - 1), 0);
}

static void test_plain_lines_allocate_nothing(void **state)
{
    (void)state;
    struct lifted fresh;
    lifted_init(&fresh);
    const char *line = "a=1 b=2 c=3 retry=yes and so on";
    assert_int_equal(lift_line(&fresh, line, strlen(line)), 0);
    assert_null(fresh.buf_);
    assert_null(fresh.root_);
    lifted_free(&fresh);
}

static void test_not_nul_terminated_and_reuse(void **state)
{
    (void)state;
    /* The JSON object is the first 15 bytes; what follows is not part of the line. */
    const char buf[] = "{\"msg\":\"first\"}garbage";
    lifted_clear(&lifted);
    assert_int_equal(lift_line(&lifted, buf, 15), 1);
    assert_text(lifted.message, lifted.message_len, "first");
    const char kv[] = "level=warn msg=cut_here_XXXX";
    lifted_clear(&lifted);
    assert_int_equal(lift_line(&lifted, kv, 23), 1);
    assert_text(lifted.message, lifted.message_len, "cut_here");
    /* One struct, many lines: the metadata of a line is its own. */
    for (int i = 0; i < 1000; i++) {
        char line[128];
        int n = i % 2 ? snprintf(line, sizeof line, "{\"msg\":\"m%d\",\"n\":%d}", i, i)
                      : snprintf(line, sizeof line, "level=info msg=m%d n=%d", i, i);
        lifted_clear(&lifted);
        assert_int_equal(lift_line(&lifted, line, (size_t)n), 1);
        assert_int_equal(json_object_size(lifted.metadata), 1);
        char want[16];
        snprintf(want, sizeof want, "m%d", i);
        assert_text(lifted.message, lifted.message_len, want);
    }
    /* The caller may keep the metadata past the clear. */
    assert_int_equal(lift("{\"msg\":\"x\",\"keep\":\"me\"}"), 1);
    json_t *kept = json_incref(lifted.metadata);
    lifted_clear(&lifted);
    assert_string_equal(json_string_value(json_object_get(kept, "keep")), "me");
    json_decref(kept);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pino_and_bunyan),
        cmocka_unit_test(test_zap_and_logrus),
        cmocka_unit_test(test_structlog_and_python_json_logger),
        cmocka_unit_test(test_serilog),
        cmocka_unit_test(test_json_key_rules),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_logfmt),
        cmocka_unit_test(test_stays_plain),
        cmocka_unit_test(test_plain_lines_allocate_nothing),
        cmocka_unit_test(test_not_nul_terminated_and_reuse),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
