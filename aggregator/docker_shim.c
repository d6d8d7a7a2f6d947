/*
 * docker_shim.c - what the Docker Engine adds to a shim's connection (see
 * docker_shim.h).
 *
 * Held messages are kept as they arrived (size, sender, bytes) in one
 * buffer per connection and handed to connection_handle_message() in
 * order when the hold ends, so the held path and the direct one are the
 * same code. The held connections wait on one list in arrival order,
 * which is also the order of their deadlines.
 */
#include "docker_shim.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "assembler.h"
#include "docker_engine.h"

struct kept_header {
    uint32_t size;
    uint32_t sender;
};

static void apply(struct connection *c, const struct docker_identity *id)
{
    if (!c->service_explicit && id->service && id->service[0]) {
        free(c->service);
        c->service = must_strdup(id->service);
    }
    if (!c->context)
        c->context = json_object();
    /* The shim's own ULOG_CONTEXT keys win. */
    if (id->name && !json_object_get(c->context, "container_name"))
        json_object_set_new(c->context, "container_name", json_string(id->name));
    if (id->project && !json_object_get(c->context, "compose_project"))
        json_object_set_new(c->context, "compose_project", json_string(id->project));
    /* Its exit record goes by the same name as its lines (a no-op before HELLO's
     * procs_connected, which then takes these). */
    procs_renamed(c->ctx->procs, c->kernel_pid, c->service, c->context);
}

void docker_shim_greet(struct connection *c, bool service_explicit)
{
    struct connection_context *ctx = c->ctx;
    struct docker_identity id;

    c->service_explicit = service_explicit;
    if (!ctx->docker || !c->container[0])
        return;
    switch (docker_engine_shim_hello(ctx->docker, c->container, &id)) {
    case DOCKER_ANSWER_KNOWN:
        apply(c, &id);
        break;
    case DOCKER_ANSWER_ASKED:
        c->held = true;
        c->held_until = assembler_monotonic_now() + DOCKER_SHIM_HOLD_NS;
        list_add_tail(&ctx->held, &c->held_link);
        break;
    case DOCKER_ANSWER_NONE:
        break;
    }
}

bool docker_shim_keep(struct connection *c, const unsigned char *bytes, size_t size,
                      uint32_t sender)
{
    struct kept_header h = {.size = (uint32_t)size, .sender = sender};

    if (c->held_messages.len + sizeof h + size > DOCKER_SHIM_HOLD_BYTES) {
        docker_shim_release(c);
        return false;
    }
    bytebuf_append(&c->held_messages, &h, sizeof h);
    bytebuf_append(&c->held_messages, bytes, size);
    return true;
}

void docker_shim_release(struct connection *c)
{
    struct docker_identity id;
    struct bytebuf kept = c->held_messages;

    if (!c->held)
        return;
    c->held = false;
    list_remove(&c->held_link);
    c->held_messages = (struct bytebuf)BYTEBUF_INIT;
    if (docker_engine_lookup(c->ctx->docker, c->container, &id) == DOCKER_ANSWER_KNOWN)
        apply(c, &id);
    for (size_t at = 0; at + sizeof(struct kept_header) <= kept.len;) {
        struct kept_header h;
        memcpy(&h, kept.data + at, sizeof h);
        at += sizeof h;
        /* Checked when it arrived: handling it cannot fail. */
        connection_handle_message(c, (const unsigned char *)kept.data + at, h.size, h.sender);
        at += h.size;
    }
    bytebuf_free(&kept);
}

void docker_shim_answered(struct connection_context *ctx, const char *short_id)
{
    struct list_node *node = ctx->held.next;

    while (node != &ctx->held) {
        struct connection *c = LIST_ENTRY(node, struct connection, held_link);
        node = node->next;
        if (short_id && strcmp(c->container, short_id) != 0)
            continue;
        docker_shim_release(c);
        node = ctx->held.next; /* releasing handles messages: start again from the head */
    }
}

uint64_t docker_shim_expire(struct connection_context *ctx, uint64_t now)
{
    while (!list_empty(&ctx->held)) {
        struct connection *c = LIST_ENTRY(ctx->held.next, struct connection, held_link);
        if (c->held_until > now)
            return c->held_until;
        docker_shim_release(c);
    }
    return UINT64_MAX;
}
