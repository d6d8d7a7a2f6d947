/*
 * template_mask.c - masking the variable parts of a message, the first step
 * of template mining (templates.h).
 *
 * The masking is a hand-written scan, one left-to-right pass over the first
 * line: at the start of each word the matchers are tried from the most
 * specific (URL, UUID, e-mail, IP address) to the least (number); a word no
 * matcher takes is copied whole, so "v2" or "build7" stay as written.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bytebuf.h"
#include "templates.h"


static bool is_word(unsigned char c) { return isalnum(c) || c == '_'; }
static bool is_hex(unsigned char c) { return isxdigit(c); }

/* The end of a match must not run into a word. */
static size_t bounded(const char *s, size_t end, size_t len)
{
    return end < len && is_word((unsigned char)s[end]) ? 0 : end;
}

static size_t match_url(const char *s, size_t len)
{
    size_t i = 0;
    if (!isalpha((unsigned char)s[0]))
        return 0;
    while (i < len && (isalnum((unsigned char)s[i]) || s[i] == '+' || s[i] == '.' || s[i] == '-'))
        i++;
    if (i + 3 > len || memcmp(s + i, "://", 3) != 0)
        return 0;
    i += 3;
    while (i < len && !isspace((unsigned char)s[i]) && !strchr("\"'<>`", s[i]))
        i++;
    while (i > 0 && strchr(".,;:)]", s[i - 1])) /* sentence punctuation */
        i--;
    return i;
}

static size_t hex_run(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len && is_hex((unsigned char)s[i]))
        i++;
    return i;
}

static size_t match_uuid(const char *s, size_t len)
{
    static const size_t groups[] = {8, 4, 4, 4, 12};
    size_t i = 0;
    for (int g = 0; g < 5; g++) {
        if (hex_run(s + i, len - i) != groups[g])
            return 0;
        i += groups[g];
        if (g < 4 && (i >= len || s[i++] != '-'))
            return 0;
    }
    return bounded(s, i, len);
}

static size_t match_email(const char *s, size_t len)
{
    size_t i = 0, at, dot = 0;
    while (i < len && (isalnum((unsigned char)s[i]) || strchr("._%+-", s[i])))
        i++;
    if (i == 0 || i >= len || s[i] != '@')
        return 0;
    at = ++i;
    while (i < len && (isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '.')) {
        if (s[i] == '.' && i > at)
            dot = i;
        i++;
    }
    while (i > at && s[i - 1] == '.')
        i--;
    if (!dot || dot + 2 >= i + 0 || i - dot - 1 < 2)
        return 0;
    return i;
}

static size_t digits(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len && isdigit((unsigned char)s[i]))
        i++;
    return i;
}

static size_t with_port(const char *s, size_t i, size_t len)
{
    if (i + 1 < len && s[i] == ':' && isdigit((unsigned char)s[i + 1]))
        i += 1 + digits(s + i + 1, len - i - 1);
    return i;
}

static size_t match_ipv4(const char *s, size_t len)
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        size_t d = digits(s + i, len - i);
        if (d == 0 || d > 3 || atoi(s + i) > 255)
            return 0;
        i += d;
        if (part < 3 && (i >= len || s[i++] != '.'))
            return 0;
    }
    if (i < len && (s[i] == '.' || isalnum((unsigned char)s[i])))
        return 0;
    return bounded(s, with_port(s, i, len), len);
}

/* Hex groups and colons with "::" or all eight groups; "[v6]:port" too. */
static size_t match_ipv6(const char *s, size_t len)
{
    size_t i = s[0] == '[' ? 1 : 0, colons = 0, start = i;
    bool double_colon = false;
    while (i < len && (is_hex((unsigned char)s[i]) || s[i] == ':' || s[i] == '.')) {
        if (s[i] == ':') {
            colons++;
            double_colon |= i + 1 < len && s[i + 1] == ':';
        }
        i++;
    }
    if (colons < 2 || !(double_colon || colons == 7) || i - start < 2)
        return 0;
    size_t run = 0;
    bool digit = false;
    for (size_t j = start; j < i; j++) { /* a group has at most 4 hex digits */
        run = is_hex((unsigned char)s[j]) ? run + 1 : 0;
        digit |= isdigit((unsigned char)s[j]) != 0;
        if (run > 4)
            return 0;
    }
    if (!digit)
        return 0;
    if (start) {
        if (i >= len || s[i] != ']')
            return 0;
        i = with_port(s, i + 1, len);
    }
    return bounded(s, i, len);
}

static size_t match_path(const char *s, size_t len, bool word_before)
{
    size_t i;
    if (word_before)
        return 0;
    if (len >= 3 && isalpha((unsigned char)s[0]) && s[1] == ':' && s[2] == '\\')
        i = 3;
    else if (s[0] == '/' && len > 1 && !isspace((unsigned char)s[1]) && s[1] != '/')
        i = 1;
    else if (len > 2 && (s[0] == '.' || s[0] == '~') && s[1] == '/')
        i = 2;
    else
        return 0;
    while (i < len && !isspace((unsigned char)s[i]) && !strchr("\"'`,;()[]{}<>", s[i]))
        i++;
    while (i > 1 && strchr(".:", s[i - 1]))
        i--;
    return i;
}

/* A number, maybe signed or decimal or with an exponent; *is_duration when a
 * time unit follows (12ms, 3.5s, 1h30m). */
static size_t match_number(const char *s, size_t len, bool word_before, bool *is_duration)
{
    static const char *const units[] = {"ns", "us", "µs", "ms", "min", "s", "m", "h", "d", NULL};
    size_t i = 0;
    *is_duration = false;
    if (s[0] == '-' && !word_before)
        i = 1;
    size_t d = digits(s + i, len - i);
    if (d == 0)
        return 0;
    i += d;
    if (i + 1 < len && s[i] == '.' && isdigit((unsigned char)s[i + 1]))
        i += 1 + digits(s + i + 1, len - i - 1);
    if (i + 1 < len && (s[i] == 'e' || s[i] == 'E') && isdigit((unsigned char)s[i + 1]))
        i += 1 + digits(s + i + 1, len - i - 1);
    for (;;) {
        size_t unit = 0;
        for (int u = 0; units[u] && !unit; u++) {
            size_t ul = strlen(units[u]);
            if (i + ul <= len && memcmp(s + i, units[u], ul) == 0 && bounded(s, i + ul, len) &&
                (i + ul >= len || !isdigit((unsigned char)s[i + ul])))
                unit = ul;
            else if (i + ul < len && memcmp(s + i, units[u], ul) == 0 &&
                     isdigit((unsigned char)s[i + ul]) && u >= 5) /* 1h30m */
                unit = ul;
        }
        if (!unit)
            break;
        *is_duration = true;
        i += unit;
        size_t more = digits(s + i, len - i);
        if (!more)
            break;
        i += more;
    }
    return bounded(s, i, len);
}

/* 0x..., or 6+ hex digits with at least one digit. */
static size_t match_hex(const char *s, size_t len)
{
    if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && is_hex((unsigned char)s[2]))
        return bounded(s, 2 + hex_run(s + 2, len - 2), len);
    size_t n = hex_run(s, len);
    if (n < 6 || digits(s, n) == n)
        return 0;
    bool has_digit = false;
    for (size_t i = 0; i < n; i++)
        has_digit |= isdigit((unsigned char)s[i]) != 0;
    return has_digit ? bounded(s, n, len) : 0;
}

static size_t match_quoted(const char *s, size_t len, bool word_before)
{
    char q = s[0];
    if ((q != '"' && q != '\'') || (q == '\'' && word_before))
        return 0;
    for (size_t i = 1; i < len; i++) {
        if (s[i] == '\\') {
            i++;
            continue;
        }
        if (s[i] == q)
            return i + 1;
    }
    return 0;
}

char *template_mask(const char *text, size_t len)
{
    struct bytebuf out = {0};
    const char *nl = memchr(text, '\n', len);
    if (nl)
        len = (size_t)(nl - text);
    for (size_t i = 0; i < len;) {
        const char *s = text + i;
        size_t rest = len - i, n;
        bool word_before = i > 0 && is_word((unsigned char)text[i - 1]), dur;
        const char *mask = NULL;

        if (!word_before && (n = match_url(s, rest)))
            mask = "<URL>";
        else if (!word_before && (n = match_uuid(s, rest)))
            mask = "<UUID>";
        else if (!word_before && (n = match_email(s, rest)))
            mask = "<EMAIL>";
        else if (!word_before && (n = match_ipv4(s, rest)))
            mask = "<IP>";
        else if (!word_before && (n = match_ipv6(s, rest)))
            mask = "<IP>";
        else if ((n = match_quoted(s, rest, word_before)))
            mask = "<STR>";
        else if ((n = match_path(s, rest, word_before)))
            mask = "<PATH>";
        else if (!word_before && (n = match_hex(s, rest)))
            mask = "<HEX>";
        else if (!word_before && (n = match_number(s, rest, word_before, &dur)))
            mask = dur ? "<DUR>" : "<NUM>";
        if (mask) {
            bytebuf_append(&out, mask, strlen(mask));
            i += n;
        } else if (is_word((unsigned char)*s)) {
            size_t w = 0;
            while (w < rest && is_word((unsigned char)s[w]))
                w++;
            bytebuf_append(&out, s, w);
            i += w;
        } else {
            bytebuf_append_byte(&out, *s);
            i++;
        }
    }
    bytebuf_append_byte(&out, '\0');
    return out.data;
}
