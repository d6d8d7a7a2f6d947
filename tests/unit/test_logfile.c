/*
 * test_logfile.c - all.log on disk (aggregator/logfile.c): buffering,
 * rotation by size with a bounded number of backups, re-opening after an
 * outside rename, the file's mode. Each test works in its own temporary
 * directory.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "logfile.h"

struct fixture {
    char dir[64];
    char logs[96];
    struct logfile log;
    bool open;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    strcpy(f->dir, "/tmp/ulogd-test-logfile-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->logs, sizeof f->logs, "%s/nested/logs", f->dir); /* made on demand */
    *state = f;
    return 0;
}

static void remove_tree(const char *path)
{
    DIR *dir = opendir(path);
    if (!dir) {
        unlink(path);
        return;
    }
    for (struct dirent *e; (e = readdir(dir)) != NULL;) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char child[512];
        snprintf(child, sizeof child, "%s/%s", path, e->d_name);
        remove_tree(child);
    }
    closedir(dir);
    rmdir(path);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (f->open)
        logfile_close(&f->log);
    remove_tree(f->dir);
    free(f);
    return 0;
}

static void open_log(struct fixture *f, uint64_t rotation_size, unsigned backups)
{
    assert_int_equal(logfile_open(&f->log, f->logs, rotation_size, backups), 0);
    f->open = true;
}

/* The contents of logs/<name>, or NULL if there is no such file. */
static char *slurp(struct fixture *f, const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", f->logs, name);
    FILE *file = fopen(path, "r");
    if (!file)
        return NULL;
    char *text = calloc(1, 65536);
    assert_non_null(text);
    size_t n = fread(text, 1, 65535, file);
    text[n] = '\0';
    fclose(file);
    return text;
}

static void assert_file(struct fixture *f, const char *name, const char *expected)
{
    char *text = slurp(f, name);
    if (!expected) {
        if (text)
            fail_msg("%s should not exist, holds: %s", name, text);
        return;
    }
    if (!text)
        fail_msg("%s does not exist", name);
    assert_string_equal(text, expected);
    free(text);
}

static void append(struct fixture *f, const char *line)
{
    assert_int_equal(logfile_append(&f->log, line, strlen(line)), 0);
}

static void lines_wait_in_memory_until_flushed(void **state)
{
    struct fixture *f = *state;
    open_log(f, 0, 0);
    append(f, "one\n");
    append(f, "two\n");
    assert_true(logfile_has_queued(&f->log));
    assert_file(f, "all.log", "");
    assert_int_equal(logfile_flush(&f->log), 0);
    assert_false(logfile_has_queued(&f->log));
    assert_file(f, "all.log", "one\ntwo\n");
}

static void a_full_buffer_is_written_without_waiting(void **state)
{
    struct fixture *f = *state;
    char line[1025];
    open_log(f, 0, 0);
    memset(line, 'x', 1023);
    line[1023] = '\n';
    line[1024] = '\0';
    for (unsigned i = 0; i < LOGFILE_WRITE_THRESHOLD / 1024; i++)
        append(f, line);
    assert_false(logfile_has_queued(&f->log));
    struct stat st;
    char path[256];
    snprintf(path, sizeof path, "%s/all.log", f->logs);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, LOGFILE_WRITE_THRESHOLD);
}

static void the_file_is_made_with_mode_0640(void **state)
{
    struct fixture *f = *state;
    mode_t old = umask(0);
    open_log(f, 0, 0);
    umask(old);
    char path[256];
    struct stat st;
    snprintf(path, sizeof path, "%s/all.log", f->logs);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
}

static void it_rotates_before_a_line_would_pass_the_size(void **state)
{
    struct fixture *f = *state;
    open_log(f, 10, 2); /* each line below is 4 bytes: two fit in 10 */
    append(f, "aaa\n");
    append(f, "bbb\n");
    append(f, "ccc\n"); /* 12 > 10: rotate first */
    append(f, "ddd\n");
    append(f, "eee\n");
    append(f, "fff\n");
    append(f, "ggg\n");
    assert_int_equal(logfile_flush(&f->log), 0);
    assert_file(f, "all.log", "ggg\n");
    assert_file(f, "all.log.1", "eee\nfff\n");
    assert_file(f, "all.log.2", "ccc\nddd\n");
    assert_file(f, "all.log.3", NULL); /* only backup_count backups: aaa/bbb are gone */
    assert_int_equal(f->log.rotations, 3);
}

static void an_existing_file_counts_toward_the_size(void **state)
{
    struct fixture *f = *state;
    open_log(f, 10, 1);
    append(f, "12345678\n");
    logfile_close(&f->log);
    f->open = false;
    open_log(f, 10, 1);
    append(f, "next\n"); /* 9 + 5 > 10 */
    assert_int_equal(logfile_flush(&f->log), 0);
    assert_file(f, "all.log.1", "12345678\n");
    assert_file(f, "all.log", "next\n");
}

static void a_line_larger_than_the_size_still_gets_written(void **state)
{
    struct fixture *f = *state;
    open_log(f, 4, 1);
    append(f, "a line longer than four bytes\n");
    append(f, "another\n");
    assert_int_equal(logfile_flush(&f->log), 0);
    assert_file(f, "all.log.1", "a line longer than four bytes\n");
    assert_file(f, "all.log", "another\n");
}

static void zero_size_or_zero_backups_never_rotate(void **state)
{
    struct fixture *f = *state;
    open_log(f, 4, 0);
    append(f, "one line\n");
    append(f, "two line\n");
    assert_int_equal(logfile_flush(&f->log), 0);
    assert_file(f, "all.log", "one line\ntwo line\n");
    assert_file(f, "all.log.1", NULL);
    logfile_close(&f->log);
    open_log(f, 0, 3);
    append(f, "three\n");
    assert_int_equal(logfile_flush(&f->log), 0);
    assert_file(f, "all.log.1", NULL);
}

static void reopen_follows_an_outside_rename(void **state)
{
    struct fixture *f = *state;
    char from[256], to[256];
    open_log(f, 0, 0);
    append(f, "before\n");
    assert_int_equal(logfile_flush(&f->log), 0);
    snprintf(from, sizeof from, "%s/all.log", f->logs);
    snprintf(to, sizeof to, "%s/all.log.old", f->logs);
    assert_int_equal(rename(from, to), 0); /* what logrotate does */
    append(f, "queued across the rename\n");
    assert_int_equal(logfile_reopen(&f->log), 0);
    append(f, "after\n");
    assert_int_equal(logfile_flush(&f->log), 0);
    assert_file(f, "all.log.old", "before\nqueued across the rename\n");
    assert_file(f, "all.log", "after\n");
}

static void an_unwritable_directory_is_reported(void **state)
{
    struct fixture *f = *state;
    char blocker[128];
    snprintf(blocker, sizeof blocker, "%s/file", f->dir);
    FILE *file = fopen(blocker, "w");
    assert_non_null(file);
    fclose(file);
    snprintf(f->logs, sizeof f->logs, "%s/file/logs", f->dir);
    assert_int_equal(logfile_open(&f->log, f->logs, 0, 0), -1);
    assert_int_equal(errno, ENOTDIR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(lines_wait_in_memory_until_flushed, setup, teardown),
        cmocka_unit_test_setup_teardown(a_full_buffer_is_written_without_waiting, setup, teardown),
        cmocka_unit_test_setup_teardown(the_file_is_made_with_mode_0640, setup, teardown),
        cmocka_unit_test_setup_teardown(it_rotates_before_a_line_would_pass_the_size, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(an_existing_file_counts_toward_the_size, setup, teardown),
        cmocka_unit_test_setup_teardown(a_line_larger_than_the_size_still_gets_written, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(zero_size_or_zero_backups_never_rotate, setup, teardown),
        cmocka_unit_test_setup_teardown(reopen_follows_an_outside_rename, setup, teardown),
        cmocka_unit_test_setup_teardown(an_unwritable_directory_is_reported, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
