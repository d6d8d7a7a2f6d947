/*
 * fdclass.c - which fds lead to the files that were stdout and stderr.
 *
 * Captured output is defined by the file, not the fd number: a program may
 * dup stdout, and Node reopens the terminal on a new fd. The identities
 * (device, inode) of fds 1 and 2 are taken by the first process of a tree
 * and handed down in ULOG_STREAMS, so that what a shell pipes from one
 * command to the next, or reads back with $(...), is data and not log: only
 * what reaches the tree's own stdout and stderr is, as `docker logs` sees it.
 *
 * fstat on every write would double the cost of writing to an ordinary file,
 * so each fd's answer is cached and forgotten whenever the fd number can
 * change meaning: close, close_range (hooks_fdtable.c) and fclose (the stdio
 * close slot). A dup inherits its source's answer, which keeps stderr apart
 * from stdout when both are one file (`2>&1`, `echo x >&2`).
 */
#include "shim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ulog/wire.h"

#define FDCLASS_CACHED 4096

enum { CLASS_UNKNOWN = 0, CLASS_OTHER, CLASS_STDOUT, CLASS_STDERR };

struct file_identity {
    int valid;
    dev_t dev;
    ino_t ino;
};

static struct file_identity out_id, err_id;
static _Atomic unsigned char fd_class[FDCLASS_CACHED];

static void identify(int fd, struct file_identity *id)
{
    struct stat st;
    id->valid = fstat(fd, &st) == 0;
    if (id->valid) {
        id->dev = st.st_dev;
        id->ino = st.st_ino;
    }
}

/* "DEV:INO" or "-" for a stream that was closed. */
static const char *parse_identity(const char *p, struct file_identity *id)
{
    char *end;
    unsigned long long dev, ino;
    if (*p == '-') {
        id->valid = 0;
        return p + 1;
    }
    errno = 0;
    dev = strtoull(p, &end, 10);
    if (errno || end == p || *end != ':')
        return NULL;
    p = end + 1;
    ino = strtoull(p, &end, 10);
    if (errno || end == p)
        return NULL;
    id->valid = 1;
    id->dev = (dev_t)dev;
    id->ino = (ino_t)ino;
    return end;
}

int fdclass_init(const char *inherited)
{
    if (inherited) {
        const char *p = parse_identity(inherited, &out_id);
        if (p && *p == ',' && (p = parse_identity(p + 1, &err_id)) && *p == '\0')
            return 1;
    }
    identify(STDOUT_FILENO, &out_id);
    identify(STDERR_FILENO, &err_id);
    return 0;
}

static int describe_identity(char *buf, size_t size, const struct file_identity *id)
{
    if (!id->valid)
        return snprintf(buf, size, "-");
    return snprintf(buf, size, "%llu:%llu", (unsigned long long)id->dev,
                    (unsigned long long)id->ino);
}

void fdclass_describe(char *buf, size_t size)
{
    int n = describe_identity(buf, size, &out_id);
    if (n > 0 && (size_t)n + 1 < size) {
        buf[n] = ',';
        describe_identity(buf + n + 1, size - (size_t)n - 1, &err_id);
    }
}

static int same_file(const struct file_identity *id, const struct stat *st)
{
    return id->valid && id->dev == st->st_dev && id->ino == st->st_ino;
}

static int classify(int fd)
{
    struct stat st;
    int saved_errno = errno;
    int class = CLASS_OTHER;

    if (link_owns_fd(fd))
        return CLASS_OTHER;
    if (fstat(fd, &st) == 0) {
        /* stdout and stderr are often one terminal or one pipe: the fd
         * number decides for 1 and 2, and stdout wins for any other fd. */
        int is_out = same_file(&out_id, &st), is_err = same_file(&err_id, &st);
        if (fd == STDERR_FILENO && is_err)
            class = CLASS_STDERR;
        else if (is_out)
            class = CLASS_STDOUT;
        else if (is_err)
            class = CLASS_STDERR;
    }
    errno = saved_errno;
    return class;
}

int fdclass_stream(int fd)
{
    int class;
    if (fd < 0)
        return 0;
    if (fd < FDCLASS_CACHED) {
        class = atomic_load_explicit(&fd_class[fd], memory_order_relaxed);
        if (class == CLASS_UNKNOWN) {
            class = classify(fd);
            atomic_store_explicit(&fd_class[fd], (unsigned char)class, memory_order_relaxed);
        }
    } else {
        class = classify(fd);
    }
    switch (class) {
    case CLASS_STDOUT: return ULOG_STREAM_STDOUT;
    case CLASS_STDERR: return ULOG_STREAM_STDERR;
    default: return 0;
    }
}

void fdclass_copy(int from, int to)
{
    int stream;
    if (to < 0 || to >= FDCLASS_CACHED || from == to)
        return;
    stream = fdclass_stream(from);
    atomic_store_explicit(&fd_class[to],
                          stream == ULOG_STREAM_STDOUT   ? CLASS_STDOUT
                          : stream == ULOG_STREAM_STDERR ? CLASS_STDERR
                                                         : CLASS_OTHER,
                          memory_order_relaxed);
}

int fdclass_known(int fd)
{
    return fd >= 0 && fd < FDCLASS_CACHED &&
           atomic_load_explicit(&fd_class[fd], memory_order_relaxed) != CLASS_UNKNOWN;
}

void fdclass_forget(int fd)
{
    if (fd >= 0 && fd < FDCLASS_CACHED)
        atomic_store_explicit(&fd_class[fd], CLASS_UNKNOWN, memory_order_relaxed);
}

void fdclass_forget_range(unsigned first, unsigned last)
{
    if (last >= FDCLASS_CACHED)
        last = FDCLASS_CACHED - 1;
    for (unsigned fd = first; fd <= last; fd++)
        atomic_store_explicit(&fd_class[fd], CLASS_UNKNOWN, memory_order_relaxed);
}
