/*
 * live_filter.h - what a live client asked to see: the "filter" message of
 * the WebSocket protocol, checked, normalised and matched against records.
 *
 *   {"type":"filter","service":"api"|["api","db"]|null,"level":"WARNING"|null,
 *    "container":"abc123"|null,"text":"timeout"|null}
 *
 * service: exact, any of the list; level: this level and above; container:
 * the record's container starts with it (an id or a prefix of one); text: a
 * substring of the message, ASCII letters compared without case. Absent or
 * null: no constraint. The record's message is not in the feed item, only
 * in its line: a filter with text needs the line decoded, which happens at
 * most once per record for all the filters it meets (struct
 * live_candidate), and only once a filter with text has let the record
 * through on its other fields.
 */
#ifndef ULOGD_LIVE_FILTER_H
#define ULOGD_LIVE_FILTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "feed.h"

#define LIVE_FILTER_MAX_SERVICES 256u
#define LIVE_FILTER_MAX_STRING 1024u

struct live_filter {
    char **services;          /* NULL: any */
    size_t service_count;
    enum ulog_level min_level;
    char *container;          /* NULL: any */
    size_t container_len;
    char *text;               /* lower case; NULL: any */
    size_t text_len;
    json_t *normalised;       /* {} for no constraint, else the constraints that apply */
};

/* The filter that lets everything through. */
void live_filter_init(struct live_filter *filter);
void live_filter_free(struct live_filter *filter);

/*
 * From a "filter" message (other keys than type, service, level, container
 * and text are refused). On error -1 with `err` naming the field, and
 * `filter` left as live_filter_init made it.
 */
int live_filter_parse(struct live_filter *filter, const json_t *message, char *err,
                      size_t err_size);

/* Does matching need the message (decoded from the line)? */
static inline bool live_filter_needs_message(const struct live_filter *filter)
{
    return filter->text != NULL;
}

/* A record on its way past the filters: its message is decoded from the
 * line the first time a filter with text needs it, then shared. */
struct live_candidate {
    const struct feed_item *item;
    bool decoded;
    json_t *record;             /* the decoded line, or NULL */
    const char *message;        /* NULL: the line has no string "message" */
    size_t message_len;
};

static inline void live_candidate_init(struct live_candidate *candidate,
                                       const struct feed_item *item)
{
    *candidate = (struct live_candidate){.item = item};
}

void live_candidate_done(struct live_candidate *candidate);

/* The fields first (what the feed item tells), the text last. */
bool live_filter_match(const struct live_filter *filter, struct live_candidate *candidate);

/* "service" (a string, a list of strings, or null/absent: `value` NULL) as
 * a list without repeats in *services, NULL when there is no constraint.
 * Shared with the analysis request, which takes the same field. -1 with
 * `err` for anything else. */
int live_filter_parse_services(const json_t *value, json_t **services, char *err,
                               size_t err_size);

#endif
