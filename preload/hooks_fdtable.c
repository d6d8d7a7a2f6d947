/*
 * hooks_fdtable.c - calls that change what an fd number means.
 *
 * Two reasons to watch them. fdclass.c caches, per fd number, whether it
 * leads to stdout or stderr; any call that closes or replaces a number must
 * make it forget (and a dup inherits its source's answer). And the shim's own
 * socket lives among the host's fds on a number the shim keeps for good
 * (link.c): a program that closes "every" fd sees exactly what it would see
 * without the shim (EBADF for that number, success for a range around it)
 * while the socket stays; a dup2 onto that number moves the socket away
 * first, and the host gets the number it asked for.
 */
#include "shim.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <linux/close_range.h>
#endif

static struct {
    int (*close)(int);
    int (*dup)(int);
    int (*dup2)(int, int);
    int (*dup3)(int, int, int);
    int (*fcntl)(int, int, ...);
    int (*daemon)(int, int);
#ifdef __GLIBC__
    int (*fcntl64)(int, int, ...);
    int (*close_range)(unsigned int, unsigned int, int);
    void (*closefrom)(int);
#endif
} real;

#define RESOLVE(name) real.name = (__typeof__(real.name))dlsym(RTLD_NEXT, #name)

void hooks_fdtable_resolve(void)
{
    RESOLVE(close);
    RESOLVE(dup);
    RESOLVE(dup2);
    RESOLVE(dup3);
    RESOLVE(fcntl);
    RESOLVE(daemon);
#ifdef __GLIBC__
    RESOLVE(fcntl64);
    RESOLVE(close_range);
    RESOLVE(closefrom);
#endif
}

static int in_vfork_child(void)
{
    return shim_ready() && (uint32_t)syscall(SYS_getpid) != shim_pid();
}

#define REAL_CLOSE(fd) (real.close ? real.close(fd) : (int)syscall(SYS_close, fd))

ULOG_EXPORT int close(int fd)
{
    int rc;
    if ((link_owns_fd(fd) || fdclass_known(fd)) && in_vfork_child())
        return REAL_CLOSE(fd);
    if (link_owns_fd(fd)) {
        errno = EBADF; /* the host never opened it */
        return -1;
    }
    rc = REAL_CLOSE(fd);
    fdclass_forget(fd);
    return rc;
}

ULOG_EXPORT int dup(int oldfd)
{
    int fd = real.dup ? real.dup(oldfd) : (int)syscall(SYS_dup, oldfd);
    if (fd >= 0 && !in_vfork_child())
        fdclass_copy(oldfd, fd);
    return fd;
}

ULOG_EXPORT int dup2(int oldfd, int newfd)
{
    int fd, own = !in_vfork_child();
    if (own && oldfd != newfd && link_owns_fd(newfd))
        link_relocate();
    fd = real.dup2 ? real.dup2(oldfd, newfd) : (int)syscall(SYS_dup3, oldfd, newfd, 0);
    if (own && fd >= 0)
        fdclass_copy(oldfd, newfd);
    return fd;
}

ULOG_EXPORT int dup3(int oldfd, int newfd, int flags)
{
    int fd, own = !in_vfork_child();
    if (own && oldfd != newfd && link_owns_fd(newfd))
        link_relocate();
    fd = real.dup3 ? real.dup3(oldfd, newfd, flags) : (int)syscall(SYS_dup3, oldfd, newfd, flags);
    if (own && fd >= 0)
        fdclass_copy(oldfd, newfd);
    return fd;
}

static int is_dup_command(int cmd)
{
    return cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC;
}

typedef int fcntl_fn(int, int, ...);

/* The argument is an int or a pointer depending on cmd; like glibc itself,
 * pass it on as a pointer-sized value. */
static int fcntl_through(fcntl_fn *real_fcntl, int fd, int cmd, void *arg)
{
    int rc = real_fcntl ? real_fcntl(fd, cmd, arg) : (int)syscall(SYS_fcntl, fd, cmd, arg);
    if (rc >= 0 && is_dup_command(cmd) && !in_vfork_child())
        fdclass_copy(fd, rc);
    return rc;
}

ULOG_EXPORT int fcntl(int fd, int cmd, ...)
{
    va_list ap;
    void *arg;
    va_start(ap, cmd);
    arg = va_arg(ap, void *);
    va_end(ap);
    return fcntl_through(real.fcntl, fd, cmd, arg);
}

ULOG_EXPORT int daemon(int nochdir, int noclose)
{
    /* glibc's daemon() dup2()s /dev/null over 0-2 internally, out of reach. */
    int rc = real.daemon ? real.daemon(nochdir, noclose) : (errno = ENOSYS, -1);
    if (rc == 0)
        fdclass_forget_range(0, 2);
    return rc;
}

#ifdef __GLIBC__
ULOG_EXPORT int fcntl64(int fd, int cmd, ...)
{
    va_list ap;
    void *arg;
    va_start(ap, cmd);
    arg = va_arg(ap, void *);
    va_end(ap);
    return fcntl_through(real.fcntl64, fd, cmd, arg);
}

static int real_close_range(unsigned int first, unsigned int last, int flags)
{
    return real.close_range ? real.close_range(first, last, flags)
                            : (int)syscall(SYS_close_range, first, last, flags);
}

/* Close [first, last] but the shim's slot: the two ranges on either side. */
static int close_range_around_slot(unsigned int first, unsigned int last, int flags)
{
    int slot = link_slot();
    int rc = 0;
    if (slot < 0 || (unsigned int)slot < first || (unsigned int)slot > last ||
        (flags & CLOSE_RANGE_CLOEXEC))
        return real_close_range(first, last, flags);
    if ((unsigned int)slot > first)
        rc = real_close_range(first, (unsigned int)slot - 1, flags);
    if (rc == 0 && (unsigned int)slot < last)
        rc = real_close_range((unsigned int)slot + 1, last, flags);
    return rc;
}

ULOG_EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
    int rc;
    if (in_vfork_child())
        return real_close_range(first, last, flags);
    rc = close_range_around_slot(first, last, flags);
    if (rc == 0 && !(flags & CLOSE_RANGE_CLOEXEC))
        fdclass_forget_range(first, last);
    return rc;
}

/* glibc's closefrom() calls close_range internally, out of this hook's reach. */
ULOG_EXPORT void closefrom(int lowfd)
{
    unsigned int first = lowfd < 0 ? 0 : (unsigned int)lowfd;
    if (in_vfork_child()) {
        if (real_close_range(first, ~0u, 0) != 0 && real.closefrom)
            real.closefrom(lowfd);
        return;
    }
    if (close_range_around_slot(first, ~0u, 0) != 0 && real.closefrom)
        real.closefrom(lowfd); /* a kernel without close_range: glibc's own way */
    fdclass_forget_range(first, ~0u);
}
#endif
