/*
 * server.h - the event loop: connections, signals, timers, the orderly stop.
 *
 * One thread, one epoll set, everything non-blocking. Each wake-up reads at
 * most a bounded number of messages per connection (level-triggered epoll
 * brings a busy one back), so one noisy program cannot starve the others.
 * Time-driven work (partial lines that waited long enough, all.log's flush
 * at least every 100 ms) sets the epoll timeout; nothing ticks while idle.
 *
 * Time-driven work also includes stack traces that waited long enough for
 * their next line, rate-limit reports, a configuration reload that a
 * file change scheduled, and the Docker Engine collector's timers (its
 * reconnects and libcurl's own), whose sockets sit behind one descriptor
 * of the loop, and connections held while the engine names their container.
 *
 * SIGTERM and SIGINT stop it without losing anything a shim sent
 * successfully: the listener is shut (connect() now fails) and its queue
 * accepted, each connection is shut for reading (a shim's next send fails
 * with EPIPE, so the shim keeps that data for the next ulogd) and read to
 * its end, and partial lines are flushed. SIGHUP re-opens the log files and
 * re-reads the configuration.
 */
#ifndef ULOGD_SERVER_H
#define ULOGD_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "assembler.h"
#include "connection.h"
#include "list.h"
#include "listener.h"
#include "multiline.h"
#include "outputs.h"
#include "pipeline.h"
#include "procs.h"
#include "docker_engine.h"
#include "ebpf_input.h"
#include "reload.h"
#include "selflog.h"
#include "serve.h"

struct server {
    int epoll_fd;
    int signal_fd;
    struct listener *listener;
    struct connection_context *connection_ctx;
    struct assembler *assembler;
    struct multiline *multiline;
    struct pipeline *pipeline;
    struct outputs *outputs;
    struct reload *reload;
    struct selflog *selflog;
    struct procs *procs; /* exit records waiting for lines, processes to look at again */
    struct ebpf_input *ebpf; /* NULL: no eBPF */
    struct docker_engine *docker; /* NULL: no Docker Engine collector */
    struct serve *serve;          /* the store, the HTTP API, the live stream */
    uint64_t start_time_ns;
    struct list_node connections;
    uint64_t flush_due;        /* monotonic ns; 0: nothing waits to be written */
    uint64_t shed_reported_at; /* when running out of descriptors was last reported */
    int stop_signal;
};

/*
 * Block SIGTERM, SIGINT and SIGHUP for the whole process and ignore SIGPIPE;
 * call it first thing, so a signal during start-up waits for the loop.
 */
int server_block_signals(void);

/* The stages the loop drives, all owned by the caller. */
struct server_parts {
    struct listener *listener;
    struct connection_context *connections;
    struct assembler *assembler;
    struct multiline *multiline;
    struct pipeline *pipeline;
    struct outputs *outputs;
    struct reload *reload;
    struct selflog *selflog;
    struct procs *procs; /* may be NULL */
    struct ebpf_input *ebpf; /* NULL: no eBPF */
    struct serve *serve;
    struct docker_engine *docker; /* NULL: no Docker Engine collector */
};

int server_init(struct server *s, const struct server_parts *parts, char *err, size_t err_size);

/* Serve until SIGTERM or SIGINT, then drain every connection. 0, or -1 if epoll failed. */
int server_run(struct server *s);

void server_free(struct server *s);

#endif
