/*
 * digest.c - builds the digest of a window of records (see digest.h): one
 * pass to count and mine templates, a choice of problems (distinct first),
 * then the Markdown filled section by section within the budget, and the
 * JSON of the same selection.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytebuf.h"
#include "digest_private.h"
#include "record.h"

static void put_text(struct digest *d, struct bytebuf *out, const char *text, bool inline_,
                     size_t max)
{
    struct bytebuf red = {0};
    size_t len = strlen(text ? text : "");
    if (text && redactor_apply_text(d->redactor, text, len, &red) > 0) {
        text = red.data;
        len = red.len;
    }
    size_t start = out->len;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (max && out->len - start >= max) {
            while (i > 0 && (text[i] & 0xC0) == 0x80) /* whole characters only */
                i--, out->len--;
            bytebuf_append(out, "…", strlen("…"));
            break;
        }
        if (inline_ && (c == '\n' || c == '\r'))
            bytebuf_append(out, " ⏎ ", strlen(" ⏎ "));
        else if (inline_ && (c == '|' || c == '`'))
            bytebuf_append_byte(out, '\''); /* keeps tables and code spans intact */
        else if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) {
            char hex[8];
            snprintf(hex, sizeof hex, "\\x%02x", c);
            bytebuf_append(out, hex, 4);
        } else
            bytebuf_append_byte(out, (char)c);
    }
    bytebuf_free(&red);
}

static void put(struct bytebuf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct bytebuf *out, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    bytebuf_append(out, buf, n < 0 ? 0 : (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

static void put_fence(struct digest *d, struct bytebuf *out, const char *message, size_t max)
{
    size_t run = 0, longest = 0;
    for (const char *p = message; *p; p++) {
        run = *p == '`' ? run + 1 : 0;
        if (run > longest)
            longest = run;
    }
    size_t ticks = longest >= 3 ? longest + 1 : 3;
    for (size_t k = 0; k < ticks; k++)
        bytebuf_append_byte(out, '`');
    bytebuf_append_byte(out, '\n');
    put_text(d, out, message, false, max);
    if (out->len && out->data[out->len - 1] != '\n')
        bytebuf_append_byte(out, '\n');
    for (size_t k = 0; k < ticks; k++)
        bytebuf_append_byte(out, '`');
    bytebuf_append(out, "\n\n", 2);
}

static void put_line(struct digest *d, struct bytebuf *out, const struct rec *y)
{
    put(out, "- %s %s ", y->ts ? y->ts : "?", y->level >= 0 ? ulog_level_name(y->level) : "-");
    put_text(d, out, y->message, true, INLINE_MAX);
    bytebuf_append_byte(out, '\n');
}

/* One entry of "Errors and crashes" with `keep` preceding lines; message
 * cut to `max` bytes when max > 0. */
static void render_problem(struct digest *d, size_t i, size_t keep, size_t max, struct bytebuf *out)
{
    const struct rec *x = &d->recs[i];
    size_t before[DIGEST_PRECEDING], nb = digest_preceding(d, i, keep, before);
    size_t ex = digest_exit_record(d, i);
    const json_t *meta = json_object_get(x->r, "metadata");

    put(out, "### %s %s", x->level >= 0 ? ulog_level_name(x->level) : "LEVEL?",
        x->ts ? x->ts : "(no time)");
    bytebuf_append(out, " — service ", strlen(" — service "));
    put_text(d, out, x->service ? x->service : "(none)", true, INLINE_MAX);
    if (x->pid)
        put(out, ", pid %lld", (long long)x->pid);
    if (x->container)
        put(out, ", container %.12s", x->container);
    if (x->event)
        put(out, ", event %.40s", x->event);
    bytebuf_append_byte(out, '\n');
    size_t occ = d->occurrences[x->tmpl];
    if (occ > 1)
        put(out, "(%zu problems with this message template in the window)\n", occ);
    bytebuf_append_byte(out, '\n');
    if (nb) {
        bytebuf_append(out, "Before it, same process:\n", strlen("Before it, same process:\n"));
        for (size_t k = 0; k < nb; k++)
            put_line(d, out, &d->recs[before[k]]);
        bytebuf_append_byte(out, '\n');
    }
    put_fence(d, out, x->message ? x->message : "", max);
    if (json_is_object(meta) && json_object_size(meta)) {
        json_t *copy = json_deep_copy(meta), *last = json_object_get(copy, "last_lines");
        if (json_is_array(last)) { /* the process's last lines: as many as the preceding ones */
            size_t total = json_array_size(last), want = nb ? 0 : keep;
            while (json_array_size(last) > want)
                json_array_remove(last, 0);
            if (!want)
                json_object_del(copy, "last_lines");
            if (total > want)
                json_object_set_new(copy, "last_lines_left_out", json_integer((json_int_t)(total - want)));
        }
        redactor_apply_json(d->redactor, copy);
        char *text = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
        bytebuf_append(out, "metadata:\n", strlen("metadata:\n"));
        put_fence(d, out, text ? text : "{}", max);
        free(text);
        json_decref(copy);
    }
    if (ex != SIZE_MAX) {
        bytebuf_append(out, "Exit of the process:\n", strlen("Exit of the process:\n"));
        put_line(d, out, &d->recs[ex]);
        bytebuf_append_byte(out, '\n');
    }
}

static void put_time(struct bytebuf *out, uint64_t ns, const char *open)
{
    char t[RECORD_TIMESTAMP_SIZE];
    if (!ns) {
        put(out, "%s", open);
        return;
    }
    record_format_timestamp(ns, t);
    put(out, "%s", t);
}

/* Window and services: always; service rows while they fit. */
static void render_head(struct digest *d, const char *origin, struct bytebuf *out, size_t limit)
{
    put(out, "# Log context\n\n## Window\n\n- from ");
    put_time(out, d->opt->since_ns, "the oldest record");
    put(out, " to ");
    put_time(out, d->opt->until_ns, "now");
    put(out, " (read from %s)\n", origin ? origin : "?");
    if (d->opt->service) {
        put(out, "- service: ");
        put_text(d, out, d->opt->service, true, INLINE_MAX);
        bytebuf_append_byte(out, '\n');
    }
    put(out, "- %zu records; DEBUG %zu, INFO %zu, WARNING %zu, ERROR %zu, CRITICAL %zu\n", d->n,
        d->levels[0], d->levels[1], d->levels[2], d->levels[3], d->levels[4]);
    if (d->n)
        put(out, "- first %s, last %s\n", d->recs[0].ts ? d->recs[0].ts : "?",
            d->recs[d->n - 1].ts ? d->recs[d->n - 1].ts : "?");
    put(out, "- problems (level %s and above, abnormal exits, OOM kills): %zu\n\n",
        ulog_level_name(d->opt->min_level < 0 ? ULOG_ERROR : d->opt->min_level), d->problems_total);
    put(out, "## Services\n\n| service | records | DEBUG | INFO | WARNING | ERROR | CRITICAL |\n"
             "|---|---:|---:|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < d->nsvcs; i++) {
        struct bytebuf row = {0};
        const struct svc *s = &d->svcs[i];
        put(&row, "| ");
        put_text(d, &row, s->name, true, 60);
        put(&row, " | %zu | %zu | %zu | %zu | %zu | %zu |\n", s->total, s->levels[0], s->levels[1],
            s->levels[2], s->levels[3], s->levels[4]);
        bool fits = out->len + row.len <= limit;
        if (fits) {
            bytebuf_append(out, row.data, row.len);
            d->svcs_shown++;
        }
        bytebuf_free(&row);
        if (!fits)
            break;
    }
    if (!d->nsvcs)
        put(out, "| (no records) | 0 | 0 | 0 | 0 | 0 | 0 |\n");
    bytebuf_append_byte(out, '\n');
}

static size_t left(size_t room, size_t used) { return room > used ? room - used : 0; }

static size_t entry_size(struct digest *d, size_t i, size_t keep, size_t max, struct bytebuf *scratch)
{
    scratch->len = 0;
    render_problem(d, i, keep, max, scratch);
    return scratch->len;
}

/* Every distinct problem first in its smallest whole form (no preceding
 * lines), newest first, as long as they fit; then preceding lines given
 * back entry by entry, newest first. So lines before an error are what is
 * trimmed first, and an error is left out only when even its bare form does
 * not fit. When not even the newest one fits bare, it is shown with its
 * message cut, rather than nothing. */
static void render_problems(struct digest *d, struct bytebuf *out, size_t room)
{
    struct bytebuf scratch = {0};
    size_t *full = calloc(d->nproblems + 1, sizeof *full), *size = calloc(d->nproblems + 1, sizeof *size);
    size_t max0 = 0, used;
    d->shown_problems = calloc(d->nproblems + 1, sizeof *d->shown_problems);
    d->shown_preceding = calloc(d->nproblems + 1, sizeof *d->shown_preceding);
    if (!full || !size || !d->shown_problems || !d->shown_preceding)
        abort();
    if (room < 64)
        goto done; /* the section does not fit at all: told in "Cut" */
    put(out, "## Errors and crashes\n\n");
    if (!d->nproblems)
        put(out, "None in the window.\n\n");
    used = out->len;
    for (size_t k = 0; k < d->nproblems; k++) {
        size_t i = d->problems[k], before[DIGEST_PRECEDING], n = entry_size(d, i, 0, 0, &scratch);
        if (used + n > room)
            continue; /* a smaller, later one may still fit */
        size[d->problems_shown] = n;
        full[d->problems_shown] = digest_preceding(d, i, DIGEST_PRECEDING, before);
        d->shown_problems[d->problems_shown++] = i;
        used += n;
    }
    if (!d->problems_shown && d->nproblems && room > used + 128) {
        size_t i = d->problems[0];
        for (max0 = room - used; max0 >= 32; max0 = max0 * 3 / 4)
            if (used + entry_size(d, i, 0, max0, &scratch) <= room)
                break;
        if (max0 >= 32) {
            d->shown_problems[d->problems_shown++] = i;
            used += scratch.len;
        } else
            max0 = 0;
    }
    for (size_t k = 0; k < d->problems_shown && !max0; k++)
        for (size_t keep = full[k]; keep > 0; keep--) {
            size_t n = entry_size(d, d->shown_problems[k], keep, 0, &scratch);
            if (used - size[k] + n <= room) {
                used += n - size[k];
                size[k] = n;
                d->shown_preceding[k] = keep;
                break;
            }
        }
    for (size_t k = 0; k < d->problems_shown; k++) {
        entry_size(d, d->shown_problems[k], d->shown_preceding[k], max0, &scratch);
        bytebuf_append(out, scratch.data, scratch.len);
        d->preceding_trimmed += full[k] - d->shown_preceding[k];
    }
done:
    bytebuf_free(&scratch);
    free(full);
    free(size);
}

static int by_count(const void *a, const void *b, void *miner)
{
    const struct template *x = template_miner_get(miner, *(const size_t *)a);
    const struct template *y = template_miner_get(miner, *(const size_t *)b);
    return x->count != y->count ? (x->count < y->count ? 1 : -1)
                                : (*(const size_t *)a > *(const size_t *)b) - (*(const size_t *)a < *(const size_t *)b);
}

static void render_templates(struct digest *d, struct bytebuf *out, size_t room)
{
    size_t nt = template_miner_count(d->miner);
    struct bytebuf row = {0};
    d->shown_templates = calloc(nt + 1, sizeof *d->shown_templates);
    size_t *order = calloc(nt + 1, sizeof *order);
    for (size_t i = 0; i < nt; i++)
        if (template_miner_get(d->miner, i)->count >= 2)
            order[d->templates_total++] = i;
    qsort_r(order, d->templates_total, sizeof *order, by_count, d->miner);
    if (room < 200) {
        free(order);
        return;
    }
    put(out, "## Repeated messages\n\n");
    if (!d->templates_total)
        put(out, "None: no message template occurs twice.\n");
    else
        put(out, "| count | level | services | first – last | template |\n|---:|---|---|---|---|\n");
    for (size_t k = 0; k < d->templates_total; k++) {
        const struct template *t = template_miner_get(d->miner, order[k]);
        row.len = 0;
        put(&row, "| %zu | %s | ", t->count, t->max_level >= 0 ? ulog_level_name(t->max_level) : "-");
        for (size_t s = 0; s < t->service_count; s++) {
            put(&row, "%s", s ? ", " : "");
            put_text(d, &row, t->services[s], true, 40);
        }
        if (t->more_services)
            put(&row, " +%zu", t->more_services);
        put(&row, " | %s – %s | `", t->first ? t->first : "?", t->last ? t->last : "?");
        put_text(d, &row, t->text, true, INLINE_MAX);
        put(&row, "` |\n");
        if (out->len + row.len + 1 > room)
            break;
        bytebuf_append(out, row.data, row.len);
        d->shown_templates[d->templates_shown++] = order[k];
    }
    bytebuf_append_byte(out, '\n');
    bytebuf_free(&row);
    free(order);
}

static void render_cut(struct digest *d, struct bytebuf *out)
{
    put(out, "## Cut\n\n");
    bool any = false;
    if (d->svcs_shown < d->nsvcs)
        put(out, "- services: %zu of %zu listed (the busiest)\n", d->svcs_shown, d->nsvcs), any = true;
    if (d->problems_shown < d->problems_total || d->preceding_trimmed) {
        put(out, "- errors and crashes: %zu of %zu shown (at most %u of one message); %zu "
                 "preceding lines trimmed\n",
            d->problems_shown, d->problems_total, REPEATS_PER_ERROR, d->preceding_trimmed);
        any = true;
    }
    if (d->templates_shown < d->templates_total)
        put(out, "- repeated messages: %zu of %zu templates shown (the most frequent)\n",
            d->templates_shown, d->templates_total), any = true;
    if (!any)
        put(out, "Nothing was cut.\n");
}

/* A redacted copy, with at most `keep` of metadata.last_lines (the newest). */
int digest_build(json_t *records, const struct digest_options *opt, const char *origin,
                 json_t **json, char **markdown, char *err, size_t err_size)
{
    struct digest d = {.opt = opt};
    size_t budget = opt->budget ? opt->budget : DIGEST_DEFAULT_BUDGET;
    d.budget = opt->budget_in_tokens ? budget * 4 : budget;
    if (d.budget < DIGEST_MIN_BUDGET) {
        snprintf(err, err_size, "the budget must be at least %u characters (%u tokens)",
                 DIGEST_MIN_BUDGET, (DIGEST_MIN_BUDGET + 3) / 4);
        return -1;
    }
    d.redactor = redactor_new();
    if (redactor_enable_all_builtins(d.redactor) != 0 ||
        redactor_finish(d.redactor, err, err_size) != 0) {
        redactor_free(d.redactor);
        return -1;
    }
    digest_analyse(&d, records);

    struct bytebuf head = {0}, problems = {0}, templates = {0}, cut = {0}, all = {0};
    /* The "Cut" section at its longest: every count as large as it can be. */
    struct digest worst = d;
    worst.svcs_shown = worst.problems_shown = worst.templates_shown = 0;
    worst.preceding_trimmed = d.nproblems * DIGEST_PRECEDING;
    worst.templates_total = template_miner_count(d.miner);
    render_cut(&worst, &cut);
    size_t room = d.budget - cut.len - 16; /* digits: "0 of" may become "123 of" */
    cut.len = 0;
    render_head(&d, origin, &head, room);
    render_problems(&d, &problems, left(room, head.len));
    render_templates(&d, &templates, left(room, head.len + problems.len));
    render_cut(&d, &cut);
    bytebuf_append(&all, head.data, head.len);
    bytebuf_append(&all, templates.data, templates.len);
    bytebuf_append(&all, problems.data, problems.len);
    bytebuf_append(&all, cut.data, cut.len);
    if (all.len > d.budget) { /* cannot happen with CUT_RESERVE; stay within it anyway */
        all.len = d.budget;
        while (all.len && (all.data[all.len] & 0xC0) == 0x80)
            all.len--;
    }
    bytebuf_append_byte(&all, '\0');
    if (markdown)
        *markdown = all.data;
    else
        bytebuf_free(&all);
    if (json) {
        *json = digest_json(&d, origin);
    }
    bytebuf_free(&head);
    bytebuf_free(&problems);
    bytebuf_free(&templates);
    bytebuf_free(&cut);
    template_miner_free(d.miner);
    redactor_free(d.redactor);
    free(d.recs);
    free(d.svcs);
    free(d.problems);
    free(d.occurrences);
    free(d.shown_problems);
    free(d.shown_preceding);
    free(d.shown_templates);
    return 0;
}

bool digest_parse_budget(const char *text, size_t *budget, bool *in_tokens)
{
    char *end;
    if (!text || !isdigit((unsigned char)text[0]))
        return false;
    unsigned long long v = strtoull(text, &end, 10);
    *in_tokens = false;
    if (*end == 'k' || *end == 'K')
        v *= 1000, end++;
    if (*end == 't' || *end == 'T')
        *in_tokens = true, end++;
    if (*end || v == 0 || v > 100000000ull)
        return false;
    *budget = (size_t)v;
    return true;
}

