/*
 * stdio_musl.c - capture musl's stdio through the FILE's own write member.
 *
 * musl's stdio reaches the kernel with an internal writev, never through an
 * interposable function, but every FILE carries a `write` function pointer:
 * replacing it on stdout and stderr sees each flush, the buffered bytes
 * (wbase..wpos) and the caller's bytes together, exactly what reaches the fd.
 * musl's __stdout_write replaces itself with __stdio_write on first use, so
 * the hook re-installs itself after every call. The FILE layout is musl's
 * private one (src/internal/stdio_impl.h, stable since 1.1); it is checked
 * (fd 1 and 2 where expected) before anything is changed.
 *
 * dprintf/vdprintf format into a FILE of their own that writes with the
 * same internal writev: they are replaced by a vsnprintf and a write() to
 * the fd, which the fd hooks capture like any other write.
 */
#include <features.h> /* says which libc this is */
#ifndef __GLIBC__
#include "shim.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ulog/wire.h"

typedef size_t (*musl_write_fn)(FILE *, const unsigned char *, size_t);

struct musl_file {
    unsigned flags;
    unsigned char *rpos, *rend;
    int (*close)(FILE *);
    unsigned char *wend, *wpos;
    unsigned char *mustbezero_1;
    unsigned char *wbase;
    size_t (*read)(FILE *, unsigned char *, size_t);
    musl_write_fn write;
    off_t (*seek)(FILE *, off_t, int);
    unsigned char *buf;
    size_t buf_size;
    FILE *prev, *next;
    int fd;
};

static musl_write_fn real_write[2]; /* stdout, stderr */

static size_t capturing_write(FILE *f, const unsigned char *buf, size_t len)
{
    struct musl_file *mf = (struct musl_file *)f;
    int which = f == stderr;
    struct iovec iov[2] = {{mf->wbase, (size_t)(mf->wpos - mf->wbase)}, {(void *)buf, len}};
    size_t done = real_write[which](f, buf, len);

    if (mf->write != capturing_write) {
        real_write[which] = mf->write;
        mf->write = capturing_write;
    }
    /* Called under the FILE's lock: the buffer still holds what was flushed. */
    if (done == len && iov[0].iov_len + len > 0)
        capture_iov(mf->fd, iov, 2, iov[0].iov_len + len);
    return done;
}

static int hook_file(FILE *f, int expected_fd, int which)
{
    struct musl_file *mf = (struct musl_file *)f;
    if (!f || mf->fd != expected_fd || !mf->write)
        return 0;
    real_write[which] = mf->write;
    mf->write = capturing_write;
    return 1;
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len); /* our hook: captured there */
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

ULOG_EXPORT int vdprintf(int fd, const char *format, va_list ap)
{
    char small[1024];
    char *text = small;
    va_list again;
    int len, rc;

    va_copy(again, ap);
    len = vsnprintf(small, sizeof small, format, ap);
    if (len >= (int)sizeof small) {
        text = malloc((size_t)len + 1);
        if (!text) {
            va_end(again);
            errno = ENOMEM;
            return -1;
        }
        vsnprintf(text, (size_t)len + 1, format, again);
    }
    va_end(again);
    rc = len < 0 ? -1 : write_all(fd, text, (size_t)len);
    if (text != small)
        free(text);
    return rc < 0 ? -1 : len;
}

ULOG_EXPORT int dprintf(int fd, const char *format, ...)
{
    va_list ap;
    int len;
    va_start(ap, format);
    len = vdprintf(fd, format, ap);
    va_end(ap);
    return len;
}

uint32_t stdio_hook_install(void)
{
    int hooked = hook_file(stdout, 1, 0) + hook_file(stderr, 2, 1);
    return hooked ? ULOG_CAPTURE_MUSL_FILE : 0;
}
#endif /* !__GLIBC__ */
