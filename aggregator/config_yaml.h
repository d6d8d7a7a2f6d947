/*
 * config_yaml.h - reading ulog.yaml: the document, and faults with their place.
 *
 * libyaml does the parsing; this file owns what every reader of the file
 * needs on top: one document and no more, a top level that is a mapping
 * without repeated keys, and the one thing a user needs from a refusal:
 * "FILE:LINE:COLUMN: what is wrong", pointing at the node at fault; and the
 * checks every structured section repeats (a value of the right shape, a
 * boolean, no unknown keys). The meaning of each top-level key belongs to
 * its caller (config_settings.c for the plain settings, config_pipeline.c
 * and config_rules.c for the sections that shape records).
 */
#ifndef ULOGD_CONFIG_YAML_H
#define ULOGD_CONFIG_YAML_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

/* The document being read, and where its refusal goes. */
struct yaml_source {
    const char *path;
    yaml_document_t *doc;
    char *err;
    size_t err_size;
};

/* Called for each top-level key, in file order; 0, or -1 after yaml_fail(). */
typedef int config_yaml_section_fn(void *ctx, const struct yaml_source *src,
                                   const yaml_node_t *key, const yaml_node_t *value);

/*
 * Read `path` and hand each top-level key to `section`. An empty file (or
 * one of comments only) has none. 0, or -1 with `err` holding the first
 * fault: a syntax error, a top level that is not a mapping, a key given
 * twice, a second document, or what `section` refused.
 */
int config_yaml_read(const char *path, config_yaml_section_fn *section, void *ctx, char *err,
                     size_t err_size);

/* Write "PATH:LINE:COLUMN: <fmt>" (1-based, as editors count) to src->err; returns -1. */
int yaml_fail(const struct yaml_source *src, const yaml_node_t *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

yaml_node_t *yaml_child(const struct yaml_source *src, int index);

/* A scalar's text, NUL-terminated; NULL for a list or a mapping. */
const char *yaml_text(const yaml_node_t *node);

/* A scalar without quotes: `true` and `yes` are booleans, "true" is text. */
bool yaml_is_plain(const yaml_node_t *node);

/* A plain true/false (yes/no, on/off); false when the node is anything else. */
bool yaml_plain_bool(const yaml_node_t *node, bool *value);

/*
 * Checks that fail with a message naming `what` (such as "rules[2].match"):
 * a scalar without NUL bytes, a mapping whose keys are scalars given once,
 * a sequence.
 */
int yaml_expect_scalar(const struct yaml_source *src, const yaml_node_t *node, const char *what);
int yaml_expect_mapping(const struct yaml_source *src, const yaml_node_t *node, const char *what);
int yaml_expect_sequence(const struct yaml_source *src, const yaml_node_t *node,
                         const char *what);

/* A plain true/false into `out`, else "WHAT: expected true or false". */
int yaml_read_bool(const struct yaml_source *src, const yaml_node_t *node, const char *what,
                   bool *out);

/* The value of `name` in mapping `node`, or NULL. */
const yaml_node_t *yaml_member(const struct yaml_source *src, const yaml_node_t *node,
                               const char *name);

/* Refuse any key of `node` not in the NULL-terminated `known`; `list` names them for the user. */
int yaml_only_keys(const struct yaml_source *src, const yaml_node_t *node, const char *what,
                   const char *const *known, const char *list);

#define YAML_EACH_PAIR(node, pair)                                                          \
    for (yaml_node_pair_t *pair = (node)->data.mapping.pairs.start;                         \
         pair < (node)->data.mapping.pairs.top; pair++)
#define YAML_EACH_ITEM(node, item)                                                          \
    for (yaml_node_item_t *item = (node)->data.sequence.items.start;                        \
         item < (node)->data.sequence.items.top; item++)

#endif
