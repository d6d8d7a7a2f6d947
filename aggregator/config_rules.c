/*
 * config_rules.c - the YAML sections that fill the rule set: rules and min_levels.
 *
 * Both end in the one rule_set (see rules.h): min_levels as a floor per
 * service or component, each rule as a match and its actions. As in
 * config_pipeline.c, every builder call is made with the node it came from
 * at hand, so whatever rules.c refuses (a field that does not exist, a bad
 * regex, a route name) is reported at that node's line and column.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_private.h"
#include "draft.h"
#include "rules.h"

#define MAX_MATCH_VALUES 64

/* ---- min_levels ----------------------------------------------------------- */

int config_read_min_levels(struct pipeline_settings *s, const struct yaml_source *src,
                           const yaml_node_t *value)
{
    static const char *const known[] = {"services", "components", NULL};
    char reason[384];

    if (yaml_expect_mapping(src, value, "min_levels") != 0 ||
        yaml_only_keys(src, value, "min_levels", known, "services, components") != 0)
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
            if (config_read_level(src, yaml_child(src, entry->value), yaml_text(name), &level) != 0)
                return -1;
            if (rule_set_min_level(s->rules, component, yaml_text(name), level) != 0) {
                snprintf(reason, sizeof reason, "cannot set the level of %.64s", yaml_text(name));
                return yaml_fail(src, name, "%s", reason);
            }
        }
    }
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
            yaml_only_keys(src, node, "redact", known, "regex, replacement") != 0)
            return -1;
        const yaml_node_t *r = yaml_member(src, node, "regex"),
                          *with = yaml_member(src, node, "replacement");
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
            yaml_only_keys(src, node, "rate_limit", known, "per_second, burst") != 0)
            return -1;
        rate = yaml_member(src, node, "per_second");
        burst = yaml_member(src, node, "burst");
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
        yaml_only_keys(src, node, "rules[]", known,
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
            if (yaml_read_bool(src, value, what, &flag) != 0)
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

int config_read_rules(struct pipeline_settings *s, const struct yaml_source *src,
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
