/*
 * docker_shim.h - what the Docker Engine adds to a shim's connection.
 *
 * A shim inside a container knows its container id but not the names
 * people use: the compose service and the container name. When the engine
 * knows the container, the connection's service becomes the compose
 * service (else the container name) unless the program set ULOG_SERVICE
 * itself, and its context gains container_name and compose_project (the
 * shim's own ULOG_CONTEXT keys win).
 *
 * When a HELLO comes from a container the engine has not told of yet and
 * the engine is connected, the engine is asked at once and the
 * connection's messages are held, undecoded, until it answers: so even the
 * first line carries the right service. The hold is bounded: after
 * DOCKER_SHIM_HOLD_NS or DOCKER_SHIM_HOLD_BYTES the messages go on as they
 * are. A held connection is released (its messages handled in order)
 * before it closes, so nothing is lost.
 */
#ifndef ULOGD_DOCKER_SHIM_H
#define ULOGD_DOCKER_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "connection.h"

#define DOCKER_SHIM_HOLD_NS 2000000000ull
#define DOCKER_SHIM_HOLD_BYTES (4u << 20)

/* Right after HELLO: name the connection from the engine, or hold it. */
void docker_shim_greet(struct connection *c, bool service_explicit);

/* A held connection's message (already checked): kept (true), or the hold is full and
 * has just been released, so the caller handles this one now (false). */
bool docker_shim_keep(struct connection *c, const unsigned char *bytes, size_t size,
                      uint32_t sender);

/* End the hold: name the connection from what the engine knows now, handle its messages. */
void docker_shim_release(struct connection *c);

/* The engine answered about `short_id` (NULL: it will answer nothing more): release those. */
void docker_shim_answered(struct connection_context *ctx, const char *short_id);

/* Release the holds that waited long enough; returns the next deadline (UINT64_MAX: none). */
uint64_t docker_shim_expire(struct connection_context *ctx, uint64_t now_mono_ns);

#endif
