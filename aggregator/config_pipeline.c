/*
 * config_pipeline.c - the YAML sections that shape records (see config_pipeline.h).
 *
 * Every section is read whole before anything is built from it, so the order
 * of its keys does not matter, and every builder call is made with the node
 * it came from at hand: whatever the module refuses (a regex, a level, a
 * route name) is reported at that node's line and column.
 */
#include "config_pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "config.h"
#include "draft.h"
#include "multiline.h"
#include "redact.h"
#include "rules.h"

#define MAX_MATCH_VALUES 64
#define MAX_FORMAT_RULES 64

void pipeline_settings_defaults(struct pipeline_settings *s)
{
    memset(s, 0, sizeof *s);
    s->lift = true;
    s->stream_level[0] = ULOG_INFO;
    s->stream_level[1] = ULOG_INFO;
    s->rules = rule_set_new();
    s->multiline_timeout_ns = MULTILINE_DEFAULT_TIMEOUT_NS;
    s->multiline_max_lines = MULTILINE_DEFAULT_MAX_LINES;
    s->multiline_max_bytes = MULTILINE_DEFAULT_MAX_BYTES;
}

void pipeline_settings_free(struct pipeline_settings *s)
{
    if (s->redactor)
        redactor_free(s->redactor);
    if (s->rules)
        rule_set_free(s->rules);
    if (s->multiline)
        multiline_formats_free(s->multiline);
    memset(s, 0, sizeof *s);
}

/* ---- small readers ---------------------------------------------------- */

static int read_level(const struct yaml_source *src, const yaml_node_t *node, const char *what,
                      enum ulog_level *out)
{
    if (yaml_expect_scalar(src, node, what) != 0)
        return -1;
    int level = ulog_level_parse(yaml_text(node));
    if (level < 0)
        return yaml_fail(src, node, "%s: unknown level \"%.40s\" (use DEBUG, INFO, WARNING, "
                                    "ERROR or CRITICAL)",
                         what, yaml_text(node));
    *out = (enum ulog_level)level;
    return 0;
}

static int read_bool(const struct yaml_source *src, const yaml_node_t *node, const char *what,
                     bool *out)
{
    if (!yaml_plain_bool(node, out))
        return yaml_fail(src, node, "%s: expected true or false", what);
    return 0;
}

/* "250ms", "1s", "1.5s", "2m". A bare number is refused: its unit would be a guess. */
static int read_duration(const struct yaml_source *src, const yaml_node_t *node,
                         const char *what, uint64_t *out_ns)
{
    if (yaml_expect_scalar(src, node, what) != 0)
        return -1;
    const char *text = yaml_text(node);
    char *end;
    double value = strtod(text, &end);
    double scale = 0;

    if (end != text && value >= 0) {
        if (strcmp(end, "ms") == 0)
            scale = 1e6;
        else if (strcmp(end, "s") == 0)
            scale = 1e9;
        else if (strcmp(end, "m") == 0)
            scale = 60e9;
    }
    if (scale == 0 || value * scale > 3600e9 || value * scale < 1e6)
        return yaml_fail(src, node, "%s: expected a duration from 1ms to 1h, such as 500ms or 2s",
                         what);
    *out_ns = (uint64_t)(value * scale);
    return 0;
}

static int read_count(const struct yaml_source *src, const yaml_node_t *node, const char *what,
                      uint64_t low, uint64_t high, bool size, uint64_t *out)
{
    uint64_t value;
    char *end;

    if (yaml_expect_scalar(src, node, what) != 0)
        return -1;
    if (size) {
        if (!config_parse_size(yaml_text(node), &value))
            value = UINT64_MAX;
    } else {
        value = strtoull(yaml_text(node), &end, 10);
        if (end == yaml_text(node) || *end || yaml_text(node)[0] == '-')
            value = UINT64_MAX;
    }
    if (value < low || value > high)
        return yaml_fail(src, node, "%s: expected a %s from %llu to %llu", what,
                         size ? "size in bytes" : "whole number", (unsigned long long)low,
                         (unsigned long long)high);
    *out = value;
    return 0;
}

/* The value of `name` in mapping `node`, or NULL. */
static const yaml_node_t *member(const struct yaml_source *src, const yaml_node_t *node,
                                 const char *name)
{
    YAML_EACH_PAIR(node, pair) {
        if (strcmp(yaml_text(yaml_child(src, pair->key)), name) == 0)
            return yaml_child(src, pair->value);
    }
    return NULL;
}

/* Refuse any key of `node` not in the NULL-terminated `known`. */
static int only_keys(const struct yaml_source *src, const yaml_node_t *node, const char *what,
                     const char *const *known, const char *list)
{
    YAML_EACH_PAIR(node, pair) {
        const yaml_node_t *key = yaml_child(src, pair->key);
        size_t i = 0;
        while (known[i] && strcmp(known[i], yaml_text(key)) != 0)
            i++;
        if (!known[i])
            return yaml_fail(src, key, "%s: unknown key \"%.64s\" (known: %s)", what,
                             yaml_text(key), list);
    }
    return 0;
}

/* ---- default_levels, min_levels ------------------------------------------ */

static int read_default_levels(struct pipeline_settings *s, const struct yaml_source *src,
                               const yaml_node_t *value)
{
    static const char *const known[] = {"stdout", "stderr", NULL};

    if (yaml_expect_mapping(src, value, "default_levels") != 0 ||
        only_keys(src, value, "default_levels", known, "stdout, stderr") != 0)
        return -1;
    YAML_EACH_PAIR(value, pair) {
        bool err_stream = strcmp(yaml_text(yaml_child(src, pair->key)), "stderr") == 0;
        if (read_level(src, yaml_child(src, pair->value), "default_levels",
                       &s->stream_level[err_stream]) != 0)
            return -1;
    }
    return 0;
}

static int read_min_levels(struct pipeline_settings *s, const struct yaml_source *src,
                           const yaml_node_t *value)
{
    static const char *const known[] = {"services", "components", NULL};
    char reason[384];

    if (yaml_expect_mapping(src, value, "min_levels") != 0 ||
        only_keys(src, value, "min_levels", known, "services, components") != 0)
        return -1;
    YAML_EACH_PAIR(value, pair) {
        const char *kind = yaml_text(yaml_child(src, pair->key));
        const yaml_node_t *names = yaml_child(src, pair->value);
        bool component = strcmp(kind, "components") == 0;
        if (yaml_expect_mapping(src, names, kind) != 0)
            return -1;
        YAML_EACH_PAIR(names, entry) {
            const yaml_node_t *name = yaml_child(src, entry->key);
            enum ulog_level level;
            if (read_level(src, yaml_child(src, entry->value), yaml_text(name), &level) != 0)
                return -1;
            if (rule_set_min_level(s->rules, component, yaml_text(name), level) != 0) {
                snprintf(reason, sizeof reason, "cannot set the level of %.64s", yaml_text(name));
                return yaml_fail(src, name, "%s", reason);
            }
        }
    }
    return 0;
}

/* ---- multiline ------------------------------------------------------------ */

static bool is_builtin_format(const char *name)
{
    for (const char *const *b = multiline_builtin_names; *b; b++)
        if (strcmp(*b, name) == 0)
            return true;
    return false;
}

/* One custom format into `formats`; faults at the rule (or format) they concern. */
static int add_custom_format(struct multiline_formats *formats, const struct yaml_source *src,
                             const yaml_node_t *def)
{
    static const char *const known[] = {"name", "level", "rules", NULL};
    static const char *const rule_keys[] = {"state", "regex", "next", NULL};
    struct multiline_rule_spec specs[MAX_FORMAT_RULES];
    const yaml_node_t *rule_nodes[MAX_FORMAT_RULES];
    const yaml_node_t *name, *rules, *level_node;
    enum ulog_level level_value;
    int level = -1;
    size_t count = 0, bad = SIZE_MAX;
    char reason[384];

    if (yaml_expect_mapping(src, def, "multiline.custom[]") != 0 ||
        only_keys(src, def, "multiline.custom[]", known, "name, level, rules") != 0)
        return -1;
    name = member(src, def, "name");
    rules = member(src, def, "rules");
    if (!name || !rules)
        return yaml_fail(src, def, "a multiline format needs a name and rules");
    if (yaml_expect_scalar(src, name, "name") != 0)
        return -1;
    if (is_builtin_format(yaml_text(name)))
        return yaml_fail(src, name, "\"%.64s\" is the name of a built-in format", yaml_text(name));
    if ((level_node = member(src, def, "level"))) {
        if (read_level(src, level_node, "level", &level_value) != 0)
            return -1;
        level = (int)level_value;
    }
    if (yaml_expect_sequence(src, rules, "rules") != 0)
        return -1;
    YAML_EACH_ITEM(rules, item) {
        const yaml_node_t *rule = yaml_child(src, *item);
        if (count == MAX_FORMAT_RULES)
            return yaml_fail(src, rule, "a format has at most %d rules", MAX_FORMAT_RULES);
        if (yaml_expect_mapping(src, rule, "rules[]") != 0 ||
            only_keys(src, rule, "rules[]", rule_keys, "state, regex, next") != 0)
            return -1;
        const yaml_node_t *state = member(src, rule, "state"), *regex = member(src, rule, "regex"),
                          *next = member(src, rule, "next");
        if (!state || !regex || !next)
            return yaml_fail(src, rule, "a multiline rule needs state, regex and next");
        if (yaml_expect_scalar(src, state, "state") != 0 ||
            yaml_expect_scalar(src, regex, "regex") != 0 ||
            yaml_expect_scalar(src, next, "next") != 0)
            return -1;
        specs[count] = (struct multiline_rule_spec){yaml_text(state), yaml_text(regex),
                                                    yaml_text(next)};
        rule_nodes[count++] = rule;
    }
    if (multiline_formats_add(formats, yaml_text(name), level, specs, count, &bad, reason,
                              sizeof reason) != 0)
        return yaml_fail(src, bad < count ? rule_nodes[bad] : name, "%s", reason);
    return 0;
}

static int read_multiline(struct pipeline_settings *s, const struct yaml_source *src,
                          const yaml_node_t *value)
{
    static const char *const known[] = {"enabled", "formats", "custom", "timeout",
                                        "max_lines", "max_bytes", NULL};
    const yaml_node_t *node, *custom, *names;
    bool enabled = true;
    uint64_t number;
    char reason[384];

    if (yaml_expect_mapping(src, value, "multiline") != 0 ||
        only_keys(src, value, "multiline", known,
                  "enabled, formats, custom, timeout, max_lines, max_bytes") != 0)
        return -1;
    s->multiline_seen = true;
    if ((node = member(src, value, "enabled")) && read_bool(src, node, "enabled", &enabled) != 0)
        return -1;
    if ((node = member(src, value, "timeout")) &&
        read_duration(src, node, "timeout", &s->multiline_timeout_ns) != 0)
        return -1;
    if ((node = member(src, value, "max_lines"))) {
        if (read_count(src, node, "max_lines", 2, 100000, false, &number) != 0)
            return -1;
        s->multiline_max_lines = (size_t)number;
    }
    if ((node = member(src, value, "max_bytes"))) {
        if (read_count(src, node, "max_bytes", 1024, 16u << 20, true, &number) != 0)
            return -1;
        s->multiline_max_bytes = (size_t)number;
    }
    custom = member(src, value, "custom");
    names = member(src, value, "formats");
    if (custom && yaml_expect_sequence(src, custom, "custom") != 0)
        return -1;
    if (names && yaml_expect_sequence(src, names, "formats") != 0)
        return -1;

    /* Every custom format is checked, chosen or not: a fault found only once
     * someone enables it would be a fault found too late. */
    struct multiline_formats *all_custom = multiline_formats_new();
    struct multiline_formats *chosen = multiline_formats_new();
    int rc = 0;
    if (custom) {
        YAML_EACH_ITEM(custom, item) {
            if ((rc = add_custom_format(all_custom, src, yaml_child(src, *item))) != 0)
                goto out;
        }
    }
    if (names) {
        YAML_EACH_ITEM(names, item) {
            const yaml_node_t *name = yaml_child(src, *item);
            if ((rc = yaml_expect_scalar(src, name, "formats[]")) != 0)
                goto out;
            if (is_builtin_format(yaml_text(name))) {
                if (multiline_formats_add_builtin(chosen, yaml_text(name), reason,
                                                  sizeof reason) != 0) {
                    rc = yaml_fail(src, name, "%s", reason);
                    goto out;
                }
                continue;
            }
            const yaml_node_t *def = NULL;
            if (custom) {
                YAML_EACH_ITEM(custom, c) {
                    const yaml_node_t *n = member(src, yaml_child(src, *c), "name");
                    if (n && strcmp(yaml_text(n), yaml_text(name)) == 0)
                        def = yaml_child(src, *c);
                }
            }
            if (!def) {
                rc = yaml_fail(src, name, "no multiline format \"%.64s\" (built-in: python, "
                                          "java, go, node, sanitizer, pem; or one under custom)",
                               yaml_text(name));
                goto out;
            }
            if ((rc = add_custom_format(chosen, src, def)) != 0)
                goto out;
        }
    } else {
        for (const char *const *b = multiline_builtin_names; *b; b++)
            if (multiline_formats_add_builtin(chosen, *b, reason, sizeof reason) != 0) {
                rc = yaml_fail(src, value, "%s", reason);
                goto out;
            }
        if (custom) {
            YAML_EACH_ITEM(custom, item) {
                if ((rc = add_custom_format(chosen, src, yaml_child(src, *item))) != 0)
                    goto out;
            }
        }
    }
out:
    multiline_formats_free(all_custom);
    if (rc != 0 || !enabled) {
        multiline_formats_free(chosen);
        return rc;
    }
    if (s->multiline)
        multiline_formats_free(s->multiline);
    s->multiline = chosen;
    return 0;
}

/* ---- redaction ------------------------------------------------------------ */

static int read_redaction(struct pipeline_settings *s, const struct yaml_source *src,
                          const yaml_node_t *value)
{
    static const char *const known[] = {"enabled", "disable", "patterns", NULL};
    static const char *const pattern_keys[] = {"name", "regex", "replacement", NULL};
    const yaml_node_t *node, *disable, *patterns;
    bool enabled = true;
    char reason[384];

    if (yaml_expect_mapping(src, value, "redaction") != 0 ||
        only_keys(src, value, "redaction", known, "enabled, disable, patterns") != 0)
        return -1;
    s->redaction_seen = true;
    if ((node = member(src, value, "enabled")) && read_bool(src, node, "enabled", &enabled) != 0)
        return -1;
    disable = member(src, value, "disable");
    patterns = member(src, value, "patterns");
    if (disable && yaml_expect_sequence(src, disable, "disable") != 0)
        return -1;
    if (patterns && yaml_expect_sequence(src, patterns, "patterns") != 0)
        return -1;

    struct redactor *r = redactor_new();
    int rc = 0;
    if (disable) {
        YAML_EACH_ITEM(disable, item) {
            const yaml_node_t *name = yaml_child(src, *item);
            const char *const *b;
            if ((rc = yaml_expect_scalar(src, name, "disable[]")) != 0)
                goto out;
            for (b = redact_builtin_names; *b && strcmp(*b, yaml_text(name)) != 0; b++)
                ;
            if (!*b) {
                rc = yaml_fail(src, name, "no built-in redaction pattern \"%.64s\" (known: "
                                          "bearer, authorization, url_password, password, "
                                          "aws_access_key, aws_secret_key, private_key, card)",
                               yaml_text(name));
                goto out;
            }
        }
    }
    for (const char *const *b = redact_builtin_names; *b; b++) {
        bool off = false;
        if (disable) {
            YAML_EACH_ITEM(disable, item) {
                off = off || strcmp(yaml_text(yaml_child(src, *item)), *b) == 0;
            }
        }
        if (!off && redactor_enable_builtin(r, *b, reason, sizeof reason) != 0) {
            rc = yaml_fail(src, value, "%s", reason);
            goto out;
        }
    }
    if (patterns) {
        YAML_EACH_ITEM(patterns, item) {
            const yaml_node_t *p = yaml_child(src, *item), *name, *regex, *replacement;
            if ((rc = yaml_expect_mapping(src, p, "patterns[]")) != 0 ||
                (rc = only_keys(src, p, "patterns[]", pattern_keys,
                                "name, regex, replacement")) != 0)
                goto out;
            name = member(src, p, "name");
            regex = member(src, p, "regex");
            replacement = member(src, p, "replacement");
            if (!regex) {
                rc = yaml_fail(src, p, "a redaction pattern needs a regex");
                goto out;
            }
            if ((name && (rc = yaml_expect_scalar(src, name, "name")) != 0) ||
                (rc = yaml_expect_scalar(src, regex, "regex")) != 0 ||
                (replacement && (rc = yaml_expect_scalar(src, replacement, "replacement")) != 0))
                goto out;
            if (redactor_add_pattern(r, name ? yaml_text(name) : "custom", yaml_text(regex),
                                     replacement ? yaml_text(replacement) : NULL, reason,
                                     sizeof reason) != 0) {
                rc = yaml_fail(src, regex, "%s", reason);
                goto out;
            }
        }
    }
    if (redactor_finish(r, reason, sizeof reason) != 0)
        rc = yaml_fail(src, value, "%s", reason);
out:
    if (rc != 0 || !enabled) {
        redactor_free(r);
        return rc;
    }
    if (s->redactor)
        redactor_free(s->redactor);
    s->redactor = r;
    return 0;
}

/* ---- rules ---------------------------------------------------------------- */

static int read_match(struct rule *rule, const struct yaml_source *src, const yaml_node_t *match)
{
    const char *values[MAX_MATCH_VALUES];
    char reason[384];

    if (yaml_expect_mapping(src, match, "match") != 0)
        return -1;
    YAML_EACH_PAIR(match, pair) {
        const yaml_node_t *field = yaml_child(src, pair->key), *value = yaml_child(src, pair->value);
        size_t count = 0;
        bool present;
        struct field_ref ref;

        /* A field that does not exist is the key's fault, not its value's. */
        if (field_ref_parse(&ref, yaml_text(field), reason, sizeof reason) != 0)
            return yaml_fail(src, field, "%s", reason);
        field_ref_free(&ref);
        if (yaml_plain_bool(value, &present)) {
            if (rule_match_presence(rule, yaml_text(field), present, reason, sizeof reason) != 0)
                return yaml_fail(src, field, "%s", reason);
            continue;
        }
        if (value->type == YAML_SEQUENCE_NODE) {
            YAML_EACH_ITEM(value, item) {
                const yaml_node_t *v = yaml_child(src, *item);
                if (count == MAX_MATCH_VALUES)
                    return yaml_fail(src, v, "at most %d values per field", MAX_MATCH_VALUES);
                if (yaml_expect_scalar(src, v, yaml_text(field)) != 0)
                    return -1;
                values[count++] = yaml_text(v);
            }
            if (count == 0)
                return yaml_fail(src, value, "%s: an empty list matches nothing", yaml_text(field));
        } else {
            if (yaml_expect_scalar(src, value, yaml_text(field)) != 0)
                return -1;
            values[count++] = yaml_text(value);
        }
        if (rule_match_values(rule, yaml_text(field), values, count, reason, sizeof reason) != 0)
            return yaml_fail(src, value, "%s: %s", yaml_text(field), reason);
    }
    return 0;
}

static int read_redact_action(struct rule *rule, const struct yaml_source *src,
                              const yaml_node_t *node)
{
    char reason[384];

    if (node->type == YAML_SEQUENCE_NODE) {
        YAML_EACH_ITEM(node, item) {
            if (read_redact_action(rule, src, yaml_child(src, *item)) != 0)
                return -1;
        }
        return 0;
    }
    const char *regex, *replacement = NULL;
    const yaml_node_t *at = node;
    if (node->type == YAML_MAPPING_NODE) {
        static const char *const known[] = {"regex", "replacement", NULL};
        if (yaml_expect_mapping(src, node, "redact") != 0 ||
            only_keys(src, node, "redact", known, "regex, replacement") != 0)
            return -1;
        const yaml_node_t *r = member(src, node, "regex"), *with = member(src, node, "replacement");
        if (!r)
            return yaml_fail(src, node, "redact: needs a regex");
        if (yaml_expect_scalar(src, r, "regex") != 0 ||
            (with && yaml_expect_scalar(src, with, "replacement") != 0))
            return -1;
        regex = yaml_text(r);
        replacement = with ? yaml_text(with) : NULL;
        at = r;
    } else {
        if (yaml_expect_scalar(src, node, "redact") != 0)
            return -1;
        regex = yaml_text(node);
    }
    if (regex[0] == '~')
        regex++; /* the rule syntax of a regex, accepted here too */
    if (rule_action_redact(rule, regex, replacement, reason, sizeof reason) != 0)
        return yaml_fail(src, at, "redact: %s", reason);
    return 0;
}

static int read_rate_limit(struct rule *rule, const struct yaml_source *src,
                           const yaml_node_t *node)
{
    const yaml_node_t *rate = node, *burst = NULL;
    double per_second, burst_value = 0;
    char *end, reason[384];

    if (node->type == YAML_MAPPING_NODE) {
        static const char *const known[] = {"per_second", "burst", NULL};
        if (yaml_expect_mapping(src, node, "rate_limit") != 0 ||
            only_keys(src, node, "rate_limit", known, "per_second, burst") != 0)
            return -1;
        rate = member(src, node, "per_second");
        burst = member(src, node, "burst");
        if (!rate)
            return yaml_fail(src, node, "rate_limit: needs per_second");
    }
    if (yaml_expect_scalar(src, rate, "rate_limit") != 0)
        return -1;
    per_second = strtod(yaml_text(rate), &end);
    if (end == yaml_text(rate) || *end || !(per_second > 0) || per_second > 1e9)
        return yaml_fail(src, rate, "rate_limit: expected records per second, a number above 0");
    if (burst) {
        if (yaml_expect_scalar(src, burst, "burst") != 0)
            return -1;
        burst_value = strtod(yaml_text(burst), &end);
        if (end == yaml_text(burst) || *end || !(burst_value >= 1) || burst_value > 1e9)
            return yaml_fail(src, burst, "burst: expected a number of records, 1 or more");
    }
    if (rule_action_rate_limit(rule, per_second, burst_value, reason, sizeof reason) != 0)
        return yaml_fail(src, node, "rate_limit: %s", reason);
    return 0;
}

static int read_rule(struct pipeline_settings *s, const struct yaml_source *src,
                     const yaml_node_t *node)
{
    static const char *const known[] = {"match", "drop", "keep", "set", "redact",
                                        "route", "rate_limit", "name", NULL};
    struct rule *rule;
    char reason[384];
    bool flag;

    if (yaml_expect_mapping(src, node, "rules[]") != 0 ||
        only_keys(src, node, "rules[]", known,
                  "match, drop, keep, set, redact, route, rate_limit, name") != 0)
        return -1;
    rule = rule_set_append(s->rules);
    YAML_EACH_PAIR(node, pair) {
        const yaml_node_t *key = yaml_child(src, pair->key), *value = yaml_child(src, pair->value);
        const char *what = yaml_text(key);
        int rc = 0;

        if (strcmp(what, "name") == 0) {
            rc = yaml_expect_scalar(src, value, "name");
        } else if (strcmp(what, "match") == 0) {
            rc = read_match(rule, src, value);
        } else if (strcmp(what, "drop") == 0 || strcmp(what, "keep") == 0) {
            if (read_bool(src, value, what, &flag) != 0)
                return -1;
            if (flag && (what[0] == 'd' ? rule_action_drop(rule, reason, sizeof reason)
                                        : rule_action_keep(rule, reason, sizeof reason)) != 0)
                rc = yaml_fail(src, key, "%s", reason);
        } else if (strcmp(what, "set") == 0) {
            if (yaml_expect_mapping(src, value, "set") != 0)
                return -1;
            YAML_EACH_PAIR(value, field) {
                const yaml_node_t *name = yaml_child(src, field->key), *v = yaml_child(src, field->value);
                if (yaml_expect_scalar(src, v, yaml_text(name)) != 0)
                    return -1;
                if (rule_action_set(rule, yaml_text(name), yaml_text(v), reason, sizeof reason) != 0)
                    return yaml_fail(src, name, "set: %s", reason);
            }
        } else if (strcmp(what, "redact") == 0) {
            rc = read_redact_action(rule, src, value);
        } else if (strcmp(what, "route") == 0) {
            if (yaml_expect_scalar(src, value, "route") != 0)
                return -1;
            if (rule_action_route(rule, yaml_text(value), reason, sizeof reason) != 0)
                rc = yaml_fail(src, value, "route: %s", reason);
        } else {
            rc = read_rate_limit(rule, src, value);
        }
        if (rc != 0)
            return -1;
    }
    if (rule_finish(rule, reason, sizeof reason) != 0)
        return yaml_fail(src, node, "%s", reason);
    return 0;
}

static int read_rules(struct pipeline_settings *s, const struct yaml_source *src,
                      const yaml_node_t *value)
{
    if (yaml_expect_sequence(src, value, "rules") != 0)
        return -1;
    YAML_EACH_ITEM(value, item) {
        if (read_rule(s, src, yaml_child(src, *item)) != 0)
            return -1;
    }
    return 0;
}

/* ---- the sections --------------------------------------------------------- */

int config_pipeline_section(struct pipeline_settings *s, const struct yaml_source *src,
                            const yaml_node_t *key, const yaml_node_t *value)
{
    const char *name = yaml_text(key);

    if (strcmp(name, "lift") == 0)
        return read_bool(src, value, "lift", &s->lift);
    if (strcmp(name, "default_levels") == 0)
        return read_default_levels(s, src, value);
    if (strcmp(name, "min_levels") == 0)
        return read_min_levels(s, src, value);
    if (strcmp(name, "multiline") == 0)
        return read_multiline(s, src, value);
    if (strcmp(name, "redaction") == 0)
        return read_redaction(s, src, value);
    if (strcmp(name, "rules") == 0)
        return read_rules(s, src, value);
    return 1;
}

int config_pipeline_build(struct pipeline_settings *s, char *err, size_t size)
{
    if (!s->redaction_seen && !s->redactor) {
        s->redactor = redactor_new();
        if (redactor_enable_all_builtins(s->redactor) != 0 ||
            redactor_finish(s->redactor, err, size) != 0)
            return -1;
    }
    if (!s->multiline_seen && !s->multiline) {
        s->multiline = multiline_formats_new();
        for (const char *const *b = multiline_builtin_names; *b; b++)
            if (multiline_formats_add_builtin(s->multiline, *b, err, size) != 0)
                return -1;
    }
    return 0;
}
