/*
 * bytebuf.h - a growable byte buffer.
 *
 * Pending partial lines, the JSON encoder's output and all.log's write-behind
 * buffer all need the same three operations: append at the end, consume from
 * the front, and keep the memory for the next round instead of freeing it.
 */
#ifndef ULOGD_BYTEBUF_H
#define ULOGD_BYTEBUF_H

#include <stddef.h>
#include <string.h>

struct bytebuf {
    char *data;
    size_t len;
    size_t cap;
};

#define BYTEBUF_INIT {NULL, 0, 0}

/* Make room for `extra` more bytes after len. */
void bytebuf_reserve(struct bytebuf *buf, size_t extra);
/* Drop `count` bytes from the front. */
void bytebuf_consume(struct bytebuf *buf, size_t count);
/* Empty it; give the memory back if it grew past `keep` bytes. */
void bytebuf_reset(struct bytebuf *buf, size_t keep);
void bytebuf_free(struct bytebuf *buf);

/* Inline: the JSON encoder appends many short pieces per record. */
static inline void bytebuf_append(struct bytebuf *buf, const void *bytes, size_t count)
{
    if (count == 0)
        return;
    if (buf->cap - buf->len < count)
        bytebuf_reserve(buf, count);
    memcpy(buf->data + buf->len, bytes, count);
    buf->len += count;
}

static inline void bytebuf_append_byte(struct bytebuf *buf, char byte)
{
    if (buf->len == buf->cap)
        bytebuf_reserve(buf, 1);
    buf->data[buf->len++] = byte;
}

#endif
