/*
 * live.c - the live hub: takes the feed's batches on the event loop's
 * thread (a reference and a wake-up, nothing more), and on the HTTP thread
 * moves their records into the ring of the last LOG_BUFFER_SIZE records,
 * into every client whose filter wants them, and into the metrics. Also the
 * registry of clients. One client's queue and frames: live_client.c.
 */
#include "live.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "live_private.h"

#ifndef ULOG_VERSION
#define ULOG_VERSION "unknown"
#endif

struct live *live_new(unsigned buffer_size)
{
    struct live *live = must_calloc(1, sizeof *live);
    pthread_mutex_init(&live->lock, NULL);
    live->buffer_size = buffer_size;
    live_refs_init(&live->ring, buffer_size);
    list_init(&live->clients);
    live->next_client_id = 1;
    live->metrics = live_metrics_new();
    return live;
}

void live_free(struct live *live)
{
    if (!live)
        return;
    while (!list_empty(&live->clients))
        live_client_remove(live, LIST_ENTRY(live->clients.next, struct live_client, node));
    for (size_t i = 0; i < live->pending_count; i++)
        feed_batch_unref(live->pending[i]);
    free(live->pending);
    free(live->pumping);
    live_refs_free(&live->ring);
    live_metrics_free(live->metrics);
    pthread_mutex_destroy(&live->lock);
    free(live);
}

void live_set_wake(struct live *live, void (*wake)(void *ctx), void *ctx)
{
    pthread_mutex_lock(&live->lock);
    live->wake = wake;
    live->wake_ctx = ctx;
    /* Batches taken before there was anyone to wake would wait for the next. */
    bool waiting = live->pending_count > 0;
    pthread_mutex_unlock(&live->lock);
    if (waiting && wake)
        wake(ctx);
}

void live_take(void *ctx, struct feed_batch *batch)
{
    struct live *live = ctx;

    feed_batch_ref(batch);
    pthread_mutex_lock(&live->lock);
    /* One wake-up until the pump has taken what waits: the pump takes all. */
    bool was_empty = live->pending_count == 0;
    uint64_t limit = live->buffer_size;
    if (live->wake)
        limit += LIVE_QUEUE_RECORDS + LIVE_PENDING_SLACK_RECORDS;
    while (live->pending_count > 0 && live->pending_records + batch->count > limit) {
        struct feed_batch *oldest = live->pending[0];
        memmove(live->pending, live->pending + 1, (live->pending_count - 1) * sizeof *live->pending);
        live->pending_count--;
        live->pending_records -= oldest->count;
        live->pending_dropped += oldest->count;
        feed_batch_unref(oldest);
    }
    if (live->pending_count == live->pending_cap) {
        live->pending_cap = live->pending_cap ? live->pending_cap * 2 : 16;
        live->pending = must_realloc(live->pending, live->pending_cap * sizeof *live->pending);
    }
    live->pending[live->pending_count++] = batch;
    live->pending_records += batch->count;
    void (*wake)(void *) = was_empty ? live->wake : NULL;
    void *wake_ctx = live->wake_ctx;
    pthread_mutex_unlock(&live->lock);

    if (wake)
        wake(wake_ctx);
}

/* Every client gets the records its filter wants. */
static void deliver(struct live *live, struct feed_batch *batch, const struct feed_item *item)
{
    struct live_candidate candidate;
    live_candidate_init(&candidate, item);
    struct list_node *node;
    for (node = live->clients.next; node != &live->clients; node = node->next) {
        struct live_client *client = LIST_ENTRY(node, struct live_client, node);
        if (!client->closing && live_filter_match(&client->filter, &candidate))
            live_client_push(live, client, batch, item);
    }
    live_candidate_done(&candidate);
}

/* The ring is about to let its oldest record go: a client whose backlog
 * has not been sent that far and wanted it will not get it, and is told. */
static void account_eviction(struct live *live)
{
    const struct live_ref *oldest = live_refs_oldest(&live->ring);
    uint64_t seq = live_refs_first_seq(&live->ring);
    struct live_candidate candidate;
    live_candidate_init(&candidate, oldest->item);
    struct list_node *node;
    for (node = live->clients.next; node != &live->clients; node = node->next) {
        struct live_client *client = LIST_ENTRY(node, struct live_client, node);
        if (live_client_backlog_needs(client, seq) && live_filter_match(&client->filter, &candidate)) {
            client->missed++;
            live->missed_total++;
        }
    }
    live_candidate_done(&candidate);
}

void live_pump(struct live *live)
{
    /* Swap the arrays: the event loop goes on filling the other one. */
    pthread_mutex_lock(&live->lock);
    struct feed_batch **batches = live->pending;
    size_t cap = live->pending_cap, count = live->pending_count;
    uint64_t dropped = live->pending_dropped;
    live->pending = live->pumping;
    live->pending_cap = live->pumping_cap;
    live->pending_count = 0;
    live->pending_records = 0;
    live->pending_dropped = 0;
    live->pumping = batches;
    live->pumping_cap = cap;
    pthread_mutex_unlock(&live->lock);

    struct list_node *node;
    if (dropped > 0) {
        for (node = live->clients.next; node != &live->clients; node = node->next) {
            struct live_client *client = LIST_ENTRY(node, struct live_client, node);
            if (!client->closing) {
                client->missed += dropped;
                live->missed_total += dropped;
            }
        }
    }

    for (size_t b = 0; b < count; b++) {
        struct feed_batch *batch = batches[b];
        for (size_t i = 0; i < batch->count; i++) {
            const struct feed_item *item = &batch->items[i];
            live_metrics_count(live->metrics, item);
            if (live->ring.max > 0 && live->ring.count == live->ring.max)
                account_eviction(live);
            live_refs_push(&live->ring, batch, item);
            deliver(live, batch, item);
        }
        feed_batch_unref(batch);
    }

    if (count == 0 && dropped == 0)
        return;
    for (node = live->clients.next; node != &live->clients; node = node->next) {
        struct live_client *client = LIST_ENTRY(node, struct live_client, node);
        if (live_client_has_more(client) && client->wake)
            client->wake(client->wake_ctx);
    }
}

void live_write_metrics(struct live *live, FILE *out)
{
    live_metrics_write(live->metrics, out);
    fprintf(out,
            "# HELP ulog_ws_clients WebSocket clients of /ws connected now.\n"
            "# TYPE ulog_ws_clients gauge\n"
            "ulog_ws_clients %u\n"
            "# HELP ulog_ws_missed_records_total Records WebSocket clients did not get because"
            " they read too slowly (a full queue, or a backlog the ring overtook).\n"
            "# TYPE ulog_ws_missed_records_total counter\n"
            "ulog_ws_missed_records_total %llu\n",
            live->client_count, (unsigned long long)live->missed_total);
}

/* --- the clients' registry --------------------------------------------- */

struct live_client *live_client_add(struct live *live, void (*wake)(void *ctx), void *ctx)
{
    struct live_client *client = must_calloc(1, sizeof *client);
    client->id = live->next_client_id++;
    client->wake = wake;
    client->wake_ctx = ctx;
    live_filter_init(&client->filter);
    live_refs_init(&client->queue, LIVE_QUEUE_RECORDS);
    list_init(&client->replies);
    list_add_tail(&live->clients, &client->node);
    live->client_count++;

    json_t *hello = json_pack("{s:s, s:s, s:I, s:{}}", "type", "hello", "version", ULOG_VERSION,
                              "buffer_size", (json_int_t)live->buffer_size, "filter");
    live_client_reply(client, hello);
    live_client_queue_backlog(live, client);
    return client;
}

void live_client_remove(struct live *live, struct live_client *client)
{
    if (!client)
        return;
    list_remove(&client->node);
    live->client_count--;
    live_client_free(client);
}

uint64_t live_client_id(const struct live_client *client)
{
    return client->id;
}

struct live_client *live_client_find(struct live *live, uint64_t id)
{
    struct list_node *node;
    for (node = live->clients.next; node != &live->clients; node = node->next) {
        struct live_client *client = LIST_ENTRY(node, struct live_client, node);
        if (client->id == id)
            return client;
    }
    return NULL;
}

unsigned live_client_count(const struct live *live)
{
    return live->client_count;
}
