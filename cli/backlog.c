/*
 * backlog.c - finds the last N matching records of all.log by reading it
 * backwards, block by block, from its end.
 *
 * all.log may be as large as LOG_ROTATION_SIZE allows, and `ulog tail`
 * should answer at once however large that is, so only the end that holds
 * the records wanted is read and parsed. When all.log was just rotated and
 * holds fewer than N, the rotated files are read too, newest first, so that
 * "the last N records" means the same thing before and after a rotation. A
 * file seen twice (all.log rotated while it was read) is read once.
 */
#include "backlog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tail.h"

#define BLOCK_SIZE 65536u

/* Hands out the lines of a file last first. */
struct reverse_reader {
    int fd;
    off_t pos;       /* file offset of buf[head] */
    char *buf;
    size_t cap;
    size_t head;     /* buf[head..end) is read but not yet handed out */
    size_t end;
    bool done;       /* the first line of the file was handed out */
};

static void reverse_reader_init(struct reverse_reader *r, int fd, off_t size)
{
    r->fd = fd;
    r->pos = size;
    r->buf = NULL;
    r->cap = r->head = r->end = 0;
    r->done = false;
}

/* Make room before head, keeping buf[head..end) at the end of the buffer. */
static int reverse_reader_grow(struct reverse_reader *r)
{
    size_t kept = r->end - r->head;
    size_t cap = r->cap ? r->cap * 2 : BLOCK_SIZE;
    char *buf;

    if (cap < r->cap)
        return errno = ENOMEM, -1;
    if (!(buf = malloc(cap)))
        return -1;
    if (kept)
        memcpy(buf + cap - kept, r->buf + r->head, kept);
    free(r->buf);
    r->buf = buf;
    r->cap = cap;
    r->head = cap - kept;
    r->end = cap;
    return 0;
}

static int reverse_reader_fill(struct reverse_reader *r)
{
    size_t want, got = 0;
    char *dst;
    off_t from;

    if (r->head == 0 && reverse_reader_grow(r) < 0)
        return -1;
    want = r->head < BLOCK_SIZE ? r->head : BLOCK_SIZE;
    if ((off_t)want > r->pos)
        want = (size_t)r->pos;
    dst = r->buf + r->head - want;
    from = r->pos - (off_t)want;
    while (got < want) {
        ssize_t n = pread(r->fd, dst + got, want - got, from + (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0) { /* truncated while we read: what is left is gone */
            r->done = true;
            return 0;
        }
        got += (size_t)n;
    }
    r->head -= want;
    r->pos = from;
    return 0;
}

/*
 * The next line from the end, without its newline: 1, or 0 when the file is
 * exhausted, or -1. The first line handed out is whatever follows the last
 * newline (empty when the file ends with one). *line stays valid until the
 * next call.
 */
static int reverse_reader_next(struct reverse_reader *r, const char **line, size_t *len)
{
    while (!r->done) {
        const char *newline = NULL;
        if (r->end > r->head)
            newline = memrchr(r->buf + r->head, '\n', r->end - r->head);
        if (newline) {
            size_t start = (size_t)(newline - r->buf) + 1;
            *line = r->buf + start;
            *len = r->end - start;
            r->end = start - 1;
            return 1;
        }
        if (r->pos == 0) {
            /* The first line of the file (an empty file is one empty line). */
            *line = r->end > r->head ? r->buf + r->head : "";
            *len = r->end - r->head;
            r->done = true;
            return 1;
        }
        if (reverse_reader_fill(r) < 0)
            return -1;
    }
    return 0;
}

static void reverse_reader_free(struct reverse_reader *r)
{
    free(r->buf);
    r->buf = NULL;
}

struct collector {
    struct tail_backlog *backlog;
    size_t want;
    size_t cap;
    const struct tail_filter *filter;
};

/* 1 if the line was kept, 0 if not, -1 on allocation failure. */
static int collect_line(struct collector *c, const char *line, size_t len)
{
    struct tail_backlog *b = c->backlog;
    json_t *record;

    if (len == 0)
        return 0;
    record = tail_record_parse(line, len);
    if (!tail_filter_match(c->filter, record)) {
        json_decref(record);
        return 0;
    }
    if (b->count == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        struct tail_entry *entries = reallocarray(b->entries, cap, sizeof *entries);
        if (!entries)
            goto fail;
        b->entries = entries;
        c->cap = cap;
    }
    struct tail_entry *e = &b->entries[b->count];
    if (!(e->line = malloc(len)))
        goto fail;
    memcpy(e->line, line, len);
    e->len = len;
    e->record = record;
    b->count++;
    return 1;
fail:
    json_decref(record);
    return -1;
}

/* Collect from one open file, newest line first, until enough were found. */
static int collect_file(struct collector *c, int fd, off_t size, bool leave_partial)
{
    struct reverse_reader reader;
    const char *line;
    size_t len;
    int rc = 0;

    reverse_reader_init(&reader, fd, size);
    /* Found even when no record is wanted (-n 0 -f): following starts at a line. */
    if (leave_partial && (rc = reverse_reader_next(&reader, &line, &len)) > 0)
        c->backlog->end = size - (off_t)len;
    while (rc >= 0 && c->backlog->count < c->want &&
           (rc = reverse_reader_next(&reader, &line, &len)) > 0)
        if (collect_line(c, line, len) < 0)
            rc = -1;
    reverse_reader_free(&reader);
    return rc < 0 ? -1 : 0;
}

static void reverse_entries(struct tail_backlog *b)
{
    for (size_t i = 0, j = b->count; i + 1 < j; i++, j--) {
        struct tail_entry tmp = b->entries[i];
        b->entries[i] = b->entries[j - 1];
        b->entries[j - 1] = tmp;
    }
}

#define MAX_FILES_SEEN 64

int tail_backlog_read(struct tail_backlog *backlog, const char *dir, size_t want,
                      const struct tail_filter *filter, bool leave_partial)
{
    struct collector c = {backlog, want, 0, filter};
    struct {
        dev_t dev;
        ino_t ino;
    } seen[MAX_FILES_SEEN];
    unsigned nseen = 0;
    int fd = -1, saved_errno;

    memset(backlog, 0, sizeof *backlog);
    backlog->fd = -1;

    for (unsigned generation = 0; generation == 0 || backlog->count < want; generation++) {
        char *path = backlog->failed_path;
        struct stat st;
        bool seen_before = false;

        if (generation == 0)
            snprintf(path, sizeof backlog->failed_path, "%s/%s", dir, TAIL_LOG_NAME);
        else
            snprintf(path, sizeof backlog->failed_path, "%s/%s.%u", dir, TAIL_LOG_NAME, generation);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT && generation == 0)
            continue; /* between a rotation's rename and the new file; older ones may exist */
        if (fd < 0 && errno == ENOENT)
            break;
        if (fd < 0 || fstat(fd, &st) < 0)
            goto fail;
        for (unsigned i = 0; i < nseen; i++)
            seen_before |= seen[i].dev == st.st_dev && seen[i].ino == st.st_ino;
        if (seen_before) {
            close(fd);
            continue;
        }
        if (nseen < MAX_FILES_SEEN)
            seen[nseen].dev = st.st_dev, seen[nseen].ino = st.st_ino, nseen++;
        backlog->files_read++;

        if (generation == 0) {
            backlog->fd = fd; /* kept open: a follower goes on from backlog->end */
            backlog->end = st.st_size;
            fd = -1;
            if (collect_file(&c, backlog->fd, st.st_size, leave_partial) < 0)
                goto fail;
        } else {
            if (collect_file(&c, fd, st.st_size, false) < 0)
                goto fail;
            close(fd);
            fd = -1;
        }
    }
    reverse_entries(backlog);
    backlog->failed_path[0] = '\0';
    return 0;

fail:
    saved_errno = errno;
    if (fd >= 0)
        close(fd);
    tail_backlog_free(backlog);
    errno = saved_errno;
    return -1;
}

void tail_backlog_free(struct tail_backlog *backlog)
{
    for (size_t i = 0; i < backlog->count; i++) {
        free(backlog->entries[i].line);
        json_decref(backlog->entries[i].record);
    }
    free(backlog->entries);
    backlog->entries = NULL;
    backlog->count = 0;
    if (backlog->fd >= 0)
        close(backlog->fd);
    backlog->fd = -1;
}
