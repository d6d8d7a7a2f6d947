/*
 * wire.h - the shim -> ulogd protocol: message layout, encoders, decoder.
 *
 * Both ends sit on one kernel and talk over an AF_UNIX SOCK_SEQPACKET socket,
 * so a message is exactly one send() and integers travel in host byte order.
 * Every message starts with the same 8-byte header:
 *
 *     u8 'U'  u8 'L'  u8 version  u8 type  u32 payload_length
 *
 * payload_length must equal the received size minus the header: a sender can
 * never make ulogd read past what the kernel delivered.
 *
 *   HELLO   (first message of every connection)
 *     u32 pid  u32 ppid  u32 uid  u32 shim_version  u32 capture_mode
 *     u32 reserved (0)  u64 start_time_ns
 *     then six strings, each u16 length + bytes, no terminator:
 *     program, argv (arguments separated by NUL), service, container, host,
 *     context (a JSON object, or empty)
 *   DATA    (one write() or one stdio flush, or a piece of a large one)
 *     u64 timestamp_ns (CLOCK_REALTIME)  u32 tid  u8 stream  u8 flags
 *     u16 reserved (0)  then the bytes, up to the end of the message
 *   DROPPED (what the shim could not send since its last report)
 *     u64 messages  u64 bytes
 *
 * Header-only on purpose: libulog.so is built for glibc and for musl and must
 * link nothing but libc, and the encoders run on the shim's write path, where
 * they may only fill caller-provided memory (no malloc, no locks, no errno).
 * The decoder points into the received buffer and copies nothing.
 */
#ifndef ULOG_WIRE_H
#define ULOG_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define ULOG_WIRE_MAGIC0 'U'
#define ULOG_WIRE_MAGIC1 'L'
#define ULOG_WIRE_VERSION 1

/* A message never exceeds this; the shim cuts larger writes into pieces. */
#define ULOG_WIRE_MAX_MESSAGE 32768u
#define ULOG_WIRE_HEADER_SIZE 8u
#define ULOG_WIRE_DATA_PREFIX (ULOG_WIRE_HEADER_SIZE + 16u)
#define ULOG_WIRE_MAX_DATA (ULOG_WIRE_MAX_MESSAGE - ULOG_WIRE_DATA_PREFIX)
#define ULOG_WIRE_HELLO_FIXED 32u
#define ULOG_WIRE_DROPPED_SIZE 16u
/* No single HELLO string may be longer than this. */
#define ULOG_WIRE_MAX_STRING 4096u

enum ulog_wire_type {
    ULOG_WIRE_HELLO = 1,
    ULOG_WIRE_DATA = 2,
    ULOG_WIRE_DROPPED = 3,
};

enum ulog_wire_stream {
    ULOG_STREAM_STDOUT = 1,
    ULOG_STREAM_STDERR = 2,
};

/* DATA flags */
#define ULOG_DATA_CONTINUED 0x01u /* a piece of a write larger than one message */

/* HELLO capture_mode bits: how the shim is hooked into this process. */
#define ULOG_CAPTURE_FD 0x01u        /* write/writev/send... interposed */
#define ULOG_CAPTURE_STDIO_SLOT 0x02u /* glibc _IO_file_jumps write slot */
#define ULOG_CAPTURE_MUSL_FILE 0x08u  /* musl FILE write member */

enum ulog_wire_status {
    ULOG_WIRE_OK = 0,
    ULOG_WIRE_SHORT,           /* smaller than the header */
    ULOG_WIRE_OVERSIZED,       /* larger than ULOG_WIRE_MAX_MESSAGE */
    ULOG_WIRE_BAD_MAGIC,
    ULOG_WIRE_BAD_VERSION,
    ULOG_WIRE_BAD_TYPE,
    ULOG_WIRE_BAD_LENGTH,      /* payload_length disagrees with the size received */
    ULOG_WIRE_TRUNCATED_FIELD, /* a field runs past the end of the payload */
    ULOG_WIRE_BAD_FIELD,       /* a field holds a value no sender may send */
};

struct ulog_wire_str {
    const char *ptr; /* not NUL-terminated; points into the message */
    uint16_t len;
};

struct ulog_wire_hello {
    uint32_t pid, ppid, uid;
    uint32_t shim_version;
    uint32_t capture_mode;
    uint64_t start_time_ns;
    struct ulog_wire_str program, argv, service, container, host, context;
};

struct ulog_wire_data {
    uint64_t timestamp_ns;
    uint32_t tid;
    uint8_t stream;
    uint8_t flags;
    const unsigned char *bytes; /* points into the message */
    uint32_t len;
};

struct ulog_wire_dropped {
    uint64_t messages;
    uint64_t bytes;
};

struct ulog_wire_msg {
    uint8_t type;
    union {
        struct ulog_wire_hello hello;
        struct ulog_wire_data data;
        struct ulog_wire_dropped dropped;
    } u;
};

static inline void ulog_wire_put16(unsigned char *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void ulog_wire_put32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void ulog_wire_put64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }
static inline uint16_t ulog_wire_get16(const unsigned char *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t ulog_wire_get32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t ulog_wire_get64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static inline void ulog_wire_put_header(unsigned char *p, uint8_t type, uint32_t payload_len)
{
    p[0] = ULOG_WIRE_MAGIC0;
    p[1] = ULOG_WIRE_MAGIC1;
    p[2] = ULOG_WIRE_VERSION;
    p[3] = type;
    ulog_wire_put32(p + 4, payload_len);
}

/*
 * Fill the ULOG_WIRE_DATA_PREFIX bytes that precede `len` bytes of output.
 * The bytes themselves are sent from the caller's buffer (a second iovec),
 * so a write is never copied on the fast path. len <= ULOG_WIRE_MAX_DATA.
 */
static inline void ulog_wire_data_prefix(unsigned char prefix[ULOG_WIRE_DATA_PREFIX],
                                         uint64_t timestamp_ns, uint32_t tid,
                                         uint8_t stream, uint8_t flags, uint32_t len)
{
    ulog_wire_put_header(prefix, ULOG_WIRE_DATA, 16u + len);
    ulog_wire_put64(prefix + 8, timestamp_ns);
    ulog_wire_put32(prefix + 16, tid);
    prefix[20] = stream;
    prefix[21] = flags;
    ulog_wire_put16(prefix + 22, 0);
}

/* A whole DATA message in `buf`; returns its size, or 0 if it does not fit. */
static inline size_t ulog_wire_encode_data(void *buf, size_t cap, uint64_t timestamp_ns,
                                           uint32_t tid, uint8_t stream, uint8_t flags,
                                           const void *bytes, size_t len)
{
    if (len > ULOG_WIRE_MAX_DATA || cap < ULOG_WIRE_DATA_PREFIX + len)
        return 0;
    ulog_wire_data_prefix((unsigned char *)buf, timestamp_ns, tid, stream, flags, (uint32_t)len);
    if (len)
        memcpy((unsigned char *)buf + ULOG_WIRE_DATA_PREFIX, bytes, len);
    return ULOG_WIRE_DATA_PREFIX + len;
}

static inline size_t ulog_wire_encode_dropped(void *buf, size_t cap, uint64_t messages,
                                              uint64_t bytes)
{
    unsigned char *p = (unsigned char *)buf;
    if (cap < ULOG_WIRE_HEADER_SIZE + ULOG_WIRE_DROPPED_SIZE)
        return 0;
    ulog_wire_put_header(p, ULOG_WIRE_DROPPED, ULOG_WIRE_DROPPED_SIZE);
    ulog_wire_put64(p + 8, messages);
    ulog_wire_put64(p + 16, bytes);
    return ULOG_WIRE_HEADER_SIZE + ULOG_WIRE_DROPPED_SIZE;
}

static inline size_t ulog_wire_put_str(unsigned char *p, size_t room, struct ulog_wire_str s)
{
    if (s.len > ULOG_WIRE_MAX_STRING || room < 2u + s.len)
        return 0;
    ulog_wire_put16(p, s.len);
    if (s.len)
        memcpy(p + 2, s.ptr, s.len);
    return 2u + s.len;
}

/* A whole HELLO message in `buf`; returns its size, or 0 if it does not fit. */
static inline size_t ulog_wire_encode_hello(void *buf, size_t cap, const struct ulog_wire_hello *h)
{
    unsigned char *p = (unsigned char *)buf;
    const struct ulog_wire_str *strings[6] = {&h->program, &h->argv, &h->service,
                                              &h->container, &h->host, &h->context};
    size_t off = ULOG_WIRE_HEADER_SIZE + ULOG_WIRE_HELLO_FIXED;

    if (cap > ULOG_WIRE_MAX_MESSAGE)
        cap = ULOG_WIRE_MAX_MESSAGE;
    if (cap < off)
        return 0;
    ulog_wire_put32(p + 8, h->pid);
    ulog_wire_put32(p + 12, h->ppid);
    ulog_wire_put32(p + 16, h->uid);
    ulog_wire_put32(p + 20, h->shim_version);
    ulog_wire_put32(p + 24, h->capture_mode);
    ulog_wire_put32(p + 28, 0);
    ulog_wire_put64(p + 32, h->start_time_ns);
    for (int i = 0; i < 6; i++) {
        size_t n = ulog_wire_put_str(p + off, cap - off, *strings[i]);
        if (n == 0)
            return 0;
        off += n;
    }
    ulog_wire_put_header(p, ULOG_WIRE_HELLO, (uint32_t)(off - ULOG_WIRE_HEADER_SIZE));
    return off;
}

static inline int ulog_wire_get_str(const unsigned char *payload, size_t len, size_t *off,
                                    struct ulog_wire_str *out)
{
    uint16_t n;
    if (len - *off < 2)
        return ULOG_WIRE_TRUNCATED_FIELD;
    n = ulog_wire_get16(payload + *off);
    if (n > ULOG_WIRE_MAX_STRING)
        return ULOG_WIRE_BAD_FIELD;
    if (len - *off - 2 < n)
        return ULOG_WIRE_TRUNCATED_FIELD;
    out->ptr = (const char *)payload + *off + 2;
    out->len = n;
    *off += 2u + n;
    return ULOG_WIRE_OK;
}

/*
 * Validate and decode one received message of `size` bytes. On success the
 * pointers in `out` refer into `buf`. Anything else returns the first fault
 * found; ulogd then closes that one connection.
 */
static inline int ulog_wire_decode(const void *buf, size_t size, struct ulog_wire_msg *out)
{
    const unsigned char *p = (const unsigned char *)buf;
    const unsigned char *payload = p + ULOG_WIRE_HEADER_SIZE;
    size_t len;

    if (size < ULOG_WIRE_HEADER_SIZE)
        return ULOG_WIRE_SHORT;
    if (size > ULOG_WIRE_MAX_MESSAGE)
        return ULOG_WIRE_OVERSIZED;
    if (p[0] != ULOG_WIRE_MAGIC0 || p[1] != ULOG_WIRE_MAGIC1)
        return ULOG_WIRE_BAD_MAGIC;
    if (p[2] != ULOG_WIRE_VERSION)
        return ULOG_WIRE_BAD_VERSION;
    len = ulog_wire_get32(p + 4);
    if (len != size - ULOG_WIRE_HEADER_SIZE)
        return ULOG_WIRE_BAD_LENGTH;
    out->type = p[3];

    switch (p[3]) {
    case ULOG_WIRE_HELLO: {
        struct ulog_wire_hello *h = &out->u.hello;
        struct ulog_wire_str *strings[6] = {&h->program, &h->argv, &h->service,
                                            &h->container, &h->host, &h->context};
        size_t off = ULOG_WIRE_HELLO_FIXED;
        if (len < ULOG_WIRE_HELLO_FIXED)
            return ULOG_WIRE_TRUNCATED_FIELD;
        h->pid = ulog_wire_get32(payload);
        h->ppid = ulog_wire_get32(payload + 4);
        h->uid = ulog_wire_get32(payload + 8);
        h->shim_version = ulog_wire_get32(payload + 12);
        h->capture_mode = ulog_wire_get32(payload + 16);
        h->start_time_ns = ulog_wire_get64(payload + 24);
        for (int i = 0; i < 6; i++) {
            int rc = ulog_wire_get_str(payload, len, &off, strings[i]);
            if (rc != ULOG_WIRE_OK)
                return rc;
        }
        if (off != len)
            return ULOG_WIRE_BAD_LENGTH; /* trailing bytes nobody wrote */
        return ULOG_WIRE_OK;
    }
    case ULOG_WIRE_DATA: {
        struct ulog_wire_data *d = &out->u.data;
        if (len < 16)
            return ULOG_WIRE_TRUNCATED_FIELD;
        d->timestamp_ns = ulog_wire_get64(payload);
        d->tid = ulog_wire_get32(payload + 8);
        d->stream = payload[12];
        d->flags = payload[13];
        if (d->stream != ULOG_STREAM_STDOUT && d->stream != ULOG_STREAM_STDERR)
            return ULOG_WIRE_BAD_FIELD;
        if (d->flags & ~ULOG_DATA_CONTINUED)
            return ULOG_WIRE_BAD_FIELD;
        d->bytes = payload + 16;
        d->len = (uint32_t)(len - 16);
        return ULOG_WIRE_OK;
    }
    case ULOG_WIRE_DROPPED:
        if (len < ULOG_WIRE_DROPPED_SIZE)
            return ULOG_WIRE_TRUNCATED_FIELD;
        if (len > ULOG_WIRE_DROPPED_SIZE)
            return ULOG_WIRE_BAD_LENGTH;
        out->u.dropped.messages = ulog_wire_get64(payload);
        out->u.dropped.bytes = ulog_wire_get64(payload + 8);
        return ULOG_WIRE_OK;
    default:
        return ULOG_WIRE_BAD_TYPE;
    }
}

static inline const char *ulog_wire_strerror(int status)
{
    switch (status) {
    case ULOG_WIRE_OK: return "ok";
    case ULOG_WIRE_SHORT: return "message shorter than the header";
    case ULOG_WIRE_OVERSIZED: return "message larger than the protocol allows";
    case ULOG_WIRE_BAD_MAGIC: return "bad magic";
    case ULOG_WIRE_BAD_VERSION: return "unsupported protocol version";
    case ULOG_WIRE_BAD_TYPE: return "unknown message type";
    case ULOG_WIRE_BAD_LENGTH: return "payload length disagrees with message size";
    case ULOG_WIRE_TRUNCATED_FIELD: return "field runs past the end of the message";
    case ULOG_WIRE_BAD_FIELD: return "field holds an invalid value";
    default: return "unknown error";
    }
}

#endif /* ULOG_WIRE_H */
