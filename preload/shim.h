/*
 * shim.h - what the parts of libulog.so share, and nothing more.
 *
 * The shim lives inside programs that never asked for it, so every function
 * declared here that can run on a host's write path obeys the same rules:
 * async-signal-safe (no malloc, no stdio, no locks that a signal handler could
 * meet held by its own thread), errno preserved, never blocking, never
 * touching an fd it does not own.
 */
#ifndef ULOG_PRELOAD_SHIM_H
#define ULOG_PRELOAD_SHIM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#define ULOG_EXPORT __attribute__((visibility("default")))
#define ULOG_SHIM_VERSION 0x000100u /* 0.1.0 */
/* Address space only: a process pays in memory for what a burst used, and
 * gives it back once the burst is delivered (transport.c). */
#define ULOG_SHIM_BUFFER_DEFAULT (8u << 20)

enum shim_state { SHIM_UNINIT = 0, SHIM_READY, SHIM_DISABLED };

/* shim.c: process-wide state, set up by the constructor. */
extern _Atomic int ulog_shim_state;
static inline int shim_ready(void)
{
    return atomic_load_explicit(&ulog_shim_state, memory_order_acquire) == SHIM_READY;
}
/* The HELLO of this process, rebuilt in a forked child. */
const void *shim_hello(size_t *len);
void shim_note_capture_mode(uint32_t bit);
uint32_t shim_tid(void);
uint32_t shim_pid(void); /* as the HELLO says: this process, not a vfork child */
uint64_t shim_realtime_ns(void);
uint64_t shim_monotonic_ns(void);

/* fdclass.c: is this fd one of the files that were stdout/stderr at start? */
/* Identities handed down in ULOG_STREAMS ("DEV:INO,DEV:INO"), else taken
 * from fds 1 and 2; returns 1 when the inherited ones were used. */
int fdclass_init(const char *inherited);
void fdclass_describe(char *buf, size_t size);
void fdclass_copy(int from, int to); /* `to` is now a dup of `from` */
int fdclass_stream(int fd); /* ULOG_STREAM_STDOUT, ULOG_STREAM_STDERR or 0 */
void fdclass_forget(int fd);
int fdclass_known(int fd); /* the cache holds an answer for fd */
void fdclass_forget_range(unsigned first, unsigned last);

/* capture.c: turn bytes that reached a captured fd into DATA messages. */
void capture_bytes(int fd, const void *buf, size_t len);
void capture_iov(int fd, const struct iovec *iov, int iovcnt, size_t len);
/* Already classified: stdio hooks know their FILE's fd and stream. */
void capture_stream_bytes(int stream, const void *buf, size_t len);
/* Bytes a kernel-side copy (sendfile, splice, copy_file_range) moved from in_fd. */
void capture_copied(int out_fd, int in_fd, off_t in_offset, size_t len);
int capture_pipe_peek_begin(int out_fd, int in_fd, size_t len, int peek[2]);
void capture_pipe_peek_end(int out_fd, int peek[2], ssize_t moved);

/* transport.c: the connection to ulogd, the pending buffer, drop counts. */
void transport_init(size_t buffer_bytes, const char *socket_path, unsigned exit_wait_ms);
void transport_send(const struct iovec *iov, int iovcnt, size_t len);
void transport_after_fork_child(void);
void transport_at_exit(void);

/* link.c: the socket's fd slot, (re)connection with backoff, and the
 * protection of that fd number against the host (see the file comment). */
void link_init(const char *socket_path);
int link_send(int fd, const struct iovec *iov, int iovcnt); /* 0, or the errno */
int link_fd(int ignore_backoff, unsigned *gen); /* connected slot fd, or -1 */
void link_lost(unsigned gen);
unsigned link_enter(void); /* around every use of the slot fd */
void link_leave(unsigned epoch);
int link_owns_fd(int fd);
int link_slot(void);       /* the shim's fd number, or -1 */
/* ulogd is away (reached before, or its socket is there but refusing: a
 * restart) rather than absent (no socket at all). */
int link_ulogd_away(void);
void link_relocate(void);  /* the host is about to dup2 onto the slot */
void link_after_fork_child(void);

/* stdio_glibc.c / stdio_musl.c: hook the stdio write path. */
uint32_t stdio_hook_install(void);

/* hooks_*.c: resolve the real libc functions once, in the constructor. */
void hooks_fd_resolve(void);
void hooks_fdtable_resolve(void);
void hooks_process_resolve(void);

/* shim.c: what a new process does first (fork's atfork handler, clone). */
void shim_after_fork_child(void);

/*
 * Inside the shim every system call goes through syscall(2), never through
 * write(), close() ... by name: those names resolve to the shim's own hooks.
 */

/*
 * How deep this thread is inside capture. A signal handler may write while
 * its thread is in the middle of a capture: that nested capture is taken
 * (the transport is re-entrant); only beyond CAPTURE_MAX_DEPTH, which no
 * real program reaches, is a message counted as dropped instead.
 */
extern __thread int shim_busy;
#define CAPTURE_MAX_DEPTH 4
void transport_count_drop(size_t output_bytes);

#endif /* ULOG_PRELOAD_SHIM_H */
