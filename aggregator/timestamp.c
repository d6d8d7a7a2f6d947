/*
 * timestamp.c - RFC 3339 and epoch times to nanoseconds (see timestamp.h).
 *
 * Written by hand rather than with strptime/timegm: those follow the locale
 * and the TZ of the machine ulogd runs on, while a line's time names its own
 * zone. The date becomes days since 1970 by arithmetic alone, so any date
 * after 1970 is read the same everywhere, leap years included.
 */
#include "timestamp.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool digits(const char *s, size_t n, unsigned *out)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* RFC 3339 ("T", "t" or " " between date and time), any fraction; 0 if not. */
static uint64_t parse_rfc3339(const char *s, size_t len)
{
    unsigned y, mo, d, h, mi, sec;
    if (len < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
        !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
        !digits(s + 17, 2, &sec))
        return 0;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return 0;
    size_t i = 19;
    uint64_t frac = 0, scale = 1000000000;
    if (i < len && (s[i] == '.' || s[i] == ',')) {
        size_t start = ++i;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
            if (scale > 1) {
                scale /= 10;
                frac += (uint64_t)(s[i] - '0') * scale;
            }
        if (i == start)
            return 0;
    }
    int64_t offset = 0;
    if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
        unsigned oh, om;
        int sign = s[i] == '-' ? -1 : 1;
        if (len - i == 6 && s[i + 3] == ':' && digits(s + i + 1, 2, &oh) && digits(s + i + 4, 2, &om))
            i += 6;
        else if (len - i == 5 && digits(s + i + 1, 2, &oh) && digits(s + i + 3, 2, &om))
            i += 5;
        else
            return 0;
        if (oh > 23 || om > 59)
            return 0;
        offset = sign * (int64_t)(oh * 3600 + om * 60);
    } else {
        return 0; /* no zone: local time of an unknown place */
    }
    if (i != len)
        return 0;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset;
    /* Past the year 2554 nanoseconds overflow 64 bits: no usable time either. */
    if (secs < 0 || (uint64_t)secs > (UINT64_MAX - 999999999u) / 1000000000u)
        return 0;
    return (uint64_t)secs * 1000000000u + frac;
}

/* A number of nanoseconds too large for 64 bits is no usable time. Converting
 * it as it is would be undefined behaviour (double) or wrap (integer). */
static uint64_t real_ns(double ns)
{
    return ns < 1.8e19 ? (uint64_t)ns : 0;
}

static uint64_t scaled_ns(uint64_t v, uint64_t unit)
{
    return v > UINT64_MAX / unit ? 0 : v * unit;
}

/* Epoch seconds, ms, us or ns, told apart by magnitude. */
static uint64_t epoch_to_ns(double v)
{
    if (!(v > 0) || v > 1.8e19)
        return 0;
    if (v > 1e17)
        return (uint64_t)v;
    if (v > 1e14)
        return real_ns(v * 1e3);
    if (v > 1e11)
        return real_ns(v * 1e6);
    return real_ns(v * 1e9 + 0.5);
}

static uint64_t epoch_int_to_ns(json_int_t v)
{
    if (v <= 0)
        return 0;
    uint64_t u = (uint64_t)v;
    if (u > 100000000000000000ull)
        return u;
    if (u > 100000000000000ull)
        return scaled_ns(u, 1000u);
    if (u > 100000000000ull)
        return scaled_ns(u, 1000000u);
    return scaled_ns(u, 1000000000u);
}

uint64_t timestamp_parse_text(const char *s, size_t len)
{
    uint64_t ns = parse_rfc3339(s, len);
    if (ns || len == 0 || len > 40 || s[0] < '0' || s[0] > '9')
        return ns;
    char copy[48], *end;
    memcpy(copy, s, len);
    copy[len] = '\0';
    double v = strtod(copy, &end);
    return *end == '\0' ? epoch_to_ns(v) : 0;
}

uint64_t timestamp_from_json_number(const json_t *value)
{
    if (json_is_integer(value))
        return epoch_int_to_ns(json_integer_value(value));
    if (json_is_real(value))
        return epoch_to_ns(json_real_value(value));
    return 0;
}
