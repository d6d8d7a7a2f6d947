/*
 * follow.h - `ulog tail -f`: reading all.log as it grows, across rotations.
 */
#ifndef ULOG_CLI_FOLLOW_H
#define ULOG_CLI_FOLLOW_H

#include <limits.h>
#include <stdio.h>
#include <sys/types.h>

#include "tail.h"

/* How long a wait lasts when nothing wakes it earlier. */
#define FOLLOW_SAFETY_NET_MS 1000 /* with inotify: a missed event costs at most this */
#define FOLLOW_POLL_MS 200        /* without inotify */

struct tail_follower {
    char dir[PATH_MAX];
    char path[PATH_MAX]; /* DIR/all.log */
    int fd;              /* the file being read, -1 while there is none */
    dev_t dev;
    ino_t ino;
    off_t offset;        /* how far fd has been read */
    char *pending;       /* bytes after the last newline read so far */
    size_t pending_len, pending_cap;
    int inotify_fd;      /* watching DIR, or -1: then every wait is FOLLOW_POLL_MS */
    FILE *notices;       /* where a truncation is reported; NULL for silence */
};

/*
 * Follow DIR/all.log from `offset` of `fd` (which the follower now owns),
 * or, with fd -1, from the start of the file once it exists. The follower
 * owns fd from this call on, even when the call fails.
 * Returns 0, or -1 with errno set.
 */
int tail_follower_init(struct tail_follower *follower, const char *dir, int fd, off_t offset);

/*
 * Hand every complete line that was added since the last call to `fn`,
 * without blocking. When all.log has been replaced (rotated), the rest of
 * the old file is read first, then the new file from its start; when it
 * shrank (truncated), it is read again from its start. A last line without
 * a newline is kept until its newline arrives or the file is replaced.
 * Returns 0, fn's non-zero value, or -1 with errno set (a read failed).
 */
int tail_follower_poll(struct tail_follower *follower, tail_line_fn fn, void *context);

/* Sleep until all.log or its directory may have changed. */
void tail_follower_wait(struct tail_follower *follower);

void tail_follower_free(struct tail_follower *follower);

#endif /* ULOG_CLI_FOLLOW_H */
