/*
 * bytebuf.c - a growable byte buffer (see bytebuf.h).
 */
#include "bytebuf.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"

void bytebuf_reserve(struct bytebuf *buf, size_t extra)
{
    size_t need = buf->len + extra;
    size_t cap = buf->cap ? buf->cap : 256;

    if (need <= buf->cap)
        return;
    while (cap < need)
        cap *= 2;
    buf->data = must_realloc(buf->data, cap);
    buf->cap = cap;
}

void bytebuf_consume(struct bytebuf *buf, size_t count)
{
    if (count >= buf->len) {
        buf->len = 0;
        return;
    }
    memmove(buf->data, buf->data + count, buf->len - count);
    buf->len -= count;
}

void bytebuf_reset(struct bytebuf *buf, size_t keep)
{
    buf->len = 0;
    if (buf->cap > keep)
        bytebuf_free(buf);
}

void bytebuf_free(struct bytebuf *buf)
{
    free(buf->data);
    buf->data = NULL;
    buf->len = buf->cap = 0;
}
