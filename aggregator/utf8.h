/*
 * utf8.h - telling well-formed UTF-8 from everything else.
 *
 * Programs print whatever bytes they like; all.log must stay valid JSON, so
 * the record encoder checks every string against RFC 3629 (no overlong
 * forms, no surrogates, nothing above U+10FFFF) and writes each byte that is
 * not part of a well-formed sequence as the text \xNN. The same rules tell
 * the assembler where it may cut an over-long line.
 */
#ifndef ULOGD_UTF8_H
#define ULOGD_UTF8_H

#include <stddef.h>

/* Length (1 to 4) of the well-formed sequence at s[0], or 0 if there is none. */
size_t utf8_sequence_length(const unsigned char *s, size_t avail);

/*
 * The largest cut <= limit (and > 0 when limit > 0) that does not fall inside
 * a multi-byte sequence of s[0..len) that is well-formed, or could still
 * become so when s is only the beginning of the text.
 */
size_t utf8_cut(const unsigned char *s, size_t len, size_t limit);

#endif
