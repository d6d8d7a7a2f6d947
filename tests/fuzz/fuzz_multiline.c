/*
 * fuzz_multiline.c - libFuzzer target for the multiline stage
 * (aggregator/multiline.h) with every built-in format, as ulogd runs it.
 *
 * The input is text; its lines (split at '\n') are fed one by one, each in
 * a heap copy freed right after the call, since a line's bytes need only
 * live during multiline_feed. The last byte of the input is not text but
 * the options, XORed with '\n' so that a text file ending in a newline (the
 * seeds are real stack traces) runs with none:
 *   0x01  the lines alternate between two streams, so blocks interleave
 *   0x02  each line says its write goes on (more_in_write), as in
 *         "ERROR:root:failed" printed with its traceback in one write
 *   0x04  the fake clock jumps by up to 1.4 s a line, past the timeout
 *   0x08  small limits: 3 lines, 200 bytes a block
 *   0x10  every 16th line is a piece of a longer one (part 1), which no
 *         block may take
 *   0x20  the connection goes away in the middle (multiline_flush_set)
 * The emit callback checks what the stage promises: every line fed leaves
 * exactly once, in order per stream, joined by '\n' only within a block of
 * a known format, within the limits; and expiry never emits before
 * multiline_next_deadline.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "multiline.h"
#include "ulog/level.h"

#define MS 1000000ull
#define MAX_STREAMS 2

static struct multiline_formats *formats;
static uint64_t fake_now;

static uint64_t fake_clock(void)
{
    return fake_now;
}

/* The lines fed per stream, in order, and how many of them have left. */
struct fed {
    const char **text;
    size_t *len;
    size_t count, cap, emitted;
};

static struct {
    struct fed fed[MAX_STREAMS];
    size_t max_lines, max_bytes;
    int owner;
    size_t emits;
} run;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256];
    (void)argc;
    (void)argv;
    formats = multiline_formats_new();
    for (const char *const *name = multiline_builtin_names; *name; name++)
        FUZZ_CHECK(multiline_formats_add_builtin(formats, *name, err, sizeof err) == 0);
    return 0;
}

static void remember(struct fed *f, const char *text, size_t len)
{
    if (f->count == f->cap) {
        f->cap = f->cap ? 2 * f->cap : 64;
        f->text = realloc(f->text, f->cap * sizeof *f->text);
        f->len = realloc(f->len, f->cap * sizeof *f->len);
        FUZZ_CHECK(f->text && f->len);
    }
    f->text[f->count] = text;
    f->len[f->count++] = len;
}

static void emitted(void *ctx, void *owner, const struct line *line,
                    const struct multiline_out *out)
{
    (void)ctx;
    run.emits++;
    FUZZ_CHECK(owner == &run.owner);
    FUZZ_CHECK(line->len == 0 || line->bytes != NULL);
    fuzz_touch(line->bytes, line->len);
    FUZZ_CHECK(line->stream >= 1 && line->stream <= MAX_STREAMS);
    FUZZ_CHECK(line->part == 0 || out->format == NULL);
    FUZZ_CHECK(out->lines >= 1 && out->lines <= run.max_lines);
    if (out->format) {
        FUZZ_CHECK(out->level >= -1 && out->level < ULOG_LEVEL_COUNT);
        if (out->lines > 1)
            FUZZ_CHECK(line->len <= run.max_bytes);
        FUZZ_CHECK(line->len == 0 || line->bytes[line->len - 1] != '\n');
    } else {
        FUZZ_CHECK(out->lines == 1 && out->level == -1);
    }

    /* Exactly the next out->lines lines of its stream, joined by '\n'. */
    struct fed *f = &run.fed[line->stream - 1];
    const char *p = (const char *)line->bytes, *end = p + line->len;
    FUZZ_CHECK(f->emitted + out->lines <= f->count);
    for (unsigned i = 0; i < out->lines; i++) {
        size_t n = f->len[f->emitted];
        FUZZ_CHECK((size_t)(end - p) >= n && (n == 0 || memcmp(p, f->text[f->emitted], n) == 0));
        p += n;
        f->emitted++;
        if (i + 1 < out->lines) {
            FUZZ_CHECK(p < end && *p == '\n');
            p++;
        }
    }
    FUZZ_CHECK(p == end);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct multiline m;
    struct multiline_set set;
    unsigned options = size ? data[--size] ^ '\n' : 0;
    const char *text = (const char *)data, *end = text + size;

    memset(&run, 0, sizeof run);
    run.max_lines = options & 0x08 ? 3 : MULTILINE_DEFAULT_MAX_LINES;
    run.max_bytes = options & 0x08 ? 200 : MULTILINE_DEFAULT_MAX_BYTES;
    fake_now = 1000 * MS;
    multiline_init(&m, formats, 0, run.max_lines, run.max_bytes, fake_clock, emitted, NULL);
    multiline_set_init(&set, &run.owner);

    size_t index = 0;
    for (const char *p = text; p <= end; index++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        size_t len = (size_t)(stop - p);
        if (!nl && len == 0 && p > text)
            break; /* the text ended with '\n': no empty line after it */
        struct line line = {
            .time_ns = 1700000000000000000ull + index,
            .pid = 42,
            .kernel_pid = 42,
            .tid = 42,
            .stream = (uint8_t)(options & 0x01 ? 1 + (index & 1) : 1),
            .len = len,
            .more_in_write = (options & 0x02) && nl != NULL,
        };
        if ((options & 0x10) && index % 16 == 15)
            line.part = 1;
        remember(&run.fed[line.stream - 1], p, len);
        char *copy = fuzz_copy(p, len);
        line.bytes = (const unsigned char *)copy;
        multiline_feed(&m, &set, &line);
        free(copy);

        fake_now += options & 0x04 ? (uint64_t)(len % 8) * 200 * MS : 1 * MS;
        uint64_t deadline = multiline_next_deadline(&m);
        size_t before = run.emits;
        multiline_expire(&m);
        if (deadline > fake_now)
            FUZZ_CHECK(run.emits == before);
        if ((options & 0x20) && index == 8)
            multiline_flush_set(&m, &set);
        if (!nl)
            break;
        p = nl + 1;
    }
    multiline_flush_all(&m);
    FUZZ_CHECK(list_empty(&set.pending));
    for (int s = 0; s < MAX_STREAMS; s++) {
        FUZZ_CHECK(run.fed[s].emitted == run.fed[s].count);
        free(run.fed[s].text);
        free(run.fed[s].len);
    }
    multiline_free(&m);
    return 0;
}
