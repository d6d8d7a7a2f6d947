/*
 * levels_crash.c - the lines a runtime prints when a program crashes
 * (see levels_private.h).
 *
 * A Python traceback, a Go or Rust panic, a sanitizer report, an uncaught
 * exception or a shell's "Segmentation fault" is printed by the runtime, not
 * by the program's logger, so it names no level the way log formats do; but
 * its wording is fixed, so it is recognised by that exact wording and given
 * the level it deserves. A wording that prose could take ("Aborted") counts
 * only alone on its line. Exception class lines ("ValueError: bad") are
 * recognised by the class name's suffix, as the runtimes name them.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "levels_private.h"

const char *levels_skip_sanitizer_pid(const char *p, const char *end)
{
    if (starts_with(p, end, "==")) { /* "==4242==ERROR: AddressSanitizer: ..." */
        const char *q = p + 2;
        while (q < end && is_digit(*q))
            q++;
        if (q > p + 2 && starts_with(q, end, "=="))
            p = q + 2;
    }
    return p;
}

/* "Segmentation fault" alone on its line, as the shell reports a killed child. */
static bool is_signal_report(const char *p, const char *end, const char *what, size_t len)
{
    if (!starts_with_n(p, end, what, len))
        return false;
    p += len;
    if (starts_with(p, end, " (core dumped)"))
        p += sizeof " (core dumped)" - 1;
    while (p < end && is_blank(*p))
        p++;
    return p == end;
}

/* UBSan: "x.c:5:3: runtime error: ..." - a position, then the fixed words. */
static bool is_ubsan_report(const char *p, const char *end)
{
    const char *e = token_end(p, end);
    if (e - p < 3 || e[-1] != ':' || !is_digit(e[-2]))
        return false;
    return starts_with(e, end, " runtime error: ");
}

/* Rust: "thread 'main' panicked at src/main.rs:2:5:" */
static bool is_rust_panic(const char *p, const char *end)
{
    if (!starts_with(p, end, "thread '"))
        return false;
    for (p += 8; p < end && *p != '\''; p++)
        ;
    return starts_with(p, end, "' panicked at ");
}

/* The first line of a crash, printed by a runtime rather than a logger. */
int levels_crash_opener(const char *p, const char *end)
{
#define OPENER(text, lvl) {text, sizeof text - 1, lvl}
    static const struct {
        const char *text;
        unsigned char len;
        signed char level;
    } openers[] = {
        OPENER("Traceback (most recent call last):", ULOG_ERROR),
        OPENER("panic: ", ULOG_CRITICAL),
        OPENER("fatal error: ", ULOG_CRITICAL),
        OPENER("Exception in thread \"", ULOG_ERROR),
        OPENER("Uncaught ", ULOG_ERROR),
        OPENER("WARNING: ThreadSanitizer:", ULOG_ERROR),
        /* signals as the shell reports a killed child, alone on the line */
        OPENER("Segmentation fault", ULOG_CRITICAL),
        OPENER("Aborted", ULOG_CRITICAL),
        OPENER("Bus error", ULOG_CRITICAL),
        OPENER("Illegal instruction", ULOG_CRITICAL),
        OPENER("Floating point exception", ULOG_CRITICAL),
    };
#undef OPENER
    enum { FIRST_SIGNAL = 6 };
    if (p >= end)
        return -1;
    for (size_t i = 0; i < sizeof openers / sizeof openers[0]; i++) {
        if (openers[i].text[0] != *p)
            continue;
        if (i < FIRST_SIGNAL ? starts_with_n(p, end, openers[i].text, openers[i].len)
                             : is_signal_report(p, end, openers[i].text, openers[i].len))
            return openers[i].level;
    }
    if (is_rust_panic(p, end))
        return ULOG_CRITICAL;
    if (is_ubsan_report(p, end))
        return ULOG_ERROR;
    return -1;
}

static bool ends_with_n(const char *s, size_t len, const char *suffix, size_t n)
{
    return len >= n && memcmp(s + len - n, suffix, n) == 0;
}
#define ends_with(s, len, suffix) ends_with_n(s, len, suffix, sizeof suffix - 1)

/*
 * A Java/Python/JS exception class opening the line: "ValueError: bad",
 * "java.lang.IllegalStateException: boom", or a bare dotted class name
 * alone on the line ("java.lang.NullPointerException" has no message).
 */
int levels_exception_class(const char *tok, const char *tok_end, const char *end)
{
    if (!is_alpha(tok[0]) && tok[0] != '_')
        return -1;
    const char *q = tok, *segment = tok;
    bool dotted = false;
    for (; q < tok_end; q++) {
        char c = *q;
        if (c == '.' || c == '$') {
            dotted = true;
            segment = q + 1;
        } else if (!is_alpha(c) && !is_digit(c) && c != '_') {
            break;
        }
    }
    size_t seg_len = (size_t)(q - segment);
    int level = -1;
    if (ends_with(segment, seg_len, "Error") || ends_with(segment, seg_len, "Exception"))
        level = ULOG_ERROR;
    else if (ends_with(segment, seg_len, "Warning"))
        level = ULOG_WARNING;
    if (level < 0)
        return -1;
    if (q + 1 == tok_end && *q == ':')
        return level;
    if (q == tok_end && dotted && skip_separators(q, end) == end)
        return level;
    return -1;
}
