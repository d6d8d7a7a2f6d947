/*
 * live_client.h - a live WebSocket client as the live hub sees it: its
 * filter, its bounded queue of records, the replies waiting for it, and the
 * frames all of that becomes. http_ws.c (the lws protocol) and analysis.c
 * use this; nothing here knows about sockets: a client is woken through the
 * callback it registered, and its frames are written by whoever calls
 * live_client_next_frame, one frame per call. Everything runs on the HTTP
 * thread.
 *
 * What a client is sent, in this order of precedence:
 *   - the rest of a backlog already begun (one message, sent in fragments);
 *   - replies (control messages: hello, filter, error, pong, analysis), in
 *     the order they were queued; a backlog queued among them starts in turn.
 *     They are not bounded by the record queue's limits;
 *   - {"type":"missed","count":N} for the records it did not get: its queue
 *     overflowed, or the ring let go of records of its backlog before they
 *     were sent (that gap is inside the backlog; the notice follows it);
 *   - {"type":"records","records":[...]}: at most LIVE_FRAME_RECORDS records
 *     or LIVE_FRAME_BYTES bytes (one record always fits).
 * The queue keeps at most LIVE_QUEUE_RECORDS records or LIVE_QUEUE_BYTES
 * bytes of lines; beyond that the oldest are dropped for this client alone
 * and counted as missed.
 */
#ifndef ULOGD_LIVE_CLIENT_H
#define ULOGD_LIVE_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytebuf.h"
#include "live.h"
#include "live_filter.h"

#define LIVE_QUEUE_RECORDS 4096u
#define LIVE_QUEUE_BYTES (4u << 20)
#define LIVE_FRAME_RECORDS 256u
#define LIVE_FRAME_BYTES (256u << 10)

struct live_client;

/* Register a client; it is sent hello, then the backlog. `wake` is called
 * (HTTP thread) whenever it has something to send. */
struct live_client *live_client_add(struct live *live, void (*wake)(void *ctx), void *ctx);
void live_client_remove(struct live *live, struct live_client *client);

/* Clients are named by id where they may be gone by the time an answer
 * comes (a job's result); find gives NULL for one that has gone. */
uint64_t live_client_id(const struct live_client *client);
struct live_client *live_client_find(struct live *live, uint64_t id);
unsigned live_client_count(const struct live *live);

/* Replace the filter (taking it over): the client is sent
 * {"type":"filter","filter":{...}} and a backlog under the new filter;
 * what was queued under the old one is dropped. */
void live_client_set_filter(struct live *live, struct live_client *client,
                            struct live_filter *filter);

/* Queue a reply (any JSON object, sent compact). Steals the reference. */
void live_client_reply(struct live_client *client, json_t *message);
/* {"type":"error","error":"<reason>"}, with "id" when `id` is not NULL. */
void live_client_reply_error(struct live_client *client, const char *reason, const json_t *id);
/* Bytes of replies waiting: a client that asks without reading is cut off. */
size_t live_client_reply_bytes(const struct live_client *client);

/* Send what is queued, then nothing more (the next frame is LIVE_CLOSE):
 * for a client that broke the protocol. */
void live_client_close_after_replies(struct live_client *client);

/* Analyses the client is waiting for (analysis.c bounds them). */
unsigned live_client_jobs(const struct live_client *client);
void live_client_job_started(struct live_client *client);
void live_client_job_finished(struct live_client *client);

enum live_frame {
    LIVE_NOTHING,       /* nothing to send */
    LIVE_NOT_YET,       /* nothing this time, but call again (a long backlog being read) */
    LIVE_CLOSE,         /* everything sent: close the connection */
    LIVE_WHOLE,         /* a whole text message */
    LIVE_FIRST,         /* the first fragment of a text message */
    LIVE_MIDDLE,        /* a continuation, more to come */
    LIVE_LAST,          /* the final continuation */
};

/* The next frame's payload, appended to `out` (left as it was for the first
 * three kinds). */
enum live_frame live_client_next_frame(struct live *live, struct live_client *client,
                                       struct bytebuf *out);
/* Would next_frame give anything but LIVE_NOTHING? */
bool live_client_has_more(const struct live_client *client);

#endif
