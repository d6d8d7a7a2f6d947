/*
 * live_refs.h - a bounded first-in first-out queue of references to records
 * inside published feed batches: the live ring (the last LOG_BUFFER_SIZE
 * records) and each WebSocket client's queue are both one of these.
 *
 * A batch is immutable and reference-counted, so a queued record is a
 * pointer into its batch plus one reference to the batch, never a copy.
 * Every element ever pushed has a sequence number (how many were pushed
 * before it); a reader of the ring keeps its place as one, and finds out
 * from it whether what it wanted has already gone. Not lws_ring: that one
 * has tails but no way to walk or index what it holds, which the backlog
 * (filtered, newest records only) needs.
 */
#ifndef ULOGD_LIVE_REFS_H
#define ULOGD_LIVE_REFS_H

#include <stddef.h>
#include <stdint.h>

#include "feed.h"

struct live_ref {
    struct feed_batch *batch;
    const struct feed_item *item;
};

struct live_refs {
    struct live_ref *slots;
    size_t cap;       /* slots allocated; grows by doubling up to max */
    size_t max;       /* never holds more than this (0: holds nothing) */
    size_t head;      /* slot of the oldest */
    size_t count;
    uint64_t popped;  /* how many have left from the front: the oldest's sequence number */
};

void live_refs_init(struct live_refs *refs, size_t max);
/* Drops every reference it still holds. */
void live_refs_free(struct live_refs *refs);
void live_refs_clear(struct live_refs *refs);

/* Append, taking a reference of its own to `batch`; when full, the oldest
 * is dropped first. Nothing happens when max is 0. */
void live_refs_push(struct live_refs *refs, struct feed_batch *batch, const struct feed_item *item);
/* Drop the oldest (there must be one). */
void live_refs_pop(struct live_refs *refs);

/* The i-th oldest, i < count. */
static inline const struct live_ref *live_refs_at(const struct live_refs *refs, size_t i)
{
    size_t slot = refs->head + i;
    if (slot >= refs->cap)
        slot -= refs->cap;
    return &refs->slots[slot];
}

static inline const struct live_ref *live_refs_oldest(const struct live_refs *refs)
{
    return live_refs_at(refs, 0);
}

/* Sequence numbers: [first, end) are held. */
static inline uint64_t live_refs_first_seq(const struct live_refs *refs)
{
    return refs->popped;
}

static inline uint64_t live_refs_end_seq(const struct live_refs *refs)
{
    return refs->popped + refs->count;
}

/* The element with sequence number `seq`, which must be held. */
static inline const struct live_ref *live_refs_by_seq(const struct live_refs *refs, uint64_t seq)
{
    return live_refs_at(refs, (size_t)(seq - refs->popped));
}

#endif
