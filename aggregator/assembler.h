/*
 * assembler.h - turning chunks into lines.
 *
 * The shim sends what one write() or one stdio flush carried: half a line,
 * three lines, a line and a half. Lines are rebuilt per (process, thread,
 * stream) within one connection, so threads that interleave their writes do
 * not mix. A line without its newline yet waits at most `flush_after_ns`
 * (measured from its first byte, so the delay is bounded even for a program
 * that trickles a progress bar) and is flushed when its connection goes.
 * A line longer than `max_line` bytes leaves in pieces numbered from 1; all
 * but the last are marked partial.
 *
 * Complete lines that arrive in one chunk are handed on straight from the
 * received message, without a copy; only the tail of a chunk is kept. Each
 * says whether the same chunk goes on with another whole line (more_in_write).
 */
#ifndef ULOGD_ASSEMBLER_H
#define ULOGD_ASSEMBLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytebuf.h"
#include "list.h"

/* The bytes of one DATA message and who wrote them. */
struct chunk {
    uint64_t time_ns;    /* the sender's CLOCK_REALTIME */
    uint32_t pid;        /* as the process sees itself */
    uint32_t kernel_pid; /* as ulogd sees it: together with tid and stream, the key */
    uint32_t tid;
    uint8_t stream;
    const unsigned char *bytes;
    size_t len;
};

/* One record's worth of text: a line, or a piece of an over-long one. */
struct line {
    uint64_t time_ns; /* when the line's first byte was written */
    uint32_t pid, kernel_pid, tid;
    uint8_t stream;
    const unsigned char *bytes; /* without "\n" or "\r\n" */
    size_t len;
    unsigned part; /* 0: a whole line; n >= 1: its n-th piece */
    bool partial;  /* more pieces of the same line follow */
    /* The same write carried another whole line of this key right after this
     * one: what a program printed in one call is one event, so the multiline
     * stage may join "ERROR: failed" to the traceback that follows it. */
    bool more_in_write;
};

typedef void line_emit_fn(void *ctx, void *owner, const struct line *line);
typedef uint64_t monotonic_clock_fn(void);

/* The pending lines of one connection; `owner` is handed back with each line. */
struct line_set {
    void *owner;
    struct list_node pending;
    size_t count;
};

struct assembler {
    size_t max_line;
    uint64_t flush_after_ns;
    monotonic_clock_fn *now;
    line_emit_fn *emit;
    void *ctx;
    struct list_node by_age; /* every pending line, oldest first */
    struct list_node spare;  /* released entries kept for reuse */
    size_t spare_count;
};

/* How long a line may wait for its newline (DESIGN.md: "a short timeout"). */
#define ASSEMBLER_PARTIAL_LINE_TIMEOUT_NS 250000000u

/* The monotonic clock ulogd runs on (CLOCK_MONOTONIC in nanoseconds). */
uint64_t assembler_monotonic_now(void);

void assembler_init(struct assembler *a, size_t max_line, uint64_t flush_after_ns,
                    monotonic_clock_fn *now, line_emit_fn *emit, void *ctx);
void assembler_free(struct assembler *a);

void line_set_init(struct line_set *set, void *owner);

void assembler_feed(struct assembler *a, struct line_set *set, const struct chunk *chunk);
/* Emit what `set` still holds (the connection is going away). */
void assembler_flush_set(struct assembler *a, struct line_set *set);
/* Emit every line that has waited flush_after_ns or longer. */
void assembler_expire(struct assembler *a);
/* When assembler_expire() next has work, on the assembler's clock; UINT64_MAX: never. */
uint64_t assembler_next_deadline(const struct assembler *a);

#endif
