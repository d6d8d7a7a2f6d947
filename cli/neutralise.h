/*
 * neutralise.h - text from log records made safe to put on a terminal.
 *
 * Anything a logged program printed reaches `ulog tail`'s terminal, so a line
 * could recolour the screen, retitle the window, move the cursor or hide
 * itself. These functions show such bytes as visible text instead.
 */
#ifndef ULOG_CLI_NEUTRALISE_H
#define ULOG_CLI_NEUTRALISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* neutralise_write's `indent` for text that must stay on one line. */
#define NEUTRALISE_ONE_LINE (-1)

/*
 * Write s[0..len) to `out` with every control character and every byte that
 * is not valid UTF-8 shown as text:
 *   C0 controls, DEL, invalid bytes   \xNN  (ESC is \x1b, NUL is \x00)
 *   U+0080..U+009F, bidi overrides    \uNNNN
 * With indent >= 0 a newline is kept and followed by `indent` spaces, and a
 * tab is kept (it only moves the cursor forward); with NEUTRALISE_ONE_LINE
 * both are shown as \x0a and \x09 too.
 * Returns the columns taken by the last line written, one per character
 * (a tab counts as one). With `out` NULL nothing is written: it only counts.
 */
size_t neutralise_write(FILE *out, const char *s, size_t len, int indent);

/*
 * Length of the valid UTF-8 sequence at s (1-4), storing its code point, or
 * 0 when the bytes there are not one (overlong, surrogate, out of range, cut).
 */
size_t decode_utf8_char(const unsigned char *s, size_t len, uint32_t *codepoint);

/* A code point a terminal may act on instead of showing it. */
bool codepoint_is_active(uint32_t codepoint);

#endif /* ULOG_CLI_NEUTRALISE_H */
