/*
 * config_pipeline.h - the YAML sections that shape records, and what they build.
 *
 * The plain settings (config.c) are one value each; these sections are
 * structures: default levels per stream, minimum levels per service and
 * component, multiline formats, redaction, and the rules. Each is checked
 * node by node, so a bad regex is reported at its own line and column, and
 * compiled once here: the pipeline only ever runs finished objects. A
 * section left out gets its documented default (every built-in redaction
 * pattern and multiline format on, no rules).
 */
#ifndef ULOGD_CONFIG_PIPELINE_H
#define ULOGD_CONFIG_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config_yaml.h"
#include "ulog/level.h"

struct redactor;
struct rule_set;
struct multiline_formats;

struct pipeline_settings {
    bool lift;                            /* JSON and logfmt lines become fields */
    enum ulog_level stream_level[2];      /* stdout, stderr: lines that name no level */
    struct redactor *redactor;            /* NULL: redaction switched off */
    struct rule_set *rules;               /* rules and minimum levels; never NULL once built */
    struct multiline_formats *multiline;  /* NULL: no joining */
    uint64_t multiline_timeout_ns;
    size_t multiline_max_lines, multiline_max_bytes;
    bool redaction_seen, multiline_seen; /* else config_pipeline_build() uses the defaults */
};

void pipeline_settings_defaults(struct pipeline_settings *settings);
void pipeline_settings_free(struct pipeline_settings *settings);

/* 1: `key` is not a pipeline section; 0: read; -1: refused (src->err says where and why). */
int config_pipeline_section(struct pipeline_settings *settings, const struct yaml_source *src,
                            const yaml_node_t *key, const yaml_node_t *value);

/* Build what absent sections default to; 0, or -1 with err. */
int config_pipeline_build(struct pipeline_settings *settings, char *err, size_t err_size);

#endif
