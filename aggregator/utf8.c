/*
 * utf8.c - telling well-formed UTF-8 from everything else (see utf8.h).
 *
 * The decoder follows Table 3-7 of the Unicode standard ("Well-Formed UTF-8
 * Byte Sequences"): the second byte's range depends on the first, which is
 * what excludes overlong forms (C0, C1, E0 80..9F, F0 80..8F), surrogates
 * (ED A0..BF) and code points above U+10FFFF (F4 90.., F5..FF).
 */
#include "utf8.h"

#include <stdbool.h>

/*
 * Length of the well-formed sequence at s[0], or 0 if there is none. With
 * `truncated_ok`, bytes missing at the end of s[0..avail) count as well-formed:
 * they may simply not have arrived yet.
 */
static size_t sequence_length(const unsigned char *s, size_t avail, bool truncated_ok)
{
    unsigned char b0 = s[0];
    unsigned char lo = 0x80, hi = 0xBF;
    size_t need;

    if (b0 < 0x80)
        return 1;
    if (b0 >= 0xC2 && b0 <= 0xDF)
        need = 2;
    else if (b0 >= 0xE0 && b0 <= 0xEF) {
        need = 3;
        if (b0 == 0xE0)
            lo = 0xA0;
        else if (b0 == 0xED)
            hi = 0x9F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        need = 4;
        if (b0 == 0xF0)
            lo = 0x90;
        else if (b0 == 0xF4)
            hi = 0x8F;
    } else
        return 0;

    for (size_t i = 1; i < need; i++) {
        if (i >= avail)
            return truncated_ok ? need : 0;
        if (i == 1 ? (s[1] < lo || s[1] > hi) : (s[i] & 0xC0) != 0x80)
            return 0;
    }
    return need;
}

size_t utf8_sequence_length(const unsigned char *s, size_t avail)
{
    return sequence_length(s, avail, false);
}

size_t utf8_cut(const unsigned char *s, size_t len, size_t limit)
{
    if (limit >= len)
        return len;
    /* Walk back over at most three continuation bytes to a lead byte. */
    for (size_t back = 1; back <= 3 && back <= limit; back++) {
        size_t start = limit - back;
        if ((s[start] & 0xC0) == 0x80)
            continue;
        size_t n = sequence_length(s + start, len - start, true);
        if (n > back && start > 0)
            return start; /* a well-formed sequence straddles the limit */
        break;
    }
    return limit;
}
