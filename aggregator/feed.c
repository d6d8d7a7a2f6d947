/*
 * feed.c - gathering a turn's records and publishing them (see feed.h).
 *
 * During a turn items hold offsets into the growing byte buffer (it may move
 * when it grows); feed_commit copies items and bytes into one allocation of
 * exactly their size and turns the offsets into pointers, so a published
 * batch is a single block its last reader frees, and the buffers here keep
 * their memory for the next turn.
 */
#include "feed.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"

/* What the turn's buffers may keep between turns. */
#define FEED_KEEP_BYTES (1u << 20)

void feed_batch_ref(struct feed_batch *batch)
{
    atomic_fetch_add_explicit(&batch->refs, 1, memory_order_relaxed);
}

void feed_batch_unref(struct feed_batch *batch)
{
    if (batch && atomic_fetch_sub_explicit(&batch->refs, 1, memory_order_acq_rel) == 1)
        free(batch);
}

void feed_init(struct feed *feed, uint64_t first_id)
{
    memset(feed, 0, sizeof *feed);
    feed->bytes = (struct bytebuf)BYTEBUF_INIT;
    feed->next_id = first_id ? first_id : 1;
}

void feed_free(struct feed *feed)
{
    bytebuf_free(&feed->bytes);
    free(feed->items);
    memset(feed, 0, sizeof *feed);
}

void feed_add_consumer(struct feed *feed, struct feed_consumer consumer)
{
    if (feed->consumer_count < FEED_MAX_CONSUMERS)
        feed->consumers[feed->consumer_count++] = consumer;
}

/* Append `s` and its NUL; its offset, smuggled in a pointer until commit. */
static const char *stash(struct bytebuf *bytes, const char *s, size_t len)
{
    size_t offset = bytes->len;

    bytebuf_append(bytes, s, len);
    bytebuf_append(bytes, "", 1);
    return (const char *)(uintptr_t)offset;
}

static const char *stash_string(struct bytebuf *bytes, const char *s)
{
    return stash(bytes, s ? s : "", s ? strlen(s) : 0);
}

uint64_t feed_add(struct feed *feed, const struct record *record, const char *line, size_t len)
{
    struct feed_item *item;

    if (len && line[len - 1] == '\n')
        len--;
    if (feed->count == feed->cap) {
        feed->cap = feed->cap ? feed->cap * 2 : 256;
        feed->items = must_realloc(feed->items, feed->cap * sizeof *feed->items);
    }
    item = &feed->items[feed->count++];
    item->id = feed->next_id++;
    item->time_ns = record->time_ns;
    item->level = record->level;
    item->service = stash_string(&feed->bytes, record->service);
    item->container = stash_string(&feed->bytes, record->container);
    item->source = stash_string(&feed->bytes, record->source);
    item->line = stash(&feed->bytes, line, len);
    item->line_len = len;
    return item->id;
}

void feed_commit(struct feed *feed)
{
    struct feed_batch *batch;
    size_t items_size = feed->count * sizeof *feed->items;
    char *base;

    if (feed->count == 0)
        return;
    /* One block: the header, the items, then the bytes they point into. */
    batch = must_malloc(sizeof *batch + items_size + feed->bytes.len);
    atomic_init(&batch->refs, 1);
    batch->count = feed->count;
    batch->items = (struct feed_item *)(batch + 1);
    batch->bytes = (char *)batch->items + items_size;
    memcpy(batch->items, feed->items, items_size);
    memcpy(batch->bytes, feed->bytes.data, feed->bytes.len);
    base = batch->bytes;
    for (size_t i = 0; i < batch->count; i++) {
        struct feed_item *item = &batch->items[i];
        item->service = base + (uintptr_t)item->service;
        item->container = base + (uintptr_t)item->container;
        item->source = base + (uintptr_t)item->source;
        item->line = base + (uintptr_t)item->line;
    }
    batch->first_id = batch->items[0].id;
    batch->last_id = batch->items[batch->count - 1].id;
    feed->count = 0;
    bytebuf_reset(&feed->bytes, FEED_KEEP_BYTES);
    for (size_t i = 0; i < feed->consumer_count; i++)
        feed->consumers[i].take(feed->consumers[i].ctx, batch);
    feed_batch_unref(batch);
}
