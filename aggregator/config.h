/*
 * config.h - ulogd's settings and where they come from.
 *
 * Five layers, each overriding the one before: built-in defaults, the
 * profile named by ULOG_ENV (development, production, testing), a YAML file
 * (--config FILE, else $ULOG_CONFIG, else ./ulog.yaml when it exists), the
 * environment (the names the stack's .env already uses), and the command
 * line. Every value is checked where it is read, and a refusal names its
 * origin: "FILE:LINE:COLUMN: ...", "LOG_BACKUP_COUNT=abc: ...", "--level:
 * ...", so the user knows which layer to fix. The same function reads the
 * settings at start, on reload and for `ulog check`.
 */
#ifndef ULOGD_CONFIG_H
#define ULOGD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config_pipeline.h"
#include "console.h"
#include "ulog/level.h"

#define CONFIG_DEFAULT_LOG_DIR "./logs"
#define CONFIG_TESTING_LOG_DIR "./logs/testing"
#define CONFIG_DEFAULT_FILE "ulog.yaml"
#define CONFIG_DEFAULT_ROTATION_SIZE 10485760u
#define CONFIG_DEFAULT_BACKUP_COUNT 5u
#define CONFIG_DEFAULT_MAX_LINE 16384u
#define CONFIG_DEFAULT_SERVICE_HOST "localhost"
#define CONFIG_DEFAULT_SERVICE_PORT 8765u
#define CONFIG_DEFAULT_BUFFER_SIZE 1000u
#define CONFIG_DEFAULT_ERRORS_FILE "errors.log"

#define CONFIG_MAX_BACKUP_COUNT 1000u
#define CONFIG_MIN_MAX_LINE 16u
#define CONFIG_MAX_MAX_LINE (16u << 20)
#define CONFIG_MAX_BUFFER_SIZE 1000000u
/*
 * sockaddr_un holds 107 bytes of path; ulogd binds to "<path>.<pid>" first
 * and renames it into place, so the path itself must leave room for that.
 */
#define CONFIG_MAX_SOCKET_PATH 99u

enum config_profile { PROFILE_DEVELOPMENT, PROFILE_PRODUCTION, PROFILE_TESTING };

/*
 * The eBPF input (the `ebpf:` section, ULOG_EBPF for the mode). auto tries
 * to load it and, when it cannot, says why once and carries on without it;
 * on refuses to start without it; off never tries. The scope says whose
 * process events are reported: containers (processes in a container, and
 * every process connected through the shim), shim (only those) or all
 * (every process on the host). Capturing writes is opt-in, per program
 * name or per pid, for programs the shim cannot reach (static, Go).
 */
enum ebpf_mode { EBPF_MODE_AUTO, EBPF_MODE_ON, EBPF_MODE_OFF };
enum ebpf_scope { EBPF_SCOPE_CONTAINERS, EBPF_SCOPE_SHIM, EBPF_SCOPE_ALL };

#define CONFIG_DEFAULT_CRASH_CONTEXT_LINES 20u
#define CONFIG_MAX_CRASH_CONTEXT_LINES 1000u
#define CONFIG_DEFAULT_CAPTURE_BYTES 4096u
#define CONFIG_MIN_CAPTURE_BYTES 64u
#define CONFIG_MAX_CAPTURE_BYTES 65536u
#define CONFIG_MAX_CAPTURE_ENTRIES 64u /* programs, and pids, each */
#define CONFIG_MAX_PROGRAM_NAME 255u

struct ebpf_settings {
    enum ebpf_mode mode;
    enum ebpf_scope scope;
    unsigned crash_context_lines; /* the last lines an abnormal exit record carries */
    char **capture_programs;      /* base names; NULL when none */
    size_t capture_program_count;
    uint32_t *capture_pids;       /* NULL when none */
    size_t capture_pid_count;
    unsigned capture_bytes;       /* bytes kept per captured write */
};

const char *ebpf_mode_name(enum ebpf_mode mode);
const char *ebpf_scope_name(enum ebpf_scope scope);

/*
 * The Docker Engine collector (the `docker:` section; ULOG_DOCKER for the
 * mode, the socket from docker.socket < DOCKER_HOST < ULOG_DOCKER_SOCKET).
 * auto uses the engine while its socket answers and keeps trying when it
 * does not; on refuses to start without it; off never asks. collect says
 * whose logs ulogd reads from the engine: auto (containers whose processes
 * do not speak through the shim), all, or none (lifecycle events and names).
 */
enum docker_mode { DOCKER_MODE_AUTO, DOCKER_MODE_ON, DOCKER_MODE_OFF };
enum docker_collect { DOCKER_COLLECT_AUTO, DOCKER_COLLECT_ALL, DOCKER_COLLECT_NONE };

#define CONFIG_DEFAULT_DOCKER_SOCKET "/var/run/docker.sock"
#define CONFIG_MAX_DOCKER_SOCKET 107u /* sockaddr_un's sun_path, less its NUL */

struct docker_settings {
    enum docker_mode mode;
    enum docker_collect collect;
    char *socket;              /* the engine's unix socket */
    const char *socket_origin; /* which layer named it, for messages */
    char *unsupported_host;    /* a DOCKER_HOST that is not unix:// (tcp://...); NULL: none */
};

const char *docker_mode_name(enum docker_mode mode);
const char *docker_collect_name(enum docker_collect collect);

/*
 * The embedded store (the `store:` section; store.h) and the PostgreSQL
 * copy of it. Every setting needs a restart: the writer thread opened its
 * file with them. max_age and max_size 0 keep records forever / let the
 * file grow; path NULL is LOG_DIR/ulog.db, a relative one is under LOG_DIR.
 */
#define CONFIG_DEFAULT_STORE_MAX_AGE (7u * 86400u)          /* 7d */
#define CONFIG_DEFAULT_STORE_MAX_SIZE (1ull << 30)          /* 1G */
#define CONFIG_DEFAULT_STORE_QUEUE (64ull << 20)            /* 64M */
#define CONFIG_MIN_STORE_MAX_SIZE (1ull << 20)              /* 1M */
#define CONFIG_MIN_STORE_QUEUE (64ull << 10)                /* 64K */
#define CONFIG_MAX_STORE_QUEUE (16ull << 30)                /* 16G */
#define CONFIG_MAX_STORE_MAX_AGE (100ull * 365 * 86400)     /* 100 years */

struct store_settings {
    bool enabled;          /* store.mode: on/off (ULOG_STORE) */
    char *path;            /* NULL: LOG_DIR/ulog.db */
    uint64_t max_age_s;    /* 0: no age limit */
    uint64_t max_size;     /* bytes; 0: no size limit */
    uint64_t queue_bytes;  /* what may wait for the writer before batches are dropped */
    char *postgresql;      /* libpq conninfo or URI; NULL: none. May hold a password: never printed */
};

struct ulogd_config {
    enum config_profile profile;
    char *log_dir;
    enum ulog_level level;
    uint64_t rotation_size; /* 0: never rotate */
    unsigned backup_count;  /* 0: never rotate */
    char *socket;           /* NULL: the default, or the per-user fallback */
    size_t max_line_bytes;
    enum console_mode console;
    char *errors_file;      /* "" when errors.log is switched off */
    enum ulog_level errors_level;
    bool line_timestamps;   /* a lifted time becomes the record's timestamp */
    bool watch;             /* re-read the file when it changes */
    char *service_host;     /* HTTP/WebSocket bind address (the serving issue) */
    unsigned service_port;
    unsigned buffer_size;
    char *token;            /* ULOG_TOKEN; never printed */
    char *config_file;      /* the YAML file read, if any */
    struct pipeline_settings pipeline;
    struct ebpf_settings ebpf;
    struct docker_settings docker;
    struct store_settings store;
};

enum config_outcome {
    CONFIG_OK,
    CONFIG_EXIT_SUCCESS, /* --help or --version was answered */
    CONFIG_ERROR,        /* `err` says why */
};

void config_defaults(struct ulogd_config *config);
void config_free(struct ulogd_config *config);

/* The whole sequence: defaults < profile < YAML < environment < argv. */
enum config_outcome config_load(struct ulogd_config *config, int argc, char **argv, char *err,
                                size_t err_size);

/* The layers on their own, for tests and for callers that need only one. */
int config_apply_profile(struct ulogd_config *config, const char *name, char *err,
                         size_t err_size);
int config_apply_yaml(struct ulogd_config *config, const char *path, char *err, size_t err_size);
int config_apply_environment(struct ulogd_config *config, char *err, size_t err_size);
/* Build what the pipeline sections describe (defaults for absent ones). */
int config_finish(struct ulogd_config *config, char *err, size_t err_size);

const char *config_profile_name(enum config_profile profile);
const char *console_mode_name(enum console_mode mode);

void config_usage(FILE *out);

/* A switch, in any case: on, true, yes, 1 or off, false, no, 0. */
bool config_parse_switch(const char *text, bool *on);

/* A byte count with an optional binary suffix: 10485760, 512K, 10M, 1G. */
bool config_parse_size(const char *text, uint64_t *out);

/* An age or a duration in whole units: 90s, 15m, 2h, 7d (and 0). Seconds. */
bool config_parse_age(const char *text, uint64_t *seconds);

#endif
