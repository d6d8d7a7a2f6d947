/*
 * config_private.h - what config*.c share, and nothing else may use.
 *
 * Reading the configuration (see config.h) is one module kept in five files:
 * config.c holds the defaults, the profiles and the layers (YAML file,
 * environment, flags) and the order they apply in; config_settings.c the
 * table of plain settings and what value each accepts, and the readers of
 * the same kinds of value (level, size, count, duration) found inside the
 * structured sections; config_pipeline.c the sections that shape records;
 * config_rules.c the two of them that fill the rule set, rules and
 * min_levels; config_ebpf.c the `ebpf:` section; config_docker.c the
 * `docker:` section and its variables; config_store.c the `store:` section
 * and its variables. Generic YAML checks live in config_yaml.h.
 */
#ifndef ULOGD_CONFIG_PRIVATE_H
#define ULOGD_CONFIG_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "config_pipeline.h"
#include "config_yaml.h"
#include "ulog/level.h"

/* ---- the plain settings (config_settings.c) -------------------------------- */

enum setting {
    SET_LOG_DIR,
    SET_LEVEL,
    SET_ROTATION_SIZE,
    SET_BACKUP_COUNT,
    SET_SOCKET,
    SET_MAX_LINE,
    SET_CONSOLE,
    SET_ERRORS_FILE,
    SET_ERRORS_LEVEL,
    SET_TIMESTAMP,
    SET_WATCH,
    SET_SERVICE_HOST,
    SET_SERVICE_PORT,
    SET_BUFFER_SIZE,
    SET_TOKEN,
    SET_EBPF_MODE, /* ULOG_EBPF; in the file it is ebpf.mode */
    SETTING_COUNT
};

/* Each setting in all three spellings. */
struct setting_names {
    const char *yaml_key;  /* NULL: not in the file (a secret stays in the environment) */
    const char *env;       /* NULL: no variable */
    const char *env_alias; /* read when `env` is unset */
    const char *flag;      /* NULL: no flag */
};
extern const struct setting_names config_settings[SETTING_COUNT];

/* Check and store one value; on refusal `reason` says what is wrong with it. */
int config_set_value(struct ulogd_config *config, enum setting which, const char *value,
                     char *reason, size_t reason_size);

/* Free *slot and store a copy of `value`. */
void config_replace_string(char **slot, const char *value);

/* snprintf into `err`, for refusals (config.c). */
void config_fail(char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- values inside the structured sections (config_settings.c) ------------ */

/* Each is 0, or -1 after yaml_fail() with a message naming `what`. */
int config_read_level(const struct yaml_source *src, const yaml_node_t *node, const char *what,
                      enum ulog_level *out);
/* "250ms", "1s", "1.5s", "2m", from 1ms to 1h. */
int config_read_duration(const struct yaml_source *src, const yaml_node_t *node,
                         const char *what, uint64_t *out_ns);
/* A whole number, or with `size` a byte count such as 512K, from `low` to `high`. */
int config_read_count(const struct yaml_source *src, const yaml_node_t *node, const char *what,
                      uint64_t low, uint64_t high, bool size, uint64_t *out);

/* ---- the ebpf section (config_ebpf.c) --------------------------------------- */

void config_ebpf_defaults(struct ebpf_settings *ebpf);
void config_ebpf_free(struct ebpf_settings *ebpf);
/* The whole `ebpf:` value: a mapping, or a bare mode (`ebpf: off`). */
int config_read_ebpf(struct ulogd_config *config, const struct yaml_source *src,
                     const yaml_node_t *value);

/* ---- the docker section and its variables (config_docker.c) --------------- */

void config_docker_defaults(struct docker_settings *docker);
void config_docker_free(struct docker_settings *docker);
/* The whole `docker:` value: a mapping, or a bare mode (`docker: off`). */
int config_read_docker(struct ulogd_config *config, const struct yaml_source *src,
                       const yaml_node_t *value);
/* ULOG_DOCKER, then DOCKER_HOST, then ULOG_DOCKER_SOCKET; 0, or -1 with `err`. */
int config_docker_apply_environment(struct ulogd_config *config, char *err, size_t err_size);

/* ---- the store section and its variables (config_store.c) ----------------- */

void config_store_defaults(struct store_settings *store);
void config_store_free(struct store_settings *store);
/* The whole `store:` value: a mapping, or a bare mode (`store: off`). */
int config_read_store(struct ulogd_config *config, const struct yaml_source *src,
                      const yaml_node_t *value);
/* ULOG_STORE, ULOG_STORE_PATH, ULOG_STORE_MAX_AGE, ULOG_STORE_MAX_SIZE, ULOG_STORE_QUEUE,
 * ULOG_POSTGRESQL; 0, or -1 with `err`. */
int config_store_apply_environment(struct ulogd_config *config, char *err, size_t err_size);

/* ---- the sections that fill the rule set (config_rules.c) ------------------ */

int config_read_min_levels(struct pipeline_settings *settings, const struct yaml_source *src,
                           const yaml_node_t *value);
int config_read_rules(struct pipeline_settings *settings, const struct yaml_source *src,
                      const yaml_node_t *value);

#endif
