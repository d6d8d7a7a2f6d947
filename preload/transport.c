/*
 * transport.c - the shim's one connection to ulogd, and what it holds back.
 *
 * A message is sent with one sendmsg(MSG_DONTWAIT): the host never waits for
 * ulogd. When the socket is full or ulogd is away, messages go into a bounded
 * in-process ring (ULOG_SHIM_BUFFER bytes, reserved with mmap and touched only
 * when used) and leave it in order before anything newer; beyond its bound
 * they are counted, never silently lost, and reported in a DROPPED message.
 *
 * Locking: the fast path (connected, ring empty) takes no lock. The ring has
 * one owner at a time, recorded by thread id, so a signal handler that
 * interrupts its own thread inside the ring sees itself as the owner and
 * counts a drop instead of deadlocking; other threads wait on a futex for a
 * bounded time. Reconnection is attempted by one thread at a time, with
 * exponential backoff, so an absent ulogd costs a clock read per write and
 * a handful of connect() calls per second at most.
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "ulog/wire.h"

/* musl-gcc has no kernel headers; these values are the kernel ABI. */
#ifndef FUTEX_WAIT_PRIVATE
#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129
#endif

#define BACKOFF_FIRST_NS (10u * 1000000u)
#define BACKOFF_MAX_NS (500u * 1000000u)
#define LOCK_WAIT_MAX_NS (50u * 1000000u)
#define EXIT_STALL_MS 100
#define EXIT_DRAIN_MAX_NS (2000ull * 1000000u)
#define SEND_FLAGS (MSG_DONTWAIT | MSG_NOSIGNAL)

static struct sockaddr_un server;
static socklen_t server_len;
static int high_fd_floor;

static _Atomic int sock_fd = -1;
static _Atomic int connect_busy;
static _Atomic uint64_t next_connect_ns;
static uint64_t backoff_ns = BACKOFF_FIRST_NS;

static _Atomic uint64_t dropped_messages, dropped_bytes;
static _Atomic int exiting;
static uint64_t exit_deadline_ns;

/* The pending ring: entries are a u32 length then the message, both of
 * which may wrap around the end. head/tail are guarded by ring_owner;
 * ring_used is also read without it, to keep the fast path lock-free. */
static unsigned char *ring;
static size_t ring_cap, ring_head, ring_tail;
static _Atomic size_t ring_used;
static _Atomic uint32_t ring_owner, ring_waiters;

/*
 * What does not fit is recorded where it was lost: a DROPPED entry in the
 * ring itself, whose counts grow while the losses go on, so ulogd sees the
 * gap between the lines that surround it. Ordinary entries always leave
 * room for one such marker.
 */
#define MARKER_SIZE (ULOG_WIRE_HEADER_SIZE + ULOG_WIRE_DROPPED_SIZE)
#define MARKER_ENTRY (sizeof(uint32_t) + MARKER_SIZE)
static size_t marker_at; /* offset of the open marker's entry */
/* Past this many bytes held, the pages are handed back once the ring empties. */
#define RING_RESIDENT_KEEP (256u << 10)
static size_t ring_high_water;
static int marker_open;  /* the ring's newest entry is that marker */

void transport_init(size_t buffer_bytes, const char *socket_path)
{
    struct rlimit rl;
    size_t len = strlen(socket_path);

    server.sun_family = AF_UNIX;
    if (len >= sizeof server.sun_path)
        len = sizeof server.sun_path - 1; /* connect() will fail; counted as drops */
    memcpy(server.sun_path, socket_path, len);
    server_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);

    /* Far from the low numbers a program hands out, as preeny and LTTng do. */
    high_fd_floor = 512;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 1024)
        high_fd_floor = (int)(rl.rlim_cur / 2);

    if (buffer_bytes >= 64) {
        void *p = mmap(NULL, buffer_bytes, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p != MAP_FAILED) {
            ring = p;
            ring_cap = buffer_bytes;
        }
    }
}

int transport_owns_fd(int fd)
{
    return fd >= 0 && fd == atomic_load_explicit(&sock_fd, memory_order_relaxed);
}

static void count_drop(size_t bytes)
{
    atomic_fetch_add_explicit(&dropped_messages, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&dropped_bytes, bytes, memory_order_relaxed);
}

/* 0 when sent, else the errno of the failure. */
static int send_iov(int fd, const struct iovec *iov, int iovcnt)
{
    struct msghdr msg = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt};
    for (;;) {
        if (syscall(SYS_sendmsg, fd, &msg, SEND_FLAGS) >= 0)
            return 0;
        if (errno != EINTR)
            return errno == EWOULDBLOCK ? EAGAIN : errno;
    }
}

static void connection_lost(int fd)
{
    int expected = fd;
    if (atomic_compare_exchange_strong(&sock_fd, &expected, -1))
        syscall(SYS_close, fd);
    atomic_store(&next_connect_ns, shim_monotonic_ns() + BACKOFF_FIRST_NS);
}

int transport_disown_fd(int fd)
{
    int expected = fd;
    return fd >= 0 && atomic_compare_exchange_strong(&sock_fd, &expected, -1);
}

void transport_disown_range(unsigned int first, unsigned int last)
{
    int fd = atomic_load(&sock_fd);
    if (fd >= 0 && (unsigned int)fd >= first && (unsigned int)fd <= last)
        transport_disown_fd(fd);
}

static int open_connection(void)
{
    size_t hello_len;
    const void *hello = shim_hello(&hello_len);
    struct iovec iov = {(void *)hello, hello_len};
    int fd = (int)syscall(SYS_socket, AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    if (syscall(SYS_connect, fd, &server, server_len) != 0 || hello_len == 0 ||
        send_iov(fd, &iov, 1) != 0) {
        syscall(SYS_close, fd);
        return -1;
    }
    if (fd < high_fd_floor) {
        int high = (int)syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, high_fd_floor);
        if (high >= 0) {
            syscall(SYS_close, fd);
            fd = high;
        }
    }
    return fd;
}

/* The connected fd, connecting first when the backoff allows; -1 if none. */
static int current_fd(int ignore_backoff)
{
    int fd = atomic_load_explicit(&sock_fd, memory_order_acquire);
    uint64_t now;
    int expected = 0;

    if (fd >= 0)
        return fd;
    now = shim_monotonic_ns();
    if (!ignore_backoff && now < atomic_load_explicit(&next_connect_ns, memory_order_relaxed))
        return -1;
    if (!atomic_compare_exchange_strong(&connect_busy, &expected, 1))
        return -1;
    fd = atomic_load(&sock_fd);
    if (fd < 0) {
        fd = open_connection();
        if (fd >= 0) {
            backoff_ns = BACKOFF_FIRST_NS;
            atomic_store_explicit(&sock_fd, fd, memory_order_release);
        } else {
            atomic_store(&next_connect_ns, now + backoff_ns);
            backoff_ns = backoff_ns * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : backoff_ns * 2;
        }
    }
    atomic_store(&connect_busy, 0);
    return fd;
}

static void report_drops(int fd)
{
    unsigned char msg[ULOG_WIRE_HEADER_SIZE + ULOG_WIRE_DROPPED_SIZE];
    struct iovec iov = {msg, sizeof msg};
    uint64_t messages, bytes;

    if (atomic_load_explicit(&dropped_messages, memory_order_relaxed) == 0)
        return;
    messages = atomic_exchange(&dropped_messages, 0);
    bytes = atomic_exchange(&dropped_bytes, 0);
    if (messages == 0)
        return;
    ulog_wire_encode_dropped(msg, sizeof msg, messages, bytes);
    if (send_iov(fd, &iov, 1) != 0) {
        atomic_fetch_add(&dropped_messages, messages);
        atomic_fetch_add(&dropped_bytes, bytes);
    }
}

static int ring_lock(void)
{
    uint32_t self = shim_tid();
    uint64_t deadline = 0;
    for (;;) {
        uint32_t owner = 0;
        struct timespec pause = {0, 1000000};
        if (atomic_compare_exchange_strong(&ring_owner, &owner, self))
            return 1;
        if (owner == self)
            return 0; /* a signal handler interrupted this very thread in here */
        if (!deadline)
            deadline = shim_monotonic_ns() + LOCK_WAIT_MAX_NS;
        else if (shim_monotonic_ns() > deadline)
            return 0;
        atomic_fetch_add(&ring_waiters, 1);
        syscall(SYS_futex, &ring_owner, FUTEX_WAIT_PRIVATE, owner, &pause, NULL, 0);
        atomic_fetch_sub(&ring_waiters, 1);
    }
}

static void ring_unlock(void)
{
    atomic_store(&ring_owner, 0);
    if (atomic_load(&ring_waiters))
        syscall(SYS_futex, &ring_owner, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void ring_put(size_t at, const void *src, size_t len)
{
    size_t first = ring_cap - at < len ? ring_cap - at : len;
    memcpy(ring + at, src, first);
    memcpy(ring, (const unsigned char *)src + first, len - first);
}

static void ring_get(size_t at, void *dst, size_t len)
{
    size_t first = ring_cap - at < len ? ring_cap - at : len;
    memcpy(dst, ring + at, first);
    memcpy((unsigned char *)dst + first, ring, len - first);
}

static void ring_store(const struct iovec *iov, int iovcnt, size_t len)
{
    uint32_t len32 = (uint32_t)len;
    size_t at;
    ring_put(ring_tail, &len32, sizeof len32);
    at = (ring_tail + sizeof len32) % ring_cap;
    for (int i = 0; i < iovcnt; i++) {
        ring_put(at, iov[i].iov_base, iov[i].iov_len);
        at = (at + iov[i].iov_len) % ring_cap;
    }
    ring_tail = at;
    if (atomic_fetch_add(&ring_used, sizeof len32 + len) + sizeof len32 + len > ring_high_water)
        ring_high_water = atomic_load(&ring_used);
}

/* The ring is empty: start again at its beginning, and give back the memory
 * a large burst made resident. */
static void ring_rewind(void)
{
    ring_head = ring_tail = 0;
    marker_open = 0;
    if (ring_high_water > RING_RESIDENT_KEEP)
        madvise(ring, ring_cap, MADV_DONTNEED);
    ring_high_water = 0;
}

static int ring_append(const struct iovec *iov, int iovcnt, size_t len)
{
    if (!ring || ring_cap - atomic_load(&ring_used) < sizeof(uint32_t) + len + MARKER_ENTRY)
        return 0;
    ring_store(iov, iovcnt, len);
    marker_open = 0;
    return 1;
}

/* A message of `bytes` output bytes did not fit: count it at this place. */
static void ring_note_drop(size_t bytes)
{
    unsigned char marker[MARKER_SIZE];
    uint64_t messages = 1;

    if (marker_open) {
        uint64_t counts[2];
        size_t at = (marker_at + sizeof(uint32_t) + ULOG_WIRE_HEADER_SIZE) % ring_cap;
        ring_get(at, counts, sizeof counts);
        counts[0] += 1;
        counts[1] += bytes;
        ring_put(at, counts, sizeof counts);
        return;
    }
    if (!ring || ring_cap - atomic_load(&ring_used) < MARKER_ENTRY) {
        count_drop(bytes);
        return;
    }
    ulog_wire_encode_dropped(marker, sizeof marker, messages, bytes);
    marker_at = ring_tail;
    ring_store(&(struct iovec){marker, sizeof marker}, 1, sizeof marker);
    marker_open = 1;
}

/* Send the ring's messages in order: 0 once empty, else the errno that stopped it. */
static int ring_flush(int fd)
{
    while (atomic_load(&ring_used) > 0) {
        uint32_t len32;
        unsigned char raw[sizeof len32];
        size_t at, first;
        struct iovec iov[2];
        int rc;

        for (size_t i = 0; i < sizeof raw; i++)
            raw[i] = ring[(ring_head + i) % ring_cap];
        memcpy(&len32, raw, sizeof len32);
        at = (ring_head + sizeof len32) % ring_cap;
        first = ring_cap - at < len32 ? ring_cap - at : len32;
        iov[0].iov_base = ring + at;
        iov[0].iov_len = first;
        iov[1].iov_base = ring;
        iov[1].iov_len = len32 - first;
        rc = send_iov(fd, iov, iov[1].iov_len ? 2 : 1);
        if (rc != 0)
            return rc;
        if (marker_open && ring_head == marker_at)
            marker_open = 0; /* later losses need a marker of their own */
        ring_head = (at + len32) % ring_cap;
        if (atomic_fetch_sub(&ring_used, sizeof len32 + len32) == sizeof len32 + len32)
            ring_rewind();
        /* Losses the ring could not record in place go out as soon as possible. */
        report_drops(fd);
    }
    return 0;
}

/*
 * At exit only: deliver what the ring holds while ulogd keeps taking it. A
 * ulogd that accepts nothing for EXIT_STALL_MS, or an exit that has already
 * waited EXIT_DRAIN_MAX_NS in all, ends the wait: a live but busy ulogd gets
 * everything, an absent or stuck one costs the host a moment at most.
 */
static void drain_before_exit(void)
{
    while (atomic_load(&ring_used) > 0) {
        int fd = current_fd(1), rc;
        struct pollfd pfd;
        if (fd < 0 || shim_monotonic_ns() >= exit_deadline_ns)
            return;
        rc = ring_flush(fd);
        if (rc == 0)
            return;
        if (rc != EAGAIN) {
            connection_lost(fd);
            return;
        }
        pfd.fd = fd;
        pfd.events = POLLOUT;
        if (syscall(SYS_poll, &pfd, 1, EXIT_STALL_MS) <= 0)
            return;
    }
}

void transport_send(const struct iovec *iov, int iovcnt, size_t len)
{
    int fd = current_fd(0);
    int rc;
    size_t output_bytes = len > ULOG_WIRE_DATA_PREFIX ? len - ULOG_WIRE_DATA_PREFIX : 0;

    if (fd >= 0 && atomic_load_explicit(&ring_used, memory_order_acquire) == 0) {
        rc = send_iov(fd, iov, iovcnt);
        if (rc == 0) {
            report_drops(fd);
            return;
        }
        if (rc != EAGAIN)
            connection_lost(fd);
    }

    if (!ring_lock()) {
        count_drop(output_bytes);
        return;
    }
    fd = atomic_load(&sock_fd);
    if (fd >= 0) {
        rc = ring_flush(fd);
        if (rc == 0)
            rc = send_iov(fd, iov, iovcnt);
        if (rc == 0) {
            report_drops(fd);
            ring_unlock();
            return;
        }
        if (rc != EAGAIN)
            connection_lost(fd);
    }
    if (!ring_append(iov, iovcnt, len))
        ring_note_drop(output_bytes);
    if (atomic_load(&exiting))
        drain_before_exit();
    ring_unlock();
}

void transport_at_exit(void)
{
    exit_deadline_ns = shim_monotonic_ns() + EXIT_DRAIN_MAX_NS;
    atomic_store(&exiting, 1);
    if (atomic_load(&ring_used) > 0 && ring_lock()) {
        drain_before_exit();
        ring_unlock();
    }
}

/* The child inherited the parent's connection and pending messages: both
 * belong to the parent. The child starts clean and introduces itself. */
void transport_after_fork_child(void)
{
    int fd = atomic_exchange(&sock_fd, -1);
    if (fd >= 0)
        syscall(SYS_close, fd);
    atomic_store(&connect_busy, 0);
    atomic_store(&next_connect_ns, 0);
    backoff_ns = BACKOFF_FIRST_NS;
    atomic_store(&ring_owner, 0);
    atomic_store(&ring_waiters, 0);
    ring_head = ring_tail = 0;
    marker_open = 0;
    atomic_store(&ring_used, 0);
    atomic_store(&dropped_messages, 0);
    atomic_store(&dropped_bytes, 0);
    atomic_store(&exiting, 0);
}
