/*
 * docker_lifecycle.c - what the engine's events and the shims' HELLOs
 * change in the Docker collector's table, and the lifecycle records
 * (see docker_engine_private.h).
 *
 * An event is handled from inside libcurl's write callback of the events
 * stream: the table changes at once, the inspects it asks for wait for the
 * next visit, and a container's open log stream is never cut by an event,
 * since the events socket may be read before the log stream has given its
 * last lines (a destroyed container is forgotten when its stream ends).
 */
#include "docker_engine_private.h"

#include <string.h>

#include "record.h"

/* ---- events ----------------------------------------------------------------------- */

static void write_lifecycle(struct docker_engine *e, struct docker_container *c,
                            const struct docker_event *ev)
{
    struct docker_event_record out;

    if (!docker_event_describe(ev, c ? c->name : NULL, &out))
        return;
    json_t *context = c ? json_incref(c->context)
                        : docker_context_new(ev->name ? ev->name : ev->short_id, ev->project,
                                             ev->image);
    const char *service = c ? c->service : ev->service ? ev->service
                                         : ev->name    ? ev->name
                                                       : ev->short_id;
    struct record record = {
        .time_ns = ev->time_ns,
        .level = out.level,
        .service = service,
        .container = ev->short_id,
        .host = e->connections->host,
        .stream = "event",
        .source = "docker",
        .event_type = out.event_type,
        .message = out.message,
        .message_len = out.message_len,
        .context = context,
        .metadata = out.metadata,
    };
    e->connections->sink.write(e->connections->sink.ctx, &record);
    json_decref(context);
    json_decref(out.metadata);
}

void docker_collect_event(struct docker_engine *e, const struct docker_event *ev)
{
    struct docker_container *c = docker_table_find(e->table, ev->id);

    switch (ev->kind) {
    case DOCKER_EVENT_CREATE:
    case DOCKER_EVENT_START:
        if (!c && !(c = docker_add_container(e, ev->id)))
            break;
        c->unknown = false;
        if (ev->kind == DOCKER_EVENT_CREATE) {
            if (!c->created_ns)
                c->created_ns = ev->time_ns;
        } else {
            c->running = true;
            c->start_event_ns = ev->time_ns ? ev->time_ns : record_now_ns();
        }
        docker_want_inspect(e, c, 0); /* its Env, labels and TTY, then its logs */
        break;
    case DOCKER_EVENT_DIE:
        if (c) {
            c->running = false; /* its stream ends by itself once drained */
            c->die_event_ns = ev->time_ns;
        }
        break;
    case DOCKER_EVENT_DESTROY:
        /* The events socket may be read before the log stream's: what the stream
         * still holds is read before the container is forgotten. */
        if (c && c->logs && c->logs->request) {
            c->destroyed = true;
            c->running = false;
            c->needs_inspect = false;
        } else if (c) {
            docker_forget(e, c);
        }
        c = NULL;
        break;
    default:
        break;
    }
    if (c) {
        docker_container_from_event(c, ev);
        if (c->logs)
            docker_logs_rename(c->logs, c);
    }
    write_lifecycle(e, c, ev);
}

/* ---- shim connections ---------------------------------------------------------------- */

static enum docker_answer identify(struct docker_container *c, struct docker_identity *identity)
{
    identity->name = c->name;
    identity->service = c->service;
    identity->project = c->project;
    return DOCKER_ANSWER_KNOWN;
}

enum docker_answer docker_engine_lookup(struct docker_engine *e, const char *short_id,
                                        struct docker_identity *identity)
{
    struct docker_container *c = e ? docker_table_find(e->table, short_id) : NULL;
    return c && c->named && !c->unknown ? identify(c, identity) : DOCKER_ANSWER_NONE;
}

enum docker_answer docker_engine_shim_hello(struct docker_engine *e, const char *short_id,
                                            struct docker_identity *identity)
{
    struct docker_container *c;

    if (!e)
        return DOCKER_ANSWER_NONE;
    if (!(c = docker_table_find(e->table, short_id))) {
        if (e->state != DOCKER_UP || !(c = docker_add_container(e, short_id)))
            return DOCKER_ANSWER_NONE;
        docker_want_inspect(e, c, 0);
    }
    c->shim_seen = true;
    if (c->logs && !docker_verdict_collects(docker_container_verdict(
                       c, docker_self_is(&e->self, c), e->collect))) {
        docker_stop_logs(c);
        selflog_emit(e->selflog, ULOG_INFO, "docker_collection_stopped",
                     json_pack("{s:s, s:s, s:s}", "container", c->short_id, "container_name",
                               c->name, "reason", "shim"),
                     "container %s (%s) speaks through the shim: its logs are no longer read "
                     "from the Docker Engine",
                     c->name, c->short_id);
    }
    if (c->unknown)
        return DOCKER_ANSWER_NONE;
    if (c->named)
        return identify(c, identity);
    if (e->state != DOCKER_UP)
        return DOCKER_ANSWER_NONE;
    if (!c->inspect)
        docker_want_inspect(e, c, 0);
    return DOCKER_ANSWER_ASKED;
}
