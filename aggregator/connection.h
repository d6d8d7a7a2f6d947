/*
 * connection.h - one shim's connection: receiving, checking, dispatching.
 *
 * Each message is read with the sender's credentials, so the pid ulogd
 * trusts comes from the kernel, not from the message. The first message
 * must be HELLO, which says who is talking (program, service, host, static
 * context); DATA goes to the line assembler, DROPPED becomes a warning
 * record. Anything malformed is counted, reported in a ulogd record, and
 * ends that one connection; ulogd and every other connection carry on.
 * With the Docker Engine collector, a HELLO from a container is named
 * after it (docker_shim.h), which may hold the connection's messages for a
 * moment until the engine answers.
 */
#ifndef ULOGD_CONNECTION_H
#define ULOGD_CONNECTION_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "assembler.h"
#include "bytebuf.h"
#include "container.h"
#include "list.h"
#include "multiline.h"
#include "pipeline.h"
#include "procs.h"
#include "record.h"
#include "selflog.h"

struct ebpf_input;
struct docker_engine;

struct connection_stats {
    uint64_t accepted;
    uint64_t closed;
    uint64_t failed; /* closed for a protocol fault */
    uint64_t messages;
    uint64_t lines;
    uint64_t drop_reports;
    uint64_t dropped_messages; /* what those reports counted */
};

/* What every connection shares. */
struct connection_context {
    struct assembler *assembler;
    struct multiline *multiline;
    struct pipeline *pipeline;
    struct record_sink sink;
    struct selflog *selflog;
    const char *host;        /* ulogd's host name, for a HELLO that names none */
    struct procs *procs;     /* crash context and exit records; NULL: none kept */
    struct ebpf_input *ebpf; /* puts each greeted shim's process in scope; NULL: no eBPF */
    struct docker_engine *docker; /* names containers' connections; NULL: no collector */
    struct list_node held;   /* connections waiting for the engine, oldest first */
    unsigned char *buffer;   /* one receive buffer: messages are handled at once */
    struct connection_stats stats;
};

struct connection {
    struct list_node link;
    struct connection_context *ctx;
    int fd;
    bool greeted;
    uint32_t pid;        /* from HELLO: as the process sees itself */
    uint32_t kernel_pid; /* from the kernel: as ulogd sees it (0: unknown) */
    char *program;
    char *service;
    char *host;
    char container[CONTAINER_ID_SIZE]; /* "" when not in a container */
    json_t *context;                   /* ULOG_CONTEXT as an object, or NULL */
    uint64_t messages;
    struct line_set lines;
    struct multiline_set blocks;
    const char *source;                /* "preload"; "ebpf", "docker" for pseudo-connections */
    bool service_explicit;             /* the shim sent ULOG_SERVICE */
    bool held;                         /* waiting for the engine (docker_shim.c) */
    uint64_t held_until;               /* monotonic ns */
    struct bytebuf held_messages;      /* what arrived meanwhile, as it arrived */
    struct list_node held_link;        /* on ctx->held */
};

enum connection_state {
    CONNECTION_IDLE,   /* nothing more to read for now */
    CONNECTION_BUSY,   /* the budget ran out with messages still waiting */
    CONNECTION_EOF,    /* the peer has gone (or, when draining, the queue is empty) */
    CONNECTION_FAILED, /* a protocol fault, already reported */
};

void connection_context_init(struct connection_context *ctx, struct assembler *assembler,
                             struct multiline *multiline, struct pipeline *pipeline,
                             struct record_sink sink, struct selflog *selflog, const char *host);
void connection_context_free(struct connection_context *ctx);
/* Tell the process registry about every process, line and close (NULL: don't). */
void connection_context_set_procs(struct connection_context *ctx, struct procs *procs);

/* The assembler's emit function: ctx is the connection_context, owner the connection. */
void connection_line_assembled(void *ctx, void *owner, const struct line *line);
/* The multiline stage's emit function: the same ctx and owner. */
void connection_emit_line(void *ctx, void *owner, const struct line *line,
                          const struct multiline_out *block);

struct connection *connection_new(struct connection_context *ctx, int fd);

/* One received message, as connection_read handles it; false after a fault (reported). */
bool connection_handle_message(struct connection *c, const unsigned char *bytes, size_t size,
                               uint32_t sender);

/* Read up to `budget` messages (0: until the queue is empty). */
enum connection_state connection_read(struct connection *c, unsigned budget);

/* Flush its partial lines, close it and free it. */
void connection_destroy(struct connection *c);

#endif
