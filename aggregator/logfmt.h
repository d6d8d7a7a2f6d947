/*
 * logfmt.h - reading the key=value pairs of a logfmt line.
 *
 * logfmt (logrus, go-kit, Heroku) is a line of pairs separated by blanks:
 * key=value, key="quoted value" with \" escapes, or a key alone. This is
 * the tokenizer lift.c runs over a line twice - once, without allocating,
 * to tell logfmt from prose, once to take the pairs out - kept apart so the
 * field mapping there reads without the quoting rules in the way.
 */
#ifndef ULOGD_LOGFMT_H
#define ULOGD_LOGFMT_H

#include <stdbool.h>
#include <stddef.h>

/* Blanks between pairs. */
static inline bool logfmt_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/*
 * The pair starting at *pp (blanks before it already skipped): its key
 * [k, k_end), its value [v, v_end) raw (quotes included), v == NULL for a
 * lone key; then *pp is past the blanks that follow. false when the text is
 * not logfmt (an empty key, a quote in a key or bare value, an unterminated
 * quote, a quoted value not followed by a blank).
 */
bool logfmt_next(const char **pp, const char *end, const char **k, const char **k_end,
                 const char **v, const char **v_end);

/* Copies [v, v_end) into out, unquoted and unescaped (\n, \t, \r, and \x
 * as x), NUL-terminated; returns its length. out needs v_end - v + 1 bytes. */
size_t logfmt_unquote(const char *v, const char *v_end, char *out);

#endif
