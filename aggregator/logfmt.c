/*
 * logfmt.c - the syntax of logfmt (see logfmt.h).
 *
 * Only the syntax: which keys mean what, and whether a line that parses is
 * really logfmt rather than prose with '=' in it, is lift.c's to decide.
 */
#include "logfmt.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/*
 * One pair at *pp: key [k, k_end), value [v, v_end) raw (quotes included),
 * v == NULL for a lone key. false when the text is not logfmt.
 */
bool logfmt_next(const char **pp, const char *end, const char **k, const char **k_end,
                 const char **v, const char **v_end)
{
    const char *p = *pp;
    *k = p;
    while (p < end && !logfmt_blank(*p) && *p != '=' && *p != '"')
        p++;
    *k_end = p;
    *v = *v_end = NULL;
    if (p == *k || (p < end && *p == '"'))
        return false;
    if (p < end && *p == '=') {
        *v = ++p;
        if (p < end && *p == '"') {
            for (p++; p < end && *p != '"'; p++)
                if (*p == '\\' && ++p == end)
                    return false;
            if (p == end)
                return false;
            p++;
            if (p < end && !logfmt_blank(*p))
                return false;
        } else {
            while (p < end && !logfmt_blank(*p))
                if (*p++ == '"')
                    return false;
        }
        *v_end = p;
    }
    while (p < end && logfmt_blank(*p))
        p++;
    *pp = p;
    return true;
}

/* Copies [v, v_end) into out, unquoted and unescaped, NUL-terminated. */
size_t logfmt_unquote(const char *v, const char *v_end, char *out)
{
    size_t n = 0;
    if (v < v_end && *v == '"') {
        v++, v_end--;
        for (; v < v_end; v++) {
            char c = *v;
            if (c == '\\' && v + 1 < v_end) {
                c = *++v;
                c = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c;
            }
            out[n++] = c;
        }
    } else {
        memcpy(out, v, (size_t)(v_end - v));
        n = (size_t)(v_end - v);
    }
    out[n] = '\0';
    return n;
}
