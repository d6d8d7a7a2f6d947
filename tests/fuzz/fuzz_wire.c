/*
 * fuzz_wire.c - libFuzzer target for the shim -> ulogd protocol decoder
 * (ulog_wire_decode, include/ulog/wire.h).
 *
 * The decoder is the first code to touch bytes from any process that can
 * connect to the socket, so beyond not crashing it must keep its word: a
 * message it accepts points only inside what was received, and encodes
 * back to the very bytes received (the reserved fields, which it does not
 * read, aside) - otherwise ulogd would act on something no shim could have
 * sent.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "ulog/wire.h"

static unsigned char again[ULOG_WIRE_MAX_MESSAGE];

static void check_inside(const uint8_t *data, size_t size, const void *ptr, size_t len)
{
    const uint8_t *p = ptr;
    FUZZ_CHECK(len == 0 || p != NULL);
    if (len) {
        FUZZ_CHECK(p >= data && p <= data + size && len <= (size_t)(data + size - p));
        fuzz_touch(p, len);
    }
}

static void check_hello(const uint8_t *data, size_t size, const struct ulog_wire_hello *h)
{
    const struct ulog_wire_str *strings[6] = {&h->program, &h->argv, &h->service,
                                              &h->container, &h->host, &h->context};

    for (int i = 0; i < 6; i++) {
        FUZZ_CHECK(strings[i]->len <= ULOG_WIRE_MAX_STRING);
        check_inside(data, size, strings[i]->ptr, strings[i]->len);
    }
    /* Bytes 28..31 are the reserved u32, which the decoder does not read. */
    FUZZ_CHECK(ulog_wire_encode_hello(again, sizeof again, h) == size);
    FUZZ_CHECK(memcmp(again, data, 28) == 0);
    FUZZ_CHECK(memcmp(again + 32, data + 32, size - 32) == 0);
}

static void check_data(const uint8_t *data, size_t size, const struct ulog_wire_data *d)
{
    FUZZ_CHECK(d->stream == ULOG_STREAM_STDOUT || d->stream == ULOG_STREAM_STDERR);
    FUZZ_CHECK((d->flags & ~ULOG_DATA_CONTINUED) == 0);
    FUZZ_CHECK(d->len <= ULOG_WIRE_MAX_DATA);
    FUZZ_CHECK(d->bytes == data + ULOG_WIRE_DATA_PREFIX && d->len == size - ULOG_WIRE_DATA_PREFIX);
    check_inside(data, size, d->bytes, d->len);
    /* Bytes 22..23 are the reserved u16. */
    FUZZ_CHECK(ulog_wire_encode_data(again, sizeof again, d->timestamp_ns, d->tid, d->stream,
                                     d->flags, d->bytes, d->len) == size);
    FUZZ_CHECK(memcmp(again, data, 22) == 0);
    FUZZ_CHECK(memcmp(again + 24, data + 24, size - 24) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ulog_wire_msg msg;
    int rc;

    memset(&msg, 0xa5, sizeof msg); /* what the decoder leaves unset stays visible */
    rc = ulog_wire_decode(data, size, &msg);
    FUZZ_CHECK(ulog_wire_strerror(rc) != NULL);
    if (rc != ULOG_WIRE_OK) {
        FUZZ_CHECK(rc >= ULOG_WIRE_SHORT && rc <= ULOG_WIRE_BAD_FIELD);
        return 0;
    }
    FUZZ_CHECK(size >= ULOG_WIRE_HEADER_SIZE && size <= ULOG_WIRE_MAX_MESSAGE);
    FUZZ_CHECK(msg.type == data[3]);
    switch (msg.type) {
    case ULOG_WIRE_HELLO:
        check_hello(data, size, &msg.u.hello);
        break;
    case ULOG_WIRE_DATA:
        check_data(data, size, &msg.u.data);
        break;
    case ULOG_WIRE_DROPPED:
        FUZZ_CHECK(ulog_wire_encode_dropped(again, sizeof again, msg.u.dropped.messages,
                                            msg.u.dropped.bytes) == size);
        FUZZ_CHECK(memcmp(again, data, size) == 0);
        break;
    default:
        FUZZ_CHECK(!"an unknown type was accepted");
    }
    return 0;
}
