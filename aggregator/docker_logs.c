/*
 * docker_logs.c - one container's output from the engine into ulogd's
 * lines (see docker_logs.h).
 *
 * A line is skipped or kept whole: the decision is taken on its first
 * piece, from its timestamp, and remembered per output stream until its
 * newline, since a line may arrive in several pieces.
 */
#include "docker_logs.h"

#include <stdio.h>
#include <stdlib.h>

#include "alloc.h"
#include "assembler.h"

static void on_piece(void *ctx, const struct docker_piece *piece)
{
    struct docker_logs *l = ctx;
    bool *skipping = &l->skipping[piece->stream - 1];

    if (piece->starts) {
        *skipping = piece->time_ns < l->floor_ns ||
                    (l->skip_until_ns && piece->time_ns <= l->skip_until_ns);
        if (!*skipping && piece->time_ns > l->last_line_ns)
            l->last_line_ns = piece->time_ns;
    }
    if (*skipping) {
        l->counts->skipped += piece->ends;
        return;
    }
    struct chunk chunk = {
        .time_ns = piece->time_ns, /* the assembler gives a line its first chunk's time */
        .stream = piece->stream,   /* DOCKER_STREAM_* are ULOG_STREAM_*: 1 and 2 */
        .bytes = piece->bytes,
        .len = piece->len,
    };
    assembler_feed(l->connections->assembler, &l->conn->lines, &chunk);
    l->counts->lines += piece->ends;
}

static void name_connection(struct connection *conn, const struct docker_container *c)
{
    free(conn->program);
    free(conn->service);
    json_decref(conn->context);
    conn->program = must_strdup(c->name);
    conn->service = must_strdup(c->service);
    conn->context = json_deep_copy(c->context);
}

struct docker_logs *docker_logs_new(struct connection_context *connections,
                                    const struct docker_container *c, uint64_t floor_ns,
                                    uint64_t last_line_ns, struct docker_log_counts *counts)
{
    struct docker_logs *l = must_calloc(1, sizeof *l);
    struct connection *conn = connection_new(connections, -1);

    connections->stats.accepted--; /* the count is of shim connections */
    conn->greeted = true;
    conn->source = "docker";
    conn->host = must_strdup(connections->host);
    snprintf(conn->container, sizeof conn->container, "%s", c->short_id);
    name_connection(conn, c);
    l->connections = connections;
    l->conn = conn;
    l->counts = counts;
    l->floor_ns = floor_ns;
    l->last_line_ns = last_line_ns;
    return l;
}

void docker_logs_free(struct docker_logs *l)
{
    if (!l)
        return;
    connection_destroy(l->conn); /* flushes its partial lines and blocks */
    free(l);
}

void docker_logs_rename(struct docker_logs *l, const struct docker_container *c)
{
    name_connection(l->conn, c);
}

uint64_t docker_logs_begin(struct docker_logs *l, bool multiplexed)
{
    docker_stream_init(&l->demux, multiplexed, on_piece, l);
    l->skipping[0] = l->skipping[1] = false;
    l->skip_until_ns = l->last_line_ns;
    return l->last_line_ns > l->floor_ns ? l->last_line_ns : l->floor_ns;
}

bool docker_logs_feed(struct docker_logs *l, const char *bytes, size_t len)
{
    return docker_stream_feed(&l->demux, (const unsigned char *)bytes, len);
}
