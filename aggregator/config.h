/*
 * config.h - ulogd's settings and where they come from.
 *
 * Four layers, each overriding the one before: built-in defaults, a YAML
 * file (--config FILE), the environment (the names the stack's .env already
 * uses), and the command line. Every value is checked where it is read, and a
 * refusal names its origin: "FILE:LINE:COLUMN: ...", "LOG_BACKUP_COUNT=abc: ...",
 * "--level: ...", so the user knows which of the four layers to fix.
 */
#ifndef ULOGD_CONFIG_H
#define ULOGD_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ulog/level.h"

#define CONFIG_DEFAULT_LOG_DIR "./logs"
#define CONFIG_DEFAULT_ROTATION_SIZE 10485760u
#define CONFIG_DEFAULT_BACKUP_COUNT 5u
#define CONFIG_DEFAULT_MAX_LINE 16384u

#define CONFIG_MAX_BACKUP_COUNT 1000u
#define CONFIG_MIN_MAX_LINE 16u
#define CONFIG_MAX_MAX_LINE (16u << 20)
/*
 * sockaddr_un holds 107 bytes of path; ulogd binds to "<path>.<pid>" first
 * and renames it into place, so the path itself must leave room for that.
 */
#define CONFIG_MAX_SOCKET_PATH 99u

struct ulogd_config {
    char *log_dir;
    enum ulog_level level;
    uint64_t rotation_size; /* 0: never rotate */
    unsigned backup_count;  /* 0: never rotate */
    char *socket;           /* NULL: the default, or the per-user fallback */
    size_t max_line_bytes;
    char *config_file;      /* the YAML file read, if any */
};

enum config_outcome {
    CONFIG_OK,
    CONFIG_EXIT_SUCCESS, /* --help or --version was answered */
    CONFIG_ERROR,        /* `err` says why */
};

void config_defaults(struct ulogd_config *config);
void config_free(struct ulogd_config *config);

/* The whole sequence: defaults < YAML < environment < argv. */
enum config_outcome config_load(struct ulogd_config *config, int argc, char **argv, char *err,
                                size_t err_size);

/* The layers on their own, for tests and for callers that need only one. */
int config_apply_yaml(struct ulogd_config *config, const char *path, char *err, size_t err_size);
int config_apply_environment(struct ulogd_config *config, char *err, size_t err_size);

void config_usage(FILE *out);

#endif
