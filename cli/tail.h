/*
 * tail.h - what the parts of `ulog tail` share: the file they read and the
 * shape of the callback that receives each complete line.
 */
#ifndef ULOG_CLI_TAIL_H
#define ULOG_CLI_TAIL_H

#include <stddef.h>

#define TAIL_LOG_NAME "all.log"

/* One line of all.log, without its newline. A non-zero return stops the reader. */
typedef int (*tail_line_fn)(void *context, const char *line, size_t len);

#endif /* ULOG_CLI_TAIL_H */
