/*
 * console.h - the development profile's readable mirror of all.log on
 * ulogd's stdout.
 *
 * A terminal (or a pipe nobody reads) can be slower than the programs being
 * logged, and ulogd must never stall ingestion for it: the loop only copies
 * each finished record's JSON line into a bounded queue, and a thread of its
 * own formats and writes. When the queue is full the record is skipped and
 * counted, and the mirror says how many it skipped once it has caught up.
 * all.log is never affected: the mirror is a courtesy, not a copy.
 */
#ifndef ULOGD_CONSOLE_H
#define ULOGD_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

enum console_mode { CONSOLE_OFF, CONSOLE_TEXT, CONSOLE_JSON };

/* What console_start uses when asked for a queue of 0 bytes. */
#define CONSOLE_DEFAULT_QUEUE_BYTES ((size_t)4 << 20)

/* How long console_stop lets the writer drain before leaving it behind. */
#define CONSOLE_STOP_GRACE_NS 1000000000ull

/*
 * off/none/false/no, text/human/on/true/yes, json (any case); -1 for
 * anything else, NULL included.
 */
int console_mode_parse(const char *word);

struct console;

/*
 * Start mirroring to `fd` (ulogd passes 1) through a queue of `queue_bytes`
 * (0: CONSOLE_DEFAULT_QUEUE_BYTES). The console writes to its own duplicate
 * of `fd`, so the caller may close `fd` at any time. TEXT mode prints the
 * layout of `ulog tail`, coloured when `fd` is a terminal and NO_COLOR is
 * unset; JSON mode prints the lines themselves. CONSOLE_OFF starts nothing:
 * NULL with an empty `err`. Other failures: NULL with the reason in `err`.
 */
struct console *console_start(enum console_mode mode, int fd, size_t queue_bytes, char *err,
                              size_t err_size);

/*
 * Queue one record's JSON line (a trailing "\n" is optional). Never waits
 * for the terminal: when the line does not fit it is skipped and counted.
 * A NULL console ignores it, so callers need not test for CONSOLE_OFF.
 */
void console_submit(struct console *console, const char *json_line, size_t len);

/* Records skipped since the start because the queue was full. */
uint64_t console_skipped(const struct console *console);

/*
 * Write what is queued and free the console. Waits at most
 * CONSOLE_STOP_GRACE_NS: a writer still stuck in write() then is left to
 * finish (or fail) on its own and frees itself, so ulogd's exit never hangs
 * on a stopped terminal. NULL is ignored.
 */
void console_stop(struct console *console);

#endif
