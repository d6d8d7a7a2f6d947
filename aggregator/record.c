/*
 * record.c - the record's JSON-Lines encoding (see record.h).
 *
 * The top level is written directly: its keys are fixed, so the writer only
 * has to get the values right, and each string is validated, escaped and
 * repaired in a single pass over its bytes. That costs a tenth of building a
 * jansson object per record (ulogd writes one per line of every program) and
 * keeps ulogd ahead of busy programs. The free-form objects (context,
 * metadata) are serialised by jansson. Escapes are spelled exactly as
 * jansson's JSON_COMPACT output spells them (\", \\, \b \f \n \r \t, else
 * \u00XX), and tests/unit/test_record.c checks the whole line against a
 * jansson-built one, byte for byte.
 */
#include "record.h"

#include <string.h>
#include <time.h>

#include "utf8.h"

/* Bytes that stand for themselves inside a JSON string: ASCII, bar controls, '"' and '\'. */
static const unsigned char plain_byte[256] = {
    [0x20] = 1, [0x21] = 1, [0x23 ... 0x5B] = 1, [0x5D ... 0x7F] = 1,
};

/* `width` decimal digits of `value`, zero-padded, at `out`. */
static void put_digits(char *out, unsigned value, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        out[i] = (char)('0' + value % 10);
        value /= 10;
    }
}

/*
 * Year, month and day of a count of days since 1970-01-01: Howard Hinnant's
 * civil_from_days(), pure arithmetic. gmtime_r() would do, but glibc takes
 * its time-zone lock on every call, once per record.
 */
static void civil_from_days(uint64_t days, unsigned *year, unsigned *month, unsigned *day)
{
    uint64_t z = days + 719468;      /* days since 0000-03-01 */
    uint64_t era = z / 146097;       /* 400-year eras */
    uint64_t doe = z - era * 146097; /* day of era [0, 146096] */
    uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100); /* from March 1st */
    uint64_t mp = (5 * doy + 2) / 153;                      /* month from March [0, 11] */

    *day = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *month = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *year = (unsigned)(yoe + era * 400 + (*month <= 2));
}

void record_format_timestamp(uint64_t time_ns, char out[RECORD_TIMESTAMP_SIZE])
{
    /* A u64 of nanoseconds ends in 2554: the year always has four digits. */
    uint64_t seconds = time_ns / 1000000000u;
    uint64_t in_day = seconds % 86400;
    unsigned year, month, day;

    civil_from_days(seconds / 86400, &year, &month, &day);
    memcpy(out, "0000-00-00T00:00:00.000000Z", RECORD_TIMESTAMP_SIZE);
    put_digits(out, year, 4);
    put_digits(out + 5, month, 2);
    put_digits(out + 8, day, 2);
    put_digits(out + 11, (unsigned)(in_day / 3600), 2);
    put_digits(out + 14, (unsigned)(in_day / 60 % 60), 2);
    put_digits(out + 17, (unsigned)(in_day % 60), 2);
    put_digits(out + 20, (unsigned)(time_ns % 1000000000u / 1000u), 6);
}

uint64_t record_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void append_literal(struct bytebuf *out, const char *text)
{
    bytebuf_append(out, text, strlen(text));
}

/* `bytes` as a JSON string: escaped, with each ill-formed UTF-8 byte as \xNN. */
static void append_string(struct bytebuf *out, const char *bytes, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *s = (const unsigned char *)bytes;
    size_t i = 0;

    /* Worst case: every byte becomes six ("\u0001") or five ("\\xFF"). */
    bytebuf_reserve(out, 6 * len + 2);
    char *w = out->data + out->len;
    *w++ = '"';
    while (i < len) {
        size_t run = i;
        while (run < len && plain_byte[s[run]])
            run++;
        memcpy(w, s + i, run - i);
        w += run - i;
        i = run;
        if (i == len)
            break;

        unsigned char c = s[i];
        if (c >= 0x80) {
            size_t n = utf8_sequence_length(s + i, len - i);
            if (n) {
                memcpy(w, s + i, n);
                w += n;
                i += n;
            } else {
                /* The backslash of \xNN is itself escaped in JSON. */
                memcpy(w, "\\\\x", 3);
                w[3] = hex[c >> 4];
                w[4] = hex[c & 0x0F];
                w += 5;
                i++;
            }
            continue;
        }
        *w++ = '\\';
        switch (c) {
        case '"': *w++ = '"'; break;
        case '\\': *w++ = '\\'; break;
        case '\b': *w++ = 'b'; break;
        case '\f': *w++ = 'f'; break;
        case '\n': *w++ = 'n'; break;
        case '\r': *w++ = 'r'; break;
        case '\t': *w++ = 't'; break;
        default:
            memcpy(w, "u00", 3);
            w[3] = hex[c >> 4];
            w[4] = hex[c & 0x0F];
            w += 5;
        }
        i++;
    }
    *w++ = '"';
    out->len = (size_t)(w - out->data);
}

static void append_key(struct bytebuf *out, const char *key)
{
    bytebuf_append_byte(out, ',');
    bytebuf_append_byte(out, '"');
    append_literal(out, key);
    bytebuf_append(out, "\":", 2);
}

static void append_string_field(struct bytebuf *out, const char *key, const char *value)
{
    if (!value || !value[0])
        return;
    append_key(out, key);
    append_string(out, value, strlen(value));
}

static void append_number_field(struct bytebuf *out, const char *key, uint32_t value)
{
    char digits[10];
    int n = 0;

    if (!value)
        return;
    append_key(out, key);
    do
        digits[sizeof digits - 1 - n++] = (char)('0' + value % 10);
    while ((value /= 10) != 0);
    bytebuf_append(out, digits + sizeof digits - n, (size_t)n);
}

static int append_to_buffer(const char *bytes, size_t len, void *data)
{
    bytebuf_append(data, bytes, len);
    return 0;
}

static int append_object_field(struct bytebuf *out, const char *key, const json_t *value)
{
    if (!value || !json_is_object(value) || json_object_size(value) == 0)
        return 0;
    append_key(out, key);
    return json_dump_callback(value, append_to_buffer, out, JSON_COMPACT);
}

int record_append_json(const struct record *r, struct bytebuf *out)
{
    char timestamp[RECORD_TIMESTAMP_SIZE];
    size_t start = out->len;

    record_format_timestamp(r->time_ns ? r->time_ns : record_now_ns(), timestamp);
    append_literal(out, "{\"timestamp\":\"");
    bytebuf_append(out, timestamp, RECORD_TIMESTAMP_LEN);
    append_literal(out, "\",\"level\":\"");
    append_literal(out, ulog_level_name(r->level));
    bytebuf_append_byte(out, '"');
    append_string_field(out, "service", r->service);
    append_string_field(out, "container", r->container);
    append_string_field(out, "host", r->host);
    append_number_field(out, "pid", r->pid);
    append_number_field(out, "tid", r->tid);
    append_string_field(out, "stream", r->stream);
    append_string_field(out, "source", r->source);
    append_string_field(out, "component", r->component);
    append_string_field(out, "event_type", r->event_type);
    append_key(out, "message");
    append_string(out, r->message ? r->message : "", r->message ? r->message_len : 0);
    append_string_field(out, "trace_id", r->trace_id);
    append_string_field(out, "span_id", r->span_id);
    append_string_field(out, "agent_id", r->agent_id);
    append_string_field(out, "task_id", r->task_id);
    if (append_object_field(out, "context", r->context) != 0 ||
        append_object_field(out, "metadata", r->metadata) != 0) {
        out->len = start;
        return -1;
    }
    bytebuf_append(out, "}\n", 2);
    return 0;
}
