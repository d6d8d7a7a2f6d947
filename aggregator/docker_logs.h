/*
 * docker_logs.h - one container's output, read from the Docker Engine,
 * into ulogd's lines.
 *
 * Like a process whose writes eBPF captures (ebpf_input.c), a container
 * whose logs come from the engine gets a pseudo-connection: a struct
 * connection nobody connected, with the identity a shim's HELLO would have
 * given (source "docker", service, 12-hex container, ulogd's host, the
 * container's context; no pid), so its lines go through the assembler,
 * multiline (a traceback is one record) and the pipeline exactly as the
 * shim's do. Each line keeps the engine's timestamp.
 *
 * This file owns where the stream resumes: the first stream starts at a
 * floor (ulogd's start, or the container's start), and every later one
 * (after the engine came back, or a malformed stream was dropped) at the
 * last line passed on, whose time and everything before it are skipped,
 * so nothing is written twice and nothing between is lost. Lines are
 * checked against the floor too, in case an engine ignores `since`.
 */
#ifndef ULOGD_DOCKER_LOGS_H
#define ULOGD_DOCKER_LOGS_H

#include <stdbool.h>
#include <stdint.h>

#include "connection.h"
#include "docker_containers.h"
#include "docker_stream.h"

struct docker_log_counts {
    uint64_t lines;   /* lines passed on */
    uint64_t skipped; /* lines at or before a resume point */
};

struct docker_logs {
    struct connection_context *connections;
    struct connection *conn;   /* the pseudo-connection */
    struct docker_request *request; /* the open stream; the engine's to start and end */
    struct docker_stream demux;
    struct docker_log_counts *counts; /* shared by every container */
    uint64_t floor_ns;      /* no line before this is written */
    uint64_t skip_until_ns; /* this stream's resume point: lines at or before it are skipped */
    uint64_t last_line_ns;  /* the newest line passed on; 0: none yet */
    bool skipping[2];       /* the current line of stdout, stderr is skipped */
};

/*
 * Its pseudo-connection, named after `c`; lines before `floor_ns` are never
 * written, nor those at or before `last_line_ns` (an earlier reader's last).
 */
struct docker_logs *docker_logs_new(struct connection_context *connections,
                                    const struct docker_container *c, uint64_t floor_ns,
                                    uint64_t last_line_ns, struct docker_log_counts *counts);
/* Its partial lines go out; the stream must have been ended by the caller. */
void docker_logs_free(struct docker_logs *l);

/* The container was renamed: its later lines carry the new names. */
void docker_logs_rename(struct docker_logs *l, const struct docker_container *c);

/* A new stream starts: `multiplexed` unless the container has a TTY. Returns its `since`. */
uint64_t docker_logs_begin(struct docker_logs *l, bool multiplexed);

/* The body's next bytes; false once the stream is malformed (l->demux.error says why). */
bool docker_logs_feed(struct docker_logs *l, const char *bytes, size_t len);

#endif
