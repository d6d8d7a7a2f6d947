/*
 * docker_containers.h - the containers the Docker Engine told ulogd of:
 * who each one is, and whether ulogd reads its logs from the engine.
 *
 * An entry is filled from whatever the engine said last: an item of the
 * container list, an inspect, an event's attributes. From those come the
 * names records carry (service = the compose service, else the container
 * name; context = container_name, compose_project, image) and the facts
 * the collection decision needs (its Env's LD_PRELOAD, its ulog.collect
 * label, whether a shim has spoken from it). The decision itself is a pure
 * function of the entry, so it is tested apart from any engine.
 *
 * The table is bounded (DOCKER_MAX_CONTAINERS): when it is full, the
 * caller evicts a container that is neither running nor being read.
 * Each entry also carries the slots the engine and the log reader keep per
 * container (a pending inspect, the log stream); this file never touches
 * them beyond setting them to zero.
 */
#ifndef ULOGD_DOCKER_CONTAINERS_H
#define ULOGD_DOCKER_CONTAINERS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "container.h"
#include "docker_events.h"

#define DOCKER_MAX_CONTAINERS 4096

struct docker_engine;
struct docker_request;
struct docker_logs;

struct docker_container {
    char id[DOCKER_ID_SIZE];
    char short_id[CONTAINER_ID_SIZE];
    char *name;      /* without '/'; its short id until the engine names it */
    char *image;     /* NULL: unknown */
    char *project;   /* label com.docker.compose.project; NULL: none */
    char *compose_service; /* label com.docker.compose.service; NULL: none */
    char *service;   /* the compose service, else the name */
    json_t *context; /* docker_context_new() of the above */
    bool tty;        /* Config.Tty: the log body is raw, not multiplexed */
    bool running;
    bool inspected;
    bool named;          /* the engine named it (list, inspect or an event's attributes) */
    bool unknown;        /* the engine answered 404: not one of its containers */
    bool destroyed;      /* removed: forgotten once its log stream has ended */
    bool shim_preloaded; /* Env's LD_PRELOAD names libulog, and ULOG_DISABLE is not 1 */
    int collect_label;   /* label ulog.collect: 1 true, 0 false, -1 absent or unreadable */
    bool shim_seen;      /* a shim's HELLO came from it */
    uint64_t created_ns, started_ns, finished_ns; /* 0: unknown */
    uint64_t touched;    /* the table's clock: the least recent is evicted first */

    /* The engine's slots (docker_collect.c). */
    struct docker_engine *engine;
    struct docker_request *inspect;
    bool needs_inspect;
    uint64_t retry_due;        /* monotonic ns of the next inspect or log stream; 0: none */
    unsigned backoff_ms;
    uint64_t start_event_ns;   /* the latest start event's time; 0: none */
    uint64_t die_event_ns;     /* the latest die event's time; 0: none */
    bool unreadable;           /* its logging driver cannot be read back (HTTP 501) */
    uint64_t last_line_ns;     /* the newest line an ended reader passed on; 0: none */
    uint64_t error_reported_at;
    uint64_t errors_suppressed;
    bool listed;               /* in the latest list */
    /* The log reader's slot (docker_logs.c): NULL while its logs are not read. */
    struct docker_logs *logs;
};

struct docker_table;

struct docker_table *docker_table_new(void);
/* Entries must have their slots released first (docker_table_remove each). */
void docker_table_free(struct docker_table *t);
size_t docker_table_count(const struct docker_table *t);
struct docker_container *docker_table_at(struct docker_table *t, size_t index);
/* By its id, full or the 12-hex short one a shim reports: both are matched on the short id. */
struct docker_container *docker_table_find(struct docker_table *t, const char *id);
/* A new entry for `id` (valid: see docker_id_copy); NULL when the table is full. */
struct docker_container *docker_table_add(struct docker_table *t, const char *id);
/* The entry to evict when full: not running, no inspect, no log stream; NULL: none. */
struct docker_container *docker_table_evictable(struct docker_table *t);
void docker_table_remove(struct docker_table *t, struct docker_container *c);

/* What the engine said about it. Each returns 0, or -1 with `why` (the entry unchanged). */
int docker_container_from_list(struct docker_container *c, const json_t *item, char *why,
                               size_t why_size);
int docker_container_from_inspect(struct docker_container *c, const json_t *inspect, char *why,
                                  size_t why_size);
void docker_container_from_event(struct docker_container *c, const struct docker_event *ev);

/* Why a container's logs are, or are not, read from the engine. */
enum docker_verdict {
    DOCKER_VERDICT_COLLECT,     /* nothing speaks for it otherwise */
    DOCKER_VERDICT_LABEL_TRUE,  /* ulog.collect: "true" */
    DOCKER_VERDICT_OWN,         /* ulogd's own container: its output would loop */
    DOCKER_VERDICT_LABEL_FALSE, /* ulog.collect: "false" */
    DOCKER_VERDICT_NONE,        /* docker.collect: none */
    DOCKER_VERDICT_SHIM_ENV,    /* LD_PRELOAD names the shim */
    DOCKER_VERDICT_SHIM_SEEN,   /* a shim spoke from it */
};

enum docker_verdict docker_container_verdict(const struct docker_container *c, bool own,
                                             enum docker_collect collect);
bool docker_verdict_collects(enum docker_verdict verdict);
const char *docker_verdict_name(enum docker_verdict verdict);

/* ulogd's own container, if it runs in one. */
struct docker_self {
    char id[CONTAINER_ID_SIZE];       /* from the cgroup or mountinfo; "" when unknown */
    char hostname[CONTAINER_ID_SIZE]; /* $HOSTNAME when it is 12 hex digits (docker's default) */
};

/* From /proc/self/cgroup's text, else the /containers/<64hex>/ that mountinfo shows docker
 * bind-mounted /etc/hostname (hosts, resolv.conf) from, else the host name. */
void docker_self_from_texts(struct docker_self *self, const char *cgroup, size_t cgroup_len,
                            const char *mountinfo, size_t mountinfo_len, const char *hostname);
void docker_self_detect(struct docker_self *self);
bool docker_self_is(const struct docker_self *self, const struct docker_container *c);

#endif
