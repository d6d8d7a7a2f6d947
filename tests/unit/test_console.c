/*
 * test_console.c - ulogd's console mirror (aggregator/console.c) through a
 * real pipe (and a pseudo-terminal for colours): both modes, hostile text,
 * a queue that fills because nobody reads, and a stop that must come back
 * while the writer is stuck.
 *
 * Nothing here waits a fixed time. A reader thread collects what the
 * console wrote and the tests wait for a condition on it, with 10 s as a
 * liveness bound only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pty.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "bytebuf.h"
#include "console.h"
#include "record.h"

#define LIVENESS_SECONDS 10

/* ---- a reader thread on the console's far end ------------------------------ */

struct reader {
    int fd;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    char *text;
    size_t len, cap;
    bool eof;
};

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    char buf[4096];

    for (;;) {
        ssize_t n = read(r->fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        pthread_mutex_lock(&r->lock);
        if (n <= 0) { /* a pty's master reads EIO once the slave is closed */
            r->eof = true;
        } else {
            if (r->len + (size_t)n + 1 > r->cap) {
                r->cap = (r->len + (size_t)n + 1) * 2;
                r->text = realloc(r->text, r->cap);
                assert_non_null(r->text);
            }
            memcpy(r->text + r->len, buf, (size_t)n);
            r->len += (size_t)n;
            r->text[r->len] = '\0';
        }
        pthread_cond_broadcast(&r->changed);
        pthread_mutex_unlock(&r->lock);
        if (n <= 0)
            return NULL;
    }
}

static void reader_start(struct reader *r, int fd)
{
    memset(r, 0, sizeof *r);
    r->fd = fd;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->changed, NULL);
    assert_int_equal(pthread_create(&r->thread, NULL, reader_main, r), 0);
}

typedef bool reader_pred(const char *text, size_t len, bool eof, void *arg);

/* Wait until `pred` holds on what was read; false after LIVENESS_SECONDS. */
static bool reader_wait(struct reader *r, reader_pred *pred, void *arg)
{
    struct timespec deadline;
    bool ok;

    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += LIVENESS_SECONDS;
    pthread_mutex_lock(&r->lock);
    while (!(ok = pred(r->text ? r->text : "", r->len, r->eof, arg)))
        if (pthread_cond_timedwait(&r->changed, &r->lock, &deadline) == ETIMEDOUT) {
            ok = pred(r->text ? r->text : "", r->len, r->eof, arg);
            break;
        }
    pthread_mutex_unlock(&r->lock);
    return ok;
}

static bool at_eof(const char *text, size_t len, bool eof, void *arg)
{
    (void)text, (void)len, (void)arg;
    return eof;
}

static bool contains(const char *text, size_t len, bool eof, void *arg)
{
    (void)len, (void)eof;
    return strstr(text, arg) != NULL;
}

/* Wait for the end of the output, stop the thread; the caller frees r->text. */
static void reader_finish(struct reader *r)
{
    assert_true(reader_wait(r, at_eof, NULL));
    pthread_join(r->thread, NULL);
    close(r->fd);
    pthread_cond_destroy(&r->changed);
    pthread_mutex_destroy(&r->lock);
}

/* ---- records and consoles --------------------------------------------------- */

/* 2026-11-21T14:22:18.214521Z */
static uint64_t example_time(void)
{
    struct tm tm = {.tm_year = 126, .tm_mon = 10, .tm_mday = 21, .tm_hour = 14,
                    .tm_min = 22, .tm_sec = 18};
    return (uint64_t)timegm(&tm) * 1000000000ull + 214521000ull;
}

/* A line as ulogd encodes it for all.log, "\n" included; the caller frees it. */
static char *record_line(const char *service, const char *message, size_t message_len,
                         size_t *len)
{
    struct bytebuf out = BYTEBUF_INIT;
    struct record record = {
        .time_ns = example_time(),
        .level = ULOG_INFO,
        .service = service,
        .pid = 4242,
        .tid = 4243,
        .stream = "stdout",
        .message = message,
        .message_len = message_len,
    };
    assert_int_equal(record_append_json(&record, &out), 0);
    bytebuf_append_byte(&out, '\0');
    *len = out.len - 1;
    return out.data;
}

static void submit_message(struct console *c, const char *message)
{
    size_t len;
    char *line = record_line("api", message, strlen(message), &len);
    console_submit(c, line, len);
    free(line);
}

/* A console on a pipe whose reading end is returned; the test keeps no writing end. */
static struct console *console_on_pipe(enum console_mode mode, size_t queue, int *read_fd)
{
    int fds[2];
    char err[256];
    struct console *c;

    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
    c = console_start(mode, fds[1], queue, err, sizeof err);
    assert_non_null(c);
    assert_string_equal(err, "");
    close(fds[1]); /* the console writes to its own copy */
    *read_fd = fds[0];
    return c;
}

/* Everything a console prints for the messages submitted by `submit`. */
static char *console_output(enum console_mode mode, void (*submit)(struct console *))
{
    struct reader r;
    int fd;
    struct console *c = console_on_pipe(mode, 0, &fd);

    reader_start(&r, fd);
    submit(c);
    console_stop(c);
    reader_finish(&r);
    return r.text ? r.text : strdup("");
}

static size_t count_lines(const char *text)
{
    size_t n = 0;
    for (; (text = strchr(text, '\n')); text++)
        n++;
    return n;
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (now.tv_nsec - start->tv_nsec) / 1e9;
}

static int setup_utc(void **state)
{
    (void)state;
    setenv("TZ", "UTC", 1);
    tzset();
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

/* ---- modes ------------------------------------------------------------------ */

static void test_mode_parse(void **state)
{
    (void)state;
    const char *off[] = {"off", "none", "false", "no", "OFF", "No"};
    const char *text[] = {"text", "human", "on", "true", "yes", "Text", "YES"};
    const char *bad[] = {"", "jsonl", "texts", "1", "0", "auto", " json"};

    for (size_t i = 0; i < sizeof off / sizeof off[0]; i++)
        assert_int_equal(console_mode_parse(off[i]), CONSOLE_OFF);
    for (size_t i = 0; i < sizeof text / sizeof text[0]; i++)
        assert_int_equal(console_mode_parse(text[i]), CONSOLE_TEXT);
    assert_int_equal(console_mode_parse("json"), CONSOLE_JSON);
    assert_int_equal(console_mode_parse("JSON"), CONSOLE_JSON);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(console_mode_parse(bad[i]), -1);
    assert_int_equal(console_mode_parse(NULL), -1);
}

static void test_off_starts_nothing_and_null_is_harmless(void **state)
{
    (void)state;
    char err[64] = "untouched";

    assert_null(console_start(CONSOLE_OFF, 1, 0, err, sizeof err));
    assert_string_equal(err, "");
    console_submit(NULL, "{}\n", 3);
    assert_int_equal(console_skipped(NULL), 0);
    console_stop(NULL);
}

static void test_bad_fd_is_refused(void **state)
{
    (void)state;
    char err[128] = "";
    int fds[2];

    assert_int_equal(pipe(fds), 0);
    close(fds[0]);
    close(fds[1]); /* fds[1] is now a closed descriptor */
    assert_null(console_start(CONSOLE_TEXT, fds[1], 0, err, sizeof err));
    assert_non_null(strstr(err, "fd"));
    err[0] = '\0';
    assert_null(console_start(CONSOLE_JSON, -1, 0, err, sizeof err));
    assert_true(err[0] != '\0');
    err[0] = '\0';
    assert_null(console_start((enum console_mode)7, 1, 0, err, sizeof err));
    assert_true(err[0] != '\0');
}

/* ---- text mode -------------------------------------------------------------- */

static void submit_two(struct console *c)
{
    submit_message(c, "hello");
    submit_message(c, "first\nsecond");
}

static void test_text_mode_prints_the_tail_layout(void **state)
{
    (void)state;
    char *out = console_output(CONSOLE_TEXT, submit_two);

    /* A pipe is no terminal: no colour. */
    assert_string_equal(out, "2026-11-21 14:22:18.214 INFO     api[4242/4243] stdout: hello\n"
                             "2026-11-21 14:22:18.214 INFO     api[4242/4243] stdout: first\n"
                             "                                                        second\n");
    free(out);
}

static void submit_hostile(struct console *c)
{
    /* SGR, an OSC title ending in BEL, a C1 CSI (U+009B), a bidi override, NUL. */
    static const char message[] = "\x1b[31mred\x1b]0;pwned\x07 \xc2\x9b" "2J \xe2\x80\xae" "evil\0x";
    size_t len;
    char *line = record_line("sv\x1b[2Jc", message, sizeof message - 1, &len);
    console_submit(c, line, len);
    free(line);
}

static void test_text_mode_neutralises_escape_sequences(void **state)
{
    (void)state;
    char *out = console_output(CONSOLE_TEXT, submit_hostile);

    for (const char *p = out; *p; p++)
        if (*p != '\n')
            assert_true((unsigned char)*p >= 0x20 && (unsigned char)*p != 0x7f);
    assert_null(strstr(out, "\xc2\x9b"));
    assert_null(strstr(out, "\xe2\x80\xae"));
    assert_non_null(strstr(out, "\\x1b[31mred\\x1b]0;pwned\\x07 \\u009b2J \\u202eevil\\x00x"));
    assert_non_null(strstr(out, "sv\\x1b[2Jc[4242/4243]"));
    assert_int_equal(count_lines(out), 1);
    free(out);
}

static void submit_invalid(struct console *c)
{
    static const char garbage[] = "not json \x1b[1m at all\n";
    console_submit(c, garbage, sizeof garbage - 1);
    console_submit(c, "[1,2]", 5); /* JSON, but not a record */
}

static void test_text_mode_shows_a_non_record_escaped(void **state)
{
    (void)state;
    char *out = console_output(CONSOLE_TEXT, submit_invalid);

    assert_string_equal(out, "[not a JSON record] not json \\x1b[1m at all\n"
                             "[not a JSON record] [1,2]\n");
    free(out);
}

static void test_text_mode_colours_a_terminal_unless_no_color(void **state)
{
    (void)state;
    static const char *const no_color[] = {NULL, "1"};

    setenv("TERM", "xterm", 1);
    for (size_t i = 0; i < 2; i++) {
        int master, slave;
        char err[128];
        struct reader r;
        struct console *c;

        if (no_color[i])
            setenv("NO_COLOR", no_color[i], 1);
        else
            unsetenv("NO_COLOR");
        assert_int_equal(openpty(&master, &slave, NULL, NULL, NULL), 0);
        c = console_start(CONSOLE_TEXT, slave, 0, err, sizeof err);
        assert_non_null(c);
        close(slave);
        reader_start(&r, master);
        submit_message(c, "tty");
        assert_true(reader_wait(&r, contains, "tty"));
        console_stop(c); /* closes the last slave: the master reads EIO, our EOF */
        reader_finish(&r);
        if (no_color[i])
            assert_null(strchr(r.text, '\x1b'));
        else
            assert_non_null(strstr(r.text, "\x1b[32mINFO\x1b[0m"));
        free(r.text);
    }
    unsetenv("NO_COLOR");
}

/* ---- json mode -------------------------------------------------------------- */

static char *json_lines[3];
static size_t json_lens[3];

static void submit_json(struct console *c)
{
    static const char bidi[] = "right-to-left \xe2\x80\xae override";

    json_lines[0] = record_line("api", "plain", 5, &json_lens[0]);
    json_lines[1] = record_line("api", "esc \x1b[31m", 9, &json_lens[1]);
    json_lines[2] = record_line("api", bidi, sizeof bidi - 1, &json_lens[2]);
    console_submit(c, json_lines[0], json_lens[0]);
    console_submit(c, json_lines[1], json_lens[1] - 1); /* without its "\n" */
    console_submit(c, json_lines[2], json_lens[2]);
}

static void test_json_mode_writes_the_lines(void **state)
{
    (void)state;
    char *out = console_output(CONSOLE_JSON, submit_json);
    char *expected = NULL;
    size_t expected_len = 0;
    FILE *f = open_memstream(&expected, &expected_len);
    json_t *a, *b;
    char *third;

    /* The first two are byte for byte what all.log holds. */
    fwrite(json_lines[0], 1, json_lens[0], f);
    fwrite(json_lines[1], 1, json_lens[1], f);
    fclose(f);
    assert_int_equal(strncmp(out, expected, expected_len), 0);
    assert_null(strchr(out, '\x1b'));
    assert_int_equal(count_lines(out), 3);

    /* The bidi override is escaped: the same JSON value, nothing for a terminal to act on. */
    third = out + expected_len;
    assert_null(strstr(third, "\xe2\x80\xae"));
    assert_non_null(strstr(third, "\\u202e"));
    a = json_loads(third, 0, NULL);
    b = json_loadb(json_lines[2], json_lens[2], 0, NULL);
    assert_non_null(a);
    assert_true(json_equal(a, b));
    json_decref(a);
    json_decref(b);
    for (size_t i = 0; i < 3; i++)
        free(json_lines[i]);
    free(expected);
    free(out);
}

/* ---- the queue -------------------------------------------------------------- */

#define MANY 300

static void submit_many(struct console *c)
{
    char message[32];
    for (int i = 0; i < MANY; i++) {
        snprintf(message, sizeof message, "n=%d", i);
        submit_message(c, message);
    }
}

static void test_stop_drains_in_order(void **state)
{
    (void)state;
    char *out = console_output(CONSOLE_TEXT, submit_many);
    const char *p = out;
    char want[32];

    assert_int_equal(count_lines(out), MANY);
    for (int i = 0; i < MANY; i++) {
        snprintf(want, sizeof want, " n=%d\n", i);
        assert_non_null(p = strstr(p, want));
        p += strlen(want);
    }
    free(out);
}

/* Normal lines and the skip notices' counts in JSON-mode output. */
struct tally {
    uint64_t records, notices, skipped;
};

static void tally_output(const char *text, struct tally *t)
{
    memset(t, 0, sizeof *t);
    for (const char *line = text, *end; (end = strchr(line, '\n')); line = end + 1) {
        json_t *record = json_loadb(line, (size_t)(end - line), 0, NULL);
        const char *event = json_string_value(json_object_get(record, "event_type"));
        assert_non_null(record);
        if (event && strcmp(event, "console_skipped") == 0) {
            json_t *skipped = json_object_get(json_object_get(record, "metadata"), "skipped");
            char want[96];
            assert_true(json_is_integer(skipped));
            snprintf(want, sizeof want, "console mirror skipped %lld records (stdout is slow)",
                     (long long)json_integer_value(skipped));
            assert_string_equal(json_string_value(json_object_get(record, "message")), want);
            assert_string_equal(json_string_value(json_object_get(record, "level")), "WARNING");
            assert_string_equal(json_string_value(json_object_get(record, "service")), "ulogd");
            t->notices++;
            t->skipped += (uint64_t)json_integer_value(skipped);
        } else {
            t->records++;
        }
        json_decref(record);
    }
}

static bool all_accounted(const char *text, size_t len, bool eof, void *arg)
{
    struct tally t;
    (void)len, (void)eof;
    tally_output(text, &t);
    return t.records + t.skipped == *(uint64_t *)arg;
}

/* Fill a tiny queue behind a pipe nobody reads: every submit returns and is counted. */
static struct console *clogged_console(size_t queue, size_t records, int *read_fd)
{
    struct console *c = console_on_pipe(CONSOLE_JSON, queue, read_fd);
    char message[64];
    int pipe_size = fcntl(*read_fd, F_SETPIPE_SZ, 4096);
    size_t line_len;
    char *line = record_line("api", "x", 1, &line_len);

    assert_true(pipe_size > 0);
    for (size_t i = 0; i < records; i++) {
        snprintf(message, sizeof message, "record %zu of a console nobody reads", i);
        submit_message(c, message);
    }
    /* At most the pipe, the stdio buffer (64 KiB), the queue and the line being written
     * can have been taken: every other record was skipped. */
    uint64_t held = ((uint64_t)pipe_size + 65536 + queue) / line_len + 2;
    assert_true(console_skipped(c) >= records - held);
    assert_true(console_skipped(c) <= records);
    free(line);
    return c;
}

static void test_full_queue_skips_counts_and_reports(void **state)
{
    (void)state;
    uint64_t total = 20000, skipped;
    struct reader r;
    struct tally t;
    int fd;
    struct console *c = clogged_console(8192, total, &fd);

    skipped = console_skipped(c);
    /* Someone reads again: the writer catches up, then says how many it skipped. */
    reader_start(&r, fd);
    assert_true(reader_wait(&r, all_accounted, &total));
    console_stop(c);
    reader_finish(&r);
    tally_output(r.text, &t);
    assert_true(t.notices >= 1);
    assert_int_equal(t.skipped, skipped);
    assert_int_equal(t.records + t.skipped, total);
    free(r.text);
}

static void test_oversized_line_is_skipped(void **state)
{
    (void)state;
    struct reader r;
    int fd;
    struct console *c = console_on_pipe(CONSOLE_JSON, 64, &fd);
    uint64_t total = 2;
    struct tally t;

    reader_start(&r, fd);
    submit_message(c, "a record far longer than the sixty-four bytes of this queue");
    assert_int_equal(console_skipped(c), 1);
    console_submit(c, "{\"message\":\"small\"}\n", 20);
    assert_true(reader_wait(&r, all_accounted, &total));
    console_stop(c);
    reader_finish(&r);
    tally_output(r.text, &t);
    assert_int_equal(t.records, 1);
    assert_int_equal(t.skipped, 1);
    assert_non_null(strstr(r.text, "{\"message\":\"small\"}\n"));
    free(r.text);
}

static void test_stop_returns_while_the_writer_is_stuck(void **state)
{
    (void)state;
    struct timespec start;
    struct reader r;
    int fd;
    struct console *c = clogged_console(8192, 5000, &fd);

    assert_true(console_skipped(c) > 0);
    clock_gettime(CLOCK_MONOTONIC, &start);
    console_stop(c); /* the pipe is full and unread: the writer cannot finish */
    assert_true(seconds_since(&start) < LIVENESS_SECONDS);

    /* Reading again lets the abandoned writer return; it discards the rest and closes
     * its copy of the fd, which is the EOF the reader waits for. */
    reader_start(&r, fd);
    reader_finish(&r);
    free(r.text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mode_parse),
        cmocka_unit_test(test_off_starts_nothing_and_null_is_harmless),
        cmocka_unit_test(test_bad_fd_is_refused),
        cmocka_unit_test(test_text_mode_prints_the_tail_layout),
        cmocka_unit_test(test_text_mode_neutralises_escape_sequences),
        cmocka_unit_test(test_text_mode_shows_a_non_record_escaped),
        cmocka_unit_test(test_text_mode_colours_a_terminal_unless_no_color),
        cmocka_unit_test(test_json_mode_writes_the_lines),
        cmocka_unit_test(test_stop_drains_in_order),
        cmocka_unit_test(test_full_queue_skips_counts_and_reports),
        cmocka_unit_test(test_oversized_line_is_skipped),
        cmocka_unit_test(test_stop_returns_while_the_writer_is_stuck),
    };
    return cmocka_run_group_tests(tests, setup_utc, NULL);
}
