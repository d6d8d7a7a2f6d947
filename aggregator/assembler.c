/*
 * assembler.c - turning chunks into lines (see assembler.h).
 *
 * A pending line sits on two lists: its connection's (to find it by key and
 * to flush it at disconnect) and the assembler's age list. A line enters the
 * age list when its first byte arrives and re-enters at the tail when a piece
 * of it is cut off, so the list stays ordered by age and the next timeout is
 * always at its head. An entry exists only while it holds at least one byte;
 * released entries keep their buffers on a short spare list, because a
 * program writing "text" then "\n" makes one pending line per line.
 */
#include "assembler.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "utf8.h"

/* Pending lines one connection may hold; past it the oldest is flushed. */
#define MAX_PENDING_PER_SET 1024
#define MAX_SPARE 64
#define SPARE_KEEP_BYTES 65536

struct pending_line {
    struct list_node in_set;
    struct list_node by_age;
    struct line_set *set;
    uint64_t time_ns; /* the sender's clock when the line began */
    uint64_t since;   /* the assembler's clock when the oldest held byte arrived */
    uint32_t pid, kernel_pid, tid;
    uint8_t stream;
    unsigned parts; /* pieces already emitted */
    /* Emitted by the timeout without its newline: if the key's next bytes
     * are that newline, they end the emitted line and make no record. */
    bool awaiting_newline;
    struct bytebuf text;
};

uint64_t assembler_monotonic_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void assembler_init(struct assembler *a, size_t max_line, uint64_t flush_after_ns,
                    monotonic_clock_fn *now, line_emit_fn *emit, void *ctx)
{
    a->max_line = max_line ? max_line : 1;
    a->flush_after_ns = flush_after_ns;
    a->now = now ? now : assembler_monotonic_now;
    a->emit = emit;
    a->ctx = ctx;
    list_init(&a->by_age);
    list_init(&a->spare);
    a->spare_count = 0;
}

static void free_all(struct list_node *head, size_t offset)
{
    while (!list_empty(head)) {
        struct list_node *node = head->next;
        struct pending_line *p = (struct pending_line *)((char *)node - offset);
        list_remove(node);
        bytebuf_free(&p->text);
        free(p);
    }
}

void assembler_free(struct assembler *a)
{
    free_all(&a->by_age, offsetof(struct pending_line, by_age));
    free_all(&a->spare, offsetof(struct pending_line, by_age));
    a->spare_count = 0;
}

void line_set_init(struct line_set *set, void *owner)
{
    set->owner = owner;
    list_init(&set->pending);
    set->count = 0;
}

static void emit_line(struct assembler *a, void *owner, const struct pending_line *key,
                      const void *bytes, size_t len, unsigned part, bool partial,
                      bool more_in_write)
{
    struct line line = {
        .time_ns = key->time_ns,
        .pid = key->pid,
        .kernel_pid = key->kernel_pid,
        .tid = key->tid,
        .stream = key->stream,
        .bytes = bytes,
        .len = len,
        .part = part,
        .partial = partial,
        .more_in_write = more_in_write,
    };
    a->emit(a->ctx, owner, &line);
}

static void emit(struct assembler *a, void *owner, const struct pending_line *key,
                 const void *bytes, size_t len, unsigned part, bool partial)
{
    emit_line(a, owner, key, bytes, len, part, partial, false);
}

static void release(struct assembler *a, struct pending_line *p)
{
    list_remove(&p->in_set);
    list_remove(&p->by_age);
    p->set->count--;
    if (a->spare_count < MAX_SPARE) {
        bytebuf_reset(&p->text, SPARE_KEEP_BYTES);
        list_add_tail(&a->spare, &p->by_age);
        a->spare_count++;
    } else {
        bytebuf_free(&p->text);
        free(p);
    }
}

/* Emit what `p` holds as the last (or only) piece of its line, and drop it. */
static void flush_pending_line(struct assembler *a, struct pending_line *p, bool more_in_write)
{
    if (!p->awaiting_newline)
        emit_line(a, p->set->owner, p, p->text.data, p->text.len, p->parts ? p->parts + 1 : 0,
                  false, more_in_write && p->parts == 0);
    release(a, p);
}

static void flush_pending(struct assembler *a, struct pending_line *p)
{
    flush_pending_line(a, p, false);
}

/* The timeout's flush: the line leaves, its key stays to catch its newline. */
static void expire_pending(struct assembler *a, struct pending_line *p)
{
    size_t len = p->text.len;
    /* "abc\r" then, later, "\n": the \r belongs to the line ending. */
    if (len > 0 && p->text.data[len - 1] == '\r')
        len--;
    emit(a, p->set->owner, p, p->text.data, len, p->parts ? p->parts + 1 : 0, false);
    bytebuf_reset(&p->text, SPARE_KEEP_BYTES);
    p->parts = 0;
    p->awaiting_newline = true;
    list_remove(&p->by_age);
}

/* Bytes arrived for a key whose last line left by timeout. */
static struct pending_line *resume(struct assembler *a, struct pending_line *p,
                                   const struct chunk *c, const unsigned char **s,
                                   const unsigned char *end)
{
    size_t newline = end - *s >= 1 && (*s)[0] == '\n'                       ? 1
                     : end - *s >= 2 && (*s)[0] == '\r' && (*s)[1] == '\n' ? 2
                                                                           : 0;
    if (end - *s == 1 && (*s)[0] == '\r') {
        *s = end; /* half of "\r\n": still waiting for its "\n" */
        return p;
    }
    p->awaiting_newline = false;
    if (newline) {
        *s += newline;
        release(a, p);
        return NULL;
    }
    p->time_ns = c->time_ns;
    p->since = a->now();
    list_add_tail(&a->by_age, &p->by_age);
    return p;
}

static struct pending_line *find(const struct line_set *set, const struct chunk *c)
{
    for (struct list_node *n = set->pending.next; n != &set->pending; n = n->next) {
        struct pending_line *p = LIST_ENTRY(n, struct pending_line, in_set);
        if (p->kernel_pid == c->kernel_pid && p->tid == c->tid && p->stream == c->stream)
            return p;
    }
    return NULL;
}

static struct pending_line *acquire(struct assembler *a, struct line_set *set,
                                    const struct chunk *c)
{
    struct pending_line *p;

    if (set->count >= MAX_PENDING_PER_SET)
        flush_pending(a, LIST_ENTRY(set->pending.next, struct pending_line, in_set));
    if (!list_empty(&a->spare)) {
        p = LIST_ENTRY(a->spare.next, struct pending_line, by_age);
        list_remove(&p->by_age);
        a->spare_count--;
    } else {
        p = must_calloc(1, sizeof *p);
    }
    p->set = set;
    p->time_ns = c->time_ns;
    p->since = a->now();
    p->pid = c->pid;
    p->kernel_pid = c->kernel_pid;
    p->tid = c->tid;
    p->stream = c->stream;
    p->parts = 0;
    p->awaiting_newline = false;
    p->text.len = 0;
    list_add_tail(&set->pending, &p->in_set);
    list_add_tail(&a->by_age, &p->by_age);
    set->count++;
    return p;
}

/*
 * Add bytes of the current line (no newline among them). Whenever more than
 * max_line bytes are held, a piece is cut off at a character boundary; at
 * least one byte always stays, so a piece marked partial is never the last.
 */
static void append_segment(struct assembler *a, struct pending_line *p,
                           const unsigned char *seg, size_t len)
{
    while (len > 0) {
        size_t room = a->max_line + 1 - p->text.len;
        size_t take = len < room ? len : room;

        bytebuf_append(&p->text, seg, take);
        seg += take;
        len -= take;
        if (p->text.len > a->max_line) {
            const unsigned char *text = (const unsigned char *)p->text.data;
            size_t cut = utf8_cut(text, p->text.len, a->max_line);
            emit(a, p->set->owner, p, text, cut, ++p->parts, true);
            bytebuf_consume(&p->text, cut);
            p->since = a->now();
            list_remove(&p->by_age);
            list_add_tail(&a->by_age, &p->by_age);
        }
    }
}

/* The newline has come: `seg` is the rest of the line before it. */
static void finish_line(struct assembler *a, struct pending_line *p, const unsigned char *seg,
                        size_t len, bool more_in_write)
{
    if (len > 0 && seg[len - 1] == '\r')
        len--;
    else if (len == 0 && p->text.len > 0 && p->text.data[p->text.len - 1] == '\r')
        p->text.len--;
    append_segment(a, p, seg, len);
    flush_pending_line(a, p, more_in_write);
}

void assembler_feed(struct assembler *a, struct line_set *set, const struct chunk *c)
{
    struct pending_line *p = find(set, c);
    const unsigned char *s = c->bytes;
    const unsigned char *end = s + c->len;

    if (p && p->awaiting_newline && s < end)
        p = resume(a, p, c, &s, end);
    const unsigned char *nl = s < end ? memchr(s, '\n', (size_t)(end - s)) : NULL;
    while (s < end) {
        if (!nl) {
            if (!p)
                p = acquire(a, set, c);
            append_segment(a, p, s, (size_t)(end - s));
            return;
        }
        /* Looked up before the emit: whether another whole line follows. */
        const unsigned char *next_nl =
            nl + 1 < end ? memchr(nl + 1, '\n', (size_t)(end - nl - 1)) : NULL;
        size_t len = (size_t)(nl - s);
        if (p) {
            finish_line(a, p, s, len, next_nl != NULL);
            p = NULL;
        } else {
            size_t content = len > 0 && s[len - 1] == '\r' ? len - 1 : len;
            if (content <= a->max_line) {
                struct pending_line key = {
                    .time_ns = c->time_ns,
                    .pid = c->pid,
                    .kernel_pid = c->kernel_pid,
                    .tid = c->tid,
                    .stream = c->stream,
                };
                emit_line(a, set->owner, &key, s, content, 0, false, next_nl != NULL);
            } else {
                finish_line(a, acquire(a, set, c), s, len, false);
            }
        }
        s = nl + 1;
        nl = next_nl;
    }
}

void assembler_flush_set(struct assembler *a, struct line_set *set)
{
    while (!list_empty(&set->pending))
        flush_pending(a, LIST_ENTRY(set->pending.next, struct pending_line, in_set));
}

void assembler_expire(struct assembler *a)
{
    uint64_t now;

    if (list_empty(&a->by_age))
        return;
    now = a->now();
    while (!list_empty(&a->by_age)) {
        struct pending_line *p = LIST_ENTRY(a->by_age.next, struct pending_line, by_age);
        if (now - p->since < a->flush_after_ns)
            break;
        expire_pending(a, p);
    }
}

uint64_t assembler_next_deadline(const struct assembler *a)
{
    if (list_empty(&a->by_age))
        return UINT64_MAX;
    return LIST_ENTRY(a->by_age.next, struct pending_line, by_age)->since + a->flush_after_ns;
}
