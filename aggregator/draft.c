/*
 * draft.c - a record being built (see draft.h).
 *
 * The arena is a chain of blocks that is emptied, not freed, at draft_end, so
 * a steady stream of records reuses the same few kilobytes; only blocks past
 * ARENA_KEEP bytes (grown for one huge record) are given back. Metadata paths
 * are resolved against the keys as they are: a lifted key may itself contain
 * dots ("http.method", as OpenTelemetry names attributes), so the whole rest
 * of a path is tried as one key before it is split at a dot.
 */
#include "draft.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

#define BLOCK_SIZE 4096
#define ARENA_KEEP (256 * 1024)

struct draft_block {
    struct draft_block *next;
    size_t size, used;
    char data[];
};

static const struct {
    const char *name;
    enum field_id id;
} field_names[] = {
    {"timestamp", FIELD_TIMESTAMP}, {"level", FIELD_LEVEL},         {"service", FIELD_SERVICE},       {"container", FIELD_CONTAINER},
    {"host", FIELD_HOST},           {"pid", FIELD_PID},               {"tid", FIELD_TID},
    {"stream", FIELD_STREAM},       {"source", FIELD_SOURCE},         {"component", FIELD_COMPONENT},
    {"event_type", FIELD_EVENT_TYPE}, {"message", FIELD_MESSAGE},     {"trace_id", FIELD_TRACE_ID},
    {"span_id", FIELD_SPAN_ID},     {"agent_id", FIELD_AGENT_ID},     {"task_id", FIELD_TASK_ID},
    {"metadata", FIELD_METADATA},   {"context", FIELD_CONTEXT},
};

int field_ref_parse(struct field_ref *out, const char *name, char *err, size_t err_size)
{
    out->path = NULL;
    if (!name) {
        snprintf(err, err_size, "missing field name");
        return -1;
    }
    const char *dot = strchr(name, '.');
    size_t head = dot ? (size_t)(dot - name) : strlen(name);
    for (size_t i = 0; i < sizeof field_names / sizeof field_names[0]; i++) {
        if (strlen(field_names[i].name) != head || memcmp(field_names[i].name, name, head) != 0)
            continue;
        out->id = field_names[i].id;
        if (!dot)
            return 0;
        if (out->id != FIELD_METADATA && out->id != FIELD_CONTEXT)
            break;
        const char *path = dot + 1;
        size_t len = strlen(path);
        if (len == 0 || path[0] == '.' || path[len - 1] == '.' || strstr(path, "..")) {
            snprintf(err, err_size, "empty key in field name \"%s\"", name);
            return -1;
        }
        out->path = must_strdup(path);
        return 0;
    }
    snprintf(err, err_size,
             "unknown field \"%s\" (timestamp, level, service, container, host, pid, tid, "
             "stream, source, component, event_type, message, trace_id, span_id, agent_id, "
             "task_id, metadata.KEY, context.KEY)",
             name);
    return -1;
}

void field_ref_free(struct field_ref *f)
{
    free(f->path);
    f->path = NULL;
}

void draft_init(struct draft *d)
{
    memset(d, 0, sizeof *d);
}

void draft_begin(struct draft *d, const struct record *base)
{
    d->rec = *base;
    d->metadata = json_incref((json_t *)base->metadata);
    d->route_count = 0;
    d->kept = false;
}

void draft_end(struct draft *d)
{
    json_decref(d->metadata);
    d->metadata = NULL;
    d->rec.metadata = NULL;
    d->route_count = 0;
    d->kept = false;
    size_t kept_bytes = 0;
    struct draft_block **link = &d->blocks;
    while (*link) {
        struct draft_block *b = *link;
        if (kept_bytes + b->size > ARENA_KEEP) {
            *link = b->next;
            free(b);
            continue;
        }
        kept_bytes += b->size;
        b->used = 0;
        link = &b->next;
    }
    d->current = d->blocks;
}

void draft_free(struct draft *d)
{
    draft_end(d);
    while (d->blocks) {
        struct draft_block *next = d->blocks->next;
        free(d->blocks);
        d->blocks = next;
    }
    d->current = NULL;
}

static char *arena_alloc(struct draft *d, size_t size)
{
    struct draft_block *b = d->current, *last = NULL;
    while (b && b->size - b->used < size) {
        last = b;
        b = b->next;
    }
    if (!b) {
        size_t block = size > BLOCK_SIZE ? size : BLOCK_SIZE;
        b = must_malloc(sizeof *b + block);
        b->next = NULL;
        b->size = block;
        b->used = 0;
        if (!last)
            for (last = d->blocks; last && last->next; last = last->next)
                ;
        if (last)
            last->next = b;
        else
            d->blocks = b;
    }
    d->current = b;
    char *p = b->data + b->used;
    b->used += size;
    return p;
}

char *draft_store(struct draft *d, const char *s, size_t len)
{
    char *copy = arena_alloc(d, len + 1);
    if (len)
        memcpy(copy, s, len);
    copy[len] = '\0';
    return copy;
}

void draft_set_message(struct draft *d, const char *s, size_t len)
{
    d->rec.message = draft_store(d, s, len);
    d->rec.message_len = len;
}

json_t *draft_metadata(struct draft *d)
{
    if (!d->metadata) {
        d->metadata = json_object();
        d->rec.metadata = d->metadata;
    }
    return d->metadata;
}

static const char **string_field(struct record *r, enum field_id id)
{
    switch (id) {
    case FIELD_SERVICE: return &r->service;
    case FIELD_CONTAINER: return &r->container;
    case FIELD_HOST: return &r->host;
    case FIELD_STREAM: return &r->stream;
    case FIELD_SOURCE: return &r->source;
    case FIELD_COMPONENT: return &r->component;
    case FIELD_EVENT_TYPE: return &r->event_type;
    case FIELD_TRACE_ID: return &r->trace_id;
    case FIELD_SPAN_ID: return &r->span_id;
    case FIELD_AGENT_ID: return &r->agent_id;
    case FIELD_TASK_ID: return &r->task_id;
    default: return NULL;
    }
}

/* The value at `path` below `object`, whole keys first (see the top of the file). */
static json_t *lookup(const json_t *object, const char *path, size_t len)
{
    if (!json_is_object(object))
        return NULL;
    json_t *value = json_object_getn(object, path, len);
    if (value)
        return value;
    for (size_t i = 0; i < len; i++) {
        if (path[i] != '.')
            continue;
        json_t *sub = json_object_getn(object, path, i);
        if (json_is_object(sub) && (value = lookup(sub, path + i + 1, len - i - 1)))
            return value;
    }
    return NULL;
}

static const json_t *path_value(const struct draft *d, const struct field_ref *f)
{
    const json_t *root = f->id == FIELD_METADATA ? d->metadata : d->rec.context;
    if (!f->path)
        return root;
    return lookup(root, f->path, strlen(f->path));
}

static const char *render_real(double v, char scratch[64])
{
    for (int precision = 15; precision <= 17; precision++) {
        snprintf(scratch, 64, "%.*g", precision, v);
        if (strtod(scratch, NULL) == v)
            break;
    }
    return scratch;
}

const char *draft_get(const struct draft *d, const struct field_ref *f, size_t *len,
                      char scratch[64])
{
    const char *text = NULL;
    *len = 0;
    switch (f->id) {
    case FIELD_TIMESTAMP:
        /* As all.log will spell it, so "~T0[0-5]:" means what it looks like. */
        record_format_timestamp(d->rec.time_ns ? d->rec.time_ns : record_now_ns(), scratch);
        text = scratch;
        break;
    case FIELD_LEVEL:
        text = ulog_level_name(d->rec.level);
        break;
    case FIELD_PID:
    case FIELD_TID: {
        uint32_t id = f->id == FIELD_PID ? d->rec.pid : d->rec.tid;
        if (id == 0)
            return NULL;
        snprintf(scratch, 64, "%" PRIu32, id);
        text = scratch;
        break;
    }
    case FIELD_MESSAGE:
        *len = d->rec.message_len;
        return d->rec.message ? d->rec.message : "";
    case FIELD_METADATA:
    case FIELD_CONTEXT: {
        const json_t *v = path_value(d, f);
        if (!v)
            return NULL;
        switch (json_typeof(v)) {
        case JSON_STRING:
            *len = json_string_length(v);
            return json_string_value(v);
        case JSON_INTEGER:
            snprintf(scratch, 64, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            text = scratch;
            break;
        case JSON_REAL:
            text = render_real(json_real_value(v), scratch);
            break;
        case JSON_TRUE: text = "true"; break;
        case JSON_FALSE: text = "false"; break;
        default: return NULL; /* null, object, array */
        }
        break;
    }
    default: {
        const char *s = *string_field((struct record *)&d->rec, f->id);
        if (!s || !*s)
            return NULL;
        text = s;
        break;
    }
    }
    *len = strlen(text);
    return text;
}

bool draft_has(const struct draft *d, const struct field_ref *f)
{
    if (f->id == FIELD_MESSAGE)
        return d->rec.message_len > 0;
    if (f->id == FIELD_METADATA || f->id == FIELD_CONTEXT) {
        const json_t *v = path_value(d, f);
        if (json_is_object(v))
            return json_object_size(v) > 0 || f->path;
        return v && !json_is_null(v);
    }
    size_t len;
    char scratch[64];
    return draft_get(d, f, &len, scratch) != NULL;
}

/* Set `value` at `path` below `object`, reusing the objects the lookup would find. */
static int store_path(json_t *object, const char *path, size_t len, json_t *value)
{
    if (json_object_getn(object, path, len))
        return json_object_setn_new(object, path, len, value);
    for (size_t i = 0; i < len; i++) {
        json_t *sub;
        if (path[i] == '.' && json_is_object(sub = json_object_getn(object, path, i)))
            return store_path(sub, path + i + 1, len - i - 1, value);
    }
    const char *dot = memchr(path, '.', len);
    if (!dot)
        return json_object_setn_new(object, path, len, value);
    size_t head = (size_t)(dot - path);
    if (json_object_getn(object, path, head)) { /* there, and not an object */
        json_decref(value);
        return -1;
    }
    json_t *sub = json_object();
    if (json_object_setn_new(object, path, head, sub) != 0) {
        json_decref(value);
        return -1;
    }
    return store_path(sub, dot + 1, len - head - 1, value);
}

int draft_set(struct draft *d, const struct field_ref *f, const char *value, size_t len)
{
    switch (f->id) {
    case FIELD_LEVEL: {
        char name[16];
        if (len >= sizeof name)
            return -1;
        memcpy(name, value, len);
        name[len] = '\0';
        int level = ulog_level_parse(name);
        if (level < 0)
            return -1;
        d->rec.level = (enum ulog_level)level;
        return 0;
    }
    case FIELD_TIMESTAMP:
    case FIELD_PID:
    case FIELD_TID:
    case FIELD_CONTEXT:
        return -1;
    case FIELD_MESSAGE:
        draft_set_message(d, value, len);
        return 0;
    case FIELD_METADATA: {
        if (!f->path)
            return -1;
        json_t *string = json_stringn(value, len);
        if (!string)
            return -1;
        return store_path(draft_metadata(d), f->path, strlen(f->path), string);
    }
    default:
        *string_field(&d->rec, f->id) = draft_store(d, value, len);
        return 0;
    }
}

bool draft_add_route(struct draft *d, const char *name)
{
    for (size_t i = 0; i < d->route_count; i++)
        if (strcmp(d->routes[i], name) == 0)
            return true;
    if (d->route_count == DRAFT_MAX_ROUTES)
        return false;
    d->routes[d->route_count++] = draft_store(d, name, strlen(name));
    return true;
}
