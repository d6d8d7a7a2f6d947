/*
 * transport.c - getting each message to ulogd, or holding it back.
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
 * counts a drop instead of deadlocking; other threads wait on a futex, while
 * the owner makes progress, for at most a second (only an owner stuck in a
 * signal handler of its own would make them wait that long). The socket itself, its fd and its reconnection belong to
 * link.c; every use of its fd here sits between link_enter and link_leave.
 */
#include "shim.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ulog/wire.h"

/* musl-gcc has no kernel headers; these values are the kernel ABI. */
#ifndef FUTEX_WAIT_PRIVATE
#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129
#endif

#define LOCK_WAIT_MAX_NS (1000u * 1000000u)
#define EXIT_STALL_MS 100
#define EXIT_DRAIN_MAX_NS (2000ull * 1000000u)
/* After giving up on the ring at exit: how long its drop count may wait for room. */
#define EXIT_REPORT_MS 1000

static _Atomic uint64_t dropped_messages, dropped_bytes;
static _Atomic int exiting;
static uint64_t exit_deadline_ns, exit_reconnect_ns, exit_reconnect_deadline_ns;

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

void transport_init(size_t buffer_bytes, const char *socket_path, unsigned exit_wait_ms)
{
    link_init(socket_path);
    exit_reconnect_ns = (uint64_t)exit_wait_ms * 1000000u;
    if (buffer_bytes >= 64) {
        void *p = mmap(NULL, buffer_bytes, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p != MAP_FAILED) {
            ring = p;
            ring_cap = buffer_bytes;
        }
    }
}

static void count_drop(size_t bytes)
{
    atomic_fetch_add_explicit(&dropped_messages, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&dropped_bytes, bytes, memory_order_relaxed);
}

void transport_count_drop(size_t output_bytes)
{
    count_drop(output_bytes);
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
    if (link_send(fd, &iov, 1) != 0) {
        atomic_fetch_add(&dropped_messages, messages);
        atomic_fetch_add(&dropped_bytes, bytes);
    }
}

enum lock_result { LOCK_TAKEN, LOCK_HELD_BY_THIS_THREAD, LOCK_TIMED_OUT };

static enum lock_result ring_lock(void)
{
    uint32_t self = shim_tid();
    uint64_t deadline = 0;
    for (;;) {
        uint32_t owner = 0;
        struct timespec pause = {0, 1000000};
        if (atomic_compare_exchange_strong(&ring_owner, &owner, self))
            return LOCK_TAKEN;
        if (owner == self)
            return LOCK_HELD_BY_THIS_THREAD; /* a signal handler interrupted it in here */
        if (!deadline)
            deadline = shim_monotonic_ns() + LOCK_WAIT_MAX_NS;
        else if (shim_monotonic_ns() > deadline)
            return LOCK_TIMED_OUT;
        atomic_fetch_add(&ring_waiters, 1);
        syscall(SYS_futex, &ring_owner, FUTEX_WAIT_PRIVATE, owner, &pause, NULL, 0);
        atomic_fetch_sub(&ring_waiters, 1);
    }
}

/*
 * A signal handler that writes while its own thread holds the ring cannot
 * wait for the lock (it would wait for itself) nor touch the ring (it is
 * half-changed). Its messages go into a small stash of its thread's own,
 * which the thread moves into the ring while it still holds the lock, or
 * with its next message. The stash is only ever changed with this thread's
 * signals blocked (two system calls, on a path that storms of signals alone
 * take), so handlers nested in handlers cannot tear it. Only a full stash
 * counts a drop.
 */
#define STASH_BYTES 4096
static __thread struct {
    size_t used;
    unsigned char bytes[STASH_BYTES];
} stash;

/* The kernel's sigset_t: 64 signals on every Linux this shim builds for. */
static void block_signals(uint64_t *saved)
{
    uint64_t all = ~(uint64_t)0;
    syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, saved, sizeof all);
}

static void restore_signals(const uint64_t *saved)
{
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, saved, NULL, sizeof *saved);
}

static void stash_put(const struct iovec *iov, int iovcnt, size_t len, size_t output_bytes)
{
    uint32_t len32 = (uint32_t)len;
    uint64_t saved;
    size_t at;

    block_signals(&saved);
    if (STASH_BYTES - stash.used < sizeof len32 + len) {
        restore_signals(&saved);
        count_drop(output_bytes);
        return;
    }
    at = stash.used;
    memcpy(stash.bytes + at, &len32, sizeof len32);
    at += sizeof len32;
    for (int i = 0; i < iovcnt; i++) {
        memcpy(stash.bytes + at, iov[i].iov_base, iov[i].iov_len);
        at += iov[i].iov_len;
    }
    stash.used = at;
    restore_signals(&saved);
}

static void ring_note_drop(size_t bytes);
static int ring_append(const struct iovec *iov, int iovcnt, size_t len);

/* With the lock held: this thread's stashed messages join the ring's tail. */
static void stash_move(void)
{
    uint64_t saved;
    size_t at = 0;

    if (stash.used == 0)
        return;
    block_signals(&saved);
    while (at < stash.used) {
        uint32_t len32;
        struct iovec iov;
        memcpy(&len32, stash.bytes + at, sizeof len32);
        iov.iov_base = stash.bytes + at + sizeof len32;
        iov.iov_len = len32;
        if (!ring_append(&iov, 1, len32))
            ring_note_drop(len32 > ULOG_WIRE_DATA_PREFIX ? len32 - ULOG_WIRE_DATA_PREFIX : 0);
        at += sizeof len32 + len32;
    }
    stash.used = 0;
    restore_signals(&saved);
}

static void ring_unlock(void)
{
    stash_move();
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

/*
 * Send up to `budget` of the ring's messages in order: 0 once empty,
 * FLUSH_BUDGET_USED when the budget ran out first, else the errno that stopped
 * it. The budget keeps the lock's hold short: each writer that finds a
 * backlog moves a slice of it, instead of one writer moving all of it while
 * the others wait.
 */
#define FLUSH_BUDGET 64
#define FLUSH_UNBOUNDED SIZE_MAX
#define FLUSH_BUDGET_USED (-1)
static int ring_flush(int fd, size_t budget)
{
    while (atomic_load(&ring_used) > 0) {
        uint32_t len32;
        unsigned char raw[sizeof len32];
        size_t at, first;
        struct iovec iov[2];
        int rc;

        if (budget-- == 0)
            return FLUSH_BUDGET_USED;
        /* Handlers of this thread may have stashed while it sends: keep the
         * stash small by taking it in as the ring drains. */
        stash_move();
        for (size_t i = 0; i < sizeof raw; i++)
            raw[i] = ring[(ring_head + i) % ring_cap];
        memcpy(&len32, raw, sizeof len32);
        at = (ring_head + sizeof len32) % ring_cap;
        first = ring_cap - at < len32 ? ring_cap - at : len32;
        iov[0].iov_base = ring + at;
        iov[0].iov_len = first;
        iov[1].iov_base = ring;
        iov[1].iov_len = len32 - first;
        rc = link_send(fd, iov, iov[1].iov_len ? 2 : 1);
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
 * At exit, when ulogd takes no more: what the ring still holds will never
 * be sent, so it becomes a drop count (its own markers' counts included),
 * and that one small DROPPED message gets up to EXIT_REPORT_MS to find room.
 * Losses are counted even when the exit cannot wait for everything; only a
 * ulogd that reads nothing at all for that long misses the count too.
 */
static void abandon_ring(int fd)
{
    struct pollfd pfd = {.fd = fd, .events = POLLOUT};
    uint64_t deadline;

    while (atomic_load(&ring_used) > 0) {
        unsigned char head[sizeof(uint32_t) + ULOG_WIRE_HEADER_SIZE + ULOG_WIRE_DROPPED_SIZE];
        uint32_t len32;
        size_t entry;
        ring_get(ring_head, head, sizeof(uint32_t) + ULOG_WIRE_HEADER_SIZE);
        memcpy(&len32, head, sizeof len32);
        entry = sizeof len32 + len32;
        if (head[sizeof len32 + 3] == ULOG_WIRE_DROPPED && len32 == MARKER_SIZE) {
            uint64_t counts[2];
            ring_get((ring_head + sizeof len32 + ULOG_WIRE_HEADER_SIZE) % ring_cap, counts,
                     sizeof counts);
            atomic_fetch_add(&dropped_messages, counts[0]);
            atomic_fetch_add(&dropped_bytes, counts[1]);
        } else {
            count_drop(len32 > ULOG_WIRE_DATA_PREFIX ? len32 - ULOG_WIRE_DATA_PREFIX : 0);
        }
        ring_head = (ring_head + entry) % ring_cap;
        if (atomic_fetch_sub(&ring_used, entry) == entry)
            ring_rewind();
    }
    deadline = shim_monotonic_ns() + EXIT_REPORT_MS * 1000000ull;
    for (;;) {
        report_drops(fd);
        uint64_t now = shim_monotonic_ns();
        if (atomic_load(&dropped_messages) == 0 || now >= deadline)
            return;
        if (syscall(SYS_poll, &pfd, 1, (int)((deadline - now) / 1000000u) + 1) < 0)
            return;
    }
}

/*
 * At exit only: deliver what the ring holds while ulogd keeps taking it. A
 * ulogd that accepts nothing for EXIT_STALL_MS, or an exit that has already
 * waited EXIT_DRAIN_MAX_NS in all, ends the wait: a live but busy ulogd gets
 * everything, a stuck one costs the host a moment at most, and what is left
 * is counted as dropped (abandon_ring). A ulogd that is
 * away (this process reached it before, or its socket is there but refuses:
 * ulogd leaves it so when stopped by SIGTERM) is given ULOG_EXIT_WAIT_MS to
 * come back. Where there is no socket at all, nobody waits.
 */
static void drain_before_exit(void)
{
    while (atomic_load(&ring_used) > 0) {
        unsigned gen;
        int fd = link_fd(1, &gen), rc;
        struct pollfd pfd;
        uint64_t now = shim_monotonic_ns();
        if (fd < 0) {
            struct timespec pause = {0, 20 * 1000000};
            if (!link_ulogd_away() || now >= exit_reconnect_deadline_ns)
                return;
            syscall(SYS_nanosleep, &pause, NULL);
            continue;
        }
        if (now >= exit_deadline_ns) {
            abandon_ring(fd);
            return;
        }
        stash_move();
        rc = ring_flush(fd, FLUSH_UNBOUNDED);
        if (rc == 0)
            return;
        if (rc != EAGAIN) {
            link_lost(gen);
            return;
        }
        pfd.fd = fd;
        pfd.events = POLLOUT;
        if (syscall(SYS_poll, &pfd, 1, EXIT_STALL_MS) <= 0) {
            abandon_ring(fd);
            return;
        }
    }
}

/* 1 when the message left on the fast path: connected, nothing held back. */
static int send_direct(const struct iovec *iov, int iovcnt)
{
    unsigned gen;
    int fd = link_fd(0, &gen), rc;

    if (fd < 0 || atomic_load_explicit(&ring_used, memory_order_acquire) != 0)
        return 0;
    rc = link_send(fd, iov, iovcnt);
    if (rc == 0) {
        report_drops(fd);
        return 1;
    }
    if (rc != EAGAIN)
        link_lost(gen);
    return 0;
}

/* Under the ring's lock: what is held goes first, then this message, or it is held. */
static void send_in_order(const struct iovec *iov, int iovcnt, size_t len, size_t output_bytes)
{
    unsigned gen;
    int fd = link_fd(0, &gen), rc;

    if (fd >= 0) {
        rc = ring_flush(fd, FLUSH_BUDGET);
        if (rc == 0)
            rc = link_send(fd, iov, iovcnt);
        if (rc == 0) {
            report_drops(fd);
            return;
        }
        if (rc != EAGAIN && rc != FLUSH_BUDGET_USED)
            link_lost(gen);
    }
    if (!ring_append(iov, iovcnt, len))
        ring_note_drop(output_bytes);
    if (atomic_load(&exiting))
        drain_before_exit();
}

void transport_send(const struct iovec *iov, int iovcnt, size_t len)
{
    size_t output_bytes = len > ULOG_WIRE_DATA_PREFIX ? len - ULOG_WIRE_DATA_PREFIX : 0;
    unsigned epoch = link_enter();

    /* A stash of this thread's must reach the ring before anything newer. */
    if (stash.used != 0 || !send_direct(iov, iovcnt)) {
        switch (ring_lock()) {
        case LOCK_TAKEN:
            stash_move();
            send_in_order(iov, iovcnt, len, output_bytes);
            ring_unlock();
            break;
        case LOCK_HELD_BY_THIS_THREAD:
            stash_put(iov, iovcnt, len, output_bytes);
            break;
        case LOCK_TIMED_OUT:
            count_drop(output_bytes);
            break;
        }
    }
    link_leave(epoch);
}

void transport_at_exit(void)
{
    unsigned epoch = link_enter();
    exit_deadline_ns = shim_monotonic_ns() + EXIT_DRAIN_MAX_NS;
    exit_reconnect_deadline_ns = shim_monotonic_ns() + exit_reconnect_ns;
    atomic_store(&exiting, 1);
    if ((atomic_load(&ring_used) > 0 || stash.used > 0) && ring_lock() == LOCK_TAKEN) {
        stash_move();
        drain_before_exit();
        ring_unlock();
    }
    link_leave(epoch);
}

/* The child inherited the parent's connection and pending messages: both
 * belong to the parent. The child starts clean and introduces itself. */
void transport_after_fork_child(void)
{
    link_after_fork_child();
    stash.used = 0;
    atomic_store(&ring_owner, 0);
    atomic_store(&ring_waiters, 0);
    ring_head = ring_tail = 0;
    marker_open = 0;
    atomic_store(&ring_used, 0);
    atomic_store(&dropped_messages, 0);
    atomic_store(&dropped_bytes, 0);
    atomic_store(&exiting, 0);
}
