/*
 * hooks_process.c - new processes the shim must notice being born in.
 *
 * fork() runs the pthread_atfork handler (shim.c), which makes the child
 * introduce itself on a connection of its own. glibc's clone() does not:
 * a child made by clone() without CLONE_VM is a new process with a copy of
 * the parent's memory, and would otherwise keep speaking as its parent. The
 * wrapper starts such a child in a trampoline that runs the same handler
 * first. Children that share the parent's memory (threads, vfork,
 * posix_spawn) are left alone: they are not new processes until they exec,
 * and ulogd attributes what they send by the pid the kernel reports.
 *
 * _exit() skips the destructors where the shim delivers what it still holds
 * (dash, forked children and many daemons end that way): it gets the same
 * bounded delivery first, unless it is a vfork child, which shares its
 * parent's memory and must not touch the parent's buffer.
 */
#include "shim.h"

#include <dlfcn.h>
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

typedef int clone_fn(int (*)(void *), void *, int, void *, ...);
typedef void exit_fn(int);

static clone_fn *real_clone;
static exit_fn *real__exit, *real__Exit;

struct clone_start {
    int (*fn)(void *);
    void *arg;
};

void hooks_process_resolve(void)
{
    real_clone = (clone_fn *)dlsym(RTLD_NEXT, "clone");
    real__exit = (exit_fn *)dlsym(RTLD_NEXT, "_exit");
    real__Exit = (exit_fn *)dlsym(RTLD_NEXT, "_Exit");
}

static _Noreturn void exit_after_delivery(exit_fn *real, int status)
{
    if (shim_ready() && (uint32_t)syscall(SYS_getpid) == shim_pid())
        transport_at_exit();
    if (real)
        real(status);
    for (;;)
        syscall(SYS_exit_group, status);
}

ULOG_EXPORT void _exit(int status)
{
    exit_after_delivery(real__exit, status);
}

ULOG_EXPORT void _Exit(int status)
{
    exit_after_delivery(real__Exit, status);
}

/* Runs in the child, on its own stack, in its own copy of memory. */
static int clone_trampoline(void *start_ptr)
{
    struct clone_start *start = start_ptr;
    shim_after_fork_child();
    return start->fn(start->arg);
}

ULOG_EXPORT int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
{
    va_list ap;
    pid_t *parent_tid;
    void *tls;
    pid_t *child_tid;
    /* Lives in this frame; a child without CLONE_VM reads it from its copy. */
    struct clone_start start = {fn, arg};

    va_start(ap, arg);
    parent_tid = va_arg(ap, pid_t *);
    tls = va_arg(ap, void *);
    child_tid = va_arg(ap, pid_t *);
    va_end(ap);
    if (!real_clone) {
        errno = ENOSYS;
        return -1;
    }
    if ((flags & CLONE_VM) || !shim_ready())
        return real_clone(fn, stack, flags, arg, parent_tid, tls, child_tid);
    return real_clone(clone_trampoline, stack, flags, &start, parent_tid, tls, child_tid);
}
