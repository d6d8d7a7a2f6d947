/*
 * test_tail.c - `ulog tail` reading real files in a temporary directory:
 * the backlog read backwards (cli/backlog.c) and following across appends,
 * partial lines, rotation and truncation (cli/follow.c). Each step is driven
 * by hand, so nothing here depends on timing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "backlog.h"
#include "follow.h"
#include "ulog/level.h"

struct fixture {
    char dir[64];
    char path[128];
};

static int make_dir(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    strcpy(f->dir, "/tmp/ulog-test-tail-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/all.log", f->dir);
    *state = f;
    return 0;
}

static int remove_dir(void **state)
{
    struct fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void append(const char *path, const char *text)
{
    FILE *file = fopen(path, "a");
    assert_non_null(file);
    assert_int_equal(fputs(text, file) >= 0, 1);
    assert_int_equal(fclose(file), 0);
}

static void append_record(const char *path, const char *level, const char *service, int n)
{
    char line[256];
    snprintf(line, sizeof line,
             "{\"timestamp\":\"2026-11-21T14:22:18.214521Z\",\"level\":\"%s\","
             "\"service\":\"%s\",\"message\":\"m%d\"}\n",
             level, service, n);
    append(path, line);
}

static const char *message_of(const struct tail_entry *e)
{
    assert_non_null(e->record);
    return json_string_value(json_object_get(e->record, "message"));
}

static const struct tail_filter everything = {.min_level = -1, .service = NULL};

/* ---- backlog ------------------------------------------------------------ */

static void test_backlog_last_n_in_order(void **state)
{
    struct fixture *f = *state;
    struct tail_backlog b;
    struct stat st;

    for (int i = 1; i <= 25; i++)
        append_record(f->path, "INFO", "api", i);
    assert_int_equal(tail_backlog_read(&b, f->dir, 10, &everything, false), 0);
    assert_int_equal(b.count, 10);
    for (size_t i = 0; i < 10; i++) {
        char want[8];
        snprintf(want, sizeof want, "m%zu", 16 + i);
        assert_string_equal(message_of(&b.entries[i]), want);
    }
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(b.end, st.st_size);
    assert_true(b.fd >= 0);
    assert_int_equal(b.files_read, 1);
    tail_backlog_free(&b);

    /* Asking for more than there is gives all of it, once. */
    assert_int_equal(tail_backlog_read(&b, f->dir, 100, &everything, false), 0);
    assert_int_equal(b.count, 25);
    assert_string_equal(message_of(&b.entries[0]), "m1");
    assert_string_equal(message_of(&b.entries[24]), "m25");
    tail_backlog_free(&b);
}

static void test_backlog_filters_before_counting(void **state)
{
    struct fixture *f = *state;
    struct tail_backlog b;
    struct tail_filter errors_of_db = {.min_level = ULOG_ERROR, .service = "db"};

    for (int i = 1; i <= 30; i++)
        append_record(f->path, i % 3 ? "INFO" : "ERROR", i % 2 ? "db" : "api", i);
    /* ERROR records of db: i divisible by 3 and odd: 3, 9, 15, 21, 27. */
    assert_int_equal(tail_backlog_read(&b, f->dir, 3, &errors_of_db, false), 0);
    assert_int_equal(b.count, 3);
    assert_string_equal(message_of(&b.entries[0]), "m15");
    assert_string_equal(message_of(&b.entries[1]), "m21");
    assert_string_equal(message_of(&b.entries[2]), "m27");
    tail_backlog_free(&b);
}

static void test_backlog_keeps_lines_that_are_not_records(void **state)
{
    struct fixture *f = *state;
    struct tail_backlog b;
    struct tail_filter errors = {.min_level = ULOG_ERROR, .service = NULL};

    append_record(f->path, "INFO", "a", 1);
    append(f->path, "garbage \033[2J\n\n");
    append_record(f->path, "INFO", "a", 2);
    assert_int_equal(tail_backlog_read(&b, f->dir, 10, &errors, false), 0);
    assert_int_equal(b.count, 1); /* the blank line is no line; the garbage is shown */
    assert_null(b.entries[0].record);
    assert_int_equal(b.entries[0].len, strlen("garbage \033[2J"));
    assert_memory_equal(b.entries[0].line, "garbage \033[2J", b.entries[0].len);
    tail_backlog_free(&b);
}

static void test_backlog_continues_into_rotated_files(void **state)
{
    struct fixture *f = *state;
    struct tail_backlog b;
    char older[160], oldest[160], gap[160];

    snprintf(older, sizeof older, "%s.1", f->path);
    snprintf(oldest, sizeof oldest, "%s.2", f->path);
    snprintf(gap, sizeof gap, "%s.4", f->path); /* after a missing .3: never read */
    append_record(gap, "INFO", "a", 0);
    for (int i = 1; i <= 4; i++)
        append_record(oldest, "INFO", "a", i);
    for (int i = 5; i <= 7; i++)
        append_record(older, "INFO", "a", i);
    for (int i = 8; i <= 9; i++)
        append_record(f->path, "INFO", "a", i);

    assert_int_equal(tail_backlog_read(&b, f->dir, 6, &everything, false), 0);
    assert_int_equal(b.count, 6);
    assert_int_equal(b.files_read, 3);
    for (size_t i = 0; i < 6; i++) {
        char want[8];
        snprintf(want, sizeof want, "m%zu", 4 + i);
        assert_string_equal(message_of(&b.entries[i]), want);
    }
    tail_backlog_free(&b);

    assert_int_equal(tail_backlog_read(&b, f->dir, 100, &everything, false), 0);
    assert_int_equal(b.count, 9);
    assert_string_equal(message_of(&b.entries[0]), "m1");
    tail_backlog_free(&b);

    /* Just rotated: all.log renamed, the new one not yet created. */
    assert_int_equal(unlink(f->path), 0);
    assert_int_equal(tail_backlog_read(&b, f->dir, 2, &everything, true), 0);
    assert_int_equal(b.fd, -1);
    assert_int_equal(b.count, 2);
    assert_string_equal(message_of(&b.entries[1]), "m7");
    tail_backlog_free(&b);
}

static void test_backlog_reads_a_rotated_file_once(void **state)
{
    struct fixture *f = *state;
    struct tail_backlog b;
    char older[160];

    /* all.log.1 is the same file as all.log, as when a rotation lands mid-read. */
    snprintf(older, sizeof older, "%s.1", f->path);
    append_record(f->path, "INFO", "a", 1);
    assert_int_equal(link(f->path, older), 0);
    assert_int_equal(tail_backlog_read(&b, f->dir, 10, &everything, false), 0);
    assert_int_equal(b.count, 1);
    tail_backlog_free(&b);
}

static void test_backlog_partial_last_line(void **state)
{
    struct fixture *f = *state;
    struct tail_backlog b;
    struct stat st;

    append_record(f->path, "INFO", "a", 1);
    assert_int_equal(stat(f->path, &st), 0);
    append(f->path, "{\"message\":\"half");

    /* Followed: the half line is left for the follower, which will read it whole. */
    assert_int_equal(tail_backlog_read(&b, f->dir, 10, &everything, true), 0);
    assert_int_equal(b.count, 1);
    assert_int_equal(b.end, st.st_size);
    tail_backlog_free(&b);

    /* Also when no record is wanted. */
    assert_int_equal(tail_backlog_read(&b, f->dir, 0, &everything, true), 0);
    assert_int_equal(b.count, 0);
    assert_int_equal(b.end, st.st_size);
    tail_backlog_free(&b);

    /* Not followed: it is what the file holds, shown as not a record. */
    assert_int_equal(tail_backlog_read(&b, f->dir, 10, &everything, false), 0);
    assert_int_equal(b.count, 2);
    assert_null(b.entries[1].record);
    assert_int_equal(b.entries[1].len, strlen("{\"message\":\"half"));
    tail_backlog_free(&b);
}

static void test_backlog_lines_across_blocks(void **state)
{
    struct fixture *f = *state;
    struct tail_backlog b;
    size_t big = 300000; /* several 64 KiB blocks in one line */
    char *line = malloc(big + 32);

    assert_non_null(line);
    for (int i = 1; i <= 5000; i++)
        append_record(f->path, "INFO", "a", i);
    int n = snprintf(line, big + 32, "{\"message\":\"");
    memset(line + n, 'x', big);
    strcpy(line + n + big, "\"}\n");
    append(f->path, line);
    append_record(f->path, "INFO", "a", 5001);

    assert_int_equal(tail_backlog_read(&b, f->dir, 4000, &everything, false), 0);
    assert_int_equal(b.count, 4000);
    assert_string_equal(message_of(&b.entries[3999]), "m5001");
    assert_int_equal(strlen(message_of(&b.entries[3998])), big);
    for (size_t i = 0; i < 3998; i++) {
        char want[12];
        snprintf(want, sizeof want, "m%zu", 1003 + i);
        assert_string_equal(message_of(&b.entries[i]), want);
    }
    tail_backlog_free(&b);
    free(line);
}

static void test_backlog_empty_and_missing(void **state)
{
    struct fixture *f = *state;
    struct tail_backlog b;
    char nowhere[160];

    assert_int_equal(tail_backlog_read(&b, f->dir, 10, &everything, true), 0);
    assert_int_equal(b.files_read, 0);
    assert_int_equal(b.fd, -1);
    tail_backlog_free(&b);

    append(f->path, "");
    assert_int_equal(tail_backlog_read(&b, f->dir, 10, &everything, true), 0);
    assert_int_equal(b.files_read, 1);
    assert_int_equal(b.count, 0);
    assert_int_equal(b.end, 0);
    tail_backlog_free(&b);

    snprintf(nowhere, sizeof nowhere, "%s/no/such/dir", f->dir);
    assert_int_equal(tail_backlog_read(&b, nowhere, 10, &everything, false), 0);
    assert_int_equal(b.files_read, 0);
    tail_backlog_free(&b);
}

/* ---- following ---------------------------------------------------------- */

struct lines {
    char text[4096];
    size_t count;
    int stop_after; /* 0: never */
};

static int collect(void *context, const char *line, size_t len)
{
    struct lines *l = context;
    size_t used = strlen(l->text);
    assert_true(used + len + 2 < sizeof l->text);
    memcpy(l->text + used, line, len);
    l->text[used + len] = '|';
    l->text[used + len + 1] = '\0';
    l->count++;
    return l->stop_after && (int)l->count >= l->stop_after ? 7 : 0;
}

static void poll_into(struct tail_follower *follower, struct lines *l, const char *expected)
{
    l->text[0] = '\0';
    assert_int_equal(tail_follower_poll(follower, collect, l), 0);
    assert_string_equal(l->text, expected);
}

static void test_follow_appends_and_partial_lines(void **state)
{
    struct fixture *f = *state;
    struct tail_follower follower;
    struct lines l = {{0}, 0, 0};

    append(f->path, "old\n");
    int fd = open(f->path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(tail_follower_init(&follower, f->dir, fd, 4), 0);
    follower.notices = NULL;
    assert_true(follower.inotify_fd >= 0);

    poll_into(&follower, &l, "");
    append(f->path, "one\ntwo\n");
    poll_into(&follower, &l, "one|two|");
    append(f->path, "thr");
    poll_into(&follower, &l, "");
    append(f->path, "ee\n\nfour\n");
    poll_into(&follower, &l, "three|four|");
    tail_follower_free(&follower);
}

static void test_follow_across_rotation(void **state)
{
    struct fixture *f = *state;
    struct tail_follower follower;
    struct lines l = {{0}, 0, 0};
    char rotated[160];

    snprintf(rotated, sizeof rotated, "%s.1", f->path);
    append(f->path, "a1\n");
    int fd = open(f->path, O_RDONLY);
    assert_int_equal(tail_follower_init(&follower, f->dir, fd, 0), 0);
    follower.notices = NULL;
    poll_into(&follower, &l, "a1|");

    /* Rotated; the old file still gets its last bytes, then a new file appears. */
    append(f->path, "a2\na3-without-newline");
    assert_int_equal(rename(f->path, rotated), 0);
    append(rotated, "\na4\n");
    poll_into(&follower, &l, "a2|a3-without-newline|a4|"); /* no new file yet: old one read on */
    append(rotated, "a5-unfinished");
    append(f->path, "b1\nb2\n");
    poll_into(&follower, &l, "a5-unfinished|b1|b2|");
    append(f->path, "b3\n");
    poll_into(&follower, &l, "b3|");
    tail_follower_free(&follower);
}

static void test_follow_after_truncation(void **state)
{
    struct fixture *f = *state;
    struct tail_follower follower;
    struct lines l = {{0}, 0, 0};

    append(f->path, "first line\nsecond line\n");
    int fd = open(f->path, O_RDONLY);
    assert_int_equal(tail_follower_init(&follower, f->dir, fd, 0), 0);
    follower.notices = NULL;
    poll_into(&follower, &l, "first line|second line|");
    assert_int_equal(truncate(f->path, 0), 0);
    append(f->path, "anew\n");
    poll_into(&follower, &l, "anew|");
    tail_follower_free(&follower);
}

static void test_follow_waits_for_the_file(void **state)
{
    struct fixture *f = *state;
    struct tail_follower follower;
    struct lines l = {{0}, 0, 0};

    assert_int_equal(tail_follower_init(&follower, f->dir, -1, 0), 0);
    poll_into(&follower, &l, "");
    append(f->path, "born\n");
    /* The directory's inotify watch has seen it: waiting returns at once. */
    tail_follower_wait(&follower);
    poll_into(&follower, &l, "born|");
    tail_follower_free(&follower);
}

static void test_follow_stops_when_asked(void **state)
{
    struct fixture *f = *state;
    struct tail_follower follower;
    struct lines l = {{0}, 0, 2};

    append(f->path, "1\n2\n3\n");
    int fd = open(f->path, O_RDONLY);
    assert_int_equal(tail_follower_init(&follower, f->dir, fd, 0), 0);
    assert_int_equal(tail_follower_poll(&follower, collect, &l), 7);
    assert_string_equal(l.text, "1|2|");
    tail_follower_free(&follower);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_backlog_last_n_in_order, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_backlog_filters_before_counting, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_backlog_keeps_lines_that_are_not_records, make_dir,
                                        remove_dir),
        cmocka_unit_test_setup_teardown(test_backlog_continues_into_rotated_files, make_dir,
                                        remove_dir),
        cmocka_unit_test_setup_teardown(test_backlog_reads_a_rotated_file_once, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_backlog_partial_last_line, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_backlog_lines_across_blocks, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_backlog_empty_and_missing, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_follow_appends_and_partial_lines, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_follow_across_rotation, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_follow_after_truncation, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_follow_waits_for_the_file, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_follow_stops_when_asked, make_dir, remove_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
