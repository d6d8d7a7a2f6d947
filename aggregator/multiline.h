/*
 * multiline.h - joining the lines of one stack trace into one record.
 *
 * A Python traceback, a Java exception or a Go panic is one event printed as
 * dozens of lines; as separate records its frames lose their message and its
 * message loses its frames. Like Fluent Bit's multiline parsers, a format is
 * a small state machine of regex rules: a block begins when a line matches a
 * rule of the format's "start_state", and goes on while each next line of the
 * same (connection, process, thread, stream) matches a rule of the state the
 * previous rule named. A line that matches nothing ends the block and is
 * treated afresh. The line just before a block joins it when both came in one
 * write ("ERROR:root:failed" + its traceback, as Python logging prints them).
 *
 * Most lines start nothing: they cost one JIT regex match and leave without a
 * copy. Blocks are bounded by lines, bytes and by a timeout after their last
 * line, since a trace's end is only known when something else follows it.
 */
#ifndef ULOGD_MULTILINE_H
#define ULOGD_MULTILINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "assembler.h"
#include "list.h"

#define MULTILINE_DEFAULT_TIMEOUT_NS 1000000000ull
#define MULTILINE_DEFAULT_MAX_LINES 1000
#define MULTILINE_DEFAULT_MAX_BYTES (64 * 1024)

/* One rule of a format: in `state`, a line matching `regex` (PCRE2, bytes,
 * unanchored unless it says ^) goes on to state `next`; "end" appends the line
 * and closes the block. Every format has rules from "start_state". */
struct multiline_rule_spec {
    const char *state, *regex, *next;
};

struct multiline_formats; /* compiled, immutable once built */

struct multiline_formats *multiline_formats_new(void);
void multiline_formats_free(struct multiline_formats *formats);

/* "python", "java", "go", "node", "sanitizer" (what each covers: multiline_builtin.c). */
extern const char *const multiline_builtin_names[]; /* NULL-terminated */

/* -1 with a reason for an unknown name or one already added. */
int multiline_formats_add_builtin(struct multiline_formats *formats, const char *name,
                                  char *err, size_t err_size);

/*
 * A user format; `level` is the level of its blocks when their text names
 * none (-1: leave it to detection). Returns -1 with a reason in `err` and
 * *bad_rule = the index of the faulty rule (bad regex, empty field, a state
 * named "end", a `next` naming a state no rule starts from, a start rule that
 * matches an empty line), or SIZE_MAX when the fault is the format's as a
 * whole (no name, duplicate name, no rules, no start_state rule, bad level).
 */
int multiline_formats_add(struct multiline_formats *formats, const char *name, int level,
                          const struct multiline_rule_spec *rules, size_t count,
                          size_t *bad_rule, char *err, size_t err_size);
size_t multiline_formats_count(const struct multiline_formats *formats);

/* What leaves the stage with each line. */
struct multiline_out {
    const char *format; /* the format of the block; NULL for a line that started none */
    int level;          /* the format's level; -1 for none */
    unsigned lines;     /* lines joined (1 for a single line) */
};

typedef void multiline_emit_fn(void *ctx, void *owner, const struct line *line,
                               const struct multiline_out *out);

/* The blocks one connection has under way; `owner` goes back with each line. */
struct multiline_set {
    void *owner;
    struct list_node pending;
};

struct multiline {
    const struct multiline_formats *formats; /* NULL or empty: lines pass through */
    uint64_t timeout_ns; /* a block ends this long after its last line */
    size_t max_lines, max_bytes; /* a block that reaches either leaves */
    monotonic_clock_fn *now;
    multiline_emit_fn *emit;
    void *ctx;
    /* private */
    struct list_node by_age; /* blocks, by last line: the next timeout at the head */
    struct list_node leads;  /* lines waiting for the rest of their write */
    struct list_node spare;
    size_t spare_count;
    void *match_data; /* pcre2_match_data, shared by every match */
};

/* Zero limits take the defaults above; `now` NULL is assembler_monotonic_now. */
void multiline_init(struct multiline *m, const struct multiline_formats *formats,
                    uint64_t timeout_ns, size_t max_lines, size_t max_bytes,
                    monotonic_clock_fn *now, multiline_emit_fn *emit, void *ctx);
/* Drops what is pending without emitting it (flush first to keep it). */
void multiline_free(struct multiline *m);
void multiline_set_init(struct multiline_set *set, void *owner);

/* A line from the assembler, for the connection whose blocks `set` holds.
 * The line's bytes need only live during the call. */
void multiline_feed(struct multiline *m, struct multiline_set *set, const struct line *line);
/* Emit what `set` holds (its connection is going away). */
void multiline_flush_set(struct multiline *m, struct multiline_set *set);
/* Emit every block (before the formats change). */
void multiline_flush_all(struct multiline *m);
/* Emit the blocks whose timeout has passed. */
void multiline_expire(struct multiline *m);
/* When multiline_expire() next has work, on m->now's clock; UINT64_MAX: never. */
uint64_t multiline_next_deadline(const struct multiline *m);
/* New formats and limits on reload; pending blocks are flushed first. */
void multiline_reconfigure(struct multiline *m, const struct multiline_formats *formats,
                           uint64_t timeout_ns, size_t max_lines, size_t max_bytes);

#endif
