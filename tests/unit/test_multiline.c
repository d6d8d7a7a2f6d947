/*
 * test_multiline.c - lines in, stack traces out as one record (aggregator/multiline.c).
 *
 * The built-in formats are tested against real output of python3, java,
 * go, node and the gcc sanitizers, kept in tests/fixtures/multiline/ (its
 * README.md says how each was produced); the tests read them at run time,
 * from the repository root. Each fixture is fed line by line, as a program
 * writing one line per write() would, and the records that come out are
 * compared with the blocks a reader sees in the file. The clock is a
 * variable moved by hand, so timeouts are exact.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "multiline.h"
#include "ulog/level.h"

#define MS 1000000ull

static uint64_t fake_now;

static uint64_t fake_clock(void)
{
    return fake_now;
}

struct record {
    char *text;
    struct line line;
    struct multiline_out out;
    void *owner;
    const unsigned char *bytes; /* as emitted, to spot lines passed without a copy */
};

static struct record records[4096];
static size_t record_count;

static void capture(void *ctx, void *owner, const struct line *line,
                    const struct multiline_out *out)
{
    (void)ctx;
    assert_true(record_count < sizeof records / sizeof records[0]);
    struct record *r = &records[record_count++];
    r->text = malloc(line->len + 1);
    assert_non_null(r->text);
    memcpy(r->text, line->bytes, line->len);
    r->text[line->len] = '\0';
    r->line = *line;
    r->out = *out;
    r->owner = owner;
    r->bytes = line->bytes;
}

struct fixture {
    struct multiline_formats *formats;
    struct multiline ml;
    struct multiline_set set;
    int owner;
    /* for the tests that go through the assembler */
    struct assembler assembler;
    struct line_set lines;
};

static void from_assembler(void *ctx, void *owner, const struct line *line)
{
    struct fixture *f = ctx;
    multiline_feed(&f->ml, owner, line);
}

static int setup_limits(void **state, size_t max_lines, size_t max_bytes)
{
    struct fixture *f = calloc(1, sizeof *f);
    char err[256];
    assert_non_null(f);
    fake_now = 1000 * MS;
    record_count = 0;
    f->formats = multiline_formats_new();
    for (const char *const *name = multiline_builtin_names; *name; name++)
        assert_int_equal(multiline_formats_add_builtin(f->formats, *name, err, sizeof err), 0);
    multiline_init(&f->ml, f->formats, 0, max_lines, max_bytes, fake_clock, capture, NULL);
    multiline_set_init(&f->set, &f->owner);
    assembler_init(&f->assembler, 16384, 250 * MS, fake_clock, from_assembler, f);
    line_set_init(&f->lines, &f->set);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_limits(state, 0, 0);
}

static int setup_three_lines(void **state)
{
    return setup_limits(state, 3, 0);
}

static int setup_small_bytes(void **state)
{
    return setup_limits(state, 0, 200);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    assembler_flush_set(&f->assembler, &f->lines);
    assembler_free(&f->assembler);
    multiline_flush_all(&f->ml);
    multiline_free(&f->ml);
    multiline_formats_free(f->formats);
    for (size_t i = 0; i < record_count; i++)
        free(records[i].text);
    free(f);
    return 0;
}

/* ---- feeding ------------------------------------------------------------- */

static void feed_key(struct fixture *f, uint32_t tid, uint8_t stream, const char *text,
                     size_t len, bool more)
{
    /* A heap copy of exactly len bytes: ASan catches a read past the line. */
    unsigned char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, text, len);
    struct line line = {
        .time_ns = fake_now,
        .pid = 1000042,
        .kernel_pid = 42,
        .tid = tid,
        .stream = stream,
        .bytes = copy,
        .len = len,
        .more_in_write = more,
    };
    multiline_feed(&f->ml, &f->set, &line);
    free(copy);
}

static void feed(struct fixture *f, const char *text)
{
    feed_key(f, 7, 2, text, strlen(text), false);
}

static void feed_more(struct fixture *f, const char *text)
{
    feed_key(f, 7, 2, text, strlen(text), true);
}

/* One write() of `text`, through the assembler. */
static void write_chunk(struct fixture *f, const char *text)
{
    struct chunk chunk = {
        .time_ns = fake_now,
        .pid = 1000042,
        .kernel_pid = 42,
        .tid = 7,
        .stream = 2,
        .bytes = (const unsigned char *)text,
        .len = strlen(text),
    };
    assembler_feed(&f->assembler, &f->lines, &chunk);
}

struct text_lines {
    char *data;
    char *line[512];
    size_t count;
};

static void load(struct text_lines *t, const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "tests/fixtures/multiline/%s", name);
    FILE *file = fopen(path, "rb");
    if (!file)
        fail_msg("cannot open %s (run the tests from the repository root)", path);
    t->data = calloc(1, 65536);
    assert_non_null(t->data);
    size_t len = fread(t->data, 1, 65535, file);
    fclose(file);
    assert_true(len > 0 && len < 65535);
    assert_true(t->data[len - 1] == '\n');
    t->count = 0;
    for (char *s = t->data; s < t->data + len;) {
        char *nl = strchr(s, '\n');
        *nl = '\0';
        assert_true(t->count < 512);
        t->line[t->count++] = s;
        s = nl + 1;
    }
}

/* The file's lines first..first+count-1 as a record would hold them. */
static char *joined(const struct text_lines *t, size_t first, size_t count)
{
    size_t len = 0;
    for (size_t i = first; i < first + count; i++)
        len += strlen(t->line[i]) + 1;
    char *s = calloc(1, len + 1);
    assert_non_null(s);
    for (size_t i = first; i < first + count; i++) {
        if (i > first)
            strcat(s, "\n");
        strcat(s, t->line[i]);
    }
    return s;
}

struct span {
    size_t first, count;
    const char *format; /* NULL: a single line */
};

static void assert_record(size_t index, const char *text, unsigned lines, const char *format)
{
    assert_true(index < record_count);
    const struct record *r = &records[index];
    assert_string_equal(r->text, text);
    assert_int_equal(r->line.len, strlen(text));
    assert_int_equal(r->out.lines, lines);
    if (format) {
        assert_non_null(r->out.format);
        assert_string_equal(r->out.format, format);
        assert_int_equal(r->out.level, ULOG_ERROR);
    } else {
        assert_null(r->out.format);
        assert_int_equal(r->out.level, -1);
    }
    assert_int_equal(r->line.part, 0);
    assert_false(r->line.partial);
    assert_false(r->line.more_in_write);
}

static void assert_spans(const struct text_lines *t, const struct span *spans, size_t n)
{
    size_t covered = 0;
    assert_int_equal(record_count, n);
    for (size_t i = 0; i < n; i++) {
        char *text = joined(t, spans[i].first, spans[i].count);
        assert_int_equal(spans[i].first, covered);
        assert_record(i, text, (unsigned)spans[i].count, spans[i].format);
        free(text);
        covered += spans[i].count;
    }
    assert_int_equal(covered, t->count);
}

/* Every line of the fixture as a write of its own, then the connection goes. */
static void check_fixture(void **state, const char *name, const struct span *spans, size_t n)
{
    struct fixture *f = *state;
    struct text_lines t;

    load(&t, name);
    for (size_t i = 0; i < t.count; i++) {
        feed(f, t.line[i]);
        fake_now += MS; /* a trace is printed faster than the timeout */
    }
    multiline_flush_set(&f->ml, &f->set);
    assert_spans(&t, spans, n);
    for (size_t i = 0; i < record_count; i++) {
        assert_ptr_equal(records[i].owner, &f->owner);
        assert_int_equal(records[i].line.kernel_pid, 42);
        assert_int_equal(records[i].line.pid, 1000042);
        assert_int_equal(records[i].line.tid, 7);
        assert_int_equal(records[i].line.stream, 2);
        /* the time of the record's first line */
        assert_int_equal(records[i].line.time_ns, 1000 * MS + spans[i].first * MS);
    }
    assert_int_equal(multiline_next_deadline(&f->ml), UINT64_MAX);
    free(t.data);
}

#define CHECK(state, name, ...)                                                                   \
    do {                                                                                          \
        const struct span spans[] = {__VA_ARGS__};                                                \
        check_fixture(state, name, spans, sizeof spans / sizeof spans[0]);                        \
    } while (0)

/* ---- the built-in formats on real output ---------------------------------- */

static void python_chained_exceptions_are_one_record(void **state)
{
    CHECK(state, "python_chained.txt", {0, 36, "python"});
}

static void python_exception_group_is_one_record(void **state)
{
    CHECK(state, "python_exception_group.txt", {0, 19, "python"});
}

static void python_logging_exception_written_line_by_line(void **state)
{
    /* Without the write boundary the logger line cannot be told to belong. */
    CHECK(state, "python_logging_exception.txt", {0, 1, NULL}, {1, 7, "python"}, {8, 1, NULL});
}

static void java_caused_by_suppressed_and_uncaught(void **state)
{
    CHECK(state, "java_caused_by.txt", {0, 1, NULL}, {1, 14, "java"}, {15, 3, "java"},
          {18, 2, "java"});
}

static void go_panic_in_a_goroutine(void **state)
{
    CHECK(state, "go_panic.txt", {0, 1, NULL}, {1, 9, "go"});
}

static void go_nil_pointer_with_signal_line(void **state)
{
    CHECK(state, "go_nil_pointer.txt", {0, 8, "go"});
}

static void go_fatal_error_deadlock(void **state)
{
    CHECK(state, "go_deadlock.txt", {0, 5, "go"});
}

static void go_sigquit_dump_with_registers(void **state)
{
    CHECK(state, "go_sigquit.txt", {0, 1, NULL}, {1, 136, "go"});
}

static void node_console_error_then_uncaught_exception(void **state)
{
    CHECK(state, "node_console_error_and_uncaught.txt", {0, 11, "node"}, {11, 1, NULL},
          {12, 14, "node"});
}

static void node_uncaught_exception(void **state)
{
    CHECK(state, "node_uncaught.txt", {0, 15, "node"});
}

static void node_uncaught_exception_with_cause(void **state)
{
    CHECK(state, "node_uncaught_cause.txt", {0, 23, "node"});
}

static void asan_report_to_aborting(void **state)
{
    CHECK(state, "asan_heap_overflow.txt", {0, 1, NULL}, {1, 48, "sanitizer"});
}

static void lsan_report_to_summary(void **state)
{
    CHECK(state, "lsan_leak.txt", {0, 1, NULL}, {1, 16, "sanitizer"});
}

static void tsan_report_between_rulers(void **state)
{
    CHECK(state, "tsan_race.txt", {0, 16, "sanitizer"}, {16, 1, NULL});
}

static void ubsan_lines_without_stack_stay_single(void **state)
{
    CHECK(state, "ubsan.txt", {0, 1, NULL}, {1, 1, NULL});
}

static void ubsan_with_stack_traces(void **state)
{
    CHECK(state, "ubsan_stacktrace.txt", {0, 6, "sanitizer"}, {6, 1, NULL}, {7, 5, "sanitizer"},
          {12, 1, NULL});
}

/* ---- leads: the line a log call printed just before its trace ------------- */

static void a_log_line_and_its_traceback_in_one_write_are_one_record(void **state)
{
    struct fixture *f = *state;
    struct text_lines t;

    load(&t, "python_logging_exception.txt");
    char *event = joined(&t, 0, 8);
    char *write1 = malloc(strlen(event) + 2);
    assert_non_null(write1);
    sprintf(write1, "%s\n", event);
    write_chunk(f, write1); /* what logging.exception() writes */
    fake_now += 5 * MS;
    write_chunk(f, "WARNING:root:carrying on\n");
    multiline_flush_set(&f->ml, &f->set);
    assert_int_equal(record_count, 2);
    assert_record(0, event, 8, "python");
    assert_record(1, "WARNING:root:carrying on", 1, NULL);
    assert_int_equal(records[0].line.time_ns, 1000 * MS);
    assert_int_equal(records[1].line.time_ns, 1005 * MS);
    free(write1);
    free(event);
    free(t.data);
}

static void a_logback_line_and_its_exception_in_one_write(void **state)
{
    struct fixture *f = *state;
    struct text_lines t;

    load(&t, "java_caused_by.txt");
    char *event = joined(&t, 0, 15);
    char *chunk = malloc(strlen(event) + 2);
    assert_non_null(chunk);
    sprintf(chunk, "%s\n", event);
    write_chunk(f, chunk);
    multiline_flush_set(&f->ml, &f->set);
    assert_int_equal(record_count, 1);
    assert_record(0, event, 15, "java");
    free(chunk);
    free(event);
    free(t.data);
}

static void a_lead_not_followed_by_a_block_leaves_alone_at_once(void **state)
{
    struct fixture *f = *state;
    write_chunk(f, "one\ntwo\nthree\n");
    assert_int_equal(record_count, 3);
    assert_record(0, "one", 1, NULL);
    assert_record(1, "two", 1, NULL);
    assert_record(2, "three", 1, NULL);
    assert_int_equal(multiline_next_deadline(&f->ml), UINT64_MAX);
}

static void a_lead_never_waits_for_the_timeout(void **state)
{
    struct fixture *f = *state;
    feed_more(f, "held for its follower");
    assert_int_equal(record_count, 0);
    assert_int_equal(multiline_next_deadline(&f->ml), fake_now); /* due now */
    multiline_expire(&f->ml);
    assert_int_equal(record_count, 1);
    assert_record(0, "held for its follower", 1, NULL);
    assert_int_equal(multiline_next_deadline(&f->ml), UINT64_MAX);
}

static void a_lead_and_a_start_line_with_nothing_after_stay_two_lines(void **state)
{
    struct fixture *f = *state;
    feed_more(f, "Results");
    fake_now += MS;
    feed(f, "==================");
    fake_now += MS;
    feed(f, "total 3");
    assert_int_equal(record_count, 3);
    assert_record(0, "Results", 1, NULL);
    assert_int_equal(records[0].line.time_ns, 1000 * MS);
    assert_record(1, "==================", 1, NULL);
    assert_int_equal(records[1].line.time_ns, 1001 * MS);
    assert_record(2, "total 3", 1, NULL);
}

static void an_empty_line_is_never_a_lead(void **state)
{
    struct fixture *f = *state;
    feed_more(f, "");
    assert_int_equal(record_count, 1);
    assert_record(0, "", 1, NULL);
    feed(f, "Traceback (most recent call last):");
    feed(f, "  File \"x.py\", line 1, in <module>");
    feed(f, "ValueError: bad");
    multiline_flush_set(&f->ml, &f->set);
    assert_int_equal(record_count, 2);
    assert_record(1,
                  "Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>\n"
                  "ValueError: bad",
                  3, "python");
}

/* ---- what must not join --------------------------------------------------- */

static void near_misses_stay_single_lines(void **state)
{
    struct fixture *f = *state;
    static const char *const lines[] = {
        "no errors found",
        "Error handling improved",
        "Errors: 0",
        "recovered from panic: boom",
        "==========",
        "    at the end of the day",
        "com.example.Main: started",
        "Traceback (most recent call last):",
        "hello",
        "Error: file not found",
        "next line",
        "==================",
        "plain text after a ruler",
        "goroutine 1 [running]:",
        "",
        "panic: boom",
        "not a goroutine",
        "/srv/app/index.js:12",
        "const x = 1;",
        "no caret here",
        "java.lang.IllegalStateException: boom",
        "Caused by nothing",
        "ValueError: bad",
        "    indented, but no traceback is open",
    };
    size_t n = sizeof lines / sizeof lines[0];
    for (size_t i = 0; i < n; i++)
        feed(f, lines[i]);
    multiline_flush_set(&f->ml, &f->set);
    assert_int_equal(record_count, n);
    for (size_t i = 0; i < n; i++)
        assert_record(i, lines[i], 1, NULL);
}

static void a_plain_line_passes_without_a_copy(void **state)
{
    struct fixture *f = *state;
    const char *text = "GET /health 200";
    struct line line = {.time_ns = 5, .kernel_pid = 42, .tid = 7, .stream = 1,
                        .bytes = (const unsigned char *)text, .len = strlen(text),
                        .more_in_write = false};
    multiline_feed(&f->ml, &f->set, &line);
    assert_int_equal(record_count, 1);
    assert_ptr_equal(records[0].bytes, text);
    assert_record(0, text, 1, NULL);
    assert_int_equal(multiline_next_deadline(&f->ml), UINT64_MAX);
}

static void pieces_of_an_overlong_line_end_the_block_and_pass(void **state)
{
    struct fixture *f = *state;
    feed(f, "Traceback (most recent call last):");
    feed(f, "  File \"x.py\", line 1, in <module>");
    struct line piece = {.time_ns = 9, .kernel_pid = 42, .tid = 7, .stream = 2,
                         .bytes = (const unsigned char *)"    aaaa", .len = 8, .part = 1,
                         .partial = true};
    multiline_feed(&f->ml, &f->set, &piece);
    assert_int_equal(record_count, 2);
    assert_record(0, "Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>",
                  2, "python");
    assert_string_equal(records[1].text, "    aaaa");
    assert_int_equal(records[1].line.part, 1);
    assert_true(records[1].line.partial);
    assert_null(records[1].out.format);
    assert_int_equal(multiline_next_deadline(&f->ml), UINT64_MAX);
}

/* ---- keys, timeouts, limits ----------------------------------------------- */

static void two_threads_interleaving_their_traces(void **state)
{
    struct fixture *f = *state;
    struct text_lines py, java;

    load(&py, "python_chained.txt");
    load(&java, "java_caused_by.txt");
    for (size_t i = 0; i < py.count || i < 14; i++) {
        if (i < py.count)
            feed_key(f, 1, 2, py.line[i], strlen(py.line[i]), false);
        if (i < 14)
            feed_key(f, 2, 2, java.line[1 + i], strlen(java.line[1 + i]), false);
        if (i == 3)
            feed_key(f, 1, 1, "stdout of thread 1", 18, false); /* same thread, other stream */
    }
    assert_int_equal(record_count, 1);
    assert_string_equal(records[0].text, "stdout of thread 1");
    assert_int_equal(records[0].line.stream, 1);
    multiline_flush_set(&f->ml, &f->set);
    assert_int_equal(record_count, 3);
    char *py_text = joined(&py, 0, 36), *java_text = joined(&java, 1, 14);
    assert_record(1, py_text, 36, "python");
    assert_int_equal(records[1].line.tid, 1);
    assert_record(2, java_text, 14, "java");
    assert_int_equal(records[2].line.tid, 2);
    free(py_text);
    free(java_text);
    free(py.data);
    free(java.data);
}

static void connections_keep_their_blocks_apart(void **state)
{
    struct fixture *f = *state;
    struct multiline_set other;
    int other_owner;

    multiline_set_init(&other, &other_owner);
    feed(f, "panic: first");
    struct line line = {.kernel_pid = 42, .tid = 7, .stream = 2,
                        .bytes = (const unsigned char *)"", .len = 0};
    multiline_feed(&f->ml, &other, &line); /* same key numbers, other connection */
    assert_int_equal(record_count, 1);
    assert_ptr_equal(records[0].owner, &other_owner);
    feed(f, "");
    feed(f, "goroutine 1 [running]:");
    multiline_flush_set(&f->ml, &other);
    assert_int_equal(record_count, 1);
    multiline_flush_set(&f->ml, &f->set);
    assert_int_equal(record_count, 2);
    assert_record(1, "panic: first\n\ngoroutine 1 [running]:", 3, "go");
    assert_ptr_equal(records[1].owner, &f->owner);
}

static void a_block_ends_one_timeout_after_its_last_line(void **state)
{
    struct fixture *f = *state;
    uint64_t start = fake_now;

    feed(f, "Traceback (most recent call last):");
    assert_int_equal(multiline_next_deadline(&f->ml), start + 1000 * MS);
    fake_now = start + 600 * MS;
    feed(f, "  File \"x.py\", line 1, in <module>");
    /* each line postpones the end: the trace is still coming */
    assert_int_equal(multiline_next_deadline(&f->ml), start + 1600 * MS);
    fake_now = start + 1600 * MS - 1;
    multiline_expire(&f->ml);
    assert_int_equal(record_count, 0);
    fake_now = start + 1600 * MS;
    multiline_expire(&f->ml);
    assert_int_equal(record_count, 1);
    assert_record(0, "Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>",
                  2, "python");
    assert_int_equal(records[0].line.time_ns, start);
    assert_int_equal(multiline_next_deadline(&f->ml), UINT64_MAX);
    /* what follows starts afresh */
    feed(f, "after the trace");
    assert_int_equal(record_count, 2);
    assert_record(1, "after the trace", 1, NULL);
}

static void trailing_blank_lines_leave_as_lines_of_their_own(void **state)
{
    struct fixture *f = *state;
    feed(f, "panic: boom");
    feed(f, "");
    feed(f, "goroutine 1 [running]:");
    feed(f, "main.main()");
    feed(f, "\t/app/main.go:5 +0x1d");
    feed(f, "");
    fake_now += 7;
    feed(f, "exit status 2");
    assert_int_equal(record_count, 3);
    assert_record(0, "panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:5 +0x1d",
                  5, "go");
    assert_record(1, "", 1, NULL);
    assert_record(2, "exit status 2", 1, NULL);
    assert_int_equal(records[2].line.time_ns, 1000 * MS + 7);
}

static void max_lines_cuts_and_the_rest_still_joins(void **state)
{
    struct fixture *f = *state; /* max_lines = 3 */
    struct text_lines t;

    load(&t, "go_panic.txt");
    for (size_t i = 0; i < t.count; i++)
        feed(f, t.line[i]);
    multiline_flush_set(&f->ml, &f->set);
    assert_int_equal(record_count, 4);
    char *a = joined(&t, 1, 3), *b = joined(&t, 4, 3), *c = joined(&t, 7, 3);
    assert_record(0, t.line[0], 1, NULL);
    assert_record(1, a, 3, "go");
    assert_record(2, b, 3, "go");
    assert_record(3, c, 3, "go");
    free(a);
    free(b);
    free(c);
    free(t.data);
}

static void max_bytes_cuts_blocks_and_loses_nothing(void **state)
{
    struct fixture *f = *state; /* max_bytes = 200 */
    struct text_lines t;

    load(&t, "java_caused_by.txt");
    for (size_t i = 1; i < 15; i++)
        feed(f, t.line[i]);
    multiline_flush_set(&f->ml, &f->set);
    assert_true(record_count >= 3);
    char *whole = joined(&t, 1, 14);
    size_t at = 0, lines = 0;
    for (size_t i = 0; i < record_count; i++) {
        assert_true(records[i].line.len <= 200);
        assert_memory_equal(whole + at, records[i].text, records[i].line.len);
        at += records[i].line.len + 1;
        lines += records[i].out.lines;
        assert_string_equal(records[i].out.format, "java");
    }
    assert_int_equal(at, strlen(whole) + 1);
    assert_int_equal(lines, 14);
    free(whole);
    free(t.data);
}

/* ---- user formats ----------------------------------------------------------- */

static void a_user_format_with_its_level_and_an_end_rule(void **state)
{
    struct fixture *f = *state;
    static const struct multiline_rule_spec rules[] = {
        {"start_state", "^BEGIN ", "body"},
        {"body", "^  ", "body"},
        {"body", "^END$", "end"},
    };
    size_t bad = 0;
    char err[256];
    struct multiline_formats *formats = multiline_formats_new();

    assert_int_equal(multiline_formats_add(formats, "report", ULOG_WARNING, rules, 3, &bad, err,
                                           sizeof err),
                     0);
    assert_int_equal(bad, SIZE_MAX);
    assert_int_equal(multiline_formats_count(formats), 1);
    multiline_reconfigure(&f->ml, formats, 0, 0, 0);
    feed(f, "BEGIN nightly");
    feed(f, "  3 jobs");
    feed(f, "END");
    assert_int_equal(record_count, 1); /* "end": no wait for what follows */
    assert_string_equal(records[0].text, "BEGIN nightly\n  3 jobs\nEND");
    assert_string_equal(records[0].out.format, "report");
    assert_int_equal(records[0].out.level, ULOG_WARNING);
    assert_int_equal(records[0].out.lines, 3);
    /* the built-ins are gone with the old formats */
    feed(f, "Traceback (most recent call last):");
    assert_int_equal(record_count, 2);
    multiline_reconfigure(&f->ml, f->formats, 0, 0, 0);
    multiline_formats_free(formats);
}

static void a_start_rule_that_ends_at_once_is_a_block(void **state)
{
    struct fixture *f = *state;
    static const struct multiline_rule_spec rules[] = {{"start_state", "^OOM killed", "end"}};
    size_t bad;
    char err[256];
    struct multiline_formats *formats = multiline_formats_new();

    assert_int_equal(multiline_formats_add(formats, "oom", ULOG_CRITICAL, rules, 1, &bad, err,
                                           sizeof err),
                     0);
    multiline_reconfigure(&f->ml, formats, 0, 0, 0);
    feed(f, "OOM killed pid 12");
    assert_int_equal(record_count, 1);
    assert_string_equal(records[0].out.format, "oom");
    assert_int_equal(records[0].out.level, ULOG_CRITICAL);
    assert_int_equal(records[0].out.lines, 1);
    multiline_reconfigure(&f->ml, f->formats, 0, 0, 0);
    multiline_formats_free(formats);
}

static void start_rules_are_tried_in_order_and_keep_their_groups(void **state)
{
    struct fixture *f = *state;
    /* \1 in each format means its own group (the combined start regex must
     * not renumber); (*COMMIT) in one must not cut the others off. */
    static const struct multiline_rule_spec first[] = {{"start_state", "^(x+)-\\1$", "more"},
                                                       {"more", "^\\+", "more"}};
    static const struct multiline_rule_spec second[] = {{"start_state", "^(y+)=\\1$", "more"},
                                                        {"more", "^\\+", "more"}};
    static const struct multiline_rule_spec third[] = {{"start_state", "^a(*COMMIT)b", "more"},
                                                       {"more", "^\\+", "more"}};
    static const struct multiline_rule_spec fourth[] = {{"start_state", "^a", "more"},
                                                        {"more", "^\\+", "more"}};
    static const struct multiline_rule_spec shadowed[] = {{"start_state", "^xx-", "more"},
                                                          {"more", "^\\+", "more"}};
    size_t bad;
    char err[256];
    struct multiline_formats *formats = multiline_formats_new();

    assert_int_equal(multiline_formats_add(formats, "first", -1, first, 2, &bad, err, sizeof err), 0);
    assert_int_equal(multiline_formats_add(formats, "second", -1, second, 2, &bad, err, sizeof err), 0);
    assert_int_equal(multiline_formats_add(formats, "third", -1, third, 2, &bad, err, sizeof err), 0);
    assert_int_equal(multiline_formats_add(formats, "fourth", -1, fourth, 2, &bad, err, sizeof err), 0);
    assert_int_equal(multiline_formats_add(formats, "shadowed", -1, shadowed, 2, &bad, err, sizeof err), 0);
    multiline_reconfigure(&f->ml, formats, 0, 0, 0);
    static const char *const starts[][2] = {
        {"yy=yy", "second"}, {"xx-xx", "first"}, {"ac", "fourth"}, {"ab", "third"},
    };
    for (size_t i = 0; i < 4; i++) {
        feed(f, starts[i][0]);
        feed(f, "+1");
    }
    feed(f, "yy=y"); /* not a start: \1 is yy */
    multiline_flush_set(&f->ml, &f->set);
    assert_int_equal(record_count, 5);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(records[i].out.lines, 2);
        assert_string_equal(records[i].out.format, starts[i][1]);
        assert_int_equal(records[i].out.level, -1);
    }
    assert_null(records[4].out.format);
    multiline_reconfigure(&f->ml, f->formats, 0, 0, 0);
    multiline_formats_free(formats);
}

static void no_formats_means_every_line_passes(void **state)
{
    struct fixture *f = *state;
    struct multiline_formats *empty = multiline_formats_new();

    multiline_reconfigure(&f->ml, NULL, 0, 0, 0);
    feed_more(f, "ERROR:root:failed");
    feed(f, "Traceback (most recent call last):");
    assert_int_equal(record_count, 2);
    multiline_reconfigure(&f->ml, empty, 0, 0, 0);
    feed(f, "Traceback (most recent call last):");
    assert_int_equal(record_count, 3);
    assert_int_equal(multiline_next_deadline(&f->ml), UINT64_MAX);
    multiline_reconfigure(&f->ml, f->formats, 0, 0, 0);
    multiline_formats_free(empty);
}

static void reconfiguring_flushes_what_is_pending(void **state)
{
    struct fixture *f = *state;
    struct multiline_formats *other = multiline_formats_new();
    char err[256];

    assert_int_equal(multiline_formats_add_builtin(other, "go", err, sizeof err), 0);
    feed(f, "Traceback (most recent call last):");
    feed(f, "  File \"x.py\", line 1, in <module>");
    multiline_reconfigure(&f->ml, f->formats, 2 * 1000 * MS, 10, 4096); /* same formats */
    assert_int_equal(record_count, 0);
    assert_int_equal(multiline_next_deadline(&f->ml), fake_now + 2000 * MS);
    multiline_reconfigure(&f->ml, other, 0, 0, 0);
    assert_int_equal(record_count, 1);
    assert_int_equal(records[0].out.lines, 2);
    multiline_reconfigure(&f->ml, f->formats, 0, 0, 0);
    multiline_formats_free(other);
}

static void flush_all_empties_every_connection(void **state)
{
    struct fixture *f = *state;
    struct multiline_set other;
    int other_owner;

    multiline_set_init(&other, &other_owner);
    feed(f, "panic: a");
    feed_more(f, "lead");
    struct line line = {.kernel_pid = 9, .tid = 9, .bytes = (const unsigned char *)"panic: b",
                        .len = 8};
    multiline_feed(&f->ml, &other, &line);
    assert_int_equal(record_count, 1); /* "panic: a" left when "lead" came */
    multiline_flush_all(&f->ml);
    assert_int_equal(record_count, 3);
    assert_true(f->set.pending.next == &f->set.pending);
    assert_true(other.pending.next == &other.pending);
    assert_int_equal(multiline_next_deadline(&f->ml), UINT64_MAX);
}

/* ---- configuration errors ------------------------------------------------- */

static void assert_refused(struct multiline_formats *formats, const char *name, int level,
                           const struct multiline_rule_spec *rules, size_t count,
                           size_t expected_bad, const char *reason)
{
    size_t bad = 12345, before = multiline_formats_count(formats);
    char err[256] = "";
    assert_int_equal(multiline_formats_add(formats, name, level, rules, count, &bad, err,
                                           sizeof err),
                     -1);
    assert_int_equal(bad, expected_bad);
    if (!strstr(err, reason))
        fail_msg("reason \"%s\" does not say \"%s\"", err, reason);
    assert_int_equal(multiline_formats_count(formats), before);
}

static void every_configuration_error_is_refused_with_its_place(void **state)
{
    (void)state;
    struct multiline_formats *formats = multiline_formats_new();
    const struct multiline_rule_spec good[] = {{"start_state", "^S", "end"}};
    char err[256];

    assert_int_equal(multiline_formats_add_builtin(formats, "python", err, sizeof err), 0);
    assert_refused(formats, NULL, -1, good, 1, SIZE_MAX, "needs a name");
    assert_refused(formats, "", -1, good, 1, SIZE_MAX, "needs a name");
    assert_refused(formats, "python", -1, good, 1, SIZE_MAX, "defined twice");
    assert_refused(formats, "x", 5, good, 1, SIZE_MAX, "not a level");
    assert_refused(formats, "x", -2, good, 1, SIZE_MAX, "not a level");
    assert_refused(formats, "x", -1, good, 0, SIZE_MAX, "no rule from start_state");
    const struct multiline_rule_spec no_start[] = {{"body", "^S", "end"}};
    assert_refused(formats, "x", -1, no_start, 1, SIZE_MAX, "no rule from start_state");

    const struct multiline_rule_spec empty_field[] = {{"start_state", "^S", "b"},
                                                     {"b", "", "end"}};
    assert_refused(formats, "x", -1, empty_field, 2, 1, "needs a state, a regex and a next");
    const struct multiline_rule_spec null_next[] = {{"start_state", "^S", NULL}};
    assert_refused(formats, "x", -1, null_next, 1, 0, "needs a state, a regex and a next");
    const struct multiline_rule_spec null_state[] = {{"start_state", "^S", "end"},
                                                    {NULL, "^S", "end"}};
    assert_refused(formats, "x", -1, null_state, 2, 1, "needs a state, a regex and a next");
    const struct multiline_rule_spec end_state[] = {{"start_state", "^S", "end"},
                                                   {"end", "^x", "start_state"}};
    assert_refused(formats, "x", -1, end_state, 2, 1, "\"end\" closes a block");
    const struct multiline_rule_spec bad_regex[] = {{"start_state", "^S", "b"},
                                                   {"b", "a(b", "end"}};
    assert_refused(formats, "x", -1, bad_regex, 2, 1, "at offset 3 in regex \"a(b\"");
    const struct multiline_rule_spec unknown_next[] = {{"start_state", "^S", "b"},
                                                      {"b", "^x", "nowhere"}};
    assert_refused(formats, "x", -1, unknown_next, 2, 1, "no rule starts from state \"nowhere\"");
    const struct multiline_rule_spec matches_all[] = {{"start_state", "^S", "end"},
                                                     {"start_state", ".*", "end"}};
    assert_refused(formats, "x", -1, matches_all, 2, 1, "matches an empty line");

    /* the formats are intact after every refusal */
    assert_int_equal(multiline_formats_count(formats), 1);
    size_t bad;
    assert_int_equal(multiline_formats_add(formats, "x", -1, good, 1, &bad, err, sizeof err), 0);
    assert_int_equal(multiline_formats_count(formats), 2);
    multiline_formats_free(formats);
}

static void builtin_names_are_checked(void **state)
{
    (void)state;
    struct multiline_formats *formats = multiline_formats_new();
    char err[256];
    size_t n = 0;

    for (const char *const *name = multiline_builtin_names; *name; name++, n++)
        assert_int_equal(multiline_formats_add_builtin(formats, *name, err, sizeof err), 0);
    assert_int_equal(n, 6);
    assert_int_equal(multiline_formats_count(formats), 6);
    assert_int_equal(multiline_formats_add_builtin(formats, "ruby", err, sizeof err), -1);
    assert_non_null(strstr(err, "no built-in multiline format \"ruby\""));
    assert_int_equal(multiline_formats_add_builtin(formats, NULL, err, sizeof err), -1);
    assert_int_equal(multiline_formats_add_builtin(formats, "go", err, sizeof err), -1);
    assert_non_null(strstr(err, "defined twice"));
    assert_int_equal(multiline_formats_count(formats), 6);
    multiline_formats_free(formats);
    multiline_formats_free(NULL);
}

/* A private key printed line by line is one record, so redaction sees all of it;
 * a public key or a certificate is none of this format's business. */
static void pem_private_keys_are_one_block(void **state)
{
    struct fixture *f = *state;

    write_chunk(f, "loading key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU\n"
                   "EePzNm0tRgeLezV6+/=\n-----END RSA PRIVATE KEY-----\nkey loaded\n");
    feed(f, "-----BEGIN OPENSSH PRIVATE KEY-----");
    feed(f, "b3BlbnNzaC1rZXktdjEAAAAA");
    feed(f, "-----END OPENSSH PRIVATE KEY-----");
    feed(f, "-----BEGIN PUBLIC KEY-----");
    feed(f, "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE");
    feed(f, "-----END PUBLIC KEY-----");
    assert_int_equal(record_count, 6);
    assert_string_equal(records[0].text, "loading key:\n-----BEGIN RSA PRIVATE KEY-----\n"
                                         "MIIEowIBAAKCAQEAu1SU\nEePzNm0tRgeLezV6+/=\n"
                                         "-----END RSA PRIVATE KEY-----");
    assert_string_equal(records[0].out.format, "pem");
    assert_int_equal(records[0].out.level, -1); /* the text decides, not the format */
    assert_string_equal(records[1].text, "key loaded");
    assert_string_equal(records[2].text, "-----BEGIN OPENSSH PRIVATE KEY-----\n"
                                         "b3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----");
    assert_string_equal(records[3].text, "-----BEGIN PUBLIC KEY-----");
    assert_null(records[3].out.format);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(python_chained_exceptions_are_one_record),
        T(python_exception_group_is_one_record),
        T(python_logging_exception_written_line_by_line),
        T(java_caused_by_suppressed_and_uncaught),
        T(go_panic_in_a_goroutine),
        T(go_nil_pointer_with_signal_line),
        T(go_fatal_error_deadlock),
        T(go_sigquit_dump_with_registers),
        T(node_console_error_then_uncaught_exception),
        T(node_uncaught_exception),
        T(node_uncaught_exception_with_cause),
        T(asan_report_to_aborting),
        T(lsan_report_to_summary),
        T(tsan_report_between_rulers),
        T(ubsan_lines_without_stack_stay_single),
        T(ubsan_with_stack_traces),
        T(a_log_line_and_its_traceback_in_one_write_are_one_record),
        T(a_logback_line_and_its_exception_in_one_write),
        T(a_lead_not_followed_by_a_block_leaves_alone_at_once),
        T(a_lead_never_waits_for_the_timeout),
        T(a_lead_and_a_start_line_with_nothing_after_stay_two_lines),
        T(an_empty_line_is_never_a_lead),
        T(near_misses_stay_single_lines),
        T(a_plain_line_passes_without_a_copy),
        T(pieces_of_an_overlong_line_end_the_block_and_pass),
        T(two_threads_interleaving_their_traces),
        T(connections_keep_their_blocks_apart),
        T(a_block_ends_one_timeout_after_its_last_line),
        T(trailing_blank_lines_leave_as_lines_of_their_own),
        cmocka_unit_test_setup_teardown(max_lines_cuts_and_the_rest_still_joins,
                                        setup_three_lines, teardown),
        cmocka_unit_test_setup_teardown(max_bytes_cuts_blocks_and_loses_nothing,
                                        setup_small_bytes, teardown),
        T(a_user_format_with_its_level_and_an_end_rule),
        T(a_start_rule_that_ends_at_once_is_a_block),
        T(start_rules_are_tried_in_order_and_keep_their_groups),
        T(no_formats_means_every_line_passes),
        T(reconfiguring_flushes_what_is_pending),
        T(flush_all_empties_every_connection),
        cmocka_unit_test(every_configuration_error_is_refused_with_its_place),
        cmocka_unit_test(builtin_names_are_checked),
        T(pem_private_keys_are_one_block),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
