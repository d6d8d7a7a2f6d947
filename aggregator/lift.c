/*
 * lift.c - taking the fields out of a JSON or logfmt line (see lift.h).
 *
 * Both formats go through the same choice: every key is looked up in one
 * table of library spellings, each giving a field and a rank, and the best
 * ranked key of each field wins ("msg" over "@mt" over "event"); a key that
 * does not win stays in metadata, so nothing the line said is lost.
 * logfmt is checked for shape without allocating before anything is built,
 * because most lines that contain '=' are prose, not logfmt. The syntax of
 * logfmt (pairs, quoting) is logfmt.c's business, reading the time field's
 * value timestamp.c's.
 */
#include "lift.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "levels.h"
#include "logfmt.h"
#include "timestamp.h"
#include "utf8.h"

enum field {
    F_LEVEL,
    F_MESSAGE,
    F_TIME,
    F_COMPONENT,
    F_EVENT_TYPE,
    F_TRACE_ID,
    F_SPAN_ID,
    F_AGENT_ID,
    F_TASK_ID,
    F_COUNT,
    F_EVENT, /* structlog's message, else an event type */
    F_NONE,
};

struct key_name {
    const char *name;
    unsigned char len;
    unsigned char field;
    unsigned char rank; /* lower wins */
};

#define K(text, field, rank) {text, sizeof text - 1, field, rank}
static const struct key_name key_names[] = {
    K("level", F_LEVEL, 0), K("@l", F_LEVEL, 0),
    K("levelname", F_LEVEL, 1), K("lvl", F_LEVEL, 1),
    K("loglevel", F_LEVEL, 1), K("log.level", F_LEVEL, 1),
    K("severity", F_LEVEL, 2), K("msg", F_MESSAGE, 0),
    K("message", F_MESSAGE, 0), K("@m", F_MESSAGE, 1),
    K("RenderedMessage", F_MESSAGE, 1), K("@mt", F_MESSAGE, 2),
    K("MessageTemplate", F_MESSAGE, 2), K("time", F_TIME, 0),
    K("timestamp", F_TIME, 0), K("ts", F_TIME, 0),
    K("@t", F_TIME, 0), K("@timestamp", F_TIME, 0),
    K("asctime", F_TIME, 1), K("component", F_COMPONENT, 0),
    K("logger", F_COMPONENT, 1), K("logger_name", F_COMPONENT, 1),
    K("SourceContext", F_COMPONENT, 2), K("name", F_COMPONENT, 3),
    K("event_type", F_EVENT_TYPE, 0), K("event", F_EVENT, 0),
    K("trace_id", F_TRACE_ID, 0), K("traceId", F_TRACE_ID, 0),
    K("trace.id", F_TRACE_ID, 0), K("@tr", F_TRACE_ID, 1),
    K("span_id", F_SPAN_ID, 0), K("spanId", F_SPAN_ID, 0),
    K("span.id", F_SPAN_ID, 0), K("@sp", F_SPAN_ID, 1),
    K("agent_id", F_AGENT_ID, 0), K("agentId", F_AGENT_ID, 0),
    K("task_id", F_TASK_ID, 0), K("taskId", F_TASK_ID, 0),
};
#undef K

/* Heroku's router says its level as at=info; elsewhere "at" is anybody's. */
#define LOGFMT_AT_RANK 3
#define MESSAGE_EVENT_RANK 3
#define EVENT_TYPE_EVENT_RANK 1
#define NO_RANK 255

static const struct key_name *find_key(const char *key, size_t len)
{
    for (size_t i = 0; i < sizeof key_names / sizeof key_names[0]; i++)
        if (key_names[i].len == len && strncasecmp(key, key_names[i].name, len) == 0)
            return &key_names[i];
    return NULL;
}

/* One field's winner so far: its key (to leave it out of metadata) and text. */
struct choice {
    const char *key;
    unsigned rank;
    const char *text;
    size_t len;
    json_t *value; /* JSON only */
};

/* ---- filling the fields ---------------------------------------------------- */

static const char *scratch_printf(struct lifted *l, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static const char *scratch_printf(struct lifted *l, size_t *len, const char *fmt, ...)
{
    size_t room = sizeof l->scratch_ - l->scratch_used_;
    char *at = l->scratch_ + l->scratch_used_;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(at, room, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= room)
        return NULL;
    l->scratch_used_ += (size_t)n + 1;
    *len = (size_t)n;
    return at;
}

/* A JSON value as the text of a field; NULL for objects, arrays and null. */
static const char *json_text(struct lifted *l, json_t *v, size_t *len)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        *len = json_string_length(v);
        return json_string_value(v);
    case JSON_INTEGER:
        return scratch_printf(l, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    case JSON_REAL:
        return scratch_printf(l, len, "%.17g", json_real_value(v));
    case JSON_TRUE:
        *len = 4;
        return "true";
    case JSON_FALSE:
        *len = 5;
        return "false";
    default:
        return NULL;
    }
}

static void offer(struct choice *c, const char *key, unsigned rank, const char *text, size_t len,
                  json_t *value)
{
    if (text && rank <= c->rank) /* ties: the later key, as duplicates go */
        *c = (struct choice){key, rank, text, len, value};
}

/* structlog's `event` is the message when there is no other, else an event type. */
static void settle_event(struct choice *chosen, const struct choice *event)
{
    if (!event->key)
        return;
    if (!chosen[F_MESSAGE].key) {
        chosen[F_MESSAGE] = *event;
        chosen[F_MESSAGE].rank = MESSAGE_EVENT_RANK;
    } else {
        offer(&chosen[F_EVENT_TYPE], event->key, EVENT_TYPE_EVENT_RANK, event->text, event->len,
              event->value);
    }
}

static bool is_chosen(const struct choice *chosen, const char *key)
{
    for (int f = 0; f < F_COUNT; f++)
        if (f != F_TIME && chosen[f].key == key)
            return true;
    return false;
}

static void fill(struct lifted *l, const struct choice *chosen)
{
    const struct choice *c = &chosen[F_LEVEL];
    if (c->key) {
        l->level_text = c->text;
        l->level_len = c->len;
        l->level = level_from_name(c->text, c->len);
    }
    l->message = chosen[F_MESSAGE].text;
    l->message_len = chosen[F_MESSAGE].len;
    c = &chosen[F_TIME];
    if (c->key) {
        l->time_text = c->text;
        l->time_len = c->len;
        if (c->value && json_is_number(c->value))
            l->time_ns = timestamp_from_json_number(c->value);
        else
            l->time_ns = timestamp_parse_text(c->text, c->len);
    }
    l->component = chosen[F_COMPONENT].text;
    l->event_type = chosen[F_EVENT_TYPE].text;
    l->trace_id = chosen[F_TRACE_ID].text;
    l->span_id = chosen[F_SPAN_ID].text;
    l->agent_id = chosen[F_AGENT_ID].text;
    l->task_id = chosen[F_TASK_ID].text;
}

static void init_choices(struct choice *chosen, struct choice *event)
{
    for (int f = 0; f < F_COUNT; f++)
        chosen[f] = (struct choice){.rank = NO_RANK};
    *event = (struct choice){.rank = NO_RANK};
}

/* ---- JSON ------------------------------------------------------------------ */

static int lift_json(struct lifted *l, const char *text, size_t len)
{
    json_t *root = json_loadb(text, len, JSON_ALLOW_NUL, NULL);
    if (!root)
        return 0;
    if (!json_is_object(root)) {
        json_decref(root);
        return 0;
    }
    l->root_ = root;
    struct choice chosen[F_COUNT], event;
    init_choices(chosen, &event);
    const char *key;
    json_t *value;
    json_object_foreach(root, key, value) {
        const struct key_name *k = find_key(key, strlen(key));
        if (!k || (k->field == F_LEVEL && json_is_boolean(value)))
            continue;
        if (k->field == F_TIME && !json_is_string(value) && !json_is_number(value))
            continue;
        size_t n = 0;
        const char *t = json_text(l, value, &n);
        offer(k->field == F_EVENT ? &event : &chosen[k->field], key, k->rank, t, n, value);
    }
    settle_event(chosen, &event);
    fill(l, chosen);
    if (!chosen[F_LEVEL].key && chosen[F_MESSAGE].key && chosen[F_MESSAGE].key[0] == '@')
        l->level = ULOG_INFO; /* CLEF leaves @l out for Information */
    json_object_foreach(root, key, value) {
        if (is_chosen(chosen, key))
            continue;
        if (!l->metadata)
            l->metadata = json_object();
        json_object_set(l->metadata, key, value);
    }
    l->format = LIFT_JSON;
    return 1;
}

/* ---- logfmt ---------------------------------------------------------------- */

static bool logfmt_known(const char *k, const char *k_end, const char *v, const char *v_end)
{
    const struct key_name *key = find_key(k, (size_t)(k_end - k));
    if (key)
        return true;
    return k_end - k == 2 && strncasecmp(k, "at", 2) == 0 && v &&
           level_from_name(v, (size_t)(v_end - v)) >= 0;
}

/* Shape only, no allocation: plain lines with '=' leave here. */
static bool logfmt_shape(const char *p, const char *end)
{
    size_t pairs = 0, lone = 0;
    bool known = false;
    while (p < end && logfmt_blank(*p))
        p++;
    while (p < end) {
        const char *k, *k_end, *v, *v_end;
        if (!logfmt_next(&p, end, &k, &k_end, &v, &v_end))
            return false;
        if (!v) {
            lone++;
            continue;
        }
        pairs++;
        known = known || logfmt_known(k, k_end, v, v_end);
    }
    return pairs >= 2 && lone < pairs && known;
}

static bool valid_utf8(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        if (*p < 0x80) {
            p++;
            continue;
        }
        size_t n = utf8_sequence_length(p, (size_t)(end - p));
        if (n == 0)
            return false;
        p += n;
    }
    return true;
}

static int lift_logfmt(struct lifted *l, const char *line, size_t len)
{
    const char *p = line, *end = line + len;
    if (!logfmt_shape(p, end) || !valid_utf8(line, len))
        return 0;
    if (l->buf_size_ < 2 * len + 2) {
        free(l->buf_);
        l->buf_size_ = 2 * len + 2;
        l->buf_ = must_malloc(l->buf_size_);
    }
    /* Entries in buf_: key NUL, then value NUL or nothing for a lone key. */
    struct choice chosen[F_COUNT], event;
    init_choices(chosen, &event);
    char *out = l->buf_;
    l->metadata = json_object();
    while (p < end && logfmt_blank(*p))
        p++;
    while (p < end) {
        const char *k, *k_end, *v, *v_end;
        logfmt_next(&p, end, &k, &k_end, &v, &v_end);
        char *key = out;
        memcpy(key, k, (size_t)(k_end - k));
        key[k_end - k] = '\0';
        out += k_end - k + 1;
        if (!v) {
            json_object_set_new(l->metadata, key, json_true());
            continue;
        }
        char *value = out;
        size_t n = logfmt_unquote(v, v_end, value);
        out += n + 1;
        const struct key_name *kn = find_key(k, (size_t)(k_end - k));
        if (kn)
            offer(kn->field == F_EVENT ? &event : &chosen[kn->field], key, kn->rank, value, n, NULL);
        else if (logfmt_known(k, k_end, value, value + n))
            offer(&chosen[F_LEVEL], key, LOGFMT_AT_RANK, value, n, NULL);
        json_object_set_new(l->metadata, key, json_stringn(value, n));
    }
    settle_event(chosen, &event);
    fill(l, chosen);
    for (int f = 0; f < F_COUNT; f++)
        if (f != F_TIME && chosen[f].key)
            json_object_del(l->metadata, chosen[f].key);
    if (json_object_size(l->metadata) == 0) {
        json_decref(l->metadata);
        l->metadata = NULL;
    }
    l->format = LIFT_LOGFMT;
    return 1;
}

/* ---- entry points ---------------------------------------------------------- */

void lifted_init(struct lifted *l)
{
    memset(l, 0, sizeof *l);
    l->level = -1;
}

int lift_line(struct lifted *out, const char *line, size_t len)
{
    lifted_clear(out);
    const char *p = line, *end = line + len;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    if (p < end && *p == '{') {
        const char *last = end;
        while (last > p && (last[-1] == ' ' || last[-1] == '\t' || last[-1] == '\r'))
            last--;
        if (last[-1] == '}' && !memchr(p, '\0', (size_t)(end - p)) && lift_json(out, p, (size_t)(end - p)))
            return 1;
    }
    if (!memchr(p, '=', (size_t)(end - p)) || memchr(p, '\0', (size_t)(end - p)))
        return 0;
    return lift_logfmt(out, p, (size_t)(end - p));
}

void lifted_clear(struct lifted *l)
{
    if (l->format == LIFT_NONE) /* a plain line leaves nothing behind */
        return;
    json_decref(l->root_);
    json_decref(l->metadata);
    char *buf = l->buf_;
    size_t buf_size = l->buf_size_;
    memset(l, 0, offsetof(struct lifted, scratch_)); /* the scratch bytes need no zeroing */
    l->level = -1;
    l->buf_ = buf;
    l->buf_size_ = buf_size;
    l->scratch_used_ = 0;
}

void lifted_free(struct lifted *l)
{
    lifted_clear(l);
    free(l->buf_);
    lifted_init(l);
}
