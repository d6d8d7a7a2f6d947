/*
 * test_wire.c - the shim <-> ulogd protocol (include/ulog/wire.h): every
 * message the shim sends survives encode then decode, and an encoder given
 * too little room writes nothing past it and returns 0 (the shim encodes
 * into fixed buffers on its write path). The refusals of malformed input
 * are in test_wire_malformed.c.
 */
#include "wire_fixtures.h"

#define CANARY 0xA5

/* --- round trips ---------------------------------------------------------- */

static void test_header_layout(void **state)
{
    unsigned char buf[64];
    (void)state;
    size_t n = ulog_wire_encode_dropped(buf, sizeof buf, 1, 2);
    assert_int_equal(n, ULOG_WIRE_HEADER_SIZE + ULOG_WIRE_DROPPED_SIZE);
    assert_int_equal(buf[0], 'U');
    assert_int_equal(buf[1], 'L');
    assert_int_equal(buf[2], ULOG_WIRE_VERSION);
    assert_int_equal(buf[3], ULOG_WIRE_DROPPED);
    assert_int_equal(ulog_wire_get32(buf + 4), ULOG_WIRE_DROPPED_SIZE);
}

static void test_hello_round_trip(void **state)
{
    unsigned char buf[ULOG_WIRE_MAX_MESSAGE];
    struct ulog_wire_hello h = sample_hello();
    struct ulog_wire_msg msg;
    (void)state;

    size_t n = ulog_wire_encode_hello(buf, sizeof buf, &h);
    size_t strings = 6 * 2 + 4 + (sizeof ARGV - 1) + 7 + 12 + 6 + (sizeof CONTEXT - 1);
    assert_int_equal(n, ULOG_WIRE_HEADER_SIZE + ULOG_WIRE_HELLO_FIXED + strings);

    unsigned char *copy = exact_copy(buf, n);
    assert_int_equal(ulog_wire_decode(copy, n, &msg), ULOG_WIRE_OK);
    assert_int_equal(msg.type, ULOG_WIRE_HELLO);
    assert_int_equal(msg.u.hello.pid, 4242);
    assert_int_equal(msg.u.hello.ppid, 1);
    assert_int_equal(msg.u.hello.uid, 1000);
    assert_int_equal(msg.u.hello.shim_version, 0x00010000u);
    assert_int_equal(msg.u.hello.capture_mode, ULOG_CAPTURE_FD | ULOG_CAPTURE_STDIO_SLOT);
    assert_true(msg.u.hello.start_time_ns == 1795271538214521000ull);
    assert_str_equal(msg.u.hello.program, "prog", 4);
    assert_str_equal(msg.u.hello.argv, ARGV, sizeof ARGV - 1);
    assert_str_equal(msg.u.hello.service, "billing", 7);
    assert_str_equal(msg.u.hello.container, "0123456789ab", 12);
    assert_str_equal(msg.u.hello.host, "host-1", 6);
    assert_str_equal(msg.u.hello.context, CONTEXT, sizeof CONTEXT - 1);
    /* The decoder copies nothing: strings point into the received buffer. */
    assert_ptr_equal(msg.u.hello.program.ptr,
                     (const char *)copy + ULOG_WIRE_HEADER_SIZE + ULOG_WIRE_HELLO_FIXED + 2);
    free(copy);
}

static void test_hello_empty_strings(void **state)
{
    unsigned char buf[256];
    struct ulog_wire_hello h;
    struct ulog_wire_msg msg;
    (void)state;

    memset(&h, 0, sizeof h);
    h.pid = 7;
    size_t n = ulog_wire_encode_hello(buf, sizeof buf, &h);
    assert_int_equal(n, ULOG_WIRE_HEADER_SIZE + ULOG_WIRE_HELLO_FIXED + 6 * 2);
    assert_int_equal(ulog_wire_decode(buf, n, &msg), ULOG_WIRE_OK);
    assert_int_equal(msg.u.hello.pid, 7);
    assert_int_equal(msg.u.hello.program.len, 0);
    assert_int_equal(msg.u.hello.context.len, 0);
}

/* Six strings of the maximum length still make one valid message. */
static void test_hello_max_strings(void **state)
{
    static char big[ULOG_WIRE_MAX_STRING];
    static unsigned char buf[ULOG_WIRE_MAX_MESSAGE];
    struct ulog_wire_hello h;
    struct ulog_wire_msg msg;
    (void)state;

    memset(big, 'x', sizeof big);
    memset(&h, 0, sizeof h);
    h.program = h.argv = h.service = h.container = h.host = h.context =
        str_of(big, ULOG_WIRE_MAX_STRING);
    size_t n = ulog_wire_encode_hello(buf, sizeof buf, &h);
    assert_int_equal(n, ULOG_WIRE_HEADER_SIZE + ULOG_WIRE_HELLO_FIXED +
                            6 * (2 + ULOG_WIRE_MAX_STRING));
    assert_int_equal(decode_exact(buf, n, &msg), ULOG_WIRE_OK);
    assert_int_equal(msg.u.hello.context.len, ULOG_WIRE_MAX_STRING);
}

static void test_data_round_trip(void **state)
{
    static const char line[] = "hello, \xff world\n\0tail";
    unsigned char buf[256];
    struct ulog_wire_msg msg;
    (void)state;

    size_t n = ulog_wire_encode_data(buf, sizeof buf, 1795271538214521000ull, 99,
                                     ULOG_STREAM_STDERR, ULOG_DATA_CONTINUED, line,
                                     sizeof line - 1);
    assert_int_equal(n, ULOG_WIRE_DATA_PREFIX + sizeof line - 1);
    unsigned char *copy = exact_copy(buf, n);
    assert_int_equal(ulog_wire_decode(copy, n, &msg), ULOG_WIRE_OK);
    assert_int_equal(msg.type, ULOG_WIRE_DATA);
    assert_true(msg.u.data.timestamp_ns == 1795271538214521000ull);
    assert_int_equal(msg.u.data.tid, 99);
    assert_int_equal(msg.u.data.stream, ULOG_STREAM_STDERR);
    assert_int_equal(msg.u.data.flags, ULOG_DATA_CONTINUED);
    assert_int_equal(msg.u.data.len, sizeof line - 1);
    assert_memory_equal(msg.u.data.bytes, line, sizeof line - 1);
    assert_ptr_equal(msg.u.data.bytes, copy + ULOG_WIRE_DATA_PREFIX);
    free(copy);
}

/* The shim sends prefix + the caller's bytes as two iovecs: same message. */
static void test_data_prefix_matches_encoder(void **state)
{
    static const char line[] = "split across two iovecs\n";
    unsigned char whole[128], joined[128];
    unsigned char prefix[ULOG_WIRE_DATA_PREFIX];
    (void)state;

    size_t n = ulog_wire_encode_data(whole, sizeof whole, 5, 6, ULOG_STREAM_STDOUT, 0, line,
                                     sizeof line - 1);
    ulog_wire_data_prefix(prefix, 5, 6, ULOG_STREAM_STDOUT, 0, sizeof line - 1);
    memcpy(joined, prefix, sizeof prefix);
    memcpy(joined + sizeof prefix, line, sizeof line - 1);
    assert_int_equal(n, sizeof prefix + sizeof line - 1);
    assert_memory_equal(whole, joined, n);
}

static void test_data_empty_and_max(void **state)
{
    static unsigned char buf[ULOG_WIRE_MAX_MESSAGE];
    static unsigned char bytes[ULOG_WIRE_MAX_DATA];
    struct ulog_wire_msg msg;
    (void)state;

    size_t n = ulog_wire_encode_data(buf, sizeof buf, 1, 2, ULOG_STREAM_STDOUT, 0, "", 0);
    assert_int_equal(n, ULOG_WIRE_DATA_PREFIX);
    assert_int_equal(decode_exact(buf, n, &msg), ULOG_WIRE_OK);
    assert_int_equal(msg.u.data.len, 0);

    memset(bytes, 'y', sizeof bytes);
    n = ulog_wire_encode_data(buf, sizeof buf, 1, 2, ULOG_STREAM_STDOUT, 0, bytes, sizeof bytes);
    assert_int_equal(n, ULOG_WIRE_MAX_MESSAGE);
    assert_int_equal(decode_exact(buf, n, &msg), ULOG_WIRE_OK);
    assert_int_equal(msg.u.data.len, ULOG_WIRE_MAX_DATA);

    /* One byte more than a message can carry is refused by the encoder. */
    assert_int_equal(ulog_wire_encode_data(buf, sizeof buf, 1, 2, ULOG_STREAM_STDOUT, 0,
                                           bytes, ULOG_WIRE_MAX_DATA + 1),
                     0);
}

static void test_dropped_round_trip(void **state)
{
    unsigned char buf[64];
    struct ulog_wire_msg msg;
    (void)state;

    size_t n = ulog_wire_encode_dropped(buf, sizeof buf, UINT64_MAX - 1, 1ull << 40);
    assert_int_equal(decode_exact(buf, n, &msg), ULOG_WIRE_OK);
    assert_int_equal(msg.type, ULOG_WIRE_DROPPED);
    assert_true(msg.u.dropped.messages == UINT64_MAX - 1);
    assert_true(msg.u.dropped.bytes == 1ull << 40);
}

/* --- encoders given too little room -------------------------------------- */

static void assert_untouched(const unsigned char *buf, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        assert_int_equal(buf[i], CANARY);
}

static void test_encode_data_no_room(void **state)
{
    static const char line[] = "does not fit\n";
    size_t need = ULOG_WIRE_DATA_PREFIX + sizeof line - 1;
    unsigned char buf[128];
    (void)state;

    for (size_t cap = 0; cap < need; cap++) {
        memset(buf, CANARY, sizeof buf);
        assert_int_equal(ulog_wire_encode_data(buf, cap, 1, 1, ULOG_STREAM_STDOUT, 0, line,
                                               sizeof line - 1),
                         0);
        assert_untouched(buf, cap, sizeof buf);
    }
    assert_int_equal(ulog_wire_encode_data(buf, need, 1, 1, ULOG_STREAM_STDOUT, 0, line,
                                           sizeof line - 1),
                     need);
}

static void test_encode_dropped_no_room(void **state)
{
    size_t need = ULOG_WIRE_HEADER_SIZE + ULOG_WIRE_DROPPED_SIZE;
    unsigned char buf[64];
    (void)state;

    for (size_t cap = 0; cap < need; cap++) {
        memset(buf, CANARY, sizeof buf);
        assert_int_equal(ulog_wire_encode_dropped(buf, cap, 1, 1), 0);
        assert_untouched(buf, cap, sizeof buf);
    }
    assert_int_equal(ulog_wire_encode_dropped(buf, need, 1, 1), need);
}

static void test_encode_hello_no_room(void **state)
{
    unsigned char buf[512];
    struct ulog_wire_hello h = sample_hello();
    (void)state;

    size_t need = ulog_wire_encode_hello(buf, sizeof buf, &h);
    assert_true(need > 0 && need < sizeof buf);
    for (size_t cap = 0; cap < need; cap++) {
        memset(buf, CANARY, sizeof buf);
        assert_int_equal(ulog_wire_encode_hello(buf, cap, &h), 0);
        assert_untouched(buf, cap, sizeof buf);
    }
}

static void test_strerror_names_every_status(void **state)
{
    (void)state;
    for (int s = ULOG_WIRE_OK; s <= ULOG_WIRE_BAD_FIELD; s++) {
        assert_string_not_equal(ulog_wire_strerror(s), "unknown error");
        for (int t = ULOG_WIRE_OK; t < s; t++)
            assert_string_not_equal(ulog_wire_strerror(s), ulog_wire_strerror(t));
    }
    assert_string_equal(ulog_wire_strerror(ULOG_WIRE_BAD_FIELD + 1), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_layout),
        cmocka_unit_test(test_hello_round_trip),
        cmocka_unit_test(test_hello_empty_strings),
        cmocka_unit_test(test_hello_max_strings),
        cmocka_unit_test(test_data_round_trip),
        cmocka_unit_test(test_data_prefix_matches_encoder),
        cmocka_unit_test(test_data_empty_and_max),
        cmocka_unit_test(test_dropped_round_trip),
        cmocka_unit_test(test_encode_data_no_room),
        cmocka_unit_test(test_encode_dropped_no_room),
        cmocka_unit_test(test_encode_hello_no_room),
        cmocka_unit_test(test_strerror_names_every_status),
    };
    return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
