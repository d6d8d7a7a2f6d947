/*
 * procs_lines.c - a process's crash context: the ring of its last lines,
 * and how those lines (and any other bytes) become JSON (see
 * procs_private.h).
 *
 * Every captured line passes through here, so the ring allocates nothing
 * in steady state: each slot keeps its buffer, grown at most to
 * PROCS_LINE_CAP, for the next line that lands in it. A line is cut at a
 * UTF-8 character boundary and marked, so the kept head still reads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "bytebuf.h"
#include "procs_private.h"
#include "utf8.h"

/* Give the ring `size` slots, keeping the newest lines. */
static void resize_ring(struct proc *e, unsigned size)
{
    struct proc_line *ring = size ? must_calloc(size, sizeof *ring) : NULL;
    unsigned keep = e->count < size ? e->count : size;

    for (unsigned i = 0; i < e->ring_size; i++) {
        struct proc_line *old = &e->ring[(e->start + i) % e->ring_size];
        if (i < e->count && i >= e->count - keep)
            ring[i - (e->count - keep)] = *old;
        else
            free(old->bytes);
    }
    free(e->ring);
    e->ring = ring;
    e->ring_size = size;
    e->start = 0;
    e->count = keep;
}

void procs_ring_push(struct proc *e, unsigned size, const char *bytes, size_t len,
                     bool is_stderr)
{
    struct proc_line *slot;

    if (e->ring_size != size)
        resize_ring(e, size); /* first line, or a reload changed the count */
    if (!e->ring_size)
        return;
    if (e->count < e->ring_size) {
        slot = &e->ring[(e->start + e->count) % e->ring_size];
        e->count++;
    } else {
        slot = &e->ring[e->start];
        e->start = (e->start + 1) % e->ring_size;
    }
    size_t keep = len > PROCS_LINE_CAP
                      ? utf8_cut((const unsigned char *)bytes, len, PROCS_LINE_CAP)
                      : len;
    if (slot->cap < keep) {
        uint32_t cap = keep < 128 ? 128 : (uint32_t)keep;
        slot->bytes = must_realloc(slot->bytes, cap);
        slot->cap = cap;
    }
    if (keep)
        memcpy(slot->bytes, bytes, keep);
    slot->len = (uint32_t)keep;
    slot->cut = keep < len;
    slot->is_stderr = is_stderr;
}

void procs_ring_free(struct proc *e)
{
    resize_ring(e, 0);
}

json_t *procs_text_value(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    struct bytebuf buf = BYTEBUF_INIT;
    size_t i = 0;

    while (i < len) {
        size_t n = utf8_sequence_length(u + i, len - i);
        if (n) {
            bytebuf_append(&buf, u + i, n);
            i += n;
        } else {
            char hex[5];
            snprintf(hex, sizeof hex, "\\x%02X", u[i]);
            bytebuf_append(&buf, hex, 4);
            i++;
        }
    }
    json_t *value = json_stringn(buf.len ? buf.data : "", buf.len);
    bytebuf_free(&buf);
    return value;
}

json_t *procs_text(const char *s)
{
    return procs_text_value(s ? s : "", s ? strlen(s) : 0);
}

json_t *procs_ring_json(const struct proc *e)
{
    json_t *lines = json_array();

    for (unsigned i = 0; i < e->count; i++) {
        const struct proc_line *l = &e->ring[(e->start + i) % e->ring_size];
        json_t *line = json_pack("{s:s, s:o}", "stream", l->is_stderr ? "stderr" : "stdout",
                                 "message", procs_text_value(l->bytes ? l->bytes : "", l->len));
        if (l->cut)
            json_object_set_new(line, "truncated", json_true());
        json_array_append_new(lines, line);
    }
    return lines;
}
