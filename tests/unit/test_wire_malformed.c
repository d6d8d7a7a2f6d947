/*
 * test_wire_malformed.c - every malformed form ulogd must refuse: short,
 * oversized, bad magic, wrong version, wrong type, a payload length that
 * disagrees with the size received (both ways), each field of HELLO cut at
 * every byte offset, an over-long string, bad stream and flags, a DROPPED of
 * the wrong size. The decoder is the one place where bytes from an untrusted
 * peer are parsed, so each rejection path is exercised on its own.
 */
#include "wire_fixtures.h"

/* --- malformed forms ------------------------------------------------------ */

static void test_short(void **state)
{
    unsigned char buf[64];
    struct ulog_wire_msg msg;
    (void)state;

    size_t n = ulog_wire_encode_dropped(buf, sizeof buf, 1, 1);
    assert_true(n > ULOG_WIRE_HEADER_SIZE);
    for (size_t size = 0; size < ULOG_WIRE_HEADER_SIZE; size++)
        assert_int_equal(decode_exact(buf, size, &msg), ULOG_WIRE_SHORT);
}

static void test_oversized(void **state)
{
    size_t size = ULOG_WIRE_MAX_MESSAGE + 1;
    unsigned char *buf = calloc(1, size);
    struct ulog_wire_msg msg;
    (void)state;

    assert_non_null(buf);
    /* Otherwise well formed: only the size is at fault. */
    ulog_wire_data_prefix(buf, 1, 1, ULOG_STREAM_STDOUT, 0, (uint32_t)(size - ULOG_WIRE_DATA_PREFIX));
    assert_int_equal(decode_exact(buf, size, &msg), ULOG_WIRE_OVERSIZED);
    free(buf);
}

static void test_bad_magic(void **state)
{
    unsigned char buf[64];
    struct ulog_wire_msg msg;
    (void)state;

    size_t n = ulog_wire_encode_dropped(buf, sizeof buf, 1, 1);
    buf[0] = 'X';
    assert_int_equal(decode_exact(buf, n, &msg), ULOG_WIRE_BAD_MAGIC);
    buf[0] = 'U';
    buf[1] = 'l';
    assert_int_equal(decode_exact(buf, n, &msg), ULOG_WIRE_BAD_MAGIC);
}

static void test_wrong_version(void **state)
{
    static const uint8_t versions[] = {0, ULOG_WIRE_VERSION + 1, 255};
    unsigned char buf[64];
    struct ulog_wire_msg msg;
    (void)state;

    size_t n = ulog_wire_encode_dropped(buf, sizeof buf, 1, 1);
    for (size_t i = 0; i < sizeof versions; i++) {
        buf[2] = versions[i];
        assert_int_equal(decode_exact(buf, n, &msg), ULOG_WIRE_BAD_VERSION);
    }
}

static void test_wrong_type(void **state)
{
    static const uint8_t types[] = {0, ULOG_WIRE_DROPPED + 1, 0x7f, 255};
    unsigned char buf[64];
    struct ulog_wire_msg msg;
    (void)state;

    size_t n = ulog_wire_encode_dropped(buf, sizeof buf, 1, 1);
    for (size_t i = 0; i < sizeof types; i++) {
        buf[3] = types[i];
        assert_int_equal(decode_exact(buf, n, &msg), ULOG_WIRE_BAD_TYPE);
    }
}

/* The header claims more, or less, than the kernel delivered. */
static void test_payload_length_mismatch(void **state)
{
    unsigned char buf[128];
    struct ulog_wire_msg msg;
    (void)state;

    size_t n = ulog_wire_encode_data(buf, sizeof buf, 1, 1, ULOG_STREAM_STDOUT, 0, "abc\n", 4);
    uint32_t len = (uint32_t)(n - ULOG_WIRE_HEADER_SIZE);

    set_payload_len(buf, len + 1);
    assert_int_equal(decode_exact(buf, n, &msg), ULOG_WIRE_BAD_LENGTH);
    set_payload_len(buf, len - 1);
    assert_int_equal(decode_exact(buf, n, &msg), ULOG_WIRE_BAD_LENGTH);
    set_payload_len(buf, UINT32_MAX);
    assert_int_equal(decode_exact(buf, n, &msg), ULOG_WIRE_BAD_LENGTH);
    set_payload_len(buf, 0);
    assert_int_equal(decode_exact(buf, n, &msg), ULOG_WIRE_BAD_LENGTH);
}

/*
 * Cut a valid HELLO at every byte offset. With the header made consistent
 * with the cut, the fault is a truncated field; left as encoded, it is a
 * length mismatch. Either way it is never accepted.
 */
static void test_hello_truncated_every_offset(void **state)
{
    unsigned char buf[ULOG_WIRE_MAX_MESSAGE];
    unsigned char cut_msg[ULOG_WIRE_MAX_MESSAGE];
    struct ulog_wire_msg msg;
    (void)state;

    size_t n = encode_sample_hello(buf, sizeof buf);
    for (size_t cut = ULOG_WIRE_HEADER_SIZE; cut < n; cut++) {
        memcpy(cut_msg, buf, cut);
        assert_int_equal(decode_exact(cut_msg, cut, &msg), ULOG_WIRE_BAD_LENGTH);
        set_payload_len(cut_msg, (uint32_t)(cut - ULOG_WIRE_HEADER_SIZE));
        assert_int_equal(decode_exact(cut_msg, cut, &msg), ULOG_WIRE_TRUNCATED_FIELD);
    }
}

/* A string length that points past the end, with the rest intact. */
static void test_hello_string_length_past_end(void **state)
{
    unsigned char buf[ULOG_WIRE_MAX_MESSAGE];
    struct ulog_wire_msg msg;
    (void)state;

    size_t n = encode_sample_hello(buf, sizeof buf);
    /* program, argv, service, container and host come before the context */
    size_t context_at = ULOG_WIRE_HEADER_SIZE + ULOG_WIRE_HELLO_FIXED + (2 + 4) +
                        (2 + sizeof ARGV - 1) + (2 + 7) + (2 + 12) + (2 + 6);
    assert_int_equal(context_at + 2 + sizeof CONTEXT - 1, n);
    ulog_wire_put16(buf + context_at, (uint16_t)(sizeof CONTEXT)); /* one byte too many */
    assert_int_equal(decode_exact(buf, n, &msg), ULOG_WIRE_TRUNCATED_FIELD);
}

static void test_hello_trailing_bytes(void **state)
{
    unsigned char buf[ULOG_WIRE_MAX_MESSAGE];
    struct ulog_wire_msg msg;
    (void)state;

    size_t n = encode_sample_hello(buf, sizeof buf);
    buf[n] = 0;
    set_payload_len(buf, (uint32_t)(n + 1 - ULOG_WIRE_HEADER_SIZE));
    assert_int_equal(decode_exact(buf, n + 1, &msg), ULOG_WIRE_BAD_LENGTH);
}

static void test_string_too_long(void **state)
{
    static char big[ULOG_WIRE_MAX_STRING + 1];
    static unsigned char buf[ULOG_WIRE_MAX_MESSAGE];
    struct ulog_wire_hello h;
    struct ulog_wire_msg msg;
    (void)state;

    /* The encoder refuses to write it ... */
    memset(big, 'z', sizeof big);
    memset(&h, 0, sizeof h);
    h.service = str_of(big, sizeof big);
    assert_int_equal(ulog_wire_encode_hello(buf, sizeof buf, &h), 0);

    /* ... and the decoder refuses to read it, even with every byte present. */
    h.service = str_of(big, ULOG_WIRE_MAX_STRING);
    size_t n = ulog_wire_encode_hello(buf, sizeof buf, &h);
    assert_true(n > 0);
    size_t service_len_at = ULOG_WIRE_HEADER_SIZE + ULOG_WIRE_HELLO_FIXED + 2 + 2;
    assert_int_equal(ulog_wire_get16(buf + service_len_at), ULOG_WIRE_MAX_STRING);
    memmove(buf + service_len_at + 2 + ULOG_WIRE_MAX_STRING + 1,
            buf + service_len_at + 2 + ULOG_WIRE_MAX_STRING,
            n - (service_len_at + 2 + ULOG_WIRE_MAX_STRING));
    buf[service_len_at + 2 + ULOG_WIRE_MAX_STRING] = 'z';
    ulog_wire_put16(buf + service_len_at, ULOG_WIRE_MAX_STRING + 1);
    set_payload_len(buf, (uint32_t)(n + 1 - ULOG_WIRE_HEADER_SIZE));
    assert_int_equal(decode_exact(buf, n + 1, &msg), ULOG_WIRE_BAD_FIELD);
}

static void test_data_bad_stream(void **state)
{
    static const uint8_t streams[] = {0, 3, 0x80, 255};
    unsigned char buf[64];
    struct ulog_wire_msg msg;
    (void)state;

    for (size_t i = 0; i < sizeof streams; i++) {
        size_t n = ulog_wire_encode_data(buf, sizeof buf, 1, 1, streams[i], 0, "x\n", 2);
        assert_int_equal(decode_exact(buf, n, &msg), ULOG_WIRE_BAD_FIELD);
    }
}

static void test_data_bad_flags(void **state)
{
    static const uint8_t flags[] = {0x02, 0x04, 0x80, 0xff, ULOG_DATA_CONTINUED | 0x10};
    unsigned char buf[64];
    struct ulog_wire_msg msg;
    (void)state;

    for (size_t i = 0; i < sizeof flags; i++) {
        size_t n = ulog_wire_encode_data(buf, sizeof buf, 1, 1, ULOG_STREAM_STDOUT, flags[i],
                                         "x\n", 2);
        assert_int_equal(decode_exact(buf, n, &msg), ULOG_WIRE_BAD_FIELD);
    }
}

static void test_data_truncated_fields(void **state)
{
    unsigned char buf[64];
    struct ulog_wire_msg msg;
    (void)state;

    ulog_wire_encode_data(buf, sizeof buf, 1, 1, ULOG_STREAM_STDOUT, 0, "", 0);
    for (uint32_t len = 0; len < 16; len++) {
        set_payload_len(buf, len);
        assert_int_equal(decode_exact(buf, ULOG_WIRE_HEADER_SIZE + len, &msg),
                         ULOG_WIRE_TRUNCATED_FIELD);
    }
}

static void test_dropped_wrong_size(void **state)
{
    unsigned char buf[64];
    struct ulog_wire_msg msg;
    (void)state;

    ulog_wire_encode_dropped(buf, sizeof buf, 3, 300);
    memset(buf + ULOG_WIRE_HEADER_SIZE + ULOG_WIRE_DROPPED_SIZE, 0, 8);
    for (uint32_t len = ULOG_WIRE_DROPPED_SIZE + 1; len <= ULOG_WIRE_DROPPED_SIZE + 8; len++) {
        set_payload_len(buf, len);
        assert_int_equal(decode_exact(buf, ULOG_WIRE_HEADER_SIZE + len, &msg),
                         ULOG_WIRE_BAD_LENGTH);
    }
    for (uint32_t len = 0; len < ULOG_WIRE_DROPPED_SIZE; len++) {
        set_payload_len(buf, len);
        assert_int_equal(decode_exact(buf, ULOG_WIRE_HEADER_SIZE + len, &msg),
                         ULOG_WIRE_TRUNCATED_FIELD);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short),
        cmocka_unit_test(test_oversized),
        cmocka_unit_test(test_bad_magic),
        cmocka_unit_test(test_wrong_version),
        cmocka_unit_test(test_wrong_type),
        cmocka_unit_test(test_payload_length_mismatch),
        cmocka_unit_test(test_hello_truncated_every_offset),
        cmocka_unit_test(test_hello_string_length_past_end),
        cmocka_unit_test(test_hello_trailing_bytes),
        cmocka_unit_test(test_string_too_long),
        cmocka_unit_test(test_data_bad_stream),
        cmocka_unit_test(test_data_bad_flags),
        cmocka_unit_test(test_data_truncated_fields),
        cmocka_unit_test(test_dropped_wrong_size),
    };
    return cmocka_run_group_tests_name("wire_malformed", tests, NULL, NULL);
}
