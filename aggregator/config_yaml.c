/*
 * config_yaml.c - reading ulog.yaml (see config_yaml.h).
 *
 * The document API (yaml_parser_load) keeps every node's start mark, so a
 * fault found after parsing still knows its line and column. libyaml counts
 * both from 0; editors count from 1.
 */
#include "config_yaml.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Keys one mapping may hold; more is a sign it is not a settings file. */
#define MAX_KEYS 4096

static int fail_mark(const struct yaml_source *src, yaml_mark_t mark, const char *what)
{
    snprintf(src->err, src->err_size, "%s:%zu:%zu: %s", src->path, mark.line + 1,
             mark.column + 1, what);
    return -1;
}

int yaml_fail(const struct yaml_source *src, const yaml_node_t *node, const char *fmt, ...)
{
    char what[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return fail_mark(src, node->start_mark, what);
}

static int fail_parse(const struct yaml_source *src, const yaml_parser_t *parser)
{
    char what[512];
    const char *problem = parser->problem ? parser->problem : "invalid YAML";

    /* "found unexpected end of stream while scanning a quoted scalar" is
     * found at the end; where that scalar began is what the user must fix. */
    if (parser->context && (parser->context_mark.line != parser->problem_mark.line ||
                            parser->context_mark.column != parser->problem_mark.column))
        snprintf(what, sizeof what, "%s %s that starts at line %zu, column %zu", problem,
                 parser->context, parser->context_mark.line + 1, parser->context_mark.column + 1);
    else if (parser->context)
        snprintf(what, sizeof what, "%s %s", problem, parser->context);
    else
        snprintf(what, sizeof what, "%s", problem);
    return fail_mark(src, parser->problem_mark, what);
}

yaml_node_t *yaml_child(const struct yaml_source *src, int index)
{
    return yaml_document_get_node(src->doc, index);
}

const char *yaml_text(const yaml_node_t *node)
{
    return node->type == YAML_SCALAR_NODE ? (const char *)node->data.scalar.value : NULL;
}

bool yaml_is_plain(const yaml_node_t *node)
{
    return node->type == YAML_SCALAR_NODE && node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

bool yaml_plain_bool(const yaml_node_t *node, bool *value)
{
    static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};

    if (!yaml_is_plain(node))
        return false;
    for (size_t i = 0; i < 3; i++) {
        if (strcasecmp(yaml_text(node), yes[i]) == 0)
            return *value = true, true;
        if (strcasecmp(yaml_text(node), no[i]) == 0)
            return *value = false, true;
    }
    return false;
}

int yaml_expect_scalar(const struct yaml_source *src, const yaml_node_t *node, const char *what)
{
    if (node->type != YAML_SCALAR_NODE)
        return yaml_fail(src, node, "%s: expected a single value, not a list or a mapping", what);
    if (strlen(yaml_text(node)) != node->data.scalar.length)
        return yaml_fail(src, node, "%s: the value contains a NUL byte", what);
    return 0;
}

int yaml_expect_mapping(const struct yaml_source *src, const yaml_node_t *node, const char *what)
{
    if (node->type != YAML_MAPPING_NODE)
        return yaml_fail(src, node, "%s: expected a mapping (name: value)", what);
    if (node->data.mapping.pairs.top - node->data.mapping.pairs.start > MAX_KEYS)
        return yaml_fail(src, node, "%s: too many keys", what);
    YAML_EACH_PAIR(node, pair) {
        const yaml_node_t *key = yaml_child(src, pair->key);
        if (key->type != YAML_SCALAR_NODE)
            return yaml_fail(src, key, "%s: a key must be a word, not a list or a mapping", what);
        for (const yaml_node_pair_t *p = node->data.mapping.pairs.start; p < pair; p++)
            if (strcmp(yaml_text(yaml_child(src, p->key)), yaml_text(key)) == 0)
                return yaml_fail(src, key, "%.64s is set twice", yaml_text(key));
    }
    return 0;
}

int yaml_expect_sequence(const struct yaml_source *src, const yaml_node_t *node,
                         const char *what)
{
    if (node->type != YAML_SEQUENCE_NODE)
        return yaml_fail(src, node, "%s: expected a list", what);
    return 0;
}

int yaml_read_bool(const struct yaml_source *src, const yaml_node_t *node, const char *what,
                   bool *out)
{
    if (!yaml_plain_bool(node, out))
        return yaml_fail(src, node, "%s: expected true or false", what);
    return 0;
}

const yaml_node_t *yaml_member(const struct yaml_source *src, const yaml_node_t *node,
                               const char *name)
{
    YAML_EACH_PAIR(node, pair) {
        if (strcmp(yaml_text(yaml_child(src, pair->key)), name) == 0)
            return yaml_child(src, pair->value);
    }
    return NULL;
}

int yaml_only_keys(const struct yaml_source *src, const yaml_node_t *node, const char *what,
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

static int read_document(const struct yaml_source *src, config_yaml_section_fn *section,
                         void *ctx)
{
    yaml_node_t *root = yaml_document_get_root_node(src->doc);

    if (!root || (root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0))
        return 0; /* nothing but comments */
    if (root->type != YAML_MAPPING_NODE)
        return yaml_fail(src, root, "expected a mapping of settings (name: value) at the top level");
    if (yaml_expect_mapping(src, root, "the top level") != 0)
        return -1;
    YAML_EACH_PAIR(root, pair) {
        if (section(ctx, src, yaml_child(src, pair->key), yaml_child(src, pair->value)) != 0)
            return -1;
    }
    return 0;
}

int config_yaml_read(const char *path, config_yaml_section_fn *section, void *ctx, char *err,
                     size_t size)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    struct yaml_source src = {.path = path, .doc = &doc, .err = err, .err_size = size};
    FILE *file = fopen(path, "rb");
    int rc;

    if (!file) {
        snprintf(err, size, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (!yaml_parser_initialize(&parser)) {
        fclose(file);
        snprintf(err, size, "%s: cannot start the YAML parser", path);
        return -1;
    }
    yaml_parser_set_input_file(&parser, file);
    if (!yaml_parser_load(&parser, &doc)) {
        rc = fail_parse(&src, &parser);
    } else {
        rc = read_document(&src, section, ctx);
        yaml_document_delete(&doc);
        /* One document only: a second one would otherwise be ignored unseen. */
        if (rc == 0 && !yaml_parser_load(&parser, &doc)) {
            rc = fail_parse(&src, &parser);
        } else if (rc == 0) {
            yaml_node_t *extra = yaml_document_get_root_node(&doc);
            if (extra)
                rc = yaml_fail(&src, extra, "only one YAML document is allowed");
            yaml_document_delete(&doc);
        }
    }
    yaml_parser_delete(&parser);
    fclose(file);
    return rc;
}
