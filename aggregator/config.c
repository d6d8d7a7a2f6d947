/*
 * config.c - ulogd's settings and where they come from (see config.h).
 *
 * The defaults, the profiles, and the layers in their order: the YAML file,
 * the environment, the flags. What each setting is called in each layer,
 * and what value it accepts, is config_settings.c's; every layer hands its
 * values to the same config_set_value(), so they cannot disagree about what
 * is valid.
 */
#include "config.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "alloc.h"
#include "config_private.h"
#include "config_yaml.h"

#ifndef ULOG_VERSION
#define ULOG_VERSION "unknown"
#endif

void config_fail(char *err, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, size, fmt, ap);
    va_end(ap);
}

void config_defaults(struct ulogd_config *c)
{
    memset(c, 0, sizeof *c);
    c->profile = PROFILE_DEVELOPMENT;
    c->log_dir = must_strdup(CONFIG_DEFAULT_LOG_DIR);
    c->level = ULOG_INFO;
    c->rotation_size = CONFIG_DEFAULT_ROTATION_SIZE;
    c->backup_count = CONFIG_DEFAULT_BACKUP_COUNT;
    c->max_line_bytes = CONFIG_DEFAULT_MAX_LINE;
    c->console = CONSOLE_OFF;
    c->errors_file = must_strdup(CONFIG_DEFAULT_ERRORS_FILE);
    c->errors_level = ULOG_ERROR;
    c->watch = true;
    c->service_host = must_strdup(CONFIG_DEFAULT_SERVICE_HOST);
    c->service_port = CONFIG_DEFAULT_SERVICE_PORT;
    c->buffer_size = CONFIG_DEFAULT_BUFFER_SIZE;
    pipeline_settings_defaults(&c->pipeline);
    config_ebpf_defaults(&c->ebpf);
    config_docker_defaults(&c->docker);
    config_store_defaults(&c->store);
}

void config_free(struct ulogd_config *c)
{
    free(c->log_dir);
    free(c->socket);
    free(c->errors_file);
    free(c->service_host);
    if (c->token)
        explicit_bzero(c->token, strlen(c->token));
    free(c->token);
    free(c->config_file);
    pipeline_settings_free(&c->pipeline);
    config_ebpf_free(&c->ebpf);
    config_docker_free(&c->docker);
    config_store_free(&c->store);
    memset(c, 0, sizeof *c);
}

static const char *const profile_names[] = {"development", "production", "testing"};
static const char *const console_names[] = {"off", "text", "json"};

const char *config_profile_name(enum config_profile profile)
{
    return (unsigned)profile < 3 ? profile_names[profile] : "development";
}

const char *console_mode_name(enum console_mode mode)
{
    return (unsigned)mode < 3 ? console_names[mode] : "off";
}

/*
 * The profiles are documented defaults, nothing more: anything the file,
 * the environment or a flag says still wins.
 */
int config_apply_profile(struct ulogd_config *c, const char *name, char *err, size_t size)
{
    for (int p = 0; p < 3; p++) {
        if (strcasecmp(name, profile_names[p]) != 0)
            continue;
        c->profile = (enum config_profile)p;
        switch (c->profile) {
        case PROFILE_DEVELOPMENT:
            c->level = ULOG_DEBUG;
            c->console = CONSOLE_TEXT;
            break;
        case PROFILE_PRODUCTION:
            c->level = ULOG_INFO;
            c->console = CONSOLE_OFF;
            break;
        case PROFILE_TESTING:
            c->level = ULOG_DEBUG;
            c->console = CONSOLE_OFF;
            free(c->log_dir);
            c->log_dir = must_strdup(CONFIG_TESTING_LOG_DIR);
            break;
        }
        return 0;
    }
    config_fail(err, size,
                "ULOG_ENV=%.100s: unknown profile (use development, production or testing)", name);
    return -1;
}

/* ---- YAML ------------------------------------------------------------- */

static int apply_yaml_key(void *ctx, const struct yaml_source *src, const yaml_node_t *key,
                          const yaml_node_t *value)
{
    struct ulogd_config *c = ctx;
    const char *name = yaml_text(key);
    char reason[384];

    for (int which = 0; which < SETTING_COUNT; which++) {
        if (!config_settings[which].yaml_key || strcmp(name, config_settings[which].yaml_key) != 0)
            continue;
        if (yaml_expect_scalar(src, value, name) != 0)
            return -1;
        if (config_set_value(c, (enum setting)which, yaml_text(value), reason, sizeof reason) != 0)
            return yaml_fail(src, value, "%.64s: %s", name, reason);
        return 0;
    }
    if (strcmp(name, "ebpf") == 0)
        return config_read_ebpf(c, src, value);
    if (strcmp(name, "docker") == 0)
        return config_read_docker(c, src, value);
    if (strcmp(name, "store") == 0)
        return config_read_store(c, src, value);
    int rc = config_pipeline_section(&c->pipeline, src, key, value);
    if (rc <= 0)
        return rc;
    if (strcmp(name, "token") == 0)
        return yaml_fail(src, key, "the token is read from ULOG_TOKEN only, never from a file");
    return yaml_fail(src, key,
                     "unknown setting \"%.64s\" (known: log_dir, level, rotation_size, "
                     "backup_count, socket, max_line_bytes, console, errors_file, errors_level, "
                     "timestamp, watch, service_host, service_port, buffer_size, lift, "
                     "default_levels, min_levels, multiline, redaction, rules, ebpf, docker, store)",
                     name);
}

int config_apply_yaml(struct ulogd_config *c, const char *path, char *err, size_t size)
{
    if (config_yaml_read(path, apply_yaml_key, c, err, size) != 0)
        return -1;
    config_replace_string(&c->config_file, path);
    return 0;
}

int config_finish(struct ulogd_config *c, char *err, size_t size)
{
    char reason[512];

    if (config_pipeline_build(&c->pipeline, reason, sizeof reason) != 0) {
        config_fail(err, size, "%s: %s", c->config_file ? c->config_file : "settings", reason);
        return -1;
    }
    /* The API reads the whole stack's logs: off this machine only with a token. */
    if (!c->token && strcmp(c->service_host, "localhost") != 0 &&
        strncmp(c->service_host, "127.", 4) != 0 && strcmp(c->service_host, "::1") != 0) {
        config_fail(err, size, "LOG_SERVICE_HOST=%.100s binds beyond this machine: set "
                               "ULOG_TOKEN (16 characters or more) to allow it",
                    c->service_host);
        return -1;
    }
    return 0;
}

/* ---- environment ------------------------------------------------------ */

int config_apply_environment(struct ulogd_config *c, char *err, size_t size)
{
    char reason[256];

    for (int which = 0; which < SETTING_COUNT; which++) {
        const char *name = config_settings[which].env;
        if (!name)
            continue;
        const char *value = getenv(name);
        if ((!value || !value[0]) && config_settings[which].env_alias) {
            name = config_settings[which].env_alias;
            value = getenv(name);
        }
        if (!value || !value[0])
            continue; /* `LOG_LEVEL=` in a .env file means "not set" */
        if (config_set_value(c, (enum setting)which, value, reason, sizeof reason) != 0) {
            if (which == SET_TOKEN)
                config_fail(err, size, "%s: %s", name, reason); /* never echo a secret */
            else
                config_fail(err, size, "%s=%.200s: %s", name, value, reason);
            return -1;
        }
    }
    /* The docker variables have an order of their own (config_docker.c). */
    if (config_docker_apply_environment(c, err, size) != 0)
        return -1;
    return config_store_apply_environment(c, err, size);
}

/* ---- command line ----------------------------------------------------- */

void config_usage(FILE *out)
{
    fputs("Usage: ulogd [--log-dir DIR] [--socket PATH] [--config FILE] [--level LEVEL]\n"
          "             [--env PROFILE] [--console MODE]\n"
          "\n"
          "Collects what programs started with `ulog run` write to stdout and stderr\n"
          "into one JSON-Lines file, DIR/all.log (and DIR/errors.log, and the files\n"
          "rules route records to). Runs in the foreground. SIGTERM or Ctrl-C stops it\n"
          "after writing everything already sent; SIGHUP re-opens the files and re-reads\n"
          "the configuration.\n"
          "\n"
          "  --log-dir DIR    where all.log is written (LOG_DIR; default ./logs)\n"
          "  --socket PATH    where programs connect (ULOG_SOCKET; default\n"
          "                   /run/ulog/ulog.sock, or, when /run/ulog cannot be made,\n"
          "                   $XDG_RUNTIME_DIR/ulog/ulog.sock or /tmp/ulog-UID/ulog.sock)\n"
          "  --config FILE    the YAML configuration (ULOG_CONFIG; default ./ulog.yaml\n"
          "                   when it exists); check one with `ulog check FILE`\n"
          "  --level LEVEL    lowest level written: DEBUG, INFO, WARNING, ERROR, CRITICAL\n"
          "                   (LOG_LEVEL; default from the profile)\n"
          "  --env PROFILE    development (DEBUG, console mirror), production (INFO, no\n"
          "                   console) or testing (DEBUG, ./logs/testing) (ULOG_ENV;\n"
          "                   default development)\n"
          "  --console MODE   mirror records on stdout: text, json or off (ULOG_CONSOLE)\n"
          "  --help           this text\n"
          "  --version        the version\n"
          "\n"
          "Environment: LOG_ROTATION_SIZE (alias LOG_MAX_BYTES; default 10485760, 0 never\n"
          "rotates), LOG_BACKUP_COUNT (default 5), ULOG_MAX_LINE (bytes per record before a\n"
          "line is split; default 16384), LOG_SERVICE_HOST, LOG_SERVICE_PORT,\n"
          "LOG_BUFFER_SIZE, ULOG_TOKEN, ULOG_EBPF (process events and write capture with\n"
          "eBPF: auto, the default, uses it when it can load and says once why not; on\n"
          "refuses to start without it; off), ULOG_DOCKER (the Docker Engine's container\n"
          "logs and lifecycle events: auto, the default, reads the engine while its socket\n"
          "answers; on refuses to start without it; off), ULOG_DOCKER_SOCKET or\n"
          "DOCKER_HOST=unix:///PATH (default /var/run/docker.sock). The store of every\n"
          "record for GET /logs, the live page and `ulog query`: ULOG_STORE (on, the\n"
          "default, or off), ULOG_STORE_PATH (default DIR/ulog.db; a relative path is\n"
          "under DIR), ULOG_STORE_MAX_AGE\n"
          "(records older are removed; default 7d, 0 keeps them), ULOG_STORE_MAX_SIZE\n"
          "(the oldest are removed beyond it; default 1G, 0 no limit), ULOG_STORE_QUEUE\n"
          "(what may wait for the store's writer before records are left out of it, never\n"
          "out of all.log; default 64M), ULOG_POSTGRESQL (a libpq connection string or\n"
          "URI: a copy of the store in PostgreSQL). Flags override the environment,\n"
          "which overrides the file, which overrides the profile. See docs/LOGGING.md.\n",
          out);
}

enum config_outcome config_load(struct ulogd_config *c, int argc, char **argv, char *err,
                                size_t size)
{
    enum {
        OPT_LOG_DIR = 256,
        OPT_SOCKET,
        OPT_CONFIG,
        OPT_LEVEL,
        OPT_ENV,
        OPT_CONSOLE,
        OPT_HELP,
        OPT_VERSION
    };
    static const struct option options[] = {
        {"log-dir", required_argument, NULL, OPT_LOG_DIR},
        {"socket", required_argument, NULL, OPT_SOCKET},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"level", required_argument, NULL, OPT_LEVEL},
        {"env", required_argument, NULL, OPT_ENV},
        {"console", required_argument, NULL, OPT_CONSOLE},
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    /* Flags are applied last, but the profile and file they name come first. */
    const char *flag_value[SETTING_COUNT] = {NULL};
    const char *config_path = NULL, *profile = NULL;
    char reason[256];
    int opt;

    config_defaults(c);
    opterr = 0;
    optind = 0; /* glibc: start afresh, even if getopt ran before */
    while ((opt = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
        switch (opt) {
        case OPT_LOG_DIR: flag_value[SET_LOG_DIR] = optarg; break;
        case OPT_SOCKET: flag_value[SET_SOCKET] = optarg; break;
        case OPT_LEVEL: flag_value[SET_LEVEL] = optarg; break;
        case OPT_CONSOLE: flag_value[SET_CONSOLE] = optarg; break;
        case OPT_CONFIG: config_path = optarg; break;
        case OPT_ENV: profile = optarg; break;
        case 'h':
        case OPT_HELP:
            config_usage(stdout);
            return CONFIG_EXIT_SUCCESS;
        case OPT_VERSION:
            printf("ulogd %s\n", ULOG_VERSION);
            return CONFIG_EXIT_SUCCESS;
        default:
            if (optopt && optopt < 256 && optopt != '?')
                config_fail(err, size, "unknown option -%c (try --help)", optopt);
            else if (optopt >= OPT_LOG_DIR)
                config_fail(err, size, "%s needs a value (try --help)", argv[optind - 1]);
            else
                config_fail(err, size, "unknown option %s (try --help)", argv[optind - 1]);
            return CONFIG_ERROR;
        }
    }
    if (optind < argc) {
        config_fail(err, size, "unexpected argument \"%s\" (try --help)", argv[optind]);
        return CONFIG_ERROR;
    }

    if (!profile)
        profile = getenv("ULOG_ENV");
    if (config_apply_profile(c, profile && profile[0] ? profile : "development", err, size) != 0)
        return CONFIG_ERROR;
    if (!config_path)
        config_path = getenv("ULOG_CONFIG");
    if (config_path && !config_path[0])
        config_path = NULL;
    if (!config_path && access(CONFIG_DEFAULT_FILE, F_OK) == 0)
        config_path = CONFIG_DEFAULT_FILE;
    if (config_path && config_apply_yaml(c, config_path, err, size) != 0)
        return CONFIG_ERROR;
    if (config_apply_environment(c, err, size) != 0)
        return CONFIG_ERROR;
    for (int which = 0; which < SETTING_COUNT; which++) {
        if (!flag_value[which])
            continue;
        if (config_set_value(c, (enum setting)which, flag_value[which], reason,
                             sizeof reason) != 0) {
            config_fail(err, size, "%s %.200s: %s", config_settings[which].flag,
                        flag_value[which], reason);
            return CONFIG_ERROR;
        }
    }
    if (config_finish(c, err, size) != 0)
        return CONFIG_ERROR;
    return CONFIG_OK;
}
