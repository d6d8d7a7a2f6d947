/*
 * live_refs.c - a bounded queue of references to records in feed batches
 * (see live_refs.h).
 */
#include "live_refs.h"

#include <stdlib.h>

#include "alloc.h"

/* Small to begin with: most clients' queues stay nearly empty. */
#define LIVE_REFS_FIRST_CAP 64u

void live_refs_init(struct live_refs *refs, size_t max)
{
    *refs = (struct live_refs){.max = max};
}

void live_refs_clear(struct live_refs *refs)
{
    while (refs->count > 0)
        live_refs_pop(refs);
}

void live_refs_free(struct live_refs *refs)
{
    live_refs_clear(refs);
    free(refs->slots);
    refs->slots = NULL;
    refs->cap = 0;
}

/* Double the slots, moving the elements to the front (the wrap undone). */
static void grow(struct live_refs *refs)
{
    size_t cap = refs->cap ? refs->cap * 2 : LIVE_REFS_FIRST_CAP;
    if (cap > refs->max)
        cap = refs->max;
    struct live_ref *slots = must_malloc(cap * sizeof *slots);
    for (size_t i = 0; i < refs->count; i++)
        slots[i] = *live_refs_at(refs, i);
    free(refs->slots);
    refs->slots = slots;
    refs->cap = cap;
    refs->head = 0;
}

void live_refs_push(struct live_refs *refs, struct feed_batch *batch, const struct feed_item *item)
{
    if (refs->max == 0)
        return;
    if (refs->count == refs->max)
        live_refs_pop(refs);
    else if (refs->count == refs->cap)
        grow(refs);
    size_t slot = refs->head + refs->count;
    if (slot >= refs->cap)
        slot -= refs->cap;
    feed_batch_ref(batch);
    refs->slots[slot] = (struct live_ref){batch, item};
    refs->count++;
}

void live_refs_pop(struct live_refs *refs)
{
    struct live_ref *oldest = &refs->slots[refs->head];
    feed_batch_unref(oldest->batch);
    *oldest = (struct live_ref){NULL, NULL};
    refs->head = refs->head + 1 == refs->cap ? 0 : refs->head + 1;
    refs->count--;
    refs->popped++;
}
