/*
 * neutralise.c - shows the bytes of a log record on a terminal without
 * letting the terminal act on any of them.
 *
 * all.log is valid JSON, but JSON only escapes C0 controls: DEL and the C1
 * controls (U+0080..U+009F, of which U+009B is a one-character CSI) may sit
 * in a string raw, and a decoded string holds ESC, CR, BEL and NUL again.
 * Rather than recognising escape sequences (there are too many, and a
 * terminal honours ones we would not know), every character that can start
 * or be part of one is replaced by visible text, so nothing is ever sent to
 * the terminal except printable characters, newlines and tabs. Bidi
 * overrides are shown too: they make a line read differently from its bytes.
 */
#include "neutralise.h"

static bool is_continuation(unsigned char byte)
{
    return (byte & 0xc0) == 0x80;
}

size_t decode_utf8_char(const unsigned char *s, size_t len, uint32_t *codepoint)
{
    size_t need;
    uint32_t cp, min;

    if (len == 0)
        return 0;
    if (s[0] < 0x80) {
        *codepoint = s[0];
        return 1;
    }
    if ((s[0] & 0xe0) == 0xc0) {
        need = 2, cp = s[0] & 0x1f, min = 0x80;
    } else if ((s[0] & 0xf0) == 0xe0) {
        need = 3, cp = s[0] & 0x0f, min = 0x800;
    } else if ((s[0] & 0xf8) == 0xf0) {
        need = 4, cp = s[0] & 0x07, min = 0x10000;
    } else {
        return 0; /* a continuation byte where a character should start, or 0xf8.. */
    }
    if (len < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if (!is_continuation(s[i]))
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    *codepoint = cp;
    return need;
}

bool codepoint_is_active(uint32_t cp)
{
    return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
           (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* Columns taken by valid UTF-8 text, counting one per code point. */
static size_t display_columns(const unsigned char *s, size_t len)
{
    size_t columns = 0;
    for (size_t i = 0; i < len; i++)
        if (!is_continuation(s[i]))
            columns++;
    return columns;
}

/* fwrite and fprintf that count the columns, and write only when there is somewhere to. */
static void put_bytes(FILE *out, const unsigned char *p, size_t len, size_t *columns)
{
    if (out)
        fwrite(p, 1, len, out);
    *columns += display_columns(p, len);
}

/* \xNN for a byte that is not UTF-8, a C0 control or DEL; \uNNNN for a code point above. */
static void put_escape(FILE *out, bool as_code_point, uint32_t value, size_t *columns)
{
    char text[8];
    int n = as_code_point ? snprintf(text, sizeof text, "\\u%04x", (unsigned)value)
                          : snprintf(text, sizeof text, "\\x%02x", (unsigned)value);
    if (out)
        fputs(text, out);
    *columns += (size_t)n;
}

size_t neutralise_write(FILE *out, const char *s, size_t len, int indent)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, columns = 0;

    while (i < len) {
        /* Copy the longest run that needs no attention in one call. */
        size_t run = i;
        uint32_t cp = 0;
        size_t n = 0;
        while (run < len) {
            n = decode_utf8_char(p + run, len - run, &cp);
            if (n == 0 || codepoint_is_active(cp))
                break;
            run += n;
        }
        if (run > i)
            put_bytes(out, p + i, run - i, &columns);
        i = run;
        if (i == len)
            break;

        if (n == 0) {
            put_escape(out, false, p[i], &columns);
            n = 1;
        } else if (cp == '\n' && indent >= 0) {
            if (out)
                fprintf(out, "\n%*s", indent, "");
            columns = (size_t)indent;
        } else if (cp == '\t' && indent >= 0) {
            put_bytes(out, p + i, 1, &columns);
        } else {
            put_escape(out, cp >= 0x80, cp, &columns);
        }
        i += n;
    }
    return columns;
}
