/*
 * hooks_fd.c - every fd-level way a libc offers to put bytes into a file.
 *
 * Each hook makes the real call first and captures only what the kernel
 * accepted, so the host's bytes, return value and errno are exactly what they
 * would be without the shim. The real functions are found once, in the
 * constructor; a hook reached before that (another library's constructor)
 * makes the raw system call instead, because dlsym may allocate.
 */
#include "shim.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

/* The one prototype the two libcs spell differently. */
#ifdef __GLIBC__
typedef int sendmmsg_flags;
#else
typedef unsigned int sendmmsg_flags;
#endif

static struct {
    ssize_t (*write)(int, const void *, size_t);
    ssize_t (*writev)(int, const struct iovec *, int);
    ssize_t (*pwrite)(int, const void *, size_t, off_t);
    ssize_t (*pwritev)(int, const struct iovec *, int, off_t);
    ssize_t (*send)(int, const void *, size_t, int);
    ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
    ssize_t (*sendmsg)(int, const struct msghdr *, int);
    int (*sendmmsg)(int, struct mmsghdr *, unsigned int, sendmmsg_flags);
    ssize_t (*sendfile)(int, int, off_t *, size_t);
    ssize_t (*splice)(int, loff_t *, int, loff_t *, size_t, unsigned int);
    ssize_t (*copy_file_range)(int, loff_t *, int, loff_t *, size_t, unsigned int);
#ifdef __GLIBC__
    ssize_t (*pwrite64)(int, const void *, size_t, off64_t);
    ssize_t (*pwritev64)(int, const struct iovec *, int, off64_t);
    ssize_t (*pwritev2)(int, const struct iovec *, int, off_t, int);
    ssize_t (*pwritev64v2)(int, const struct iovec *, int, off64_t, int);
    ssize_t (*sendfile64)(int, int, off64_t *, size_t);
#endif
} real;

#define RESOLVE(name) real.name = (__typeof__(real.name))dlsym(RTLD_NEXT, #name)

void hooks_fd_resolve(void)
{
    RESOLVE(write);
    RESOLVE(writev);
    RESOLVE(pwrite);
    RESOLVE(pwritev);
    RESOLVE(send);
    RESOLVE(sendto);
    RESOLVE(sendmsg);
    RESOLVE(sendmmsg);
    RESOLVE(sendfile);
    RESOLVE(splice);
    RESOLVE(copy_file_range);
#ifdef __GLIBC__
    RESOLVE(pwrite64);
    RESOLVE(pwritev64);
    RESOLVE(pwritev2);
    RESOLVE(pwritev64v2);
    RESOLVE(sendfile64);
#endif
}

/* Split a 64-bit offset the way the pwritev system calls take it. */
#define OFFSET_LO(off) ((long)((unsigned long long)(off) & 0xffffffffu))
#define OFFSET_HI(off) ((long)((unsigned long long)(off) >> 32))

ULOG_EXPORT ssize_t write(int fd, const void *buf, size_t count)
{
    ssize_t n = real.write ? real.write(fd, buf, count) : syscall(SYS_write, fd, buf, count);
    if (n > 0)
        capture_bytes(fd, buf, (size_t)n);
    return n;
}

ULOG_EXPORT ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
    ssize_t n = real.writev ? real.writev(fd, iov, iovcnt) : syscall(SYS_writev, fd, iov, iovcnt);
    if (n > 0)
        capture_iov(fd, iov, iovcnt, (size_t)n);
    return n;
}

ULOG_EXPORT ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset)
{
    ssize_t n = real.pwrite ? real.pwrite(fd, buf, count, offset)
                            : syscall(SYS_pwrite64, fd, buf, count, offset);
    if (n > 0)
        capture_bytes(fd, buf, (size_t)n);
    return n;
}

ULOG_EXPORT ssize_t pwritev(int fd, const struct iovec *iov, int iovcnt, off_t offset)
{
    ssize_t n = real.pwritev ? real.pwritev(fd, iov, iovcnt, offset)
                             : syscall(SYS_pwritev, fd, iov, iovcnt, OFFSET_LO(offset),
                                       OFFSET_HI(offset));
    if (n > 0)
        capture_iov(fd, iov, iovcnt, (size_t)n);
    return n;
}

#ifdef __GLIBC__
ULOG_EXPORT ssize_t pwrite64(int fd, const void *buf, size_t count, off64_t offset)
{
    ssize_t n = real.pwrite64 ? real.pwrite64(fd, buf, count, offset)
                              : syscall(SYS_pwrite64, fd, buf, count, offset);
    if (n > 0)
        capture_bytes(fd, buf, (size_t)n);
    return n;
}

ULOG_EXPORT ssize_t pwritev64(int fd, const struct iovec *iov, int iovcnt, off64_t offset)
{
    ssize_t n = real.pwritev64 ? real.pwritev64(fd, iov, iovcnt, offset)
                               : syscall(SYS_pwritev, fd, iov, iovcnt, OFFSET_LO(offset),
                                         OFFSET_HI(offset));
    if (n > 0)
        capture_iov(fd, iov, iovcnt, (size_t)n);
    return n;
}

ULOG_EXPORT ssize_t pwritev2(int fd, const struct iovec *iov, int iovcnt, off_t offset, int flags)
{
    ssize_t n = real.pwritev2 ? real.pwritev2(fd, iov, iovcnt, offset, flags)
                              : syscall(SYS_pwritev2, fd, iov, iovcnt, OFFSET_LO(offset),
                                        OFFSET_HI(offset), flags);
    if (n > 0)
        capture_iov(fd, iov, iovcnt, (size_t)n);
    return n;
}

ULOG_EXPORT ssize_t pwritev64v2(int fd, const struct iovec *iov, int iovcnt, off64_t offset,
                                int flags)
{
    ssize_t n = real.pwritev64v2 ? real.pwritev64v2(fd, iov, iovcnt, offset, flags)
                                 : syscall(SYS_pwritev2, fd, iov, iovcnt, OFFSET_LO(offset),
                                           OFFSET_HI(offset), flags);
    if (n > 0)
        capture_iov(fd, iov, iovcnt, (size_t)n);
    return n;
}
#endif

ULOG_EXPORT ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    ssize_t n = real.send ? real.send(fd, buf, len, flags)
                          : syscall(SYS_sendto, fd, buf, len, flags, NULL, 0);
    if (n > 0)
        capture_bytes(fd, buf, (size_t)n);
    return n;
}

ULOG_EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags,
                           const struct sockaddr *addr, socklen_t addrlen)
{
    ssize_t n = real.sendto ? real.sendto(fd, buf, len, flags, addr, addrlen)
                            : syscall(SYS_sendto, fd, buf, len, flags, addr, addrlen);
    if (n > 0)
        capture_bytes(fd, buf, (size_t)n);
    return n;
}

ULOG_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    ssize_t n = real.sendmsg ? real.sendmsg(fd, msg, flags) : syscall(SYS_sendmsg, fd, msg, flags);
    if (n > 0)
        capture_iov(fd, msg->msg_iov, (int)msg->msg_iovlen, (size_t)n);
    return n;
}

ULOG_EXPORT int sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, sendmmsg_flags flags)
{
    int sent = real.sendmmsg ? real.sendmmsg(fd, vec, vlen, flags)
                             : (int)syscall(SYS_sendmmsg, fd, vec, vlen, flags);
    for (int i = 0; i < sent; i++)
        capture_iov(fd, vec[i].msg_hdr.msg_iov, (int)vec[i].msg_hdr.msg_iovlen, vec[i].msg_len);
    return sent;
}

/* Where in_fd's bytes will be read from, for the copies below; -1 if unknown. */
static off_t source_offset(int out_fd, int in_fd, const off_t *explicit_offset)
{
    int saved_errno = errno;
    off_t at;
    if (!shim_ready() || !fdclass_stream(out_fd))
        return -1;
    if (explicit_offset)
        return *explicit_offset;
    at = (off_t)syscall(SYS_lseek, in_fd, 0, SEEK_CUR);
    errno = saved_errno;
    return at;
}

ULOG_EXPORT ssize_t sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
    off_t from = source_offset(out_fd, in_fd, offset);
    ssize_t n = real.sendfile ? real.sendfile(out_fd, in_fd, offset, count)
                              : syscall(SYS_sendfile, out_fd, in_fd, offset, count);
    if (n > 0 && from >= 0)
        capture_copied(out_fd, in_fd, from, (size_t)n);
    return n;
}

#ifdef __GLIBC__
ULOG_EXPORT ssize_t sendfile64(int out_fd, int in_fd, off64_t *offset, size_t count)
{
    off_t from = source_offset(out_fd, in_fd, (off_t *)offset);
    ssize_t n = real.sendfile64 ? real.sendfile64(out_fd, in_fd, offset, count)
                                : syscall(SYS_sendfile, out_fd, in_fd, offset, count);
    if (n > 0 && from >= 0)
        capture_copied(out_fd, in_fd, from, (size_t)n);
    return n;
}
#endif

ULOG_EXPORT ssize_t copy_file_range(int in_fd, loff_t *in_off, int out_fd, loff_t *out_off,
                                    size_t len, unsigned int flags)
{
    off_t from = source_offset(out_fd, in_fd, (off_t *)in_off);
    ssize_t n = real.copy_file_range
                    ? real.copy_file_range(in_fd, in_off, out_fd, out_off, len, flags)
                    : syscall(SYS_copy_file_range, in_fd, in_off, out_fd, out_off, len, flags);
    if (n > 0 && from >= 0)
        capture_copied(out_fd, in_fd, from, (size_t)n);
    return n;
}

ULOG_EXPORT ssize_t splice(int in_fd, loff_t *in_off, int out_fd, loff_t *out_off, size_t len,
                           unsigned int flags)
{
    int peek[2];
    int peeking = capture_pipe_peek_begin(out_fd, in_fd, len, peek);
    off_t from = peeking ? -1 : source_offset(out_fd, in_fd, (off_t *)in_off);
    ssize_t n = real.splice ? real.splice(in_fd, in_off, out_fd, out_off, len, flags)
                            : syscall(SYS_splice, in_fd, in_off, out_fd, out_off, len, flags);
    if (peeking)
        capture_pipe_peek_end(out_fd, peek, n);
    else if (n > 0 && from >= 0)
        capture_copied(out_fd, in_fd, from, (size_t)n);
    return n;
}
