/*
 * link.c - the shim's socket: one fd number that belongs to the shim alone.
 *
 * The socket lives among the host's fds, and hosts do violent things to
 * fds: close every one of them, close_range(3, ~0U), dup2 a file onto each
 * number. The shim answers by owning one number for good (the "slot", kept
 * high and close-on-exec) and letting nothing take it from under a send:
 *
 *  - a reconnect builds the new connection aside, says HELLO on it, then
 *    dup3()s it onto the slot, so a send racing with it reaches either the
 *    old socket or the new one, both the shim's, and never data before HELLO;
 *  - a lost connection is only marked down, never closed, so the number is
 *    never free for the host to be handed while a send is on its way;
 *  - the host's close() of the slot answers EBADF, as it would without the
 *    shim, and close_range()/closefrom() step around it (hooks_fdtable.c);
 *  - a dup2() onto the slot is the one thing the host may rightly do to that
 *    number: the socket moves to another number first, and the dup2 waits,
 *    for a bounded moment, until no send can still be using the old one.
 *
 * Senders announce themselves in one of two counters chosen by an epoch;
 * moving the slot starts a new epoch and waits for the old counter to drain.
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define BACKOFF_FIRST_NS (10u * 1000000u)
#define BACKOFF_MAX_NS (500u * 1000000u)
#define RELOCATE_WAIT_MAX_NS (100u * 1000000u)

static struct sockaddr_un server;
static socklen_t server_len;
static int high_fd_floor;

static _Atomic int slot_fd = -1; /* the shim's fd number, once it has one */
static _Atomic int link_up;      /* the slot holds a connection that said HELLO */
static _Atomic int link_ever_up; /* this process has reached ulogd at least once */
static _Atomic int refused;      /* the last connect found a socket nobody listens on */
static _Atomic unsigned link_gen;
static _Atomic int connect_busy;
static _Atomic uint64_t next_connect_ns;
static uint64_t backoff_ns = BACKOFF_FIRST_NS;

static _Atomic unsigned slot_epoch;
static _Atomic int slot_users[2];

void link_init(const char *socket_path)
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
}

int link_send(int fd, const struct iovec *iov, int iovcnt)
{
    struct msghdr msg = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt};
    for (;;) {
        if (syscall(SYS_sendmsg, fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
            return 0;
        if (errno != EINTR)
            return errno == EWOULDBLOCK ? EAGAIN : errno;
    }
}

unsigned link_enter(void)
{
    for (;;) {
        unsigned epoch = atomic_load(&slot_epoch);
        atomic_fetch_add(&slot_users[epoch & 1], 1);
        if (atomic_load(&slot_epoch) == epoch)
            return epoch;
        atomic_fetch_sub(&slot_users[epoch & 1], 1);
    }
}

void link_leave(unsigned epoch)
{
    atomic_fetch_sub(&slot_users[epoch & 1], 1);
}

int link_owns_fd(int fd)
{
    return fd >= 0 && fd == atomic_load_explicit(&slot_fd, memory_order_relaxed);
}

int link_ulogd_away(void)
{
    return atomic_load(&link_ever_up) || atomic_load(&refused);
}

int link_slot(void)
{
    return atomic_load(&slot_fd);
}

/* A connected socket that has said HELLO, or -1. */
static int open_connection(void)
{
    size_t hello_len;
    const void *hello = shim_hello(&hello_len);
    struct iovec iov = {(void *)hello, hello_len};
    int fd = (int)syscall(SYS_socket, AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    if (syscall(SYS_connect, fd, &server, server_len) != 0 || hello_len == 0 ||
        link_send(fd, &iov, 1) != 0) {
        syscall(SYS_close, fd);
        return -1;
    }
    return fd;
}

/* Put the new connection on the slot, taking a slot first if there is none. */
static int install(int fd)
{
    int slot = atomic_load(&slot_fd);
    if (slot >= 0) {
        int rc = (int)syscall(SYS_dup3, fd, slot, O_CLOEXEC);
        syscall(SYS_close, fd);
        return rc < 0 ? -1 : 0;
    }
    slot = (int)syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, high_fd_floor);
    if (slot >= 0)
        syscall(SYS_close, fd);
    else
        slot = fd; /* no room up there: keep the number we have */
    atomic_store(&slot_fd, slot);
    return 0;
}

int link_fd(int ignore_backoff, unsigned *gen)
{
    int expected = 0, fd;
    uint64_t now;

    *gen = atomic_load(&link_gen);
    if (atomic_load_explicit(&link_up, memory_order_acquire))
        return atomic_load(&slot_fd);
    now = shim_monotonic_ns();
    if (!ignore_backoff && now < atomic_load_explicit(&next_connect_ns, memory_order_relaxed))
        return -1;
    if (!atomic_compare_exchange_strong(&connect_busy, &expected, 1))
        return -1;
    if (!atomic_load(&link_up)) {
        fd = open_connection();
        atomic_store(&refused, fd < 0 && (errno == ECONNREFUSED || errno == EAGAIN));
        if (fd >= 0 && install(fd) == 0) {
            backoff_ns = BACKOFF_FIRST_NS;
            atomic_fetch_add(&link_gen, 1);
            atomic_store(&link_ever_up, 1);
            atomic_store_explicit(&link_up, 1, memory_order_release);
        } else {
            atomic_store(&next_connect_ns, now + backoff_ns);
            backoff_ns = backoff_ns * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : backoff_ns * 2;
        }
    }
    atomic_store(&connect_busy, 0);
    *gen = atomic_load(&link_gen);
    return atomic_load(&link_up) ? atomic_load(&slot_fd) : -1;
}

void link_lost(unsigned gen)
{
    /* Only the connection that failed: a newer one may already be in place. */
    if (atomic_load(&link_gen) != gen)
        return;
    atomic_store(&link_up, 0);
    atomic_store(&next_connect_ns, shim_monotonic_ns() + BACKOFF_FIRST_NS);
}

/* Wait, boundedly, until no sender that may hold the old slot number is left. */
static void retire_epoch(void)
{
    unsigned old = atomic_fetch_add(&slot_epoch, 1);
    uint64_t deadline = shim_monotonic_ns() + RELOCATE_WAIT_MAX_NS;
    while (atomic_load(&slot_users[old & 1]) > 0 && shim_monotonic_ns() < deadline)
        sched_yield();
}

void link_relocate(void)
{
    int old = atomic_load(&slot_fd), moved;
    if (old < 0)
        return;
    moved = (int)syscall(SYS_fcntl, old, F_DUPFD_CLOEXEC, high_fd_floor);
    if (moved < 0) {
        /* Nowhere to go (out of fds): give the socket up to the host's dup2. */
        atomic_store(&link_up, 0);
        atomic_store(&slot_fd, -1);
    } else {
        atomic_store(&slot_fd, moved);
    }
    retire_epoch();
    /* The old number still holds a reference to the socket: the host's
     * dup2 replaces it atomically, which is exactly what it asked for. */
}

void link_after_fork_child(void)
{
    /* The slot is inherited but leads to the parent's connection: the number
     * stays ours, the connection is let go at once (so ulogd sees the parent
     * leave when it leaves), and the next connect puts the child's own on it. */
    int slot = atomic_load(&slot_fd);
    if (slot >= 0) {
        int placeholder = (int)syscall(SYS_socket, AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (placeholder >= 0) {
            syscall(SYS_dup3, placeholder, slot, O_CLOEXEC);
            syscall(SYS_close, placeholder);
        }
    }
    atomic_store(&link_up, 0);
    atomic_store(&link_ever_up, 0);
    atomic_store(&connect_busy, 0);
    atomic_store(&next_connect_ns, 0);
    atomic_store(&slot_users[0], 0);
    atomic_store(&slot_users[1], 0);
    backoff_ns = BACKOFF_FIRST_NS;
}
