/*
 * capture.c - bytes that reached stdout or stderr become DATA messages.
 *
 * Called by every hook after the real call returned, with the count the
 * kernel accepted, so ulogd sees exactly the bytes that reached the file.
 * The bytes are never copied here: each message is a small prefix on this
 * stack plus iovecs into the caller's own buffers, which also keeps the
 * stack small enough for a signal handler on a sigaltstack. A write larger
 * than one message is cut into pieces marked CONTINUED.
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ulog/wire.h"

/* Enough iovecs for one message made of many small caller iovecs. */
#define CAPTURE_MAX_IOV 64

static void send_pieces(int stream, const struct iovec *iov, int iovcnt, size_t len)
{
    unsigned char prefix[ULOG_WIRE_DATA_PREFIX];
    struct iovec out[CAPTURE_MAX_IOV + 1];
    uint64_t now = shim_realtime_ns();
    uint32_t tid = shim_tid();
    int i = 0;
    size_t offset = 0; /* into iov[i] */

    while (len > 0 && i < iovcnt) {
        size_t piece = len < ULOG_WIRE_MAX_DATA ? len : ULOG_WIRE_MAX_DATA;
        size_t filled = 0;
        int n = 1;
        while (filled < piece && i < iovcnt && n <= CAPTURE_MAX_IOV) {
            size_t take = iov[i].iov_len - offset;
            if (take > piece - filled)
                take = piece - filled;
            if (take > 0) {
                out[n].iov_base = (char *)iov[i].iov_base + offset;
                out[n].iov_len = take;
                n++;
                filled += take;
                offset += take;
            }
            if (offset == iov[i].iov_len) {
                i++;
                offset = 0;
            }
        }
        if (filled == 0)
            break;
        len -= filled;
        ulog_wire_data_prefix(prefix, now, tid, (uint8_t)stream,
                              len > 0 ? ULOG_DATA_CONTINUED : 0, (uint32_t)filled);
        out[0].iov_base = prefix;
        out[0].iov_len = sizeof prefix;
        transport_send(out, n, sizeof prefix + filled);
    }
}

static void capture_classified(int stream, const struct iovec *iov, int iovcnt, size_t len)
{
    int saved_errno;
    if (!shim_ready() || len == 0)
        return;
    if (shim_busy >= CAPTURE_MAX_DEPTH) {
        transport_count_drop(len);
        return;
    }
    saved_errno = errno;
    shim_busy++;
    send_pieces(stream, iov, iovcnt, len);
    shim_busy--;
    errno = saved_errno;
}

void capture_iov(int fd, const struct iovec *iov, int iovcnt, size_t len)
{
    int stream;
    if (!shim_ready() || len == 0)
        return;
    stream = fdclass_stream(fd);
    if (stream)
        capture_classified(stream, iov, iovcnt, len);
}

void capture_bytes(int fd, const void *buf, size_t len)
{
    struct iovec iov = {(void *)buf, len};
    capture_iov(fd, &iov, 1, len);
}

void capture_stream_bytes(int stream, const void *buf, size_t len)
{
    struct iovec iov = {(void *)buf, len};
    capture_classified(stream, &iov, 1, len);
}

/*
 * sendfile and copy_file_range move bytes inside the kernel; when their
 * source can be read again at an offset, read them back in modest pieces.
 */
void capture_copied(int out_fd, int in_fd, off_t in_offset, size_t len)
{
    char chunk[4096];
    int stream, saved_errno;

    if (!shim_ready() || len == 0 || in_offset < 0)
        return;
    stream = fdclass_stream(out_fd);
    if (!stream)
        return;
    saved_errno = errno;
    while (len > 0) {
        size_t want = len < sizeof chunk ? len : sizeof chunk;
        ssize_t got = syscall(SYS_pread64, in_fd, chunk, want, in_offset);
        if (got <= 0)
            break;
        capture_stream_bytes(stream, chunk, (size_t)got);
        in_offset += got;
        len -= (size_t)got;
    }
    errno = saved_errno;
}

/*
 * splice from a pipe consumes what it moves, so nothing can be read back.
 * tee() first duplicates the pipe's contents into a private pipe without
 * consuming them; after the real splice, the first `moved` bytes of that copy
 * are exactly what reached stdout. Returns 1 when a peek was set up.
 */
int capture_pipe_peek_begin(int out_fd, int in_fd, size_t len, int peek[2])
{
    struct stat st;
    int saved_errno;
    if (!shim_ready() || !fdclass_stream(out_fd))
        return 0;
    saved_errno = errno;
    if (fstat(in_fd, &st) != 0 || !S_ISFIFO(st.st_mode) ||
        syscall(SYS_pipe2, peek, O_CLOEXEC | O_NONBLOCK) != 0) {
        errno = saved_errno;
        return 0;
    }
    if (len > INT_MAX)
        len = INT_MAX;
    if (syscall(SYS_tee, in_fd, peek[1], len, SPLICE_F_NONBLOCK) < 0) {
        syscall(SYS_close, peek[0]);
        syscall(SYS_close, peek[1]);
        errno = saved_errno;
        return 0;
    }
    errno = saved_errno;
    return 1;
}

void capture_pipe_peek_end(int out_fd, int peek[2], ssize_t moved)
{
    char chunk[4096];
    int saved_errno = errno;
    int stream = fdclass_stream(out_fd);
    while (stream && moved > 0) {
        size_t want = (size_t)moved < sizeof chunk ? (size_t)moved : sizeof chunk;
        ssize_t got = syscall(SYS_read, peek[0], chunk, want);
        if (got <= 0)
            break;
        capture_stream_bytes(stream, chunk, (size_t)got);
        moved -= got;
    }
    syscall(SYS_close, peek[0]);
    syscall(SYS_close, peek[1]);
    errno = saved_errno;
}
