/*
 * config_pipeline.c - the YAML sections that shape records (see config_pipeline.h).
 *
 * Every section is read whole before anything is built from it, so the order
 * of its keys does not matter, and every builder call is made with the node
 * it came from at hand: whatever the module refuses (a regex, a level, a
 * route name) is reported at that node's line and column. This file owns
 * the settings' lifetime, which key goes to which reader, and the sections
 * default_levels, multiline and redaction; rules and min_levels, which fill
 * the rule set, are read in config_rules.c.
 */
#include "config_pipeline.h"

#include <stdint.h>
#include <string.h>

#include "config_private.h"
#include "multiline.h"
#include "redact.h"
#include "rules.h"

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

/* ---- default_levels ------------------------------------------------------- */

static int read_default_levels(struct pipeline_settings *s, const struct yaml_source *src,
                               const yaml_node_t *value)
{
    static const char *const known[] = {"stdout", "stderr", NULL};

    if (yaml_expect_mapping(src, value, "default_levels") != 0 ||
        yaml_only_keys(src, value, "default_levels", known, "stdout, stderr") != 0)
        return -1;
    YAML_EACH_PAIR(value, pair) {
        bool err_stream = strcmp(yaml_text(yaml_child(src, pair->key)), "stderr") == 0;
        if (config_read_level(src, yaml_child(src, pair->value), "default_levels",
                              &s->stream_level[err_stream]) != 0)
            return -1;
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
        yaml_only_keys(src, def, "multiline.custom[]", known, "name, level, rules") != 0)
        return -1;
    name = yaml_member(src, def, "name");
    rules = yaml_member(src, def, "rules");
    if (!name || !rules)
        return yaml_fail(src, def, "a multiline format needs a name and rules");
    if (yaml_expect_scalar(src, name, "name") != 0)
        return -1;
    if (is_builtin_format(yaml_text(name)))
        return yaml_fail(src, name, "\"%.64s\" is the name of a built-in format", yaml_text(name));
    if ((level_node = yaml_member(src, def, "level"))) {
        if (config_read_level(src, level_node, "level", &level_value) != 0)
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
            yaml_only_keys(src, rule, "rules[]", rule_keys, "state, regex, next") != 0)
            return -1;
        const yaml_node_t *state = yaml_member(src, rule, "state"),
                          *regex = yaml_member(src, rule, "regex"),
                          *next = yaml_member(src, rule, "next");
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
        yaml_only_keys(src, value, "multiline", known,
                       "enabled, formats, custom, timeout, max_lines, max_bytes") != 0)
        return -1;
    s->multiline_seen = true;
    if ((node = yaml_member(src, value, "enabled")) &&
        yaml_read_bool(src, node, "enabled", &enabled) != 0)
        return -1;
    if ((node = yaml_member(src, value, "timeout")) &&
        config_read_duration(src, node, "timeout", &s->multiline_timeout_ns) != 0)
        return -1;
    if ((node = yaml_member(src, value, "max_lines"))) {
        if (config_read_count(src, node, "max_lines", 2, 100000, false, &number) != 0)
            return -1;
        s->multiline_max_lines = (size_t)number;
    }
    if ((node = yaml_member(src, value, "max_bytes"))) {
        if (config_read_count(src, node, "max_bytes", 1024, 16u << 20, true, &number) != 0)
            return -1;
        s->multiline_max_bytes = (size_t)number;
    }
    custom = yaml_member(src, value, "custom");
    names = yaml_member(src, value, "formats");
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
                    const yaml_node_t *n = yaml_member(src, yaml_child(src, *c), "name");
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
        yaml_only_keys(src, value, "redaction", known, "enabled, disable, patterns") != 0)
        return -1;
    s->redaction_seen = true;
    if ((node = yaml_member(src, value, "enabled")) &&
        yaml_read_bool(src, node, "enabled", &enabled) != 0)
        return -1;
    disable = yaml_member(src, value, "disable");
    patterns = yaml_member(src, value, "patterns");
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
                (rc = yaml_only_keys(src, p, "patterns[]", pattern_keys,
                                     "name, regex, replacement")) != 0)
                goto out;
            name = yaml_member(src, p, "name");
            regex = yaml_member(src, p, "regex");
            replacement = yaml_member(src, p, "replacement");
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

/* ---- the sections --------------------------------------------------------- */

int config_pipeline_section(struct pipeline_settings *s, const struct yaml_source *src,
                            const yaml_node_t *key, const yaml_node_t *value)
{
    const char *name = yaml_text(key);

    if (strcmp(name, "lift") == 0)
        return yaml_read_bool(src, value, "lift", &s->lift);
    if (strcmp(name, "default_levels") == 0)
        return read_default_levels(s, src, value);
    if (strcmp(name, "min_levels") == 0)
        return config_read_min_levels(s, src, value);
    if (strcmp(name, "multiline") == 0)
        return read_multiline(s, src, value);
    if (strcmp(name, "redaction") == 0)
        return read_redaction(s, src, value);
    if (strcmp(name, "rules") == 0)
        return config_read_rules(s, src, value);
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
