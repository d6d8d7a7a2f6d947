/*
 * pipeline.c - from a line to a finished record (see pipeline.h).
 *
 * The common case, a plain line with no secret and no rules, costs a level
 * scan, one redaction scan and the encoding: no allocation, no copy of the
 * text. Work that allocates (lifting a JSON line, rewriting a secret) is
 * paid by the lines that need it.
 */
#include "pipeline.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "assembler.h"
#include "levels.h"
#include "redact.h"
#include "rules.h"

void pipeline_init(struct pipeline *p, const struct ulogd_config *config, struct outputs *outputs)
{
    memset(p, 0, sizeof *p);
    p->outputs = outputs;
    lifted_init(&p->lifted);
    for (unsigned i = 0; i < PIPELINE_MAX_DEPTH; i++) {
        draft_init(&p->drafts[i]);
        p->redacted[i] = (struct bytebuf)BYTEBUF_INIT;
    }
    pipeline_reconfigure(p, config);
}

void pipeline_free(struct pipeline *p)
{
    lifted_free(&p->lifted);
    for (unsigned i = 0; i < PIPELINE_MAX_DEPTH; i++) {
        draft_free(&p->drafts[i]);
        bytebuf_free(&p->redacted[i]);
    }
}

void pipeline_set_selflog(struct pipeline *p, struct selflog *selflog)
{
    p->selflog = selflog;
}

void pipeline_reconfigure(struct pipeline *p, const struct ulogd_config *config)
{
    p->settings = &config->pipeline;
    p->min_level = config->level;
    p->line_timestamps = config->line_timestamps;
}

/* Redaction, rules, minimum levels, outputs: what every record goes through. */
static void finish(struct pipeline *p, struct draft *d, struct bytebuf *scratch)
{
    const struct pipeline_settings *s = p->settings;

    if (s->redactor) {
        size_t n = redactor_apply_text(s->redactor, d->rec.message, d->rec.message_len, scratch);
        if (n) {
            draft_set_message(d, scratch->data, scratch->len);
            p->stats.redactions += n;
        }
        if (d->metadata)
            p->stats.redactions += redactor_apply_json(s->redactor, d->metadata);
    }
    switch (rule_set_apply(s->rules, d, assembler_monotonic_now())) {
    case RULES_DROP:
        p->stats.dropped_by_rule++;
        return;
    case RULES_RATE_LIMITED:
        p->stats.rate_limited++;
        return;
    case RULES_KEEP:
    case RULES_PASS:
        break;
    }
    if (!d->kept) {
        int min = rule_set_min_level_for(s->rules, d);
        if ((int)d->rec.level < (min >= 0 ? min : (int)p->min_level)) {
            p->stats.below_level++;
            return;
        }
    }
    p->stats.records_out++;
    outputs_write(p->outputs, &d->rec, d->routes, d->route_count);
}

static struct draft *enter(struct pipeline *p)
{
    if (p->depth == PIPELINE_MAX_DEPTH)
        return NULL;
    return &p->drafts[p->depth++];
}

static void leave(struct pipeline *p, struct draft *d)
{
    draft_end(d);
    p->depth--;
}

/* Take what a JSON or logfmt line said into the record's own fields. */
static int apply_lifted(struct pipeline *p, struct draft *d, const struct lifted *l)
{
    if (l->message)
        d->rec.message = l->message, d->rec.message_len = l->message_len;
    if (l->component)
        d->rec.component = l->component;
    if (l->event_type)
        d->rec.event_type = l->event_type;
    if (l->trace_id)
        d->rec.trace_id = l->trace_id;
    if (l->span_id)
        d->rec.span_id = l->span_id;
    if (l->agent_id)
        d->rec.agent_id = l->agent_id;
    if (l->task_id)
        d->rec.task_id = l->task_id;
    if (l->metadata) {
        if (d->metadata) { /* ulog's own keys (part, host_pid) win over the line's */
            json_object_update_missing(d->metadata, l->metadata);
        } else {
            d->metadata = json_incref(l->metadata);
            d->rec.metadata = d->metadata;
        }
    }
    if (p->line_timestamps && l->time_ns)
        d->rec.time_ns = l->time_ns;
    if (l->format == LIFT_JSON)
        p->stats.lifted_json++;
    else
        p->stats.lifted_logfmt++;
    return l->level;
}

void pipeline_line(struct pipeline *p, const struct record *base, bool is_stderr,
                   const struct multiline_out *ml)
{
    const struct pipeline_settings *s = p->settings;
    struct draft *d = enter(p);
    int level = -1;

    p->stats.records_in++;
    if (!d)
        return;
    draft_begin(d, base);
    if (s->lift && (!ml || !ml->format) &&
        lift_line(&p->lifted, base->message, base->message_len) == 1)
        level = apply_lifted(p, d, &p->lifted);
    if (level < 0)
        level = level_detect_text(d->rec.message, d->rec.message_len);
    if (ml && ml->format) {
        p->stats.multiline_blocks++;
        json_object_set_new(draft_metadata(d), "multiline", json_string(ml->format));
        if (level < 0)
            level = ml->level;
    }
    if (level < 0)
        level = (int)s->stream_level[is_stderr];
    d->rec.level = (enum ulog_level)level;
    finish(p, d, &p->redacted[p->depth - 1]);
    leave(p, d);
    lifted_clear(&p->lifted);
}

void pipeline_record(struct pipeline *p, const struct record *record)
{
    struct draft *d = enter(p);

    p->stats.records_in++;
    if (!d) {
        /* A report about a report about a report: written as it is. */
        outputs_write(p->outputs, record, NULL, 0);
        return;
    }
    draft_begin(d, record);
    finish(p, d, &p->redacted[p->depth - 1]);
    leave(p, d);
}

void pipeline_sink_write(void *ctx, const struct record *record)
{
    pipeline_record(ctx, record);
}

static void report_rate_limit(void *ctx, size_t rule_index, const char *service,
                              uint64_t dropped, double per_second)
{
    struct pipeline *p = ctx;

    if (!p->selflog)
        return;
    selflog_emit(p->selflog, ULOG_WARNING, "rate_limited",
                 json_pack("{s:s, s:I, s:I, s:f}", "limited_service", service, "rule",
                           (json_int_t)rule_index + 1, "dropped", (json_int_t)dropped,
                           "per_second", per_second),
                 "rate limit of rule %zu: dropped %" PRIu64 " records of service %s "
                 "(limit %.6g per second)",
                 rule_index + 1, dropped, service, per_second);
}

uint64_t pipeline_housekeeping(struct pipeline *p, uint64_t now_ns)
{
    struct rule_set *rules = p->settings->rules;

    if (rule_set_next_report(rules) <= now_ns)
        return rule_set_report(rules, now_ns, report_rate_limit, p);
    return rule_set_next_report(rules);
}
