/*
 * docker_engine_private.h - what the two halves of the Docker Engine
 * collector share, and nothing else may use.
 *
 * docker_engine.c owns the connection to the engine: first contact,
 * backoff, the events stream, the reports about the engine itself.
 * docker_collect.c owns the containers: the list, inspects, the collection
 * decision, log streams. docker_lifecycle.c owns what events and shims'
 * HELLOs change in the table, and the lifecycle records.
 */
#ifndef ULOGD_DOCKER_ENGINE_PRIVATE_H
#define ULOGD_DOCKER_ENGINE_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>

#include "bytebuf.h"
#include "config.h"
#include "connection.h"
#include "docker_containers.h"
#include "docker_engine.h"
#include "docker_events.h"
#include "docker_http.h"
#include "docker_logs.h"

#define DOCKER_BACKOFF_MIN_MS 500u
#define DOCKER_BACKOFF_MAX_MS 10000u
/* docker_error is written at most this often per stream (the rest are counted). */
#define DOCKER_ERROR_INTERVAL_NS 10000000000ull
/* Inspects under way at once (a list of thousands must not open thousands of sockets). */
#define DOCKER_MAX_INSPECTS 8

enum docker_state {
    DOCKER_AWAY,    /* waiting to try again (retry_due) */
    DOCKER_PINGING, /* first contact under way */
    DOCKER_UP,      /* it answered: events, list and logs are read */
};

struct docker_engine {
    char *socket;
    const char *socket_origin;
    enum docker_mode mode;
    enum docker_collect collect;
    struct connection_context *connections; /* shim connections, and the pseudo ones */
    struct selflog *selflog;
    struct docker_http *http;
    struct docker_table *table;
    struct docker_self self;
    uint64_t start_ns; /* ulogd's start (CLOCK_REALTIME): no older line is written */

    enum docker_state state;
    bool ever_up;
    uint64_t retry_due; /* monotonic ns */
    unsigned backoff_ms; /* reset only by a connection that lasted DOCKER_BACKOFF_MAX_MS */
    uint64_t up_since;  /* monotonic ns of the last first contact */
    char api_version[32];
    struct docker_request *ping, *events, *list;

    /* The events stream. */
    struct bytebuf event_line;  /* a line still without its newline */
    uint64_t last_event_ns;     /* the newest event seen: where a new stream resumes */
    char last_event_key[96];    /* its id and action, to know it again when resent */
    uint64_t replay_until_ns;   /* events up to this may be ones already seen */
    uint64_t events_floor_ns;   /* when the stream was first asked for after contact */
    bool listed;                /* the list was asked for since contact */
    uint64_t events_due;        /* monotonic ns to reopen it; 0: not waiting */
    unsigned events_backoff_ms;
    uint64_t list_due;          /* monotonic ns to list again; 0: not waiting */
    unsigned list_backoff_ms;

    /* The containers. */
    unsigned inspects;          /* under way */
    uint64_t containers_due;    /* the next per-container retry; UINT64_MAX: none */
    bool table_full_reported;

    uint64_t error_reported_at; /* docker_error about the engine itself */
    uint64_t errors_suppressed;
    struct docker_log_counts counts;
    uint64_t events_received;
};

/* ---- docker_engine.c ---------------------------------------------------------- */

/* One WARNING docker_error, at most every DOCKER_ERROR_INTERVAL_NS per container (NULL:
 * the engine's own streams); `what` names the stream: events, list, inspect, logs, ping. */
void docker_report_error(struct docker_engine *e, struct docker_container *c, const char *what,
                         const char *reason);
/* The engine went away: tell once, drop every stream, retry after the backoff. */
void docker_engine_lost(struct docker_engine *e, const char *reason);
/* The next backoff after `*ms`, doubling from DOCKER_BACKOFF_MIN_MS to _MAX_MS. */
unsigned docker_backoff_next(unsigned *ms);

/* ---- docker_collect.c -------------------------------------------------------- */

/* A new entry, making room by evicting a container nobody reads; NULL when full. */
struct docker_container *docker_add_container(struct docker_engine *e, const char *id);
/* Its log stream ends (partial lines out, resume point kept), its inspect, its entry. */
void docker_forget(struct docker_engine *e, struct docker_container *c);
/* Stop reading its logs: its partial lines go out, its resume point stays. */
void docker_stop_logs(struct docker_container *c);
/* Inspect it when `due` comes (monotonic ns; 0: at the next visit). */
void docker_want_inspect(struct docker_engine *e, struct docker_container *c, uint64_t due);

/* Ask for the running containers. */
void docker_collect_list(struct docker_engine *e);
/* Start the inspects that are due; sets containers_due. */
void docker_collect_visit(struct docker_engine *e, uint64_t now);
/* The engine went away: end every request, keep the log readers for their resume point. */
void docker_collect_disconnected(struct docker_engine *e);
/* ulogd stops: every container's partial lines go out, and the table goes. */
void docker_collect_free(struct docker_engine *e);

/* ---- docker_lifecycle.c ------------------------------------------------------- */

/* What an event changes (the table, log streams), and its lifecycle record. */
void docker_collect_event(struct docker_engine *e, const struct docker_event *ev);

#endif
