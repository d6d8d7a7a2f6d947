/*
 * logfile.c - all.log on disk (see logfile.h).
 *
 * Writes go through one O_APPEND descriptor, so an outside tool that
 * truncates the file or a `ulog tail` reading it never sees a torn write
 * from a seek race. Queued bytes are consumed by advancing an offset, not by
 * moving memory, because after a short write most of a large block is
 * usually still waiting.
 *
 * A file ulogd creates takes the owner and group of its log directory when
 * ulogd runs as root and the directory is someone else's: in a container,
 * `./logs:/app/logs` is the host user's folder, and what ulogd writes there
 * must be readable by that user, without making it readable by everyone.
 */
#include "logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"

/* After a flush, keep at most this much buffer memory for the next round. */
#define KEEP_BUFFER_BYTES (1024u * 1024)

static char *join(const char *dir, const char *name)
{
    size_t len = strlen(dir) + 1 + strlen(name) + 1;
    char *path = must_malloc(len);
    snprintf(path, len, "%s/%s", dir, name);
    return path;
}

/* mkdir -p: every missing component of `dir`. */
static int make_directories(const char *dir)
{
    char *copy;
    int rc = 0;

    if (!dir[0]) {
        errno = ENOENT;
        return -1;
    }
    copy = must_strdup(dir);

    for (char *p = copy + 1; rc == 0; p++) {
        bool last = *p == '\0';
        if (*p != '/' && !last)
            continue;
        *p = '\0';
        if (mkdir(copy, 0755) != 0 && errno != EEXIST)
            rc = -1;
        if (last)
            break;
        *p = '/';
    }
    free(copy);
    return rc;
}

/* See the opening comment. */
static void take_directory_owner(int fd, const char *dir)
{
    struct stat st;

    if (geteuid() != 0 || stat(dir, &st) != 0 || (st.st_uid == 0 && st.st_gid == 0))
        return;
    /* A failure (no CAP_CHOWN in a container) is no reason not to log: the
     * file stays ulogd's own, as it would be without this. */
    int refused = fchown(fd, st.st_uid, st.st_gid);
    (void)refused;
}

static int open_file(struct logfile *log)
{
    struct stat st;
    int flags = O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY;
    int fd = open(log->path, flags | O_CREAT | O_EXCL, LOGFILE_MODE);

    if (fd >= 0) {
        fchmod(fd, LOGFILE_MODE); /* exactly 0640, whatever the umask */
        take_directory_owner(fd, log->dir);
    } else if (errno == EEXIST) {
        fd = open(log->path, flags);
    }
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    log->fd = fd;
    log->size = (uint64_t)st.st_size + log->queued.len;
    return 0;
}

int logfile_open(struct logfile *log, const char *dir, uint64_t rotation_size,
                 unsigned backup_count)
{
    return logfile_open_named(log, dir, LOGFILE_NAME, rotation_size, backup_count);
}

int logfile_open_named(struct logfile *log, const char *dir, const char *name,
                       uint64_t rotation_size, unsigned backup_count)
{
    memset(log, 0, sizeof *log);
    log->fd = -1;
    log->rotation_size = rotation_size;
    log->backup_count = backup_count;
    if (make_directories(dir) != 0)
        return -1;
    log->dir = must_strdup(dir);
    log->path = join(dir, name);
    if (open_file(log) != 0) {
        int saved = errno;
        free(log->dir);
        free(log->path);
        log->dir = log->path = NULL;
        errno = saved;
        return -1;
    }
    return 0;
}

int logfile_flush(struct logfile *log)
{
    size_t done = 0;
    int rc = 0;

    if (log->queued.len == 0)
        return 0;
    /* After a failed re-open: the directory may have been removed meanwhile. */
    if (log->fd < 0 && (make_directories(log->dir) != 0 || open_file(log) != 0)) {
        log->write_errno = errno;
        return -1;
    }
    while (done < log->queued.len) {
        ssize_t n = write(log->fd, log->queued.data + done, log->queued.len - done);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0)
            errno = EIO; /* a regular file never accepts nothing; do not spin */
        log->write_errno = errno;
        rc = -1;
        break;
    }
    bytebuf_consume(&log->queued, done);
    if (rc == 0) {
        log->write_errno = 0;
        bytebuf_reset(&log->queued, KEEP_BUFFER_BYTES);
    } else {
        errno = log->write_errno;
    }
    return rc;
}

static void backup_name(const struct logfile *log, unsigned index, char *out, size_t size)
{
    snprintf(out, size, "%s.%u", log->path, index);
}

/* all.log -> all.log.1 -> ... -> all.log.<backup_count>; the oldest is replaced. */
static int rotate(struct logfile *log)
{
    size_t size = strlen(log->path) + 16;
    char *from = must_malloc(size), *to = must_malloc(size);
    int rc = -1;

    if (logfile_flush(log) != 0)
        goto out; /* keep appending to the old file rather than lose order */
    for (unsigned i = log->backup_count - 1; i >= 1; i--) {
        backup_name(log, i, from, size);
        backup_name(log, i + 1, to, size);
        if (rename(from, to) != 0 && errno != ENOENT)
            goto out;
    }
    backup_name(log, 1, to, size);
    if (rename(log->path, to) != 0 && errno != ENOENT)
        goto out;
    close(log->fd);
    log->fd = -1;
    if (open_file(log) != 0)
        goto out; /* logfile_flush() tries again */
    log->rotations++;
    rc = 0;
out:
    free(from);
    free(to);
    return rc;
}

int logfile_append(struct logfile *log, const char *line, size_t len)
{
    if (log->rotation_size > 0 && log->backup_count > 0 && log->size > 0 &&
        log->size + len > log->rotation_size && rotate(log) != 0)
        log->write_errno = errno;
    if (log->queued.len + len > LOGFILE_MAX_QUEUED) {
        log->refused_lines++;
        log->refused_bytes += len;
        return -1;
    }
    bytebuf_append(&log->queued, line, len);
    log->size += len;
    if (log->queued.len >= LOGFILE_WRITE_THRESHOLD)
        logfile_flush(log); /* a failure stays queued and is retried */
    return 0;
}

int logfile_reopen(struct logfile *log)
{
    logfile_flush(log); /* whatever fails stays queued for the new file */
    if (log->fd >= 0)
        close(log->fd);
    log->fd = -1;
    if (open_file(log) != 0) {
        log->write_errno = errno;
        return -1;
    }
    return 0;
}

int logfile_close(struct logfile *log)
{
    int rc = logfile_flush(log);
    int saved = errno;

    if (log->fd >= 0)
        close(log->fd);
    log->fd = -1;
    bytebuf_free(&log->queued);
    free(log->dir);
    free(log->path);
    log->dir = log->path = NULL;
    errno = saved;
    return rc;
}
