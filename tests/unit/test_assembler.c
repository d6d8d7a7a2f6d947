/*
 * test_assembler.c - chunks in, lines out (aggregator/assembler.c).
 *
 * The clock is a variable the tests move by hand, so the partial-line
 * timeout is tested exactly, without sleeping. Every emitted line is copied
 * (its bytes may point into a chunk that is gone afterwards) together with
 * everything the record will need: who, when, and which piece.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "assembler.h"

#define MS 1000000ull

static uint64_t fake_now;

static uint64_t fake_clock(void)
{
    return fake_now;
}

struct captured {
    char *text;
    size_t len;
    struct line line;
    void *owner;
    bool zero_copy; /* the bytes pointed into the chunk being fed */
};

static struct captured lines[4096];
static size_t line_count;
static const unsigned char *feeding; /* the chunk being fed, to spot zero-copy lines */
static size_t feeding_len;

static void capture(void *ctx, void *owner, const struct line *line)
{
    (void)ctx;
    assert_true(line_count < sizeof lines / sizeof lines[0]);
    struct captured *c = &lines[line_count++];
    c->text = malloc(line->len + 1);
    assert_non_null(c->text);
    memcpy(c->text, line->bytes, line->len);
    c->text[line->len] = '\0';
    c->len = line->len;
    c->line = *line;
    c->owner = owner;
    c->zero_copy = feeding && line->bytes >= feeding && line->bytes < feeding + feeding_len;
}

struct fixture {
    struct assembler assembler;
    struct line_set set;
    int owner;
};

static int setup_with(void **state, size_t max_line)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    fake_now = 1000 * MS;
    line_count = 0;
    assembler_init(&f->assembler, max_line, 250 * MS, fake_clock, capture, NULL);
    line_set_init(&f->set, &f->owner);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, 16384);
}

static int setup_small(void **state)
{
    return setup_with(state, 8);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    assembler_flush_set(&f->assembler, &f->set);
    assembler_free(&f->assembler);
    for (size_t i = 0; i < line_count; i++)
        free(lines[i].text);
    free(f);
    return 0;
}

static void feed_full(struct fixture *f, struct line_set *set, uint32_t kernel_pid, uint32_t tid,
                      uint8_t stream, uint64_t time_ns, const void *bytes, size_t len)
{
    /* A heap copy of exactly len bytes: ASan catches any over-read. */
    unsigned char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, bytes, len);
    struct chunk chunk = {
        .time_ns = time_ns,
        .pid = kernel_pid + 1000000,
        .kernel_pid = kernel_pid,
        .tid = tid,
        .stream = stream,
        .bytes = copy,
        .len = len,
    };
    feeding = copy;
    feeding_len = len;
    assembler_feed(&f->assembler, set, &chunk);
    feeding = NULL;
    free(copy);
}

static void feed_tid(struct fixture *f, uint32_t tid, const char *text)
{
    feed_full(f, &f->set, 42, tid, 1, fake_now, text, strlen(text));
}

static void feed(struct fixture *f, const char *text)
{
    feed_tid(f, 7, text);
}

static void assert_line(size_t index, const char *text, unsigned part, bool partial)
{
    assert_true(index < line_count);
    assert_int_equal(lines[index].len, strlen(text));
    assert_string_equal(lines[index].text, text);
    assert_int_equal(lines[index].line.part, part);
    assert_int_equal(lines[index].line.partial, partial);
}

static void whole_lines_in_one_chunk_are_not_copied(void **state)
{
    struct fixture *f = *state;
    feed(f, "one\ntwo\n\nthree\n");
    assert_int_equal(line_count, 4);
    assert_line(0, "one", 0, false);
    assert_line(1, "two", 0, false);
    assert_line(2, "", 0, false);
    assert_line(3, "three", 0, false);
    for (size_t i = 0; i < line_count; i++) {
        assert_true(lines[i].zero_copy);
        assert_ptr_equal(lines[i].owner, &f->owner);
        assert_int_equal(lines[i].line.kernel_pid, 42);
        assert_int_equal(lines[i].line.pid, 1000042);
        assert_int_equal(lines[i].line.tid, 7);
        assert_int_equal(lines[i].line.stream, 1);
    }
    assert_int_equal(assembler_next_deadline(&f->assembler), UINT64_MAX);
}

static void a_line_split_across_chunks_is_joined(void **state)
{
    struct fixture *f = *state;
    uint64_t started = 5555;
    feed_full(f, &f->set, 42, 7, 1, started, "hel", 3);
    feed_full(f, &f->set, 42, 7, 1, started + 10, "lo\nwor", 6);
    assert_int_equal(line_count, 1);
    assert_line(0, "hello", 0, false);
    assert_int_equal(lines[0].line.time_ns, started); /* when the line began */
    feed_full(f, &f->set, 42, 7, 1, started + 20, "l", 1);
    feed_full(f, &f->set, 42, 7, 1, started + 30, "d\n", 2);
    assert_int_equal(line_count, 2);
    assert_line(1, "world", 0, false);
    assert_int_equal(lines[1].line.time_ns, started + 10);
    assert_int_equal(assembler_next_deadline(&f->assembler), UINT64_MAX);
}

static void threads_and_streams_are_assembled_apart(void **state)
{
    struct fixture *f = *state;
    feed_tid(f, 1, "a1 ");
    feed_tid(f, 2, "b1 ");
    feed_full(f, &f->set, 42, 1, 2, fake_now, "err ", 4); /* same thread, stderr */
    feed_tid(f, 1, "a2\n");
    feed_full(f, &f->set, 42, 1, 2, fake_now, "done\n", 5);
    feed_tid(f, 2, "b2\n");
    assert_int_equal(line_count, 3);
    assert_line(0, "a1 a2", 0, false);
    assert_int_equal(lines[0].line.tid, 1);
    assert_int_equal(lines[0].line.stream, 1);
    assert_line(1, "err done", 0, false);
    assert_int_equal(lines[1].line.tid, 1);
    assert_int_equal(lines[1].line.stream, 2);
    assert_line(2, "b1 b2", 0, false);
    assert_int_equal(lines[2].line.tid, 2);
}

static void processes_and_connections_are_assembled_apart(void **state)
{
    struct fixture *f = *state;
    struct line_set other;
    int other_owner;

    line_set_init(&other, &other_owner);
    feed_full(f, &f->set, 42, 7, 1, 1, "parent ", 7);
    feed_full(f, &f->set, 43, 7, 1, 1, "child ", 6); /* same tid number, other process */
    feed_full(f, &other, 42, 7, 1, 1, "elsewhere ", 10);
    feed_full(f, &f->set, 43, 7, 1, 1, "line\n", 5);
    feed_full(f, &other, 42, 7, 1, 1, "line\n", 5);
    feed_full(f, &f->set, 42, 7, 1, 1, "line\n", 5);
    assert_int_equal(line_count, 3);
    assert_line(0, "child line", 0, false);
    assert_int_equal(lines[0].line.kernel_pid, 43);
    assert_line(1, "elsewhere line", 0, false);
    assert_ptr_equal(lines[1].owner, &other_owner);
    assert_line(2, "parent line", 0, false);
    assert_ptr_equal(lines[2].owner, &f->owner);
    assembler_flush_set(&f->assembler, &other);
}

static void a_partial_line_waits_250ms_from_its_first_byte(void **state)
{
    struct fixture *f = *state;
    uint64_t start = fake_now;

    feed(f, "Password: ");
    assert_int_equal(line_count, 0);
    assert_int_equal(assembler_next_deadline(&f->assembler), start + 250 * MS);
    fake_now = start + 200 * MS;
    feed(f, "still ");
    assembler_expire(&f->assembler);
    assert_int_equal(line_count, 0);
    /* More bytes do not postpone the flush: the wait is bounded. */
    assert_int_equal(assembler_next_deadline(&f->assembler), start + 250 * MS);
    fake_now = start + 250 * MS - 1;
    assembler_expire(&f->assembler);
    assert_int_equal(line_count, 0);
    fake_now = start + 250 * MS;
    assembler_expire(&f->assembler);
    assert_int_equal(line_count, 1);
    assert_line(0, "Password: still ", 0, false);
    assert_int_equal(assembler_next_deadline(&f->assembler), UINT64_MAX);
    /* What follows is a line of its own. */
    feed(f, "secret\n");
    assert_int_equal(line_count, 2);
    assert_line(1, "secret", 0, false);
}

static void expiry_takes_the_oldest_lines_only(void **state)
{
    struct fixture *f = *state;
    uint64_t start = fake_now;

    feed_tid(f, 1, "first");
    fake_now = start + 100 * MS;
    feed_tid(f, 2, "second");
    assert_int_equal(assembler_next_deadline(&f->assembler), start + 250 * MS);
    fake_now = start + 300 * MS;
    assembler_expire(&f->assembler);
    assert_int_equal(line_count, 1);
    assert_line(0, "first", 0, false);
    assert_int_equal(assembler_next_deadline(&f->assembler), start + 350 * MS);
    fake_now = start + 350 * MS;
    assembler_expire(&f->assembler);
    assert_int_equal(line_count, 2);
    assert_line(1, "second", 0, false);
}

static void crlf_endings_are_removed(void **state)
{
    struct fixture *f = *state;
    feed(f, "dos\r\n");
    feed(f, "split\r");
    feed(f, "\n");
    feed(f, "in\rside\n");
    feed(f, "\r\n");
    assert_int_equal(line_count, 4);
    assert_line(0, "dos", 0, false);
    assert_line(1, "split", 0, false);
    assert_line(2, "in\rside", 0, false);
    assert_line(3, "", 0, false);
}

static void nul_bytes_are_kept(void **state)
{
    struct fixture *f = *state;
    feed_full(f, &f->set, 42, 7, 1, 1, "a\0b\n\0\n", 6);
    assert_int_equal(line_count, 2);
    assert_int_equal(lines[0].len, 3);
    assert_memory_equal(lines[0].text, "a\0b", 3);
    assert_int_equal(lines[1].len, 1);
    assert_memory_equal(lines[1].text, "\0", 1);
}

static void a_line_of_exactly_max_line_bytes_is_whole(void **state)
{
    struct fixture *f = *state; /* max_line = 8 */
    feed(f, "01234567\n");
    feed(f, "0123");
    feed(f, "4567\r\n");
    assert_int_equal(line_count, 2);
    assert_line(0, "01234567", 0, false);
    assert_line(1, "01234567", 0, false);
}

static void an_overlong_line_is_split_into_numbered_pieces(void **state)
{
    struct fixture *f = *state; /* max_line = 8 */
    feed(f, "0123456789abcdefXYZ\n");
    assert_int_equal(line_count, 3);
    assert_line(0, "01234567", 1, true);
    assert_line(1, "89abcdef", 2, true);
    assert_line(2, "XYZ", 3, false);
    feed(f, "012345678\n");
    assert_int_equal(line_count, 5);
    assert_line(3, "01234567", 1, true);
    assert_line(4, "8", 2, false);
}

static void an_overlong_line_across_chunks_is_split(void **state)
{
    struct fixture *f = *state; /* max_line = 8 */
    uint64_t start = fake_now;

    feed_full(f, &f->set, 42, 7, 1, 77, "0123", 4);
    feed_full(f, &f->set, 42, 7, 1, 78, "456789", 6);
    assert_int_equal(line_count, 1);
    assert_line(0, "01234567", 1, true);
    assert_int_equal(lines[0].line.time_ns, 77);
    /* What is left waits as long as a new partial line would. */
    fake_now = start + 100 * MS;
    feed_full(f, &f->set, 42, 7, 1, 79, "ab", 2);
    assert_int_equal(assembler_next_deadline(&f->assembler), start + 250 * MS);
    feed_full(f, &f->set, 42, 7, 1, 80, "cdefgh\n", 7);
    assert_int_equal(line_count, 3);
    assert_line(1, "89abcdef", 2, true);
    assert_line(2, "gh", 3, false);
    assert_int_equal(lines[2].line.time_ns, 77);
}

static void an_overlong_partial_line_ends_with_its_last_piece(void **state)
{
    struct fixture *f = *state; /* max_line = 8 */
    uint64_t start = fake_now;

    feed(f, "0123456789");
    assert_int_equal(line_count, 1);
    assert_line(0, "01234567", 1, true);
    fake_now = start + 250 * MS;
    assembler_expire(&f->assembler);
    assert_int_equal(line_count, 2);
    assert_line(1, "89", 2, false);
}

static void pieces_are_cut_between_characters(void **state)
{
    struct fixture *f = *state; /* max_line = 8 */
    /* "€" is E2 82 AC: bytes 6..8 would straddle the cut at 8. */
    feed(f, "abcdef\xe2\x82\xacx\n");
    assert_int_equal(line_count, 2);
    assert_line(0, "abcdef", 1, true);
    assert_line(1, "\xe2\x82\xacx", 2, false);
    /* Also when the character's last byte is not held yet. */
    feed(f, "abcdefg\xe2\x82\xacx\n");
    assert_int_equal(line_count, 4);
    assert_line(2, "abcdefg", 1, true);
    assert_line(3, "\xe2\x82\xacx", 2, false);
    /* Ill-formed bytes are cut anywhere: there is no character to keep whole. */
    feed(f, "abcdefg\xe2\x41x\n");
    assert_int_equal(line_count, 6);
    assert_line(4, "abcdefg\xe2", 1, true);
    assert_line(5, "Ax", 2, false);
}

static void disconnect_flushes_what_is_pending(void **state)
{
    struct fixture *f = *state;
    feed_tid(f, 1, "last words");
    feed_tid(f, 2, "and more");
    assert_int_equal(line_count, 0);
    assembler_flush_set(&f->assembler, &f->set);
    assert_int_equal(line_count, 2);
    assert_line(0, "last words", 0, false);
    assert_line(1, "and more", 0, false);
    assert_int_equal(f->set.count, 0);
    assert_int_equal(assembler_next_deadline(&f->assembler), UINT64_MAX);
}

static void many_pending_lines_are_bounded_per_connection(void **state)
{
    struct fixture *f = *state;
    for (uint32_t tid = 1; tid <= 1025; tid++)
        feed_tid(f, tid, "x");
    /* The 1025th pending line pushed out the oldest. */
    assert_int_equal(line_count, 1);
    assert_line(0, "x", 0, false);
    assert_int_equal(lines[0].line.tid, 1);
    assert_int_equal(f->set.count, 1024);
}

static void the_newline_of_a_line_flushed_by_timeout_makes_no_record(void **state)
{
    struct fixture *f = *state;
    uint64_t start = fake_now;

    feed(f, "Loading... ");
    fake_now = start + 250 * MS;
    assembler_expire(&f->assembler);
    assert_int_equal(line_count, 1);
    assert_line(0, "Loading... ", 0, false);
    feed(f, "");
    feed(f, "\r\nnext\n");
    assert_int_equal(line_count, 2);
    assert_line(1, "next", 0, false);
    /* Once, not for every newline that follows. */
    feed(f, "\n");
    assert_int_equal(line_count, 3);
    assert_line(2, "", 0, false);
    /* A key waiting for its newline emits nothing when its connection goes. */
    feed(f, "tail");
    fake_now = start + 600 * MS;
    assembler_expire(&f->assembler);
    assert_int_equal(line_count, 4);
    assembler_flush_set(&f->assembler, &f->set);
    assert_int_equal(line_count, 4);
}

static void a_crlf_split_by_the_timeout_makes_one_clean_record(void **state)
{
    struct fixture *f = *state;
    uint64_t start = fake_now;

    feed(f, "abc\r");
    fake_now = start + 250 * MS;
    assembler_expire(&f->assembler);
    assert_int_equal(line_count, 1);
    assert_line(0, "abc", 0, false);
    feed(f, "\n");
    assert_int_equal(line_count, 1);

    feed(f, "def");
    fake_now = start + 500 * MS;
    assembler_expire(&f->assembler);
    feed(f, "\r");
    feed(f, "\n");
    feed(f, "ghi\n");
    assert_int_equal(line_count, 3);
    assert_line(1, "def", 0, false);
    assert_line(2, "ghi", 0, false);
}

static void a_chunk_without_bytes_changes_nothing(void **state)
{
    struct fixture *f = *state;
    feed(f, "");
    assert_int_equal(line_count, 0);
    assert_int_equal(assembler_next_deadline(&f->assembler), UINT64_MAX);
}

static void more_in_write_marks_lines_followed_in_the_same_chunk(void **state)
{
    struct fixture *f = *state; /* max_line = 8 */
    uint64_t start = fake_now;

    feed(f, "a\nb\n\nc");
    assert_int_equal(line_count, 3);
    assert_true(lines[0].line.more_in_write);  /* "b" follows */
    assert_true(lines[1].line.more_in_write);  /* "" follows */
    assert_false(lines[2].line.more_in_write); /* "c" has no newline yet */
    /* A line finished by this chunk counts what this chunk carries after it. */
    feed(f, "d\ne\n");
    assert_int_equal(line_count, 5);
    assert_line(3, "cd", 0, false);
    assert_true(lines[3].line.more_in_write);
    assert_line(4, "e", 0, false);
    assert_false(lines[4].line.more_in_write);
    /* Pieces of an over-long line never say it. */
    feed(f, "0123456789\nx\n");
    assert_int_equal(line_count, 8);
    assert_line(5, "01234567", 1, true);
    assert_line(6, "89", 2, false);
    assert_false(lines[5].line.more_in_write);
    assert_false(lines[6].line.more_in_write); /* though "x" follows */
    assert_line(7, "x", 0, false);
    assert_false(lines[7].line.more_in_write);
    /* Nor lines that leave by timeout or at disconnect. */
    feed(f, "slow");
    fake_now = start + 250 * MS;
    assembler_expire(&f->assembler);
    assert_int_equal(line_count, 9);
    assert_false(lines[8].line.more_in_write);
    feed(f, "\ngone");
    assembler_flush_set(&f->assembler, &f->set);
    assert_int_equal(line_count, 10);
    assert_line(9, "gone", 0, false);
    assert_false(lines[9].line.more_in_write);
    /* Only lines of the same key: another thread's chunk is another write. */
    feed_tid(f, 1, "t1\n");
    feed_tid(f, 2, "t2\n");
    assert_false(lines[10].line.more_in_write);
    assert_false(lines[11].line.more_in_write);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(whole_lines_in_one_chunk_are_not_copied, setup, teardown),
        cmocka_unit_test_setup_teardown(a_line_split_across_chunks_is_joined, setup, teardown),
        cmocka_unit_test_setup_teardown(threads_and_streams_are_assembled_apart, setup, teardown),
        cmocka_unit_test_setup_teardown(processes_and_connections_are_assembled_apart, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_partial_line_waits_250ms_from_its_first_byte, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(expiry_takes_the_oldest_lines_only, setup, teardown),
        cmocka_unit_test_setup_teardown(crlf_endings_are_removed, setup, teardown),
        cmocka_unit_test_setup_teardown(nul_bytes_are_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(a_line_of_exactly_max_line_bytes_is_whole, setup_small,
                                        teardown),
        cmocka_unit_test_setup_teardown(an_overlong_line_is_split_into_numbered_pieces,
                                        setup_small, teardown),
        cmocka_unit_test_setup_teardown(an_overlong_line_across_chunks_is_split, setup_small,
                                        teardown),
        cmocka_unit_test_setup_teardown(an_overlong_partial_line_ends_with_its_last_piece,
                                        setup_small, teardown),
        cmocka_unit_test_setup_teardown(pieces_are_cut_between_characters, setup_small, teardown),
        cmocka_unit_test_setup_teardown(disconnect_flushes_what_is_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(many_pending_lines_are_bounded_per_connection, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(the_newline_of_a_line_flushed_by_timeout_makes_no_record,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_crlf_split_by_the_timeout_makes_one_clean_record, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_chunk_without_bytes_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(more_in_write_marks_lines_followed_in_the_same_chunk,
                                        setup_small, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
