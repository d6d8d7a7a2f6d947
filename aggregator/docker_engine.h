/*
 * docker_engine.h - the Docker Engine collector: container logs, lifecycle
 * events and container names, read from the engine's API.
 *
 * On (re)connect it pings the engine, opens the events stream (resuming
 * after the last event seen), lists the running containers, inspects each,
 * and opens a log stream for every container whose output nothing else
 * brings (docker_containers.h decides; docker_logs.h reads). Events become
 * lifecycle records (docker_events.h) and keep the table current. When the
 * engine goes away, one WARNING docker_disconnected, retries with backoff
 * (0.5 s doubling to 10 s), and one INFO docker_connected when it is back;
 * malformed input costs one (rate-limited) WARNING docker_error and the
 * stream it came on, which is reopened after a backoff.
 *
 * Shim connections ask it who their container is (docker_shim.h); a HELLO
 * from a container whose logs it reads stops that collection, since the
 * shim now speaks for it. Everything runs on ulogd's event loop: the
 * engine's sockets sit behind one descriptor (docker_engine_fd), its timers
 * are a deadline of the loop's housekeeping. Every function takes NULL for
 * "no collector", so callers need not ask.
 */
#ifndef ULOGD_DOCKER_ENGINE_H
#define ULOGD_DOCKER_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "connection.h"

struct docker_engine;

/*
 * The mode decides (config->docker.mode): off starts nothing; auto starts
 * the collector, which connects whenever the socket answers (a DOCKER_HOST
 * that is not unix:// turns it off with one WARNING); on refuses (-1 with
 * `err`, and ulogd does not start) when the socket does not answer now.
 * 0 otherwise, with *out NULL when the collector is off.
 */
int docker_engine_start(struct docker_engine **out, const struct ulogd_config *config,
                        struct connection_context *connections, char *err, size_t err_size);

/* Readable when the engine's sockets have something (for epoll); -1 for NULL. */
int docker_engine_fd(const struct docker_engine *e);
/* It was readable. */
void docker_engine_ready(struct docker_engine *e);
/* Timers: reconnects, retries, libcurl's own; returns the next deadline (monotonic ns). */
uint64_t docker_engine_housekeeping(struct docker_engine *e, uint64_t now_mono_ns);

/* What the engine says a container is called; strings live until its next call. */
struct docker_identity {
    const char *name;    /* the container name, without '/' */
    const char *service; /* the compose service, else the name */
    const char *project; /* NULL: not a compose container */
};

enum docker_answer {
    DOCKER_ANSWER_NONE,  /* not known, and not being asked (no engine, or not its container) */
    DOCKER_ANSWER_KNOWN, /* *identity is filled */
    DOCKER_ANSWER_ASKED, /* an inspect is under way: docker_shim_answered() follows */
};

/*
 * A shim's HELLO came from container `short_id` (12 hex): stop reading its
 * logs from the engine if that was done (INFO docker_collection_stopped),
 * and say who it is, asking the engine at once when it is connected and
 * does not know yet.
 */
enum docker_answer docker_engine_shim_hello(struct docker_engine *e, const char *short_id,
                                            struct docker_identity *identity);
/* Who `short_id` is, as known now, without asking anything. */
enum docker_answer docker_engine_lookup(struct docker_engine *e, const char *short_id,
                                        struct docker_identity *identity);

/* Lines read from the engine, and events received, since the start. */
void docker_engine_counts(const struct docker_engine *e, uint64_t *lines, uint64_t *events);

/* Read what is ready, flush every container's partial lines, disconnect. */
void docker_engine_close(struct docker_engine *e);

#endif
