/*
 * docker_stream.c - a container's log stream into timestamped pieces of
 * lines (see docker_stream.h).
 *
 * Two small state machines, one inside the other: frames (header, then
 * payload) around lines (timestamp, then text up to the newline), each line
 * state kept per output stream, since stdout's frames and stderr's
 * interleave and either may stop in the middle of a line.
 */
#include "docker_stream.h"

#include <string.h>

#include "timestamp.h"

void docker_stream_init(struct docker_stream *s, bool multiplexed, docker_piece_fn *emit,
                        void *ctx)
{
    memset(s, 0, sizeof *s);
    s->multiplexed = multiplexed;
    s->emit = emit;
    s->ctx = ctx;
}

uint64_t docker_stream_parse_time(const char *text, size_t len)
{
    /* RFC 3339 only: timestamp_parse_text would also take an epoch number. */
    if (len < 20 || text[4] != '-' || text[10] != 'T')
        return 0;
    return timestamp_parse_text(text, len);
}

static bool fail(struct docker_stream *s, const char *why)
{
    s->error = why;
    return false;
}

/* Text of one output stream: timestamps stripped, pieces emitted. */
static bool take_text(struct docker_stream *s, uint8_t stream, const unsigned char *p, size_t n)
{
    struct docker_line_state *ls = &s->lines[stream - 1];

    while (n) {
        if (!ls->in_text) {
            /* The timestamp, up to its space (a newline: an empty line). */
            size_t i = 0;
            while (i < n && p[i] != ' ' && p[i] != '\n') {
                if (ls->stamp_len == sizeof ls->stamp)
                    return fail(s, "a log line does not start with its timestamp");
                ls->stamp[ls->stamp_len++] = (char)p[i++];
            }
            if (i == n)
                return true; /* the rest of the timestamp is still to come */
            ls->time_ns = docker_stream_parse_time(ls->stamp, ls->stamp_len);
            if (!ls->time_ns)
                return fail(s, "a log line does not start with its timestamp");
            ls->in_text = true;
            ls->started = false;
            ls->stamp_len = 0;
            if (p[i] == ' ')
                i++; /* the separator; a newline stays: it ends the (empty) line */
            p += i;
            n -= i;
            continue;
        }
        const unsigned char *newline = memchr(p, '\n', n);
        size_t len = newline ? (size_t)(newline - p) + 1 : n;
        struct docker_piece piece = {
            .stream = stream,
            .time_ns = ls->time_ns,
            .bytes = p,
            .len = len,
            .starts = !ls->started,
            .ends = newline != NULL,
        };
        ls->started = true;
        if (newline)
            ls->in_text = false;
        s->emit(s->ctx, &piece);
        p += len;
        n -= len;
    }
    return true;
}

/* An error frame's payload: kept (bounded) to say what the engine said. */
static void take_engine_error(struct docker_stream *s, const unsigned char *p, size_t n)
{
    size_t room = DOCKER_STREAM_MAX_ERROR - s->engine_error_len;
    if (n > room)
        n = room;
    memcpy(s->engine_error + s->engine_error_len, p, n);
    s->engine_error_len += n;
    s->engine_error[s->engine_error_len] = '\0';
}

bool docker_stream_feed(struct docker_stream *s, const unsigned char *p, size_t n)
{
    if (s->error)
        return false;
    if (!s->multiplexed)
        return take_text(s, DOCKER_STREAM_STDOUT, p, n);
    while (n) {
        if (s->frame_left == 0 && s->header_len < sizeof s->header) {
            size_t take = sizeof s->header - s->header_len;
            if (take > n)
                take = n;
            memcpy(s->header + s->header_len, p, take);
            s->header_len += take;
            p += take;
            n -= take;
            if (s->header_len < sizeof s->header)
                return true;
            const unsigned char *h = s->header;
            if (h[1] || h[2] || h[3] || h[0] > 3)
                return fail(s, "a log frame header is malformed");
            uint32_t size = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 |
                            (uint32_t)h[7];
            if (size > DOCKER_STREAM_MAX_FRAME)
                return fail(s, "a log frame is longer than 16 MiB");
            /* Stream 0 (stdin) is never logged; docker's own reader takes it as stdout. */
            s->frame_stream = h[0] ? h[0] : DOCKER_STREAM_STDOUT;
            s->frame_left = size;
            s->header_len = size ? sizeof s->header : 0;
            if (size == 0 && s->frame_stream == 3)
                return fail(s, "the engine reported an error in the log stream");
            continue;
        }
        size_t take = s->frame_left < n ? s->frame_left : n;
        if (s->frame_stream == 3)
            take_engine_error(s, p, take);
        else if (!take_text(s, s->frame_stream, p, take))
            return false;
        p += take;
        n -= take;
        s->frame_left -= (uint32_t)take;
        if (s->frame_left == 0) {
            s->header_len = 0;
            if (s->frame_stream == 3)
                return fail(s, "the engine reported an error in the log stream");
        }
    }
    return true;
}

bool docker_stream_ended_cleanly(const struct docker_stream *s)
{
    return !s->error && s->frame_left == 0 && (s->header_len == 0 || !s->multiplexed);
}
