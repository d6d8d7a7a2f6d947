/*
 * levels.c - level names and level detection in plain text (see levels.h).
 *
 * Detection must say "no level" far more often than it says one, and must
 * not be fooled by prose ("no errors found"): a level word counts only where
 * log formats put it (near the head of the line, after timestamps, bracketed
 * prefixes and "name:" prefixes) and only in the shapes formats give it
 * (UPPERCASE, [bracketed], or followed by ':'). Lowercase prose words never
 * count on their own. Crash openers, which runtimes print in fixed words,
 * are recognised in levels_crash.c (see levels_private.h).
 */
#include "levels.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "levels_private.h"

/* Detection looks no further: a level announced later is prose. */
#define SCAN_LIMIT 256
/* Ordinary words the scan reads before giving up; prefixes do not count. */
#define MAX_COUNTED_WORDS 4
/* Tokens of any kind the scan reads, so "a: b: c: ..." cannot run on. */
#define MAX_TOKENS 12

struct level_name {
    const char *name;
    unsigned char len;
    signed char level;
};

#define NAME(text, lvl) {text, sizeof text - 1, lvl}
/* Sorted: looked up by binary search. */
static const struct level_name level_names[] = {
    NAME("alert", ULOG_CRITICAL), NAME("crit", ULOG_CRITICAL),
    NAME("critical", ULOG_CRITICAL), NAME("dbg", ULOG_DEBUG),
    NAME("dbug", ULOG_DEBUG), NAME("debug", ULOG_DEBUG),
    NAME("dpanic", ULOG_CRITICAL), NAME("emerg", ULOG_CRITICAL),
    NAME("emergency", ULOG_CRITICAL), NAME("eror", ULOG_ERROR),
    NAME("err", ULOG_ERROR), NAME("error", ULOG_ERROR),
    NAME("fail", ULOG_ERROR), NAME("fatal", ULOG_CRITICAL),
    NAME("fine", ULOG_DEBUG), NAME("finer", ULOG_DEBUG),
    NAME("finest", ULOG_DEBUG), NAME("ftl", ULOG_CRITICAL),
    NAME("inf", ULOG_INFO), NAME("info", ULOG_INFO),
    NAME("information", ULOG_INFO), NAME("informational", ULOG_INFO),
    NAME("note", ULOG_INFO), NAME("notice", ULOG_INFO),
    NAME("panic", ULOG_CRITICAL), NAME("pnc", ULOG_CRITICAL),
    NAME("severe", ULOG_ERROR), NAME("trace", ULOG_DEBUG),
    NAME("verbose", ULOG_DEBUG), NAME("vrb", ULOG_DEBUG),
    NAME("warn", ULOG_WARNING), NAME("warning", ULOG_WARNING),
    NAME("wrn", ULOG_WARNING),
};
#undef NAME

/* A name of the table, exactly `len` bytes, any case; -1 otherwise. */
static int level_from_word(const char *s, size_t len)
{
    char lower[16];
    if (len < 3 || len > 13)
        return -1;
    for (size_t i = 0; i < len; i++)
        lower[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + ('a' - 'A') : s[i]);
    size_t lo = 0, hi = sizeof level_names / sizeof level_names[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2, n = level_names[mid].len;
        int cmp = memcmp(lower, level_names[mid].name, len < n ? len : n);
        if (cmp == 0)
            cmp = (int)len - (int)n;
        if (cmp == 0)
            return level_names[mid].level;
        if (cmp < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

static int level_from_syslog(unsigned severity)
{
    static const signed char map[8] = {ULOG_CRITICAL, ULOG_CRITICAL, ULOG_CRITICAL, ULOG_ERROR,
                                       ULOG_WARNING,  ULOG_INFO,     ULOG_INFO,     ULOG_DEBUG};
    return severity < 8 ? map[severity] : -1;
}

static int level_from_number(const char *s, size_t len)
{
    if (len == 0 || len > 3)
        return -1;
    unsigned n = 0;
    for (size_t i = 0; i < len; i++) {
        if (!is_digit(s[i]))
            return -1;
        n = n * 10 + (unsigned)(s[i] - '0');
    }
    if (n < 8)
        return level_from_syslog(n);
    if (n < 10 || n > 99)
        return -1;
    static const signed char steps[] = {ULOG_DEBUG, ULOG_DEBUG,   ULOG_INFO,
                                        ULOG_WARNING, ULOG_ERROR, ULOG_CRITICAL};
    unsigned step = n / 10 - 1;
    return steps[step < 5 ? step : 5];
}

int level_from_name(const char *text, size_t len)
{
    if (!text)
        return -1;
    while (len > 0 && is_blank(text[0]))
        text++, len--;
    while (len > 0 && is_blank(text[len - 1]))
        len--;
    if (len > 0 && is_digit(text[0]))
        return level_from_number(text, len);
    return level_from_word(text, len);
}

/* ---- plain-text detection -------------------------------------------- */

/* sd-daemon(3) style "<3>": a syslog priority, of which the low 3 bits count. */
static int syslog_prefix(const char *p, const char *end)
{
    if (p >= end || *p != '<')
        return -1;
    unsigned n = 0, digits = 0;
    for (p++; p < end && is_digit(*p) && digits < 3; p++, digits++)
        n = n * 10 + (unsigned)(*p - '0');
    if (digits == 0 || p >= end || *p != '>' || n > 191)
        return -1;
    return level_from_syslog(n & 7);
}

/* glog/klog: "E1121 14:22:18.214521  4242 file.cc:12] msg" (also with a year). */
static int glog_prefix(const char *p, const char *end)
{
    static const char letters[] = "IWEF";
    static const signed char levels[] = {ULOG_INFO, ULOG_WARNING, ULOG_ERROR, ULOG_CRITICAL};
    if (p >= end)
        return -1;
    const char *which = memchr(letters, *p, 4);
    if (!which)
        return -1;
    size_t digits = 0;
    const char *q = p + 1;
    while (q < end && is_digit(*q))
        q++, digits++;
    if (digits != 4 && digits != 8)
        return -1;
    if (end - q < 9 || q[0] != ' ' || !is_digit(q[1]) || !is_digit(q[2]) || q[3] != ':' ||
        !is_digit(q[4]) || !is_digit(q[5]) || q[6] != ':' || !is_digit(q[7]) || !is_digit(q[8]))
        return -1;
    return levels[which - letters];
}

static bool all_upper(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!is_upper(s[i]))
            return false;
    return true;
}

/* Apache's "trace1".."trace8" are debug levels of its own. */
static int bracket_word_level(const char *s, size_t len)
{
    int level = level_from_word(s, len);
    if (level >= 0)
        return level;
    if (len == 6 && strncasecmp(s, "trace", 5) == 0 && is_digit(s[5]))
        return ULOG_DEBUG;
    return -1;
}

/*
 * Inside [..], (..) or <..>: the whole content any case ("[warn]",
 * "<Error>"), Apache's "[core:error]", or an UPPERCASE level word among
 * several ("[2026-11-21T14:22:18Z ERROR app]", "[14:22:18 ERR]").
 */
static int bracket_level(const char *s, const char *e)
{
    while (s < e && is_blank(*s))
        s++;
    while (e > s && is_blank(e[-1]))
        e--;
    int level = bracket_word_level(s, (size_t)(e - s));
    if (level >= 0)
        return level;
    const char *colon = memrchr(s, ':', (size_t)(e - s));
    if (colon && (level = bracket_word_level(colon + 1, (size_t)(e - colon - 1))) >= 0)
        return level;
    for (const char *p = s; p < e;) {
        p = skip_separators(p, e);
        const char *w = p;
        while (p < e && is_alpha(*p))
            p++;
        size_t wlen = (size_t)(p - w);
        if (wlen > 0 && all_upper(w, wlen) && (level = level_from_word(w, wlen)) >= 0)
            return level;
        p = token_end(p, e);
    }
    return -1;
}

static bool has_alnum(const char *s, const char *e)
{
    for (; s < e; s++)
        if (is_alpha(*s) || is_digit(*s))
            return true;
    return false;
}

/* The level words near the head of the line. */
static int scan_words(const char *p, const char *end)
{
    unsigned counted = 0;
    for (unsigned tokens = 0; tokens < MAX_TOKENS && counted < MAX_COUNTED_WORDS; tokens++) {
        p = skip_separators(p, end);
        if (p >= end)
            return -1;
        char open = *p;
        char close = open == '[' ? ']' : open == '(' ? ')' : open == '<' ? '>' : 0;
        if (close) {
            const char *shut = memchr(p + 1, close, (size_t)(end - p - 1));
            if (shut) {
                int level = bracket_level(p + 1, shut);
                if (level >= 0)
                    return level;
                p = token_end(shut + 1, end); /* "[main]:" is one prefix */
                continue;
            }
        }
        const char *tok = p, *tok_end = token_end(p, end);
        if (tok_end == tok) /* a lone ESC */
            tok_end++;
        p = tok_end;
        size_t wlen = 0;
        while (tok + wlen < tok_end && is_alpha(tok[wlen]))
            wlen++;
        const char *after = tok + wlen;
        bool name_prefix = tok_end[-1] == ':';
        /* "ERROR", "WARNING:root:msg"; any case only as "error: x" (gcc, git) */
        bool shaped = (all_upper(tok, wlen) && (after == tok_end || *after == ':')) ||
                      (after + 1 == tok_end && name_prefix);
        int level;
        if (wlen > 0 && shaped && (level = level_from_word(tok, wlen)) >= 0)
            return level;
        const char *dot = name_prefix ? memrchr(tok, '.', (size_t)(tok_end - tok)) : NULL;
        if (dot) { /* monolog's "channel.LEVEL:" */
            size_t n = (size_t)(tok_end - 1 - (dot + 1));
            if (all_upper(dot + 1, n) && (level = level_from_word(dot + 1, n)) >= 0)
                return level;
        }
        if (counted == 0 && (name_prefix || skip_separators(tok_end, end) == end) &&
            (level = levels_exception_class(tok, tok_end, end)) >= 0)
            return level;
        bool timestamp = is_digit(tok[0]) ||
                         ((tok[0] == '+' || tok[0] == '-') && tok + 1 < tok_end && is_digit(tok[1]));
        if (!timestamp && !name_prefix && has_alnum(tok, tok_end))
            counted++;
    }
    return -1;
}

static bool is_level_key(const char *k, size_t len)
{
    switch (len) {
    case 2: return strncasecmp(k, "at", 2) == 0;
    case 3: return strncasecmp(k, "lvl", 3) == 0;
    case 5: return strncasecmp(k, "level", 5) == 0;
    case 8: return strncasecmp(k, "severity", 8) == 0 || strncasecmp(k, "loglevel", 8) == 0;
    case 9: return strncasecmp(k, "log.level", 9) == 0 || strncasecmp(k, "levelname", 9) == 0;
    default: return false;
    }
}

/* level=error, lvl="warn", severity=ERROR anywhere in the head of the line. */
static int scan_key_values(const char *line, const char *end)
{
    for (const char *eq = memchr(line, '=', (size_t)(end - line)); eq;
         eq = memchr(eq + 1, '=', (size_t)(end - eq - 1))) {
        const char *k = eq;
        while (k > line && (is_alpha(k[-1]) || k[-1] == '_' || k[-1] == '.' || k[-1] == '@'))
            k--;
        if (k == eq || (k > line && !is_blank(k[-1]) && k[-1] != ',' && k[-1] != '{'))
            continue;
        if (!is_level_key(k, (size_t)(eq - k)))
            continue;
        const char *v = eq + 1, *v_end;
        if (v < end && *v == '"') {
            v++;
            v_end = memchr(v, '"', (size_t)(end - v));
            if (!v_end)
                continue;
        } else {
            for (v_end = v; v_end < end && !is_blank(*v_end) && *v_end != ',' && *v_end != '"';)
                v_end++;
        }
        int level = level_from_name(v, (size_t)(v_end - v));
        if (level >= 0)
            return level;
    }
    return -1;
}

int level_detect_text(const char *line, size_t len)
{
    if (!line || len == 0)
        return -1;
    const char *end = line + (len < SCAN_LIMIT ? len : SCAN_LIMIT);
    int level = syslog_prefix(line, end);
    if (level >= 0)
        return level;
    const char *p = skip_separators(line, end);
    if ((level = glog_prefix(p, end)) >= 0)
        return level;
    p = levels_skip_sanitizer_pid(p, end);
    if ((level = levels_crash_opener(p, end)) >= 0)
        return level;
    if ((level = scan_words(p, end)) >= 0)
        return level;
    return scan_key_values(line, end);
}
