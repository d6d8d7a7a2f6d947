/*
 * wire_fixtures.h - what the wire-protocol unit tests share: a sample
 * HELLO, and a decoder call on an exact-size heap copy of the message, so
 * that the ASan build catches any read past what the kernel delivered.
 */
#ifndef ULOG_TEST_WIRE_FIXTURES_H
#define ULOG_TEST_WIRE_FIXTURES_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ulog/wire.h"

static inline unsigned char *exact_copy(const void *src, size_t size)
{
    unsigned char *copy = malloc(size ? size : 1);
    assert_non_null(copy);
    if (size)
        memcpy(copy, src, size);
    return copy;
}

static inline int decode_exact(const void *buf, size_t size, struct ulog_wire_msg *out)
{
    unsigned char *copy = exact_copy(buf, size);
    int rc = ulog_wire_decode(copy, size, out);
    free(copy);
    return rc;
}

static inline struct ulog_wire_str str_of(const char *s, size_t len)
{
    struct ulog_wire_str out = {s, (uint16_t)len};
    return out;
}

static inline void assert_str_equal(struct ulog_wire_str got, const char *want, size_t want_len)
{
    assert_int_equal(got.len, want_len);
    if (want_len)
        assert_memory_equal(got.ptr, want, want_len);
}

static const char ARGV[] = "prog\0--flag\0value";
static const char CONTEXT[] = "{\"env\":\"test\",\"team\":\"core\"}";

static inline struct ulog_wire_hello sample_hello(void)
{
    struct ulog_wire_hello h;
    memset(&h, 0, sizeof h);
    h.pid = 4242;
    h.ppid = 1;
    h.uid = 1000;
    h.shim_version = 0x00010000u;
    h.capture_mode = ULOG_CAPTURE_FD | ULOG_CAPTURE_STDIO_SLOT;
    h.start_time_ns = 1795271538214521000ull;
    h.program = str_of("prog", 4);
    h.argv = str_of(ARGV, sizeof ARGV - 1);
    h.service = str_of("billing", 7);
    h.container = str_of("0123456789ab", 12);
    h.host = str_of("host-1", 6);
    h.context = str_of(CONTEXT, sizeof CONTEXT - 1);
    return h;
}

static inline size_t encode_sample_hello(unsigned char *buf, size_t cap)
{
    struct ulog_wire_hello h = sample_hello();
    size_t n = ulog_wire_encode_hello(buf, cap, &h);
    assert_true(n > ULOG_WIRE_HEADER_SIZE + ULOG_WIRE_HELLO_FIXED);
    return n;
}

/* Rewrite the header's payload length so only the payload is at fault. */
static inline void set_payload_len(unsigned char *msg, uint32_t len)
{
    ulog_wire_put32(msg + 4, len);
}

#endif /* ULOG_TEST_WIRE_FIXTURES_H */
