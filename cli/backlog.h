/*
 * backlog.h - the last N matching records, the ones `ulog tail` prints first.
 */
#ifndef ULOG_CLI_BACKLOG_H
#define ULOG_CLI_BACKLOG_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "filter.h"

struct tail_entry {
    char *line; /* a copy, without the newline */
    size_t len;
    json_t *record; /* NULL when the line is not a JSON object */
};

struct tail_backlog {
    struct tail_entry *entries; /* oldest first */
    size_t count;
    int fd;       /* all.log, open, for following from `end`; -1 if it did not exist */
    off_t end;    /* where the backlog stopped reading all.log */
    unsigned files_read;
    char failed_path[PATH_MAX]; /* the file an error was about */
};

/*
 * Collect up to `want` records that pass `filter`, newest last, reading
 * DIR/all.log from its end and then, if it holds fewer, all.log.1,
 * all.log.2 ... until one is missing. With `leave_partial`, an unterminated
 * last line of all.log (ulogd is writing it) is not read and `end` points
 * at its start, so a follower will read it whole.
 * Returns 0, or -1 with errno set and failed_path naming the file; a
 * missing all.log is not an error (fd is then -1).
 */
int tail_backlog_read(struct tail_backlog *backlog, const char *dir, size_t want,
                      const struct tail_filter *filter, bool leave_partial);

/* Frees the entries and closes fd unless the caller took it (set it to -1). */
void tail_backlog_free(struct tail_backlog *backlog);

#endif /* ULOG_CLI_BACKLOG_H */
