/*
 * format.h - how `ulog tail` prints a record: for people, or as JSON.
 */
#ifndef ULOG_CLI_FORMAT_H
#define ULOG_CLI_FORMAT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum color_mode { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER };

/* "auto", "always", "never" (and the usual yes/no synonyms); -1 if unknown. */
int color_mode_parse(const char *word);

/*
 * Whether to colour: always, never, or in auto mode only on a terminal,
 * with NO_COLOR unset or empty (no-color.org) and TERM not "dumb".
 */
bool color_wanted(enum color_mode mode, bool output_is_terminal, const char *no_color,
                  const char *term);

/* The widest the origin column grows; wider origins are printed unpadded. */
#define HUMAN_ORIGIN_MAX_WIDTH 40

struct human_format {
    bool color;
    size_t origin_width; /* widest "service[pid/tid] stream:" seen so far */
};

void human_format_init(struct human_format *format, bool color);

/* Widen the origin column for `record` without printing it. */
void human_format_measure(struct human_format *format, const json_t *record);

/*
 * One record as
 *   2026-11-21 14:22:18.214 INFO     api[4242/4243] stdout: the message
 * in local time (TZ), columns aligned, the level coloured when asked,
 * continuation lines of a multi-line message indented under the message,
 * every field neutralised (neutralise.h).
 */
void human_print_record(FILE *out, struct human_format *format, const json_t *record);

/* A line of all.log that is not a JSON object, shown escaped behind a marker. */
#define HUMAN_INVALID_MARKER "[not a JSON record]"
void human_print_invalid(FILE *out, const struct human_format *format, const char *line,
                         size_t len);

/*
 * A valid JSON line as it is in the file, except that DEL, U+0080..U+009F
 * and bidi overrides, which JSON allows raw inside strings, are written as
 * \u escapes: the same JSON value, and nothing a terminal would act on.
 */
void print_json_line(FILE *out, const char *line, size_t len);

#endif /* ULOG_CLI_FORMAT_H */
