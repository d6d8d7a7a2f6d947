/*
 * multiline.c - the multiline stage: blocks per key, leads, timeouts (see
 * multiline.h; the formats themselves are in multiline_formats.c).
 *
 * A pending block sits on its connection's list (to find it by key and to
 * flush it at disconnect) and on the stage's age list, ordered by its last
 * line, so the next timeout is at the head. A lead - a line whose write goes
 * on - waits on a list of its own: its follower is in the same write, so it
 * is due at once whatever the timeout.
 *
 * A block claims its lines for its format only once a line past the start
 * line has matched a rule that needs some text (or a rule ended it): a start
 * line followed by nothing it expects - a lone "=====" ruler, "Error: file
 * not found", "/srv/x.js:12" and a line that is no caret - leaves as the
 * plain lines it was, without the format's level. Blank lines at the
 * end of a block leave after it as lines of their own, so a record never ends
 * in "\n" and no line is lost. A block cut by max_lines or max_bytes keeps its
 * state: the rest of a long goroutine dump still joins, in a second block.
 */
#include "multiline.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "bytebuf.h"
#include "multiline_formats.h"

#define MAX_SPARE 16
#define SPARE_KEEP_BYTES 65536

struct block {
    struct list_node in_set;
    struct list_node by_age; /* on m->by_age, m->leads or m->spare */
    struct multiline_set *set;
    const struct multiline_format *format; /* NULL: a lead */
    int state;
    uint64_t time_ns;       /* the first line's */
    uint64_t start_time_ns; /* the start line's, when a lead came first */
    uint64_t last_time_ns;  /* the last line's, for the blank lines after it */
    uint64_t last_seen;     /* the stage's clock at the last line */
    uint32_t pid, kernel_pid, tid;
    uint8_t stream;
    unsigned lines, trailing_blanks;
    size_t lead_len;  /* bytes of the lead before its "\n"; with has_lead */
    bool has_lead;    /* the first line is the lead that came before the start */
    bool claimed;     /* a line past the start matched, or a rule said "end" */
    struct bytebuf text;
};

void multiline_init(struct multiline *m, const struct multiline_formats *formats,
                    uint64_t timeout_ns, size_t max_lines, size_t max_bytes,
                    monotonic_clock_fn *now, multiline_emit_fn *emit, void *ctx)
{
    m->now = now ? now : assembler_monotonic_now;
    m->emit = emit;
    m->ctx = ctx;
    list_init(&m->by_age);
    list_init(&m->leads);
    list_init(&m->spare);
    m->spare_count = 0;
    m->match_data = pcre2_match_data_create(1, NULL);
    if (!m->match_data)
        abort();
    m->formats = NULL;
    multiline_reconfigure(m, formats, timeout_ns, max_lines, max_bytes);
}

static void free_list(struct list_node *head)
{
    while (!list_empty(head)) {
        struct block *b = LIST_ENTRY(head->next, struct block, by_age);
        list_remove(&b->by_age); /* not in_set: its connection may be gone already */
        bytebuf_free(&b->text);
        free(b);
    }
}

void multiline_free(struct multiline *m)
{
    free_list(&m->by_age);
    free_list(&m->leads);
    free_list(&m->spare);
    m->spare_count = 0;
    pcre2_match_data_free(m->match_data);
    m->match_data = NULL;
}

void multiline_set_init(struct multiline_set *set, void *owner)
{
    set->owner = owner;
    list_init(&set->pending);
}

/* ---- emitting ------------------------------------------------------------ */

static const struct multiline_out single = {NULL, -1, 1};

static void pass(struct multiline *m, struct multiline_set *set, const struct line *line)
{
    struct line out = *line;
    out.more_in_write = false;
    m->emit(m->ctx, set->owner, &out, &single);
}

static void emit_text(struct multiline *m, const struct block *b, uint64_t time_ns,
                      const char *bytes, size_t len, const struct multiline_out *out)
{
    struct line line = {
        .time_ns = time_ns,
        .pid = b->pid,
        .kernel_pid = b->kernel_pid,
        .tid = b->tid,
        .stream = b->stream,
        .bytes = (const unsigned char *)bytes,
        .len = len,
    };
    m->emit(m->ctx, b->set->owner, &line, out);
}

/* An unclaimed block leaves as the lines it was. Only the first, the start
 * line and the last kept their times; a line between takes the last's. */
static void emit_lines(struct multiline *m, const struct block *b)
{
    const char *s = b->text.data, *end = s + b->text.len;

    for (unsigned i = 0; i < b->lines; i++) {
        const char *nl = i + 1 < b->lines ? memchr(s, '\n', (size_t)(end - s)) : end;
        uint64_t time_ns = i == 0 ? b->time_ns
                           : i == 1 && b->has_lead ? b->start_time_ns
                                                    : b->last_time_ns;
        emit_text(m, b, time_ns, s, (size_t)(nl - s), &single);
        s = nl + 1;
    }
}

/* What the block holds leaves; the block itself stays as it is. */
static void emit_block(struct multiline *m, const struct block *b)
{
    unsigned lines = b->lines - b->trailing_blanks;

    if (!b->claimed || lines == 0) {
        emit_lines(m, b);
        return;
    }
    struct multiline_out out = {multiline_format_name(b->format),
                                multiline_format_level(b->format), lines};
    emit_text(m, b, b->time_ns, b->text.data, b->text.len - b->trailing_blanks, &out);
    for (unsigned i = 0; i < b->trailing_blanks; i++)
        emit_text(m, b, b->last_time_ns, "", 0, &single);
}

/* ---- blocks -------------------------------------------------------------- */

static struct block *find(const struct multiline_set *set, const struct line *line)
{
    for (struct list_node *n = set->pending.next; n != &set->pending; n = n->next) {
        struct block *b = LIST_ENTRY(n, struct block, in_set);
        if (b->kernel_pid == line->kernel_pid && b->tid == line->tid &&
            b->stream == line->stream)
            return b;
    }
    return NULL;
}

static struct block *acquire(struct multiline *m, struct multiline_set *set,
                             const struct line *line)
{
    struct block *b;

    if (!list_empty(&m->spare)) {
        b = LIST_ENTRY(m->spare.next, struct block, by_age);
        list_remove(&b->by_age);
        m->spare_count--;
    } else {
        b = must_calloc(1, sizeof *b);
        list_init(&b->by_age);
    }
    b->set = set;
    b->format = NULL;
    b->state = 0;
    b->pid = line->pid;
    b->kernel_pid = line->kernel_pid;
    b->tid = line->tid;
    b->stream = line->stream;
    b->lines = b->trailing_blanks = 0;
    b->lead_len = 0;
    b->has_lead = b->claimed = false;
    b->text.len = 0;
    list_add_tail(&set->pending, &b->in_set);
    return b;
}

static void release(struct multiline *m, struct block *b)
{
    list_remove(&b->in_set);
    list_remove(&b->by_age);
    if (m->spare_count < MAX_SPARE) {
        bytebuf_reset(&b->text, SPARE_KEEP_BYTES);
        list_add_tail(&m->spare, &b->by_age);
        m->spare_count++;
    } else {
        bytebuf_free(&b->text);
        free(b);
    }
}

static void close_block(struct multiline *m, struct block *b)
{
    emit_block(m, b);
    release(m, b);
}

/* Limits reached: what is held leaves, the state stays for what follows. */
static void cut_block(struct multiline *m, struct block *b)
{
    emit_block(m, b);
    b->text.len = 0;
    b->lines = b->trailing_blanks = 0;
    b->has_lead = false;
    b->claimed = true; /* what follows continues a block already shown as one */
}

static void append(struct block *b, const struct line *line)
{
    if (b->lines == 0) {
        b->time_ns = b->start_time_ns = line->time_ns;
        b->pid = line->pid;
    } else {
        bytebuf_append_byte(&b->text, '\n');
    }
    bytebuf_append(&b->text, line->bytes, line->len);
    b->lines++;
    b->trailing_blanks = line->len == 0 ? b->trailing_blanks + 1 : 0;
    b->last_time_ns = line->time_ns;
}

/* The line matched a rule leading to `next` (a state or MULTILINE_END). */
static void add_line(struct multiline *m, struct block *b, const struct line *line, int next,
                     bool claims)
{
    if (b->lines > 0 && b->text.len + 1 + line->len > m->max_bytes)
        cut_block(m, b);
    append(b, line);
    if (claims)
        b->claimed = true;
    if (next == MULTILINE_END) {
        b->claimed = true;
        close_block(m, b);
        return;
    }
    b->state = next;
    b->last_seen = m->now();
    list_remove(&b->by_age);
    list_add_tail(&m->by_age, &b->by_age);
    if (b->lines >= m->max_lines || b->text.len >= m->max_bytes)
        cut_block(m, b);
}

/* ---- the stage ----------------------------------------------------------- */

void multiline_feed(struct multiline *m, struct multiline_set *set, const struct line *line)
{
    struct block *b = list_empty(&set->pending) ? NULL : find(set, line);
    const struct multiline_format *format;
    bool claims;
    int next;

    if (line->part != 0 || multiline_formats_count(m->formats) == 0) {
        if (b)
            close_block(m, b);
        pass(m, set, line);
        return;
    }
    if (b && b->format) {
        next = multiline_format_step(b->format, b->state, m->match_data, line->bytes, line->len,
                                     &claims);
        if (next != MULTILINE_NO_RULE) {
            add_line(m, b, line, next, claims);
            return;
        }
        close_block(m, b);
        b = NULL;
    }
    format = multiline_formats_start(m->formats, m->match_data, line->bytes, line->len, &next);
    if (b) { /* a lead: it joins the block its follower starts, or leaves alone */
        if (format) {
            b->format = format;
            b->has_lead = true;
            b->lead_len = b->text.len;
            b->start_time_ns = line->time_ns;
            add_line(m, b, line, next, false);
            return;
        }
        close_block(m, b);
    }
    if (format) {
        b = acquire(m, set, line);
        b->format = format;
        add_line(m, b, line, next, false);
    } else if (line->more_in_write && line->len > 0) {
        b = acquire(m, set, line);
        append(b, line);
        list_add_tail(&m->leads, &b->by_age);
    } else {
        pass(m, set, line);
    }
}

void multiline_flush_set(struct multiline *m, struct multiline_set *set)
{
    while (!list_empty(&set->pending))
        close_block(m, LIST_ENTRY(set->pending.next, struct block, in_set));
}

void multiline_flush_all(struct multiline *m)
{
    while (!list_empty(&m->leads))
        close_block(m, LIST_ENTRY(m->leads.next, struct block, by_age));
    while (!list_empty(&m->by_age))
        close_block(m, LIST_ENTRY(m->by_age.next, struct block, by_age));
}

void multiline_expire(struct multiline *m)
{
    uint64_t now;

    while (!list_empty(&m->leads))
        close_block(m, LIST_ENTRY(m->leads.next, struct block, by_age));
    if (list_empty(&m->by_age))
        return;
    now = m->now();
    while (!list_empty(&m->by_age)) {
        struct block *b = LIST_ENTRY(m->by_age.next, struct block, by_age);
        if (now - b->last_seen < m->timeout_ns)
            break;
        close_block(m, b);
    }
}

uint64_t multiline_next_deadline(const struct multiline *m)
{
    if (!list_empty(&m->leads))
        return m->now(); /* due now: its follower was in the same write */
    if (list_empty(&m->by_age))
        return UINT64_MAX;
    return LIST_ENTRY(m->by_age.next, struct block, by_age)->last_seen + m->timeout_ns;
}

void multiline_reconfigure(struct multiline *m, const struct multiline_formats *formats,
                           uint64_t timeout_ns, size_t max_lines, size_t max_bytes)
{
    if (formats != m->formats)
        multiline_flush_all(m); /* pending blocks point into the old formats */
    m->formats = formats;
    m->timeout_ns = timeout_ns ? timeout_ns : MULTILINE_DEFAULT_TIMEOUT_NS;
    m->max_lines = max_lines ? max_lines : MULTILINE_DEFAULT_MAX_LINES;
    m->max_bytes = max_bytes ? max_bytes : MULTILINE_DEFAULT_MAX_BYTES;
}
