/*
 * test_record.c - the record as one line of JSON (aggregator/record.c,
 * aggregator/utf8.c).
 *
 * Whatever bytes a program writes, the line must parse; well-formed text
 * must come back unchanged; everything else must be visible as \xNN text
 * rather than silently replaced. Expected lines are spelled out in full, so
 * key order and escaping are checked to the byte. Then the writer is checked
 * against an oracle: the same record built as a jansson object, its strings
 * repaired by a separate, deliberately naive UTF-8 decoder, and dumped by
 * jansson must give the very same bytes, for thousands of random records.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "record.h"
#include "utf8.h"

/* 2026-11-21T14:22:18.214521Z, plus 987 ns that must be cut, not rounded. */
#define SAMPLE_TIME_NS (1795270938ull * 1000000000ull + 214521987ull)

static char *encode(const struct record *r)
{
    struct bytebuf out = BYTEBUF_INIT;
    assert_int_equal(record_append_json(r, &out), 0);
    bytebuf_append_byte(&out, '\0');
    return out.data;
}

/* The message of a minimal record holding `bytes`, as JSON text. */
static char *encode_message(const void *bytes, size_t len)
{
    struct record r = {.time_ns = SAMPLE_TIME_NS, .message = bytes, .message_len = len};
    return encode(&r);
}

static void assert_message_json(const void *bytes, size_t len, const char *json_text)
{
    char *line = encode_message(bytes, len);
    char expected[1024];
    snprintf(expected, sizeof expected,
             "{\"timestamp\":\"2026-11-21T14:22:18.214521Z\",\"level\":\"DEBUG\",\"message\":\"%s\"}\n",
             json_text);
    assert_string_equal(line, expected);
    free(line);
}

static void timestamps_are_rfc3339_utc_with_microseconds(void **state)
{
    char text[RECORD_TIMESTAMP_SIZE];
    (void)state;
    record_format_timestamp(SAMPLE_TIME_NS, text);
    assert_string_equal(text, "2026-11-21T14:22:18.214521Z");
    record_format_timestamp(0, text);
    assert_string_equal(text, "1970-01-01T00:00:00.000000Z");
    record_format_timestamp(951782400ull * 1000000000ull + 999999999ull, text); /* leap day */
    assert_string_equal(text, "2000-02-29T00:00:00.999999Z");
    assert_int_equal(strlen(text), RECORD_TIMESTAMP_LEN);
    record_format_timestamp(UINT64_MAX, text); /* the last instant a u64 can hold */
    assert_string_equal(text, "2554-07-21T23:34:33.709551Z");
}

/* The date arithmetic agrees with gmtime_r() on every day from 1970 to 2554. */
static void timestamps_agree_with_gmtime(void **state)
{
    char text[RECORD_TIMESTAMP_SIZE], expected[64];
    (void)state;
    for (uint64_t day = 0; day < 213503; day += 1) {
        uint64_t seconds = day * 86400 + (day * 7919) % 86400;
        time_t t = (time_t)seconds;
        struct tm tm;
        gmtime_r(&t, &tm);
        snprintf(expected, sizeof expected, "%04d-%02d-%02dT%02d:%02d:%02d.000123Z",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        record_format_timestamp(seconds * 1000000000u + 123456, text);
        if (strcmp(text, expected) != 0)
            fail_msg("day %llu: %s != %s", (unsigned long long)day, text, expected);
    }
}

static void every_key_in_the_documented_order(void **state)
{
    json_t *context = json_pack("{s:s}", "env", "test");
    json_t *metadata = json_pack("{s:i, s:b}", "part", 1, "partial", 1);
    struct record r = {
        .time_ns = SAMPLE_TIME_NS,
        .level = ULOG_ERROR,
        .service = "api",
        .container = "0123456789ab",
        .host = "box",
        .pid = 42,
        .tid = 43,
        .stream = "stderr",
        .source = "preload",
        .component = "app.db",
        .event_type = "query",
        .message = "it broke",
        .message_len = 8,
        .trace_id = "t1",
        .span_id = "s1",
        .agent_id = "a1",
        .task_id = "k1",
        .context = context,
        .metadata = metadata,
    };
    (void)state;
    char *line = encode(&r);
    assert_string_equal(line,
                        "{\"timestamp\":\"2026-11-21T14:22:18.214521Z\",\"level\":\"ERROR\","
                        "\"service\":\"api\",\"container\":\"0123456789ab\",\"host\":\"box\","
                        "\"pid\":42,\"tid\":43,\"stream\":\"stderr\",\"source\":\"preload\","
                        "\"component\":\"app.db\",\"event_type\":\"query\",\"message\":\"it broke\","
                        "\"trace_id\":\"t1\",\"span_id\":\"s1\",\"agent_id\":\"a1\",\"task_id\":\"k1\","
                        "\"context\":{\"env\":\"test\"},\"metadata\":{\"part\":1,\"partial\":true}}\n");
    free(line);
    json_decref(context);
    json_decref(metadata);
}

static void absent_keys_are_omitted(void **state)
{
    json_t *empty = json_object();
    struct record r = {
        .time_ns = SAMPLE_TIME_NS,
        .level = ULOG_INFO,
        .service = "",   /* empty counts as absent */
        .message = NULL, /* the message is always there, if only empty */
        .context = empty,
    };
    (void)state;
    char *line = encode(&r);
    assert_string_equal(line, "{\"timestamp\":\"2026-11-21T14:22:18.214521Z\",\"level\":\"INFO\","
                              "\"message\":\"\"}\n");
    free(line);
    json_decref(empty);
}

static void a_zero_time_means_now(void **state)
{
    struct record r = {.message = "x", .message_len = 1};
    char before[RECORD_TIMESTAMP_SIZE], after[RECORD_TIMESTAMP_SIZE];
    (void)state;
    record_format_timestamp(record_now_ns(), before);
    char *line = encode(&r);
    record_format_timestamp(record_now_ns(), after);
    json_t *parsed = json_loads(line, 0, NULL);
    const char *stamp = json_string_value(json_object_get(parsed, "timestamp"));
    assert_non_null(stamp);
    assert_true(strcmp(stamp, before) >= 0 && strcmp(stamp, after) <= 0);
    json_decref(parsed);
    free(line);
}

static void control_characters_and_nul_are_escaped(void **state)
{
    (void)state;
    assert_message_json("a\0b", 3, "a\\u0000b");
    assert_message_json("\x01\x1b[31mred\t\"q\"\\", 14, "\\u0001\\u001B[31mred\\t\\\"q\\\"\\\\");
    assert_message_json("multi\nline", 10, "multi\\nline");
}

static void well_formed_utf8_is_kept(void **state)
{
    (void)state;
    /* 2, 3 and 4 bytes; the highest code point; U+FFFD itself. */
    assert_message_json("\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e\xf4\x8f\xbf\xbf\xef\xbf\xbd", 16,
                        "\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e\xf4\x8f\xbf\xbf\xef\xbf\xbd");
}

static void ill_formed_utf8_becomes_backslash_x(void **state)
{
    (void)state;
    assert_message_json("\xff", 1, "\\\\xFF");
    assert_message_json("a\x80z", 3, "a\\\\x80z");              /* lone continuation */
    assert_message_json("\xc0\xaf", 2, "\\\\xC0\\\\xAF");        /* overlong '/' */
    assert_message_json("\xc1\xbf", 2, "\\\\xC1\\\\xBF");        /* overlong */
    assert_message_json("\xe0\x80\xaf", 3, "\\\\xE0\\\\x80\\\\xAF"); /* overlong, 3 bytes */
    assert_message_json("\xf0\x80\x80\xaf", 4, "\\\\xF0\\\\x80\\\\x80\\\\xAF"); /* overlong, 4 */
    assert_message_json("\xed\xa0\x80", 3, "\\\\xED\\\\xA0\\\\x80"); /* surrogate U+D800 */
    assert_message_json("\xed\xbf\xbf", 3, "\\\\xED\\\\xBF\\\\xBF"); /* surrogate U+DFFF */
    assert_message_json("\xf4\x90\x80\x80", 4, "\\\\xF4\\\\x90\\\\x80\\\\x80"); /* > U+10FFFF */
    assert_message_json("\xf5\x80", 2, "\\\\xF5\\\\x80");
    /* A sequence cut short: each of its bytes, then the next character afresh. */
    assert_message_json("\xe2\x82" "A\xe2\x82\xac", 6, "\\\\xE2\\\\x82A\xe2\x82\xac");
    assert_message_json("end\xf0\x9f\x98", 6, "end\\\\xF0\\\\x9F\\\\x98");
}

static void every_string_field_is_made_safe(void **state)
{
    struct record r = {
        .time_ns = SAMPLE_TIME_NS,
        .service = "svc\xff",
        .host = "h\x01",
        .message = "",
    };
    (void)state;
    char *line = encode(&r);
    assert_string_equal(line, "{\"timestamp\":\"2026-11-21T14:22:18.214521Z\",\"level\":\"DEBUG\","
                              "\"service\":\"svc\\\\xFF\",\"host\":\"h\\u0001\",\"message\":\"\"}\n");
    free(line);
}

static void sequences_and_cuts(void **state)
{
    const unsigned char euro[] = "ab\xe2\x82\xac";
    (void)state;
    assert_int_equal(utf8_sequence_length((const unsigned char *)"a", 1), 1);
    assert_int_equal(utf8_sequence_length(euro + 2, 3), 3);
    assert_int_equal(utf8_sequence_length(euro + 2, 2), 0); /* cut short */
    assert_int_equal(utf8_sequence_length(euro + 3, 2), 0); /* a continuation byte */
    assert_int_equal(utf8_sequence_length((const unsigned char *)"\xf0\x9d\x84\x9e", 4), 4);
    assert_int_equal(utf8_sequence_length((const unsigned char *)"\xed\xa0\x80", 3), 0);
    assert_int_equal(utf8_cut(euro, 5, 3), 2);
    assert_int_equal(utf8_cut(euro, 5, 4), 2);
    assert_int_equal(utf8_cut(euro, 5, 5), 5);
    assert_int_equal(utf8_cut(euro, 5, 2), 2);
    assert_int_equal(utf8_cut(euro + 2, 3, 1), 1); /* never 0: a piece is never empty */
    assert_int_equal(utf8_cut((const unsigned char *)"abc\xff\xff\xff", 6, 4), 4);
}

/* ---- the oracle ------------------------------------------------------- */

/* The well-formed sequence at s[0], decoded the slow, obvious way; 0 if none. */
static size_t naive_sequence(const unsigned char *s, size_t avail)
{
    uint32_t cp, min;
    size_t n;

    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xE0) == 0xC0)
        n = 2, cp = s[0] & 0x1Fu, min = 0x80;
    else if ((s[0] & 0xF0) == 0xE0)
        n = 3, cp = s[0] & 0x0Fu, min = 0x800;
    else if ((s[0] & 0xF8) == 0xF0)
        n = 4, cp = s[0] & 0x07u, min = 0x10000;
    else
        return 0;
    if (avail < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* `bytes` with each byte of an ill-formed sequence replaced by the text \xNN. */
static json_t *naive_string(const void *bytes, size_t len)
{
    const unsigned char *s = bytes;
    char *text = malloc(4 * len + 1);
    size_t out = 0;
    assert_non_null(text);
    for (size_t i = 0; i < len;) {
        size_t n = naive_sequence(s + i, len - i);
        if (n) {
            memcpy(text + out, s + i, n);
            out += n;
            i += n;
        } else {
            out += (size_t)sprintf(text + out, "\\x%02X", s[i]);
            i++;
        }
    }
    json_t *value = json_stringn(text, out); /* jansson checks the UTF-8 once more */
    assert_non_null(value);
    free(text);
    return value;
}

static void oracle_string(json_t *object, const char *key, const char *value)
{
    if (value && value[0])
        json_object_set_new(object, key, naive_string(value, strlen(value)));
}

static char *oracle(const struct record *r)
{
    char timestamp[RECORD_TIMESTAMP_SIZE];
    json_t *o = json_object();

    record_format_timestamp(r->time_ns, timestamp);
    json_object_set_new(o, "timestamp", json_string(timestamp));
    json_object_set_new(o, "level", json_string(ulog_level_name(r->level)));
    oracle_string(o, "service", r->service);
    oracle_string(o, "container", r->container);
    oracle_string(o, "host", r->host);
    if (r->pid)
        json_object_set_new(o, "pid", json_integer(r->pid));
    if (r->tid)
        json_object_set_new(o, "tid", json_integer(r->tid));
    oracle_string(o, "stream", r->stream);
    oracle_string(o, "source", r->source);
    oracle_string(o, "component", r->component);
    oracle_string(o, "event_type", r->event_type);
    json_object_set_new(o, "message", naive_string(r->message, r->message_len));
    oracle_string(o, "trace_id", r->trace_id);
    oracle_string(o, "span_id", r->span_id);
    oracle_string(o, "agent_id", r->agent_id);
    oracle_string(o, "task_id", r->task_id);
    if (r->context && json_object_size(r->context))
        json_object_set(o, "context", (json_t *)r->context);
    if (r->metadata && json_object_size(r->metadata))
        json_object_set(o, "metadata", (json_t *)r->metadata);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    size_t len = strlen(text);
    text = realloc(text, len + 2);
    assert_non_null(text);
    memcpy(text + len, "\n", 2);
    return text;
}

/* A small deterministic generator: the same "random" bytes on every run. */
static uint32_t next_random(uint32_t *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return *seed >> 8;
}

/* Up to `max` random bytes, biased toward the interesting ones, NUL-terminated. */
static size_t random_bytes(uint32_t *seed, char *out, size_t max)
{
    static const unsigned char palette[] = {0x00, 0x01, 0x0a, 0x0d, 0x1b, '"', '\\', 'a', 0x7f,
                                            0x80, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xed, 0xef,
                                            0xf0, 0xf4, 0xf5, 0xff, 0xa0, 0x9f, 0x8f, 0x90, '/'};
    size_t len = next_random(seed) % max;
    for (size_t i = 0; i < len; i++)
        out[i] = (char)((next_random(seed) & 1) ? palette[next_random(seed) % sizeof palette]
                                                : (unsigned char)next_random(seed));
    out[len] = '\0';
    return len;
}

static void any_bytes_give_a_line_that_parses(void **state)
{
    uint32_t seed = 12345;
    char bytes[64];
    (void)state;

    for (int round = 0; round < 20000; round++) {
        size_t len = random_bytes(&seed, bytes, sizeof bytes - 1);
        char *line = encode_message(bytes, len);
        size_t line_len = strlen(line);
        assert_true(line_len > 0 && line[line_len - 1] == '\n');
        assert_null(memchr(line, '\n', line_len - 1)); /* one record, one line */
        json_error_t error;
        json_t *parsed = json_loads(line, JSON_ALLOW_NUL, &error);
        if (!parsed)
            fail_msg("round %d: %s in %s", round, error.text, line);
        json_t *message = json_object_get(parsed, "message");
        assert_true(json_is_string(message));
        /* Well-formed input comes back byte for byte, NULs included. */
        bool well_formed = true;
        for (size_t i = 0, n; i < len && well_formed; i += n)
            well_formed = (n = naive_sequence((const unsigned char *)bytes + i, len - i)) != 0;
        if (well_formed) {
            assert_int_equal(json_string_length(message), len);
            if (len)
                assert_memory_equal(json_string_value(message), bytes, len);
        }
        json_decref(parsed);
        free(line);
    }
}

static const char *maybe(uint32_t *seed, char *buf, size_t size)
{
    if (next_random(seed) % 3 == 0)
        return NULL;
    random_bytes(seed, buf, size);
    return buf;
}

static void the_writer_agrees_with_jansson(void **state)
{
    uint32_t seed = 777;
    (void)state;

    for (int round = 0; round < 20000; round++) {
        char service[24], container[16], host[24], stream[12], component[24], event[24],
            trace[24], span[24], agent[24], task[24], message[200], key[16], value[24];
        json_t *context = NULL, *metadata = NULL;

        if (next_random(&seed) % 2) {
            random_bytes(&seed, key, sizeof key);
            random_bytes(&seed, value, sizeof value);
            context = json_object();
            json_object_set_new(context, "env", json_string("test"));
            json_object_set_new(context, naive_sequence((const unsigned char *)key, 1) ? "k" : "x",
                                naive_string(value, strlen(value)));
        }
        if (next_random(&seed) % 2)
            metadata = json_pack("{s:i, s:b}", "part", (int)(next_random(&seed) % 9 + 1),
                                 "partial", (int)(next_random(&seed) & 1));
        struct record r = {
            .time_ns = (uint64_t)next_random(&seed) * 1000000007ull,
            .level = (enum ulog_level)(next_random(&seed) % ULOG_LEVEL_COUNT),
            .service = maybe(&seed, service, sizeof service),
            .container = maybe(&seed, container, sizeof container),
            .host = maybe(&seed, host, sizeof host),
            .pid = next_random(&seed) % 2 ? next_random(&seed) : 0,
            .tid = next_random(&seed) % 2 ? next_random(&seed) * 257u : 0,
            .stream = maybe(&seed, stream, sizeof stream),
            .source = maybe(&seed, component, sizeof component),
            .component = maybe(&seed, component, sizeof component),
            .event_type = maybe(&seed, event, sizeof event),
            .trace_id = maybe(&seed, trace, sizeof trace),
            .span_id = maybe(&seed, span, sizeof span),
            .agent_id = maybe(&seed, agent, sizeof agent),
            .task_id = maybe(&seed, task, sizeof task),
            .message = message,
            .context = context,
            .metadata = metadata,
        };
        r.message_len = random_bytes(&seed, message, sizeof message);
        if (r.time_ns == 0)
            r.time_ns = 1;

        char *got = encode(&r);
        char *want = oracle(&r);
        if (strcmp(got, want) != 0)
            fail_msg("round %d:\n  writer: %s  jansson: %s", round, got, want);
        free(got);
        free(want);
        json_decref(context);
        json_decref(metadata);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(timestamps_are_rfc3339_utc_with_microseconds),
        cmocka_unit_test(timestamps_agree_with_gmtime),
        cmocka_unit_test(every_key_in_the_documented_order),
        cmocka_unit_test(absent_keys_are_omitted),
        cmocka_unit_test(a_zero_time_means_now),
        cmocka_unit_test(control_characters_and_nul_are_escaped),
        cmocka_unit_test(well_formed_utf8_is_kept),
        cmocka_unit_test(ill_formed_utf8_becomes_backslash_x),
        cmocka_unit_test(every_string_field_is_made_safe),
        cmocka_unit_test(sequences_and_cuts),
        cmocka_unit_test(any_bytes_give_a_line_that_parses),
        cmocka_unit_test(the_writer_agrees_with_jansson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
