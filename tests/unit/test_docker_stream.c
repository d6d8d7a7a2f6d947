/*
 * test_docker_stream.c - the Docker Engine's log streams into timestamped
 * pieces of lines (aggregator/docker_stream.c).
 *
 * The bodies are built as the engine writes them (an 8-byte header per
 * frame, an RFC 3339 time and a space before every line), then fed whole,
 * a byte at a time, and cut at every offset: what comes out must be the
 * same lines, with the same times and streams, however the bytes arrive.
 * The malformed cases are those the contract names (padding, stream type,
 * length above 16 MiB, a line without its time, an error frame).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bytebuf.h"
#include "docker_stream.h"

#define T1 "2026-11-21T14:22:18.214521123Z"
#define T1_NS 1795270938214521123ull
#define T2 "2026-11-21T14:22:19.000000001Z"
#define T2_NS 1795270939000000001ull

/* What came out: "stream|time|text\n" per line, the pieces of a line joined. */
struct collected {
    struct bytebuf text;
    struct bytebuf line[2];
    uint64_t time[2];
    unsigned pieces, lines;
};

static void collect(void *ctx, const struct docker_piece *p)
{
    struct collected *out = ctx;
    struct bytebuf *line = &out->line[p->stream - 1];

    assert_true(p->stream == 1 || p->stream == 2);
    assert_true(p->len > 0);
    out->pieces++;
    if (p->starts) {
        assert_int_equal(line->len, 0);
        out->time[p->stream - 1] = p->time_ns;
    } else {
        assert_true(out->time[p->stream - 1] == p->time_ns); /* every piece keeps its line's time */
    }
    assert_int_equal(p->ends, p->bytes[p->len - 1] == '\n');
    assert_null(memchr(p->bytes, '\n', p->len - p->ends));
    bytebuf_append(line, p->bytes, p->len);
    if (p->ends) {
        char head[64];
        int n = snprintf(head, sizeof head, "%d|%llu|", p->stream,
                         (unsigned long long)p->time_ns);
        bytebuf_append(&out->text, head, (size_t)n);
        bytebuf_append(&out->text, line->data, line->len);
        line->len = 0;
        out->lines++;
    }
}

static void collected_free(struct collected *c)
{
    bytebuf_free(&c->text);
    bytebuf_free(&c->line[0]);
    bytebuf_free(&c->line[1]);
}

static void frame(struct bytebuf *body, uint8_t stream, const char *payload, size_t len)
{
    unsigned char header[8] = {stream, 0, 0, 0, (unsigned char)(len >> 24),
                               (unsigned char)(len >> 16), (unsigned char)(len >> 8),
                               (unsigned char)len};
    bytebuf_append(body, header, sizeof header);
    bytebuf_append(body, payload, len);
}

static void frame_text(struct bytebuf *body, uint8_t stream, const char *payload)
{
    frame(body, stream, payload, strlen(payload));
}

/* Feed `body` in pieces of `step` bytes (0: whole); the text collected, or NULL if refused. */
static char *run(bool multiplexed, const struct bytebuf *body, size_t step, const char **error)
{
    struct collected out = {0};
    struct docker_stream s;
    bool ok = true;

    docker_stream_init(&s, multiplexed, collect, &out);
    for (size_t at = 0; at < body->len && ok;) {
        size_t n = step && step < body->len - at ? step : body->len - at;
        ok = docker_stream_feed(&s, (const unsigned char *)body->data + at, n);
        at += n;
    }
    if (error)
        *error = s.error;
    char *text = NULL;
    if (ok) {
        text = calloc(1, out.text.len + 1);
        memcpy(text, out.text.data ? out.text.data : "", out.text.len);
    }
    collected_free(&out);
    return text;
}

/* Whole, a byte at a time, and cut in two at every offset: the same lines. */
static void assert_lines(bool multiplexed, const struct bytebuf *body, const char *expected)
{
    for (size_t step = 0; step <= 3; step++) {
        char *got = run(multiplexed, body, step, NULL);
        assert_non_null(got);
        assert_string_equal(got, expected);
        free(got);
    }
    for (size_t cut = 1; cut < body->len; cut++) {
        struct collected out = {0};
        struct docker_stream s;
        docker_stream_init(&s, multiplexed, collect, &out);
        assert_true(docker_stream_feed(&s, (const unsigned char *)body->data, cut));
        assert_true(docker_stream_feed(&s, (const unsigned char *)body->data + cut,
                                       body->len - cut));
        assert_int_equal(out.text.len, strlen(expected));
        assert_memory_equal(out.text.data, expected, out.text.len);
        assert_true(docker_stream_ended_cleanly(&s));
        collected_free(&out);
    }
}

static void multiplexed_lines_lose_their_timestamps(void **state)
{
    struct bytebuf body = BYTEBUF_INIT;
    (void)state;

    frame_text(&body, 1, T1 " hello\n");
    frame_text(&body, 2, T2 " oops on stderr\n");
    assert_lines(true, &body,
                 "1|1795270938214521123|hello\n"
                 "2|1795270939000000001|oops on stderr\n");
    bytebuf_free(&body);
}

static void frames_cut_lines_anywhere(void **state)
{
    struct bytebuf body = BYTEBUF_INIT;
    (void)state;

    /* A frame ending inside a timestamp, one holding the rest, a whole line and half a
     * line, and stderr's line interleaved between the halves of stdout's. */
    frame_text(&body, 1, "2026-11-21T14:22:18.2145");
    frame_text(&body, 1, "21123Z first\n" T2 " sec");
    frame_text(&body, 2, T1 " err\n");
    frame_text(&body, 1, "ond\n");
    frame(&body, 1, "", 0); /* an empty frame is nothing */
    assert_lines(true, &body,
                 "1|1795270938214521123|first\n"
                 "2|1795270938214521123|err\n"
                 "1|1795270939000000001|second\n");
    bytebuf_free(&body);
}

static void raw_stream_is_stdout(void **state)
{
    struct bytebuf body = BYTEBUF_INIT;
    (void)state;

    static const char raw[] = T1 " tty line\r\n" T2 " \n" T2 "\n";
    bytebuf_append(&body, raw, sizeof raw - 1);
    /* The \r stays for the assembler; an empty line, with or without its space. */
    assert_lines(false, &body,
                 "1|1795270938214521123|tty line\r\n"
                 "1|1795270939000000001|\n"
                 "1|1795270939000000001|\n");
    bytebuf_free(&body);
}

static void a_line_may_hold_any_bytes(void **state)
{
    struct bytebuf body = BYTEBUF_INIT;
    static const char payload[] = T1 " bytes \xff\xfe and a NUL \0 here\n";
    (void)state;

    frame(&body, 1, payload, sizeof payload - 1);
    char *got = run(true, &body, 1, NULL);
    assert_non_null(got);
    assert_memory_equal(got, "1|1795270938214521123|bytes \xff\xfe and a NUL \0 here\n",
                        sizeof "1|1795270938214521123|bytes \xff\xfe and a NUL \0 here\n" - 1);
    free(got);
    bytebuf_free(&body);
}

static void assert_refused(bool multiplexed, const struct bytebuf *body, const char *why)
{
    const char *error = NULL;
    for (size_t step = 0; step <= 1; step++) {
        char *got = run(multiplexed, body, step, &error);
        assert_null(got);
        assert_non_null(error);
        assert_non_null(strstr(error, why));
    }
}

static void malformed_frames_are_refused(void **state)
{
    struct bytebuf body = BYTEBUF_INIT;
    (void)state;

    frame_text(&body, 1, T1 " fine\n");
    bytebuf_append(&body, "\x01\x00\x01\x00\x00\x00\x00\x05hello", 13); /* padding not zero */
    assert_refused(true, &body, "header is malformed");

    body.len = 0;
    bytebuf_append(&body, "\x09\x00\x00\x00\x00\x00\x00\x05hello", 13); /* no stream 9 */
    assert_refused(true, &body, "header is malformed");

    body.len = 0;
    bytebuf_append(&body, "\x01\x00\x00\x00\x01\x00\x00\x01", 8); /* 16 MiB + 1 */
    assert_refused(true, &body, "longer than 16 MiB");

    body.len = 0;
    frame_text(&body, 3, "read /var/lib/docker/containers/x.log: input/output error");
    struct collected out = {0};
    struct docker_stream s;
    docker_stream_init(&s, true, collect, &out);
    assert_false(docker_stream_feed(&s, (const unsigned char *)body.data, body.len));
    assert_non_null(strstr(s.error, "reported an error"));
    assert_string_equal(s.engine_error, "read /var/lib/docker/containers/x.log: input/output error");
    /* Nothing is taken after a fault. */
    assert_false(docker_stream_feed(&s, (const unsigned char *)"x", 1));
    assert_int_equal(out.pieces, 0);
    collected_free(&out);
    bytebuf_free(&body);
}

static void lines_without_a_timestamp_are_refused(void **state)
{
    struct bytebuf body = BYTEBUF_INIT;
    (void)state;

    frame_text(&body, 1, "hello world\n");
    assert_refused(true, &body, "timestamp");
    body.len = 0;
    frame_text(&body, 1, "0123456789012345678901234567890123456789012345 long\n");
    assert_refused(true, &body, "timestamp");
    body.len = 0;
    bytebuf_append(&body, "1795357338 epoch\n", 17); /* a number is not the engine's time */
    assert_refused(false, &body, "timestamp");
    bytebuf_free(&body);
}

static void a_body_cut_inside_a_frame_did_not_end_cleanly(void **state)
{
    struct collected out = {0};
    struct docker_stream s;
    (void)state;

    docker_stream_init(&s, true, collect, &out);
    assert_true(docker_stream_ended_cleanly(&s));
    assert_true(docker_stream_feed(&s, (const unsigned char *)"\x01\x00\x00\x00", 4));
    assert_false(docker_stream_ended_cleanly(&s));
    assert_true(docker_stream_feed(&s, (const unsigned char *)"\x00\x00\x00\x04" "201", 7));
    assert_false(docker_stream_ended_cleanly(&s));
    collected_free(&out);
}

static void times_are_rfc3339_only(void **state)
{
    (void)state;
    assert_true(docker_stream_parse_time(T1, strlen(T1)) == T1_NS);
    assert_true(docker_stream_parse_time(T2, strlen(T2)) == T2_NS);
    /* An offset, fewer digits: still the same instant. */
    assert_true(docker_stream_parse_time("2026-11-21T15:22:18.214521123+01:00", 35) == T1_NS);
    assert_true(docker_stream_parse_time("2026-11-21T14:22:18Z", 20) == 1795270938000000000ull);
    assert_true(docker_stream_parse_time("1795357338.5", 12) == 0);
    assert_true(docker_stream_parse_time("2026-11-21 14:22:18Z", 20) == 0);
    assert_true(docker_stream_parse_time("0001-01-01T00:00:00Z", 20) == 0);
    assert_true(docker_stream_parse_time("2026-11-21T14:22:18", 19) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(multiplexed_lines_lose_their_timestamps),
        cmocka_unit_test(frames_cut_lines_anywhere),
        cmocka_unit_test(raw_stream_is_stdout),
        cmocka_unit_test(a_line_may_hold_any_bytes),
        cmocka_unit_test(malformed_frames_are_refused),
        cmocka_unit_test(lines_without_a_timestamp_are_refused),
        cmocka_unit_test(a_body_cut_inside_a_frame_did_not_end_cleanly),
        cmocka_unit_test(times_are_rfc3339_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
