/*
 * levels_private.h - what levels*.c share, and nothing else may use.
 *
 * Level detection (see levels.h) is one module kept in two files:
 * levels.c holds the level names and the scan of the head of a line for
 * level words, prefixes and level=... pairs; levels_crash.c recognises the
 * lines a runtime prints when a program crashes (tracebacks, panics,
 * sanitizer reports, exception class lines, killed-by-signal reports), whose
 * wording is fixed and has nothing to do with the program's logger. Both
 * read the line with the byte-class and token helpers below; they are
 * static inline because detection runs on every captured line.
 */
#ifndef ULOGD_LEVELS_PRIVATE_H
#define ULOGD_LEVELS_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "levels.h"

static inline bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static inline bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static inline bool is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

static inline bool is_alpha(char c)
{
    return is_upper(c) || (c >= 'a' && c <= 'z');
}

static inline bool starts_with_n(const char *p, const char *end, const char *literal, size_t n)
{
    return (size_t)(end - p) >= n && memcmp(p, literal, n) == 0;
}
#define starts_with(p, end, literal) starts_with_n(p, end, literal, sizeof literal - 1)

/* Blanks and terminal colour sequences (ESC [ ... final byte) alike. */
static inline const char *skip_separators(const char *p, const char *end)
{
    while (p < end) {
        if (is_blank(*p)) {
            p++;
        } else if (*p == '\033' && end - p >= 2 && p[1] == '[') {
            p += 2;
            while (p < end && !(*p >= 0x40 && *p <= 0x7e))
                p++;
            if (p < end)
                p++;
        } else {
            break;
        }
    }
    return p;
}

static inline const char *token_end(const char *p, const char *end)
{
    while (p < end && !is_blank(*p) && !(*p == '\033' && end - p >= 2 && p[1] == '['))
        p++;
    return p;
}

/* levels_crash.c */

/* Past the "==4242==" that ASan, LSan and MSan put before each line of their
 * report, so "ERROR: AddressSanitizer: ..." is read as any line; p itself
 * when the line does not start so. */
const char *levels_skip_sanitizer_pid(const char *p, const char *end);

/* The level of the first line of a crash, printed by a runtime rather than
 * a logger, at p; -1 when it is not one. */
int levels_crash_opener(const char *p, const char *end);

/* The level of a Java/Python/JS exception class opening the line as its
 * token [tok, tok_end) ("ValueError:", "java.lang.NullPointerException"
 * alone on the line up to `end`); -1 when it is not one. */
int levels_exception_class(const char *tok, const char *tok_end, const char *end);

#endif
