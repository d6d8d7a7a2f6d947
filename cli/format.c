/*
 * format.c - turns one record of all.log into what `ulog tail` prints.
 *
 * Kept apart from the reading and following of the file so that the layout,
 * the colours and the neutralisation of hostile text can be tested on their
 * own (tests/unit/test_format.c).
 *
 * The time is always shown with its date, in local time: a column that is
 * sometimes 12 and sometimes 23 characters wide would break the alignment
 * the first time a log crosses midnight, and TZ=UTC gives the file's own
 * clock back. Milliseconds are truncated, never rounded, so a record never
 * appears to come from the next second.
 */
#include "format.h"

#include <string.h>
#include <strings.h>
#include <time.h>

#include "neutralise.h"
#include "ulog/level.h"

#define TIME_WIDTH 23  /* 2026-11-21 14:22:18.214 */
#define LEVEL_WIDTH 8  /* CRITICAL */
#define SGR_RESET "\033[0m"
#define SGR_INVALID "\033[35m"

/* SGR colours: dim, green, yellow, red, bold red. */
static const char *const level_sgr[ULOG_LEVEL_COUNT] = {
    [ULOG_DEBUG] = "\033[2m",
    [ULOG_INFO] = "\033[32m",
    [ULOG_WARNING] = "\033[33m",
    [ULOG_ERROR] = "\033[31m",
    [ULOG_CRITICAL] = "\033[1;31m",
};

int color_mode_parse(const char *word)
{
    static const struct {
        const char *word;
        enum color_mode mode;
    } table[] = {
        {"auto", COLOR_AUTO},     {"tty", COLOR_AUTO},   {"if-tty", COLOR_AUTO},
        {"always", COLOR_ALWAYS}, {"yes", COLOR_ALWAYS}, {"force", COLOR_ALWAYS},
        {"never", COLOR_NEVER},   {"no", COLOR_NEVER},   {"none", COLOR_NEVER},
    };
    for (size_t i = 0; word && i < sizeof table / sizeof table[0]; i++)
        if (strcasecmp(word, table[i].word) == 0)
            return (int)table[i].mode;
    return -1;
}

bool color_wanted(enum color_mode mode, bool output_is_terminal, const char *no_color,
                  const char *term)
{
    if (mode != COLOR_AUTO)
        return mode == COLOR_ALWAYS;
    if (no_color && no_color[0])
        return false;
    if (term && strcmp(term, "dumb") == 0)
        return false;
    return output_is_terminal;
}

void human_format_init(struct human_format *format, bool color)
{
    format->color = color;
    format->origin_width = 0;
}

static const char *string_field(const json_t *record, const char *key, size_t *len)
{
    const json_t *value = json_object_get(record, key);
    if (!json_is_string(value))
        return NULL;
    *len = json_string_length(value);
    return json_string_value(value);
}

/* "service[pid/tid] stream:", measured before it is printed so that it can be padded. */
struct origin {
    const char *service, *where;
    size_t service_len, where_len;
    char ids[48];
    size_t columns;
};

static void origin_of(const json_t *record, struct origin *o)
{
    const json_t *pid = json_object_get(record, "pid");
    const json_t *tid = json_object_get(record, "tid");

    if (!(o->service = string_field(record, "service", &o->service_len)))
        o->service = "-", o->service_len = 1;
    o->ids[0] = '\0';
    if (json_is_integer(pid) && json_is_integer(tid))
        snprintf(o->ids, sizeof o->ids, "[%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT "]",
                 json_integer_value(pid), json_integer_value(tid));
    else if (json_is_integer(pid))
        snprintf(o->ids, sizeof o->ids, "[%" JSON_INTEGER_FORMAT "]", json_integer_value(pid));
    /* ulogd's own records have no stream: say where they came from instead. */
    if (!(o->where = string_field(record, "stream", &o->where_len)))
        o->where = string_field(record, "source", &o->where_len);

    o->columns = neutralise_write(NULL, o->service, o->service_len, NEUTRALISE_ONE_LINE) +
                 strlen(o->ids) + 1;
    if (o->where)
        o->columns += 1 + neutralise_write(NULL, o->where, o->where_len, NEUTRALISE_ONE_LINE);
}

static void print_origin(FILE *out, const struct origin *o, size_t width)
{
    neutralise_write(out, o->service, o->service_len, NEUTRALISE_ONE_LINE);
    fputs(o->ids, out);
    if (o->where) {
        fputc(' ', out);
        neutralise_write(out, o->where, o->where_len, NEUTRALISE_ONE_LINE);
    }
    fputc(':', out);
    if (o->columns < width)
        fprintf(out, "%*s", (int)(width - o->columns), "");
}

/* Text from a record, on one line, then spaces up to `width` columns. */
static void print_padded(FILE *out, const char *text, size_t len, size_t width)
{
    size_t columns = neutralise_write(out, text, len, NEUTRALISE_ONE_LINE);
    if (columns < width)
        fprintf(out, "%*s", (int)(width - columns), "");
}

static bool read_digits(const char **p, int count, int *value)
{
    int v = 0;
    for (int i = 0; i < count; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    *p += count;
    *value = v;
    return true;
}

/* RFC 3339: "2026-11-21T14:22:18.214521Z", or with "+01:00" instead of "Z". */
static bool parse_timestamp(const char *p, time_t *seconds, unsigned *millis)
{
    struct tm tm = {0};
    int year, month, day, hour, minute, second, offset_hours = 0, offset_minutes = 0, sign = 0;

    if (!read_digits(&p, 4, &year) || *p++ != '-' || !read_digits(&p, 2, &month) ||
        *p++ != '-' || !read_digits(&p, 2, &day) || (*p != 'T' && *p != 't' && *p != ' '))
        return false;
    p++;
    if (!read_digits(&p, 2, &hour) || *p++ != ':' || !read_digits(&p, 2, &minute) ||
        *p++ != ':' || !read_digits(&p, 2, &second))
        return false;
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
        return false;

    *millis = 0;
    if (*p == '.') {
        unsigned scale = 100;
        p++;
        if (*p < '0' || *p > '9')
            return false;
        for (; *p >= '0' && *p <= '9'; p++, scale /= 10)
            *millis += (unsigned)(*p - '0') * scale;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p++ == '+' ? 1 : -1;
        if (!read_digits(&p, 2, &offset_hours) || *p++ != ':' ||
            !read_digits(&p, 2, &offset_minutes) || offset_hours > 23 || offset_minutes > 59)
            return false;
    } else {
        return false;
    }
    if (*p != '\0')
        return false;

    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    *seconds = timegm(&tm) - sign * (offset_hours * 3600 + offset_minutes * 60);
    return true;
}

static void print_time(FILE *out, const json_t *record)
{
    size_t len = 0;
    const char *text = string_field(record, "timestamp", &len);
    time_t seconds;
    unsigned millis;
    struct tm local;
    char buf[64];

    if (text && strlen(text) == len && parse_timestamp(text, &seconds, &millis) &&
        localtime_r(&seconds, &local) && strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &local))
        fprintf(out, "%s.%03u", buf, millis);
    else if (text) /* not a time we can read: show what is there, in the same column */
        print_padded(out, text, len, TIME_WIDTH);
    else
        print_padded(out, "-", 1, TIME_WIDTH);
}

static void print_level(FILE *out, const struct human_format *format, const json_t *record)
{
    size_t len = 0;
    const char *text = string_field(record, "level", &len);
    int level = text && strlen(text) == len ? ulog_level_parse(text) : -1;

    if (level >= 0) {
        const char *name = ulog_level_name((enum ulog_level)level);
        if (format->color)
            fprintf(out, "%s%s%s", level_sgr[level], name, SGR_RESET);
        else
            fputs(name, out);
        fprintf(out, "%*s", (int)(LEVEL_WIDTH - strlen(name)), "");
    } else if (text) { /* not one of the five: shown as it is, never dropped, never coloured */
        print_padded(out, text, len, LEVEL_WIDTH);
    } else {
        print_padded(out, "-", 1, LEVEL_WIDTH);
    }
}

static void widen(struct human_format *format, size_t columns)
{
    if (columns > format->origin_width)
        format->origin_width = columns < HUMAN_ORIGIN_MAX_WIDTH ? columns : HUMAN_ORIGIN_MAX_WIDTH;
}

void human_format_measure(struct human_format *format, const json_t *record)
{
    struct origin origin;
    origin_of(record, &origin);
    widen(format, origin.columns);
}

void human_print_record(FILE *out, struct human_format *format, const json_t *record)
{
    struct origin origin;
    size_t len = 0, origin_width;
    const char *message;

    origin_of(record, &origin);
    widen(format, origin.columns);
    origin_width = origin.columns > format->origin_width ? origin.columns : format->origin_width;

    print_time(out, record);
    fputc(' ', out);
    print_level(out, format, record);
    fputc(' ', out);
    print_origin(out, &origin, origin_width);
    fputc(' ', out);

    /* A record without a message (an event) is shown by its event type. */
    if (!(message = string_field(record, "message", &len)) &&
        !(message = string_field(record, "event_type", &len)))
        message = "", len = 0;
    /* Continuation lines go under the message, unless an outsized origin pushed it far right. */
    if (origin_width > HUMAN_ORIGIN_MAX_WIDTH)
        origin_width = HUMAN_ORIGIN_MAX_WIDTH;
    neutralise_write(out, message, len, (int)(TIME_WIDTH + 1 + LEVEL_WIDTH + 1 + origin_width + 1));
    fputc('\n', out);
}

void human_print_invalid(FILE *out, const struct human_format *format, const char *line,
                         size_t len)
{
    if (format->color)
        fputs(SGR_INVALID HUMAN_INVALID_MARKER SGR_RESET " ", out);
    else
        fputs(HUMAN_INVALID_MARKER " ", out);
    neutralise_write(out, line, len, NEUTRALISE_ONE_LINE);
    fputc('\n', out);
}

void print_json_line(FILE *out, const char *line, size_t len)
{
    const unsigned char *p = (const unsigned char *)line;
    size_t i = 0, start = 0;

    while (i < len) {
        uint32_t cp;
        size_t n = decode_utf8_char(p + i, len - i, &cp);
        if (n == 0) {
            i++; /* a validated line has none; copied as they are */
            continue;
        }
        if (codepoint_is_active(cp)) {
            fwrite(p + start, 1, i - start, out);
            if (cp < 0x20)
                fputc(' ', out); /* raw CR or tab can only be whitespace between tokens */
            else
                fprintf(out, "\\u%04x", (unsigned)cp);
            start = i + n;
        }
        i += n;
    }
    fwrite(p + start, 1, len - start, out);
    fputc('\n', out);
}
