/*
 * draft.h - a record being built, and access to its fields by name.
 *
 * Between the line that came in and the record that goes out, several stages
 * rewrite fields: lifting, levels, redaction, the user's rules. They all work
 * on one draft so the record stays a plain struct of borrowed strings, and
 * anything a stage writes lives in the draft's arena, whose blocks are kept
 * from one record to the next (the pipeline never mallocs per line in steady
 * state). Rules name fields as text ("service", "metadata.user.id"); the
 * names are parsed once into a field_ref when the configuration is read.
 */
#ifndef ULOGD_DRAFT_H
#define ULOGD_DRAFT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "record.h"

#define DRAFT_MAX_ROUTES 8

enum field_id {
    FIELD_TIMESTAMP, /* read-only: RFC 3339, as written */
    FIELD_LEVEL,
    FIELD_SERVICE,
    FIELD_CONTAINER,
    FIELD_HOST,
    FIELD_PID,
    FIELD_TID,
    FIELD_STREAM,
    FIELD_SOURCE,
    FIELD_COMPONENT,
    FIELD_EVENT_TYPE,
    FIELD_MESSAGE,
    FIELD_TRACE_ID,
    FIELD_SPAN_ID,
    FIELD_AGENT_ID,
    FIELD_TASK_ID,
    FIELD_METADATA,
    FIELD_CONTEXT
};

struct field_ref {
    enum field_id id;
    char *path; /* after "metadata." or "context.": "user.id"; NULL for the whole object */
};

/*
 * "level", "service", ..., "metadata", "metadata.KEY[.KEY...]", "context...".
 * 0, or -1 with err (unknown name, empty path component).
 */
int field_ref_parse(struct field_ref *out, const char *name, char *err, size_t err_size);
void field_ref_free(struct field_ref *f);

struct draft_block;

struct draft {
    struct record rec; /* the fields; strings borrowed from the input or in the arena */
    json_t *metadata;  /* == rec.metadata; may be shared with the caller, changed in place */
    const char *routes[DRAFT_MAX_ROUTES];
    size_t route_count;
    bool kept; /* a `keep` rule matched: minimum levels do not apply */
    /* private: the arena, a chain of blocks reused from one record to the next */
    struct draft_block *blocks, *current;
};

void draft_init(struct draft *d);
/* Copies the struct and takes a reference on its metadata; routes and `kept` start empty. */
void draft_begin(struct draft *d, const struct record *base);
/* Drops the metadata reference and empties the arena (its memory is kept). */
void draft_end(struct draft *d);
void draft_free(struct draft *d);

/* A NUL-terminated copy in the arena, valid until draft_end. */
char *draft_store(struct draft *d, const char *s, size_t len);
void draft_set_message(struct draft *d, const char *s, size_t len); /* copies */
json_t *draft_metadata(struct draft *d); /* the metadata object, created if absent */

/*
 * The field's value as text, NULL when absent. level -> its name; pid/tid ->
 * decimal (0 is absent); a string field that is NULL or "" is absent, but the
 * message is always there (possibly empty, as in all.log); a metadata or
 * context path -> a string as is, a number or bool rendered into `scratch`;
 * null, an object, an array or a missing key -> NULL. *len is set.
 */
const char *draft_get(const struct draft *d, const struct field_ref *f, size_t *len,
                      char scratch[64]);
/*
 * Whether the field is there at all: like draft_get, except that an empty
 * message is absent and an object or array (or the whole non-empty metadata
 * or context) is present.
 */
bool draft_has(const struct draft *d, const struct field_ref *f);
/*
 * Set a field from text; 0, or -1 when refused: a level that is no level
 * name, pid/tid, the context (shared by every record of a connection), the
 * whole metadata, or a metadata path running into a value that is not an
 * object. metadata.x.y creates the objects on the way; values are strings.
 */
int draft_set(struct draft *d, const struct field_ref *f, const char *value, size_t len);
/* Stored in the arena; duplicates ignored (true); false when DRAFT_MAX_ROUTES are taken. */
bool draft_add_route(struct draft *d, const char *name);

#endif
