/*
 * pipeline.h - from a line (or a joined stack trace) to a finished record.
 *
 * The stages after line assembly and multiline joining, in data order:
 * lift a JSON or logfmt line into fields; find the level (the line's own
 * field, else its text, else its multiline format, else its stream's
 * default); redact secrets; run the rules; apply the minimum levels; hand
 * the record to the outputs. Records that are born finished (ulogd's own,
 * a shim's drop report) enter at the redaction stage, so no record reaches
 * a file without redaction and the rules.
 *
 * One thread runs it. A stage may report through ulogd's own log, which
 * re-enters the pipeline: each nesting level has its own working record,
 * so a report never tramples the record that caused it.
 */
#ifndef ULOGD_PIPELINE_H
#define ULOGD_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "bytebuf.h"
#include "config.h"
#include "draft.h"
#include "lift.h"
#include "multiline.h"
#include "outputs.h"
#include "record.h"
#include "selflog.h"

#define PIPELINE_MAX_DEPTH 3

struct pipeline_stats {
    uint64_t records_in;
    uint64_t records_out;
    uint64_t lifted_json, lifted_logfmt;
    uint64_t multiline_blocks;
    uint64_t redactions;      /* secrets replaced */
    uint64_t dropped_by_rule;
    uint64_t rate_limited;
    uint64_t below_level;
};

struct pipeline {
    const struct pipeline_settings *settings; /* the running configuration's */
    enum ulog_level min_level;
    bool line_timestamps;
    struct outputs *outputs;
    struct selflog *selflog;
    struct lifted lifted;
    struct draft drafts[PIPELINE_MAX_DEPTH];
    struct bytebuf redacted[PIPELINE_MAX_DEPTH];
    unsigned depth;
    struct pipeline_stats stats;
};

void pipeline_init(struct pipeline *p, const struct ulogd_config *config, struct outputs *outputs);
void pipeline_free(struct pipeline *p);

/* For ulogd's own records; set once selflog exists. */
void pipeline_set_selflog(struct pipeline *p, struct selflog *selflog);

/* Take on a reloaded configuration (its settings must outlive their use). */
void pipeline_reconfigure(struct pipeline *p, const struct ulogd_config *config);

/*
 * A captured line: `base` carries who wrote it and the text as message;
 * its level is ignored (found here). `ml` says whether it is a joined block.
 */
void pipeline_line(struct pipeline *p, const struct record *base, bool is_stderr,
                   const struct multiline_out *ml);

/* A record whose level is already known (ulogd's own, drop reports). */
void pipeline_record(struct pipeline *p, const struct record *record);

/* The record_sink write function: ctx is the pipeline. */
void pipeline_sink_write(void *ctx, const struct record *record);

/* Rate-limit reports that are due; returns when the next one is (UINT64_MAX: none). */
uint64_t pipeline_housekeeping(struct pipeline *p, uint64_t now_ns);

#endif
