/*
 * fuzz_docker_stream.c - libFuzzer target for what the Docker Engine sends
 * the collector: log stream bodies (aggregator/docker_stream.h) and event
 * lines (aggregator/docker_events.h).
 *
 * The input is one option byte, up to four cut descriptors, then the body:
 *   byte 0       0x01: multiplexed (frames), else raw (a TTY's stream);
 *                0x02: also read every line of the body as an event
 *   bytes 1..4   where to cut the body into reads: each is a length - 1,
 *                used in turn (0xff: the rest)
 * The body is fed twice, whole and cut into those reads, each read a heap
 * copy of its exact size freed right after: the demultiplexer must keep
 * nothing it was given. Both runs must agree exactly (the same lines, in
 * the same streams with the same times, and the same verdict), since frame
 * and read boundaries are the engine's business and must never change what
 * ulogd writes. Each piece is checked against docker_stream.h's promises:
 * part of one line, never empty, a newline only as its last byte, which
 * ends the line; a line's time on every piece. An event line must parse or
 * be refused with a reason, and a record, when it makes one, must say
 * what docker_event_record promises.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytebuf.h"
#include "docker_events.h"
#include "docker_stream.h"
#include "fuzz_util.h"

struct run {
    struct bytebuf out;    /* per line: "STREAM TIME\n" and its text, however it was cut */
    bool open[2];          /* a line of stdout, stderr is under way */
    uint64_t time[2];
};

static void collect(void *ctx, const struct docker_piece *p)
{
    struct run *r = ctx;
    unsigned s = p->stream - 1u;

    FUZZ_CHECK(p->stream == DOCKER_STREAM_STDOUT || p->stream == DOCKER_STREAM_STDERR);
    FUZZ_CHECK(p->len > 0 && p->bytes != NULL);
    fuzz_touch(p->bytes, p->len);
    FUZZ_CHECK(p->time_ns != 0);
    FUZZ_CHECK(p->ends == (p->bytes[p->len - 1] == '\n'));
    FUZZ_CHECK(!memchr(p->bytes, '\n', p->len - 1));
    FUZZ_CHECK(p->starts == !r->open[s]);
    if (p->starts) {
        char head[32];
        int n = snprintf(head, sizeof head, "%u %llu\n", s, (unsigned long long)p->time_ns);
        bytebuf_append(&r->out, head, (size_t)n);
        r->time[s] = p->time_ns;
    }
    FUZZ_CHECK(r->time[s] == p->time_ns);
    bytebuf_append(&r->out, p->bytes, p->len);
    r->open[s] = !p->ends;
}

/* Feed `body` in reads cut by `cuts` (NULL: whole); false when it was refused. */
static bool feed(struct run *r, bool multiplexed, const uint8_t *body, size_t len,
                 const uint8_t *cuts, size_t ncuts, const char **error)
{
    struct docker_stream s;
    bool ok = true;

    docker_stream_init(&s, multiplexed, collect, r);
    for (size_t at = 0, i = 0; at < len && ok; i++) {
        size_t n = len - at;
        if (cuts && ncuts && cuts[i % ncuts] != 0xff && (size_t)cuts[i % ncuts] + 1 < n)
            n = (size_t)cuts[i % ncuts] + 1;
        char *copy = fuzz_copy(body + at, n);
        ok = docker_stream_feed(&s, (const unsigned char *)copy, n);
        free(copy);
        at += n;
    }
    FUZZ_CHECK(ok == (s.error == NULL));
    FUZZ_CHECK(s.engine_error_len <= DOCKER_STREAM_MAX_ERROR &&
               strlen(s.engine_error) <= s.engine_error_len);
    *error = s.error;
    return ok;
}

static void events(const uint8_t *body, size_t len)
{
    for (size_t at = 0; at < len;) {
        const uint8_t *eol = memchr(body + at, '\n', len - at);
        size_t n = eol ? (size_t)(eol - (body + at)) : len - at;
        char *line = fuzz_copy(body + at, n);
        struct docker_event ev;
        struct docker_event_record rec;
        char why[256] = "";
        if (docker_event_parse(line, n, &ev, why, sizeof why) != 0) {
            FUZZ_CHECK(why[0] != '\0' && ev.json == NULL);
        } else {
            FUZZ_CHECK(ev.json != NULL);
            if (ev.id[0]) {
                FUZZ_CHECK(strlen(ev.id) >= 12 && strlen(ev.short_id) == 12);
                FUZZ_CHECK(strspn(ev.id, "0123456789abcdef") == strlen(ev.id));
            }
            if (docker_event_describe(&ev, "fallback", &rec)) {
                FUZZ_CHECK(rec.event_type && !strncmp(rec.event_type, "container_", 10));
                FUZZ_CHECK(rec.message_len == strlen(rec.message) && rec.message_len > 0);
                FUZZ_CHECK(rec.level <= ULOG_CRITICAL);
                FUZZ_CHECK(!rec.metadata || json_is_object(rec.metadata));
                json_decref(rec.metadata);
            } else {
                FUZZ_CHECK(rec.metadata == NULL);
            }
            docker_event_clear(&ev);
        }
        free(line);
        at += n + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t options = size ? data[0] : 0;
    size_t ncuts = size > 1 ? (size - 1 < 4 ? size - 1 : 4) : 0;
    const uint8_t *cuts = data + 1, *body = data + 1 + ncuts;
    size_t len = size - (size ? 1 + ncuts : 0);
    bool multiplexed = options & 0x01;
    struct run whole = {BYTEBUF_INIT, {false, false}, {0, 0}};
    struct run cut = {BYTEBUF_INIT, {false, false}, {0, 0}};
    const char *error_whole, *error_cut;

    bool ok_whole = feed(&whole, multiplexed, body, len, NULL, 0, &error_whole);
    bool ok_cut = feed(&cut, multiplexed, body, len, cuts, ncuts, &error_cut);
    FUZZ_CHECK(ok_whole == ok_cut);
    FUZZ_CHECK(ok_whole || strcmp(error_whole, error_cut) == 0);
    FUZZ_CHECK(whole.out.len == cut.out.len &&
               (whole.out.len == 0 || memcmp(whole.out.data, cut.out.data, whole.out.len) == 0));
    bytebuf_free(&whole.out);
    bytebuf_free(&cut.out);
    if (options & 0x02)
        events(body, len);
    return 0;
}
