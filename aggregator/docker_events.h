/*
 * docker_events.h - the Docker Engine's container events, and the
 * lifecycle records they make.
 *
 * GET /events streams one JSON object per line. This file reads one line
 * into a docker_event (which container, what happened, when, and the
 * attributes the engine sends along: name, image, compose labels, exit
 * code, signal, health) and says which record, if any, it makes:
 * container_start, container_restart, container_die, container_kill,
 * container_oom and container_health; other actions (create, destroy,
 * rename, ...) only steer the collector. Pure: no I/O, no clock, so the
 * mapping is tested and fuzzed on its own.
 *
 * Also here, because every part of the collector names containers the same
 * way: container ids as accepted from the engine, and the context object
 * of a container's records.
 */
#ifndef ULOGD_DOCKER_EVENTS_H
#define ULOGD_DOCKER_EVENTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "container.h"
#include "ulog/level.h"

#define DOCKER_ID_SIZE 65 /* 64 hex digits and the NUL */

/* 12 to 64 hex digits, kept in lower case: the only ids put into a URL. */
bool docker_id_copy(const char *text, char id[DOCKER_ID_SIZE]);

/* The 12-hex short form records carry. */
void docker_short_id(const char *id, char short_id[CONTAINER_ID_SIZE]);

/* {"container_name": NAME, "compose_project": P (when set), "image": I (when set)}. */
json_t *docker_context_new(const char *name, const char *project, const char *image);

enum docker_event_kind {
    DOCKER_EVENT_OTHER,   /* no record, nothing to do */
    DOCKER_EVENT_CREATE,
    DOCKER_EVENT_START,
    DOCKER_EVENT_RESTART,
    DOCKER_EVENT_DIE,
    DOCKER_EVENT_KILL,
    DOCKER_EVENT_OOM,
    DOCKER_EVENT_HEALTH,
    DOCKER_EVENT_RENAME,
    DOCKER_EVENT_DESTROY,
};

struct docker_event {
    enum docker_event_kind kind;
    char id[DOCKER_ID_SIZE];
    char short_id[CONTAINER_ID_SIZE];
    uint64_t time_ns;    /* timeNano, else time; 0 when it said neither */
    /* Borrowed from `json`; NULL when absent. */
    const char *action;
    const char *name;    /* without a leading '/' */
    const char *image;
    const char *service; /* label com.docker.compose.service */
    const char *project; /* label com.docker.compose.project */
    const char *health;  /* healthy, unhealthy, starting */
    long long exit_code; /* DIE: -1 when the engine did not say */
    int signal;          /* KILL: 0 when the engine did not say */
    json_t *json;        /* owned */
};

/*
 * One line of the events stream. 0 with *ev filled (an event of another
 * type than container is kind OTHER), or -1 with `why` when the line is
 * not a well-formed event (not JSON, not an object, no usable id).
 */
int docker_event_parse(const char *text, size_t len, struct docker_event *ev, char *why,
                       size_t why_size);
void docker_event_clear(struct docker_event *ev);

/* What a lifecycle record says. */
struct docker_event_record {
    enum ulog_level level;
    const char *event_type;
    json_t *metadata; /* owned by the caller once returned; NULL: none */
    char message[384];
    size_t message_len;
};

/*
 * The record an event makes; false (and nothing allocated) for the kinds
 * that make none. `name` names the container in the message when the
 * event's own attributes do not (NULL: its short id).
 */
bool docker_event_describe(const struct docker_event *ev, const char *name,
                           struct docker_event_record *out);

#endif
