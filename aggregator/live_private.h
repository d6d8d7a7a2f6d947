/*
 * live_private.h - the live hub's state, shared by live.c (the hub: feed,
 * ring, clients' registry, metrics) and live_client.c (one client's queue
 * and frames). Nobody else includes it.
 */
#ifndef ULOGD_LIVE_PRIVATE_H
#define ULOGD_LIVE_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "list.h"
#include "live.h"
#include "live_client.h"
#include "live_filter.h"
#include "live_metrics.h"
#include "live_refs.h"

/* Records taken and not yet pumped are bounded (the oldest batches go
 * first, counted as missed): the event loop never waits, and memory stays
 * bounded when the HTTP thread falls behind or does not run at all. While
 * nobody is there to wake, only what the ring would keep is kept; else
 * that, a client queue's worth and this much slack. */
#define LIVE_PENDING_SLACK_RECORDS 65536u

struct live {
    /* Shared with the event loop's thread, under `lock`. */
    pthread_mutex_t lock;
    struct feed_batch **pending;
    size_t pending_count, pending_cap;
    uint64_t pending_records;
    uint64_t pending_dropped;       /* records of batches dropped since the last pump */
    void (*wake)(void *ctx);
    void *wake_ctx;

    /* The HTTP thread's own. */
    struct feed_batch **pumping;    /* pending, swapped out for the pump */
    size_t pumping_cap;
    unsigned buffer_size;
    struct live_refs ring;          /* the last buffer_size records */
    struct list_node clients;
    unsigned client_count;
    uint64_t next_client_id;
    uint64_t missed_total;
    struct live_metrics *metrics;
};

/* A reply, or the start of a backlog, waiting in a client's outbox. */
struct live_reply {
    struct list_node node;
    char *text;                     /* NULL: a backlog from the ring */
    size_t len;
    uint64_t backlog_first, backlog_end; /* its ring sequence numbers */
};

struct live_client {
    struct list_node node;          /* in live->clients */
    uint64_t id;
    void (*wake)(void *ctx);
    void *wake_ctx;
    struct live_filter filter;
    struct live_refs queue;
    size_t queue_bytes;
    uint64_t missed;                /* not yet reported */
    struct list_node replies;       /* struct live_reply, oldest first */
    size_t reply_bytes;
    struct {
        bool active, any;           /* begun; has a record already (commas) */
        uint64_t next, end;         /* ring sequence numbers still to read */
    } backlog;
    struct live_reply *queued_backlog; /* a backlog among the replies, not begun */
    bool closing;
    unsigned jobs;
};

/* live_client.c, for the pump: queue a record the filter accepted. */
void live_client_push(struct live *live, struct live_client *client, struct feed_batch *batch,
                      const struct feed_item *item);
/* Free a client's state (the hub unlinks it). */
void live_client_free(struct live_client *client);
/* Queue the current ring as a backlog (live.c sends one on connect). */
void live_client_queue_backlog(struct live *live, struct live_client *client);
void live_client_queue_text(struct live_client *client, char *text, size_t len);
/* Is the ring's record `seq` still to be sent in this client's backlog? */
bool live_client_backlog_needs(const struct live_client *client, uint64_t seq);

#endif
