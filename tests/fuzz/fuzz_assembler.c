/*
 * fuzz_assembler.c - libFuzzer target for the line assembler
 * (aggregator/assembler.h): chunks in, lines out.
 *
 * The input is the options, up to eight chunk descriptors, then the bytes
 * the shim would send, cut into chunks by the descriptors in turn:
 *   byte 0       0x1f: max_line is 16 + this (16 is the least ulogd
 *                accepts), unless 0x20: 16384, the default; 0x40: the fake
 *                clock moves 100 ms a chunk (lines wait at most 250 ms),
 *                else 1 ms; 0x80: the connection goes away half-way
 *                (assembler_flush_set) and a new one sends the rest
 *   bytes 1..8   0x3f: the chunk's length - 1, 0x3f: all that is left;
 *                0x40: stderr, else stdout; 0x80: the second thread
 * Each chunk is a heap copy freed right after assembler_feed, since the
 * assembler must copy whatever it keeps. The emit callback checks what
 * assembler.h promises: lines within max_line without a newline, pieces
 * numbered 1, 2, ... with all but the last partial; and at the end, per
 * (thread, stream), the lines hold exactly the bytes sent, newlines aside
 * (and carriage returns, which may end a line).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bytebuf.h"
#include "fuzz_util.h"
#include "assembler.h"

#define MS 1000000ull
#define KEYS 4 /* two threads, two streams */
#define PID 42

static uint64_t fake_now;

static uint64_t fake_clock(void)
{
    return fake_now;
}

struct key_state {
    struct bytebuf sent, got; /* without '\n' and '\r' */
    unsigned next_part;       /* the piece expected next; 0: a new line */
};

static struct {
    struct key_state keys[KEYS];
    size_t max_line;
    void *owner;
    size_t emits;
} run;

static unsigned key_of(uint32_t tid, uint8_t stream)
{
    return (tid - 1) * 2 + (stream - 1);
}

static void keep_text(struct bytebuf *buf, const unsigned char *bytes, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (bytes[i] != '\n' && bytes[i] != '\r')
            bytebuf_append_byte(buf, (char)bytes[i]);
}

static void emitted(void *ctx, void *owner, const struct line *line)
{
    (void)ctx;
    run.emits++;
    FUZZ_CHECK(owner == run.owner);
    FUZZ_CHECK(line->len == 0 || line->bytes != NULL);
    fuzz_touch(line->bytes, line->len);
    FUZZ_CHECK(line->len <= run.max_line);
    FUZZ_CHECK(!memchr(line->bytes, '\n', line->len));
    FUZZ_CHECK(line->pid == PID && line->kernel_pid == PID);
    FUZZ_CHECK(line->tid >= 1 && line->tid <= 2 && line->stream >= 1 && line->stream <= 2);
    FUZZ_CHECK(!line->partial || line->part >= 1);
    FUZZ_CHECK(!line->more_in_write || (line->part == 0 && !line->partial));

    struct key_state *k = &run.keys[key_of(line->tid, line->stream)];
    if (k->next_part > 1)
        FUZZ_CHECK(line->part == k->next_part);
    else
        FUZZ_CHECK(line->part <= 1);
    k->next_part = line->partial ? line->part + 1 : 0;
    keep_text(&k->got, line->bytes, line->len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct assembler a;
    struct line_set sets[2];
    int owners[2];
    uint8_t options = size ? data[0] : 0;
    size_t ndesc = size > 1 ? (size - 1 < 8 ? size - 1 : 8) : 0;
    const uint8_t *desc = data + 1, *p = data + 1 + ndesc, *end = data + size;
    int current = 0;

    memset(&run, 0, sizeof run);
    run.max_line = options & 0x20 ? 16384 : 16 + (options & 0x1f);
    fake_now = 1000 * MS;
    assembler_init(&a, run.max_line, ASSEMBLER_PARTIAL_LINE_TIMEOUT_NS, fake_clock, emitted,
                   NULL);
    line_set_init(&sets[0], &owners[0]);
    line_set_init(&sets[1], &owners[1]);
    run.owner = &owners[0];

    for (size_t i = 0; p < end; i++) {
        uint8_t d = ndesc ? desc[i % ndesc] : 0x3f;
        size_t len = (d & 0x3f) == 0x3f ? (size_t)(end - p) : (size_t)(d & 0x3f) + 1;
        if (len > (size_t)(end - p))
            len = (size_t)(end - p);
        unsigned char *copy = (unsigned char *)fuzz_copy(p, len);
        struct chunk chunk = {
            .time_ns = 1700000000000000000ull + i,
            .pid = PID,
            .kernel_pid = PID,
            .tid = d & 0x80 ? 2 : 1,
            .stream = d & 0x40 ? 2 : 1,
            .bytes = copy,
            .len = len,
        };
        keep_text(&run.keys[key_of(chunk.tid, chunk.stream)].sent, copy, len);
        assembler_feed(&a, &sets[current], &chunk);
        free(copy);
        p += len;

        fake_now += options & 0x40 ? 100 * MS : 1 * MS;
        uint64_t deadline = assembler_next_deadline(&a);
        size_t before = run.emits;
        assembler_expire(&a);
        if (deadline > fake_now)
            FUZZ_CHECK(run.emits == before);
        if ((options & 0x80) && current == 0 && p - data >= (end - data) / 2) {
            assembler_flush_set(&a, &sets[0]);
            FUZZ_CHECK(list_empty(&sets[0].pending) && sets[0].count == 0);
            current = 1;
            run.owner = &owners[1];
        }
    }
    assembler_flush_set(&a, &sets[current]);
    FUZZ_CHECK(list_empty(&sets[current].pending) && sets[current].count == 0);
    FUZZ_CHECK(assembler_next_deadline(&a) == UINT64_MAX);
    for (int k = 0; k < KEYS; k++) {
        struct key_state *s = &run.keys[k];
        FUZZ_CHECK(s->next_part == 0); /* no line left with pieces missing */
        FUZZ_CHECK(s->sent.len == s->got.len &&
                   (s->sent.len == 0 || memcmp(s->sent.data, s->got.data, s->sent.len) == 0));
        bytebuf_free(&s->sent);
        bytebuf_free(&s->got);
    }
    assembler_free(&a);
    return 0;
}
