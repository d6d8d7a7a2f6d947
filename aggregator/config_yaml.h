/*
 * config_yaml.h - reading a YAML settings file: one mapping of name: value.
 *
 * libyaml does the parsing; this file walks the document and hands each
 * setting to the caller, and owns the one thing a user needs from a refusal:
 * "FILE:LINE:COLUMN: what is wrong", pointing at the key when the name is
 * wrong and at the value when the value is.
 */
#ifndef ULOGD_CONFIG_YAML_H
#define ULOGD_CONFIG_YAML_H

#include <stddef.h>

enum config_yaml_verdict {
    CONFIG_YAML_ACCEPT,
    CONFIG_YAML_BAD_NAME,  /* `reason` says why; reported at the key */
    CONFIG_YAML_BAD_VALUE, /* `reason` says why; reported at the value as "name: reason" */
};

typedef enum config_yaml_verdict config_yaml_apply_fn(void *ctx, const char *name,
                                                      const char *value, char *reason,
                                                      size_t reason_size);

/*
 * Call `apply` for every setting of `path`, in file order. An empty file has
 * none. 0, or -1 with `err` holding the first fault: a syntax error, a
 * top level that is not a mapping, a value that is a list or mapping, a
 * setting given twice, a second document, or a verdict from `apply`.
 */
int config_yaml_read(const char *path, config_yaml_apply_fn *apply, void *ctx, char *err,
                     size_t err_size);

#endif
