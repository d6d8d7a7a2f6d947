/*
 * logfile.h - all.log on disk: buffered appends, size rotation, re-opening.
 *
 * Lines are gathered in memory and written in large blocks: on demand (the
 * caller flushes at least every LOGFILE_FLUSH_INTERVAL_NS), when
 * LOGFILE_WRITE_THRESHOLD bytes are waiting, before a rotation and on close.
 * A failed write (disk full, I/O error) loses nothing: the bytes stay queued
 * and the next flush retries them. Only when LOGFILE_MAX_QUEUED bytes are
 * waiting are new lines refused, and counted, so a dead disk cannot eat all
 * memory.
 *
 * Rotation follows Python's RotatingFileHandler, whose LOG_MAX_BYTES and
 * LOG_BACKUP_COUNT the stack already uses: before a line would take all.log
 * past rotation_size, all.log becomes all.log.1, all.log.1 becomes
 * all.log.2 ... keeping backup_count old files. Either value 0 never rotates.
 */
#ifndef ULOGD_LOGFILE_H
#define ULOGD_LOGFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytebuf.h"

#define LOGFILE_NAME "all.log"
#define LOGFILE_MODE 0640
#define LOGFILE_FLUSH_INTERVAL_NS 100000000u /* 100 ms */
#define LOGFILE_WRITE_THRESHOLD (64u * 1024)
#define LOGFILE_MAX_QUEUED (64u * 1024 * 1024)

struct logfile {
    char *dir;
    char *path;
    int fd;
    uint64_t size; /* bytes in the file plus bytes queued for it */
    uint64_t rotation_size;
    unsigned backup_count;
    struct bytebuf queued;
    int write_errno;           /* the last write failure; 0 once a write succeeds */
    uint64_t refused_lines;    /* lines refused because too much was queued */
    uint64_t refused_bytes;
    uint64_t rotations;
};

/* Create `dir` if needed and open dir/all.log for appending. -1: errno set. */
int logfile_open(struct logfile *log, const char *dir, uint64_t rotation_size,
                 unsigned backup_count);

/* The same for another file of the directory (errors.log, a route's file). */
int logfile_open_named(struct logfile *log, const char *dir, const char *name,
                       uint64_t rotation_size, unsigned backup_count);

/* Queue one whole line (with its "\n"). 0, or -1 if refused and counted. */
int logfile_append(struct logfile *log, const char *line, size_t len);

/* Write what is queued. 0, or -1 with errno set (the bytes stay queued). */
int logfile_flush(struct logfile *log);

static inline bool logfile_has_queued(const struct logfile *log)
{
    return log->queued.len > 0;
}

/* Flush, close and open dir/all.log again (after SIGHUP or an outside rotation). */
int logfile_reopen(struct logfile *log);

/* Flush and close; returns logfile_flush()'s result. */
int logfile_close(struct logfile *log);

#endif
