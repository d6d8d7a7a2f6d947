/*
 * lift.h - taking the fields out of a structured line.
 *
 * A service that logs JSON (pino, zap, structlog, Serilog...) or logfmt
 * (logrus, go-kit, Heroku) already said what its level, message, logger and
 * correlation ids are; writing its line as the message of a record would bury
 * them in a string. Lifting maps each library's key names onto the record's
 * fields and keeps every other field, with its type, as metadata.
 *
 * It runs on every captured line, so a plain line is told apart in a few
 * nanoseconds and without allocation; one struct lifted is reused line after
 * line so its buffers are too.
 */
#ifndef ULOGD_LIFT_H
#define ULOGD_LIFT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

enum lift_format { LIFT_NONE, LIFT_JSON, LIFT_LOGFMT };

/* The fields a structured line carried. Every pointer stays valid until lifted_clear(). */
struct lifted {
    enum lift_format format;
    /* level/severity/lvl/levelname/loglevel/log.level/@l (any case); logfmt: also "at" */
    const char *level_text;
    size_t level_len;
    int level; /* level_from_name(level_text) or -1; CLEF (@mt/@m) without @l: INFO */
    /* msg/message, else @m/RenderedMessage, else @mt/MessageTemplate, else `event` */
    const char *message;
    size_t message_len;
    /* time/timestamp/ts/@t/@timestamp/asctime; also kept in metadata under its own key */
    const char *time_text;
    size_t time_len;
    uint64_t time_ns; /* RFC 3339 or epoch s/ms/us/ns; 0 when unparsable or zone-less */
    const char *component;  /* component, logger, logger_name, SourceContext, name */
    const char *event_type; /* event_type, or `event` when it is not the message */
    const char *trace_id, *span_id, *agent_id, *task_id;
    json_t *metadata; /* every other field; NULL when none; owned (lifted_clear decrefs) */

    /* private */
    json_t *root_;
    char *buf_; /* logfmt: unescaped keys and values */
    size_t buf_size_;
    char scratch_[320]; /* numbers rendered as text for the fields above */
    size_t scratch_used_;
};

void lifted_init(struct lifted *l);
/*
 * 1: `line` was a JSON object or logfmt and `out` holds its fields; 0: plain
 * text (out empty). What `out` held before is cleared first.
 * JSON: only an object lifts; blanks around it allowed; duplicate keys: the
 * last wins; invalid UTF-8 makes it plain. Lifted keys match in any case;
 * numbers and booleans under them are rendered as text, objects, arrays and
 * nulls stay in metadata. logfmt: the whole line is key=value pairs (values
 * bare or "quoted" with \" escapes; a key alone is true), at least two with
 * '=', fewer lone keys than pairs, and one known key; its values go to
 * metadata as strings. A line with a NUL byte stays plain.
 */
int lift_line(struct lifted *out, const char *line, size_t len);
void lifted_clear(struct lifted *l); /* ready for the next lift_line */
void lifted_free(struct lifted *l);

#endif
