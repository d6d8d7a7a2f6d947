/*
 * levels.c - level names and level detection in plain text (see levels.h).
 *
 * Detection must say "no level" far more often than it says one, and must
 * not be fooled by prose ("no errors found"): a level word counts only where
 * log formats put it (near the head of the line, after timestamps, bracketed
 * prefixes and "name:" prefixes) and only in the shapes formats give it
 * (UPPERCASE, [bracketed], or followed by ':'). Lowercase prose words never
 * count on their own. Crash openers are recognised by their exact wording
 * because they are printed by runtimes, not by the program's logger.
 */
#include "levels.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

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
static const struct level_name level_names[] = {
    NAME("trace", ULOG_DEBUG),       NAME("verbose", ULOG_DEBUG),
    NAME("debug", ULOG_DEBUG),       NAME("dbug", ULOG_DEBUG),
    NAME("fine", ULOG_DEBUG),        NAME("finer", ULOG_DEBUG),
    NAME("finest", ULOG_DEBUG),      NAME("vrb", ULOG_DEBUG),
    NAME("dbg", ULOG_DEBUG),         NAME("info", ULOG_INFO),
    NAME("information", ULOG_INFO),  NAME("informational", ULOG_INFO),
    NAME("notice", ULOG_INFO),       NAME("note", ULOG_INFO),
    NAME("inf", ULOG_INFO),          NAME("warn", ULOG_WARNING),
    NAME("warning", ULOG_WARNING),   NAME("wrn", ULOG_WARNING),
    NAME("error", ULOG_ERROR),       NAME("err", ULOG_ERROR),
    NAME("eror", ULOG_ERROR),        NAME("fail", ULOG_ERROR),
    NAME("severe", ULOG_ERROR),      NAME("critical", ULOG_CRITICAL),
    NAME("crit", ULOG_CRITICAL),     NAME("fatal", ULOG_CRITICAL),
    NAME("ftl", ULOG_CRITICAL),      NAME("panic", ULOG_CRITICAL),
    NAME("pnc", ULOG_CRITICAL),      NAME("dpanic", ULOG_CRITICAL),
    NAME("emerg", ULOG_CRITICAL),    NAME("emergency", ULOG_CRITICAL),
    NAME("alert", ULOG_CRITICAL),
};
#undef NAME

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

static bool is_alpha(char c)
{
    return is_upper(c) || (c >= 'a' && c <= 'z');
}

static bool starts_with_n(const char *p, const char *end, const char *literal, size_t n)
{
    return (size_t)(end - p) >= n && memcmp(p, literal, n) == 0;
}
#define starts_with(p, end, literal) starts_with_n(p, end, literal, sizeof literal - 1)

/* A name of the table, exactly `len` bytes, any case; -1 otherwise. */
static int level_from_word(const char *s, size_t len)
{
    if (len < 3 || len > 13)
        return -1;
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++)
        if (level_names[i].len == len && strncasecmp(s, level_names[i].name, len) == 0)
            return level_names[i].level;
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

/* Blanks and terminal colour sequences (ESC [ ... final byte) alike. */
static const char *skip_separators(const char *p, const char *end)
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

static const char *token_end(const char *p, const char *end)
{
    while (p < end && !is_blank(*p) && !(*p == '\033' && end - p >= 2 && p[1] == '['))
        p++;
    return p;
}

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
static int crash_opener(const char *p, const char *end)
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
    for (size_t i = 0; i < sizeof openers / sizeof openers[0]; i++) {
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
static int exception_class(const char *tok, const char *tok_end, const char *end)
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
        if (wlen > 0) {
            int level = level_from_word(tok, wlen);
            bool upper = all_upper(tok, wlen);
            if (level >= 0 && upper && (after == tok_end || *after == ':'))
                return level; /* "ERROR", "WARNING:root:msg" */
            if (level >= 0 && after + 1 == tok_end && *after == ':')
                return level; /* "error: x" as gcc and git print it */
        }
        const char *dot = memrchr(tok, '.', (size_t)(tok_end - tok));
        if (dot && tok_end[-1] == ':') { /* monolog's "channel.LEVEL:" */
            size_t n = (size_t)(tok_end - 1 - (dot + 1));
            int level = level_from_word(dot + 1, n);
            if (level >= 0 && all_upper(dot + 1, n))
                return level;
        }
        if (counted == 0) {
            int level = exception_class(tok, tok_end, end);
            if (level >= 0)
                return level;
        }
        bool timestamp = is_digit(tok[0]) ||
                         ((tok[0] == '+' || tok[0] == '-') && tok + 1 < tok_end && is_digit(tok[1]));
        bool name_prefix = tok_end[-1] == ':';
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
    if (starts_with(p, end, "==")) { /* "==4242==ERROR: AddressSanitizer: ..." */
        const char *q = p + 2;
        while (q < end && is_digit(*q))
            q++;
        if (q > p + 2 && starts_with(q, end, "=="))
            p = q + 2;
    }
    if ((level = crash_opener(p, end)) >= 0)
        return level;
    if ((level = scan_words(p, end)) >= 0)
        return level;
    return scan_key_values(line, end);
}
