/*
 * config_yaml.c - reading a YAML settings file (see config_yaml.h).
 *
 * The document API (yaml_parser_load) keeps every node's start mark, so a
 * fault found after parsing still knows its line and column. libyaml counts
 * both from 0; editors count from 1.
 */
#include "config_yaml.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

/* Settings one file may hold; more is a sign it is not a settings file. */
#define MAX_SETTINGS 256

static int fail_at(char *err, size_t size, const char *path, yaml_mark_t mark, const char *what)
{
    snprintf(err, size, "%s:%zu:%zu: %s", path, mark.line + 1, mark.column + 1, what);
    return -1;
}

static int fail_parse(char *err, size_t size, const char *path, const yaml_parser_t *parser)
{
    char what[512];
    const char *problem = parser->problem ? parser->problem : "invalid YAML";

    if (parser->context)
        snprintf(what, sizeof what, "%s %s", problem, parser->context);
    else
        snprintf(what, sizeof what, "%s", problem);
    return fail_at(err, size, path, parser->problem_mark, what);
}

static const char *scalar(const yaml_node_t *node)
{
    return (const char *)node->data.scalar.value;
}

static bool set_twice(yaml_document_t *doc, const yaml_node_pair_t *first,
                      const yaml_node_pair_t *pair)
{
    const char *name = scalar(yaml_document_get_node(doc, pair->key));

    for (const yaml_node_pair_t *p = first; p < pair; p++)
        if (strcmp(scalar(yaml_document_get_node(doc, p->key)), name) == 0)
            return true;
    return false;
}

static int apply_document(yaml_document_t *doc, const char *path, config_yaml_apply_fn *apply,
                          void *ctx, char *err, size_t size)
{
    yaml_node_t *root = yaml_document_get_root_node(doc);
    char reason[384], what[512];

    if (!root || (root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0))
        return 0; /* nothing but comments */
    if (root->type != YAML_MAPPING_NODE)
        return fail_at(err, size, path, root->start_mark,
                       "expected a mapping of settings (name: value) at the top level");
    yaml_node_pair_t *first = root->data.mapping.pairs.start;
    if (root->data.mapping.pairs.top - first > MAX_SETTINGS)
        return fail_at(err, size, path, root->start_mark, "too many settings");

    for (yaml_node_pair_t *pair = first; pair < root->data.mapping.pairs.top; pair++) {
        yaml_node_t *key = yaml_document_get_node(doc, pair->key);
        yaml_node_t *value = yaml_document_get_node(doc, pair->value);
        const char *name;

        if (key->type != YAML_SCALAR_NODE)
            return fail_at(err, size, path, key->start_mark, "a setting's name must be a word");
        name = scalar(key);
        if (set_twice(doc, first, pair)) {
            snprintf(what, sizeof what, "%.64s is set twice", name);
            return fail_at(err, size, path, key->start_mark, what);
        }
        if (value->type != YAML_SCALAR_NODE) {
            snprintf(what, sizeof what, "%.64s: expected a single value, not a list or a mapping",
                     name);
            return fail_at(err, size, path, value->start_mark, what);
        }
        if (strlen(scalar(value)) != value->data.scalar.length) {
            snprintf(what, sizeof what, "%.64s: the value contains a NUL byte", name);
            return fail_at(err, size, path, value->start_mark, what);
        }
        reason[0] = '\0';
        switch (apply(ctx, name, scalar(value), reason, sizeof reason)) {
        case CONFIG_YAML_ACCEPT:
            break;
        case CONFIG_YAML_BAD_NAME:
            return fail_at(err, size, path, key->start_mark, reason);
        case CONFIG_YAML_BAD_VALUE:
            snprintf(what, sizeof what, "%.64s: %s", name, reason);
            return fail_at(err, size, path, value->start_mark, what);
        }
    }
    return 0;
}

int config_yaml_read(const char *path, config_yaml_apply_fn *apply, void *ctx, char *err,
                     size_t size)
{
    yaml_parser_t parser;
    yaml_document_t doc;
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
        rc = fail_parse(err, size, path, &parser);
    } else {
        rc = apply_document(&doc, path, apply, ctx, err, size);
        yaml_document_delete(&doc);
        /* One document only: a second one would otherwise be ignored unseen. */
        if (rc == 0 && !yaml_parser_load(&parser, &doc)) {
            rc = fail_parse(err, size, path, &parser);
        } else if (rc == 0) {
            yaml_node_t *extra = yaml_document_get_root_node(&doc);
            if (extra)
                rc = fail_at(err, size, path, extra->start_mark,
                             "only one YAML document is allowed");
            yaml_document_delete(&doc);
        }
    }
    yaml_parser_delete(&parser);
    fclose(file);
    return rc;
}
