/*
 * follow.c - keeps reading all.log as ulogd appends to it, rotates it
 * (all.log -> all.log.1, a new all.log) or, by someone's hand, truncates it.
 *
 * When to look is decided by inotify on the log directory: a write, a
 * rename or a new file there wakes `ulog tail -f` at once, so a line shows
 * up as soon as ulogd flushes it (every 100 ms at most) and an idle tail
 * costs nothing. What to do is decided by looking at the files themselves,
 * never by interpreting events: after every wake-up the open file is read to
 * its end, its size is compared with what was read (truncation) and the path
 * is compared with the open file by device and inode (rotation). That makes
 * a missed or overflowed event harmless, so a one-second safety-net timeout
 * also covers the cases inotify does not report (a log directory on NFS or
 * shared into a container from another kernel's view). Without inotify (no
 * instances left, directory not there yet) the same check runs every 200 ms.
 */
#include "follow.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A "line" longer than this without a newline is handed out in pieces. */
#define PENDING_MAX (64u << 20)
#define READ_CHUNK 65536u

static int pending_append(struct tail_follower *f, const char *data, size_t len)
{
    if (f->pending_len + len > f->pending_cap) {
        size_t cap = f->pending_cap ? f->pending_cap : 4096;
        while (cap < f->pending_len + len)
            cap *= 2;
        char *grown = realloc(f->pending, cap);
        if (!grown)
            return -1;
        f->pending = grown;
        f->pending_cap = cap;
    }
    memcpy(f->pending + f->pending_len, data, len);
    f->pending_len += len;
    return 0;
}

static int flush_pending(struct tail_follower *f, tail_line_fn fn, void *context)
{
    size_t len = f->pending_len;
    f->pending_len = 0;
    return len ? fn(context, f->pending, len) : 0;
}

static int emit_lines(struct tail_follower *f, const char *data, size_t len, tail_line_fn fn,
                      void *context)
{
    while (len > 0) {
        const char *newline = memchr(data, '\n', len);
        size_t line_len;
        int rc = 0;

        if (!newline) {
            if (pending_append(f, data, len) < 0)
                return -1;
            return f->pending_len >= PENDING_MAX ? flush_pending(f, fn, context) : 0;
        }
        line_len = (size_t)(newline - data);
        if (f->pending_len) {
            if (pending_append(f, data, line_len) < 0)
                return -1;
            rc = flush_pending(f, fn, context);
        } else if (line_len) {
            rc = fn(context, data, line_len);
        }
        data += line_len + 1;
        len -= line_len + 1;
        if (rc)
            return rc;
    }
    return 0;
}

static int drain(struct tail_follower *f, tail_line_fn fn, void *context)
{
    char chunk[READ_CHUNK];

    for (;;) {
        ssize_t n = read(f->fd, chunk, sizeof chunk);
        int rc;
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -1 : 0;
        f->offset += n;
        if ((rc = emit_lines(f, chunk, (size_t)n, fn, context)))
            return rc;
    }
}

/* 1 when all.log is open (read from its start), 0 when it does not exist, -1. */
static int open_current(struct tail_follower *f)
{
    struct stat st;
    int fd = open(f->path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    if (fstat(fd, &st) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    f->fd = fd;
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    f->offset = 0;
    return 1;
}

int tail_follower_init(struct tail_follower *f, const char *dir, int fd, off_t offset)
{
    struct stat st;
    int saved_errno;

    memset(f, 0, sizeof *f);
    f->fd = -1;
    f->inotify_fd = -1;
    f->notices = stderr;
    if (fd >= 0) {
        f->fd = fd;
        if (fstat(fd, &st) < 0 || lseek(fd, offset, SEEK_SET) < 0)
            goto fail;
        f->dev = st.st_dev;
        f->ino = st.st_ino;
        f->offset = offset;
    }
    if ((size_t)snprintf(f->dir, sizeof f->dir, "%s", dir) >= sizeof f->dir ||
        (size_t)snprintf(f->path, sizeof f->path, "%s/%s", dir, TAIL_LOG_NAME) >= sizeof f->path) {
        errno = ENAMETOOLONG;
        goto fail;
    }
    f->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (f->inotify_fd >= 0 &&
        inotify_add_watch(f->inotify_fd, f->dir,
                          IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM |
                              IN_MOVED_TO | IN_ATTRIB) < 0) {
        close(f->inotify_fd);
        f->inotify_fd = -1;
    }
    return 0;

fail:
    saved_errno = errno;
    tail_follower_free(f);
    errno = saved_errno;
    return -1;
}

int tail_follower_poll(struct tail_follower *f, tail_line_fn fn, void *context)
{
    struct stat st;
    int rc;

    if (f->fd < 0) {
        if ((rc = open_current(f)) <= 0)
            return rc;
    }
    if ((rc = drain(f, fn, context)))
        return rc;

    if (fstat(f->fd, &st) == 0 && st.st_size < f->offset) {
        if (f->notices)
            fprintf(f->notices, "ulog tail: %s was truncated; reading it from the start\n",
                    f->path);
        if ((rc = flush_pending(f, fn, context)))
            return rc;
        if (lseek(f->fd, 0, SEEK_SET) < 0)
            return -1;
        f->offset = 0;
        if ((rc = drain(f, fn, context)))
            return rc;
    }

    /* Missing: renamed away and not yet re-created; the old file is still ours. */
    if (stat(f->path, &st) < 0 || (st.st_dev == f->dev && st.st_ino == f->ino))
        return 0;

    /* Replaced: what was appended to the old file before the rename comes first. */
    if ((rc = drain(f, fn, context)) || (rc = flush_pending(f, fn, context)))
        return rc;
    close(f->fd);
    f->fd = -1;
    if ((rc = open_current(f)) <= 0)
        return rc;
    return drain(f, fn, context);
}

void tail_follower_wait(struct tail_follower *f)
{
    if (f->inotify_fd >= 0) {
        struct pollfd p = {.fd = f->inotify_fd, .events = POLLIN};
        if (poll(&p, 1, FOLLOW_SAFETY_NET_MS) > 0) {
            /* Which event it was does not matter: poll() looks at the files. */
            char events[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
            while (read(f->inotify_fd, events, sizeof events) > 0)
                ;
        }
    } else {
        struct timespec pause = {0, FOLLOW_POLL_MS * 1000000L};
        nanosleep(&pause, NULL);
    }
}

void tail_follower_free(struct tail_follower *f)
{
    if (f->fd >= 0)
        close(f->fd);
    if (f->inotify_fd >= 0)
        close(f->inotify_fd);
    free(f->pending);
    f->fd = f->inotify_fd = -1;
    f->pending = NULL;
    f->pending_len = f->pending_cap = 0;
}
