/*
 * multiline_formats.h - what the multiline stage asks of compiled formats.
 *
 * Private to multiline*.c: the stage walks the state machines,
 * multiline_formats.c builds and checks them, multiline_builtin.c holds the
 * built-in rules. Keeping the two apart
 * keeps the regex compilation and the built-in rule tables out of the code
 * every line runs through.
 */
#ifndef ULOGD_MULTILINE_FORMATS_H
#define ULOGD_MULTILINE_FORMATS_H

#include <stdbool.h>
#include <stddef.h>

#include <pcre2.h>

#include "multiline.h"

#define MULTILINE_END (-1)     /* a rule's next: append the line, close the block */
#define MULTILINE_NO_RULE (-2) /* no rule of the state matched */

struct multiline_format;

/* The format whose start_state rule matches the line first (formats in the
 * order added, rules in order), with the state the block goes on in; NULL
 * when no block begins here. */
const struct multiline_format *multiline_formats_start(const struct multiline_formats *formats,
                                                       pcre2_match_data *md,
                                                       const unsigned char *line, size_t len,
                                                       int *state);

/* The state a line takes the block to from `state`: a state, MULTILINE_END
 * or MULTILINE_NO_RULE. *claims: the line is evidence that the block is of
 * this format - not blank, and matched by a rule that does not match any
 * line at all (Node's source-line rule "^" is no evidence). */
int multiline_format_step(const struct multiline_format *format, int state, pcre2_match_data *md,
                          const unsigned char *line, size_t len, bool *claims);

/* The rules of the built-in format `name` (multiline_builtin.c); NULL: none. */
const struct multiline_rule_spec *multiline_builtin_rules(const char *name, size_t *count,
                                                          int *level);

const char *multiline_format_name(const struct multiline_format *format);
int multiline_format_level(const struct multiline_format *format);

#endif
