/*
 * config.c - ulogd's settings and where they come from (see config.h).
 *
 * One table names each setting in all three spellings (YAML key,
 * environment variable, flag); one function checks and stores a value
 * whatever its origin, so the layers cannot disagree about what is valid.
 */
#include "config.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "config_yaml.h"

#ifndef ULOG_VERSION
#define ULOG_VERSION "unknown"
#endif

enum setting {
    SET_LOG_DIR,
    SET_LEVEL,
    SET_ROTATION_SIZE,
    SET_BACKUP_COUNT,
    SET_SOCKET,
    SET_MAX_LINE,
    SETTING_COUNT
};

static const struct {
    const char *yaml_key;
    const char *env;       /* NULL: no variable */
    const char *env_alias; /* read when `env` is unset */
    const char *flag;      /* NULL: no flag */
} settings[SETTING_COUNT] = {
    [SET_LOG_DIR] = {"log_dir", "LOG_DIR", NULL, "--log-dir"},
    [SET_LEVEL] = {"level", "LOG_LEVEL", NULL, "--level"},
    [SET_ROTATION_SIZE] = {"rotation_size", "LOG_ROTATION_SIZE", "LOG_MAX_BYTES", NULL},
    [SET_BACKUP_COUNT] = {"backup_count", "LOG_BACKUP_COUNT", NULL, NULL},
    [SET_SOCKET] = {"socket", "ULOG_SOCKET", NULL, "--socket"},
    [SET_MAX_LINE] = {"max_line_bytes", "ULOG_MAX_LINE", NULL, NULL},
};

static void fail(char *err, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(char *err, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, size, fmt, ap);
    va_end(ap);
}

void config_defaults(struct ulogd_config *c)
{
    memset(c, 0, sizeof *c);
    c->log_dir = must_strdup(CONFIG_DEFAULT_LOG_DIR);
    c->level = ULOG_INFO;
    c->rotation_size = CONFIG_DEFAULT_ROTATION_SIZE;
    c->backup_count = CONFIG_DEFAULT_BACKUP_COUNT;
    c->max_line_bytes = CONFIG_DEFAULT_MAX_LINE;
}

void config_free(struct ulogd_config *c)
{
    free(c->log_dir);
    free(c->socket);
    free(c->config_file);
    memset(c, 0, sizeof *c);
}

/* Digits only: no sign, no blanks, no overflow. */
static bool parse_whole_number(const char *s, uint64_t *out, const char **rest)
{
    uint64_t value = 0;

    if (*s < '0' || *s > '9')
        return false;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned digit = (unsigned)(*s - '0');
        if (value > (UINT64_MAX - digit) / 10)
            return false;
        value = value * 10 + digit;
    }
    *out = value;
    *rest = s;
    return true;
}

/* A byte count with an optional binary suffix: 10485760, 512K, 10M, 1G. */
static bool parse_size(const char *s, uint64_t *out)
{
    const char *rest;
    unsigned shift = 0;
    uint64_t value;

    if (!parse_whole_number(s, &value, &rest))
        return false;
    switch (*rest) {
    case '\0': break;
    case 'k': case 'K': shift = 10; break;
    case 'm': case 'M': shift = 20; break;
    case 'g': case 'G': shift = 30; break;
    default: return false;
    }
    if (shift && rest[1] != '\0')
        return false;
    if (value > (UINT64_MAX >> shift))
        return false;
    *out = value << shift;
    return true;
}

static void replace_string(char **slot, const char *value)
{
    free(*slot);
    *slot = must_strdup(value);
}

/* Check and store one value; on refusal `reason` says what is wrong with it. */
static int set_value(struct ulogd_config *c, enum setting which, const char *value, char *reason,
                     size_t size)
{
    uint64_t number;
    int level;

    switch (which) {
    case SET_LOG_DIR:
        if (!value[0]) {
            fail(reason, size, "the log directory must not be empty");
            return -1;
        }
        replace_string(&c->log_dir, value);
        return 0;
    case SET_LEVEL:
        level = ulog_level_parse(value);
        if (level < 0) {
            fail(reason, size, "unknown level (use DEBUG, INFO, WARNING, ERROR or CRITICAL)");
            return -1;
        }
        c->level = (enum ulog_level)level;
        return 0;
    case SET_ROTATION_SIZE:
        if (!parse_size(value, &number)) {
            fail(reason, size, "not a size in bytes (such as 10485760, 512K, 10M; 0 never rotates)");
            return -1;
        }
        c->rotation_size = number;
        return 0;
    case SET_BACKUP_COUNT: {
        const char *rest;
        if (!parse_whole_number(value, &number, &rest) || *rest || number > CONFIG_MAX_BACKUP_COUNT) {
            fail(reason, size, "not a whole number from 0 to %u", CONFIG_MAX_BACKUP_COUNT);
            return -1;
        }
        c->backup_count = (unsigned)number;
        return 0;
    }
    case SET_SOCKET:
        if (!value[0] || strlen(value) > CONFIG_MAX_SOCKET_PATH) {
            fail(reason, size, "a socket path must have 1 to %u bytes", CONFIG_MAX_SOCKET_PATH);
            return -1;
        }
        replace_string(&c->socket, value);
        return 0;
    case SET_MAX_LINE:
        if (!parse_size(value, &number) || number < CONFIG_MIN_MAX_LINE || number > CONFIG_MAX_MAX_LINE) {
            fail(reason, size, "not a size from %u to %u bytes", CONFIG_MIN_MAX_LINE,
                 CONFIG_MAX_MAX_LINE);
            return -1;
        }
        c->max_line_bytes = (size_t)number;
        return 0;
    case SETTING_COUNT:
        break;
    }
    fail(reason, size, "no such setting");
    return -1;
}

/* ---- YAML ------------------------------------------------------------- */

static enum config_yaml_verdict apply_yaml_setting(void *ctx, const char *name, const char *value,
                                                   char *reason, size_t size)
{
    for (int which = 0; which < SETTING_COUNT; which++) {
        if (strcmp(name, settings[which].yaml_key) != 0)
            continue;
        if (set_value(ctx, (enum setting)which, value, reason, size) != 0)
            return CONFIG_YAML_BAD_VALUE;
        return CONFIG_YAML_ACCEPT;
    }
    fail(reason, size,
         "unknown setting \"%.64s\" (known: log_dir, level, rotation_size, backup_count, socket, "
         "max_line_bytes)", name);
    return CONFIG_YAML_BAD_NAME;
}

int config_apply_yaml(struct ulogd_config *c, const char *path, char *err, size_t size)
{
    if (config_yaml_read(path, apply_yaml_setting, c, err, size) != 0)
        return -1;
    replace_string(&c->config_file, path);
    return 0;
}

/* ---- environment ------------------------------------------------------ */

int config_apply_environment(struct ulogd_config *c, char *err, size_t size)
{
    char reason[256];

    for (int which = 0; which < SETTING_COUNT; which++) {
        const char *name = settings[which].env;
        const char *value = getenv(name);
        if ((!value || !value[0]) && settings[which].env_alias) {
            name = settings[which].env_alias;
            value = getenv(name);
        }
        if (!value || !value[0])
            continue; /* `LOG_LEVEL=` in a .env file means "not set" */
        if (set_value(c, (enum setting)which, value, reason, sizeof reason) != 0) {
            fail(err, size, "%s=%.200s: %s", name, value, reason);
            return -1;
        }
    }
    return 0;
}

/* ---- command line ----------------------------------------------------- */

void config_usage(FILE *out)
{
    fputs("Usage: ulogd [--log-dir DIR] [--socket PATH] [--config FILE] [--level LEVEL]\n"
          "\n"
          "Collects what programs started with `ulog run` write to stdout and stderr\n"
          "into one JSON-Lines file, DIR/all.log. Runs in the foreground. SIGTERM or\n"
          "Ctrl-C stops it after writing everything already sent; SIGHUP re-opens all.log.\n"
          "\n"
          "  --log-dir DIR    where all.log is written (LOG_DIR; default ./logs)\n"
          "  --socket PATH    where programs connect (ULOG_SOCKET; default\n"
          "                   /run/ulog/ulog.sock, or, when /run/ulog cannot be made,\n"
          "                   $XDG_RUNTIME_DIR/ulog/ulog.sock or /tmp/ulog-UID/ulog.sock)\n"
          "  --config FILE    YAML file: log_dir, level, rotation_size, backup_count,\n"
          "                   socket, max_line_bytes\n"
          "  --level LEVEL    lowest level written: DEBUG, INFO, WARNING, ERROR, CRITICAL\n"
          "                   (LOG_LEVEL; default INFO)\n"
          "  --help           this text\n"
          "  --version        the version\n"
          "\n"
          "Environment: LOG_ROTATION_SIZE (alias LOG_MAX_BYTES; default 10485760, 0 never\n"
          "rotates), LOG_BACKUP_COUNT (default 5), ULOG_MAX_LINE (bytes per record before a\n"
          "line is split; default 16384). Flags override the environment, which overrides\n"
          "the file.\n",
          out);
}

enum config_outcome config_load(struct ulogd_config *c, int argc, char **argv, char *err,
                                size_t size)
{
    enum { OPT_LOG_DIR = 256, OPT_SOCKET, OPT_CONFIG, OPT_LEVEL, OPT_HELP, OPT_VERSION };
    static const struct option options[] = {
        {"log-dir", required_argument, NULL, OPT_LOG_DIR},
        {"socket", required_argument, NULL, OPT_SOCKET},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"level", required_argument, NULL, OPT_LEVEL},
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    /* Flags are applied last, but the YAML file they name is read first. */
    const char *flag_value[SETTING_COUNT] = {NULL};
    const char *config_path = NULL;
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
        case OPT_CONFIG: config_path = optarg; break;
        case 'h':
        case OPT_HELP:
            config_usage(stdout);
            return CONFIG_EXIT_SUCCESS;
        case OPT_VERSION:
            printf("ulogd %s\n", ULOG_VERSION);
            return CONFIG_EXIT_SUCCESS;
        default:
            if (optopt && optopt < 256 && optopt != '?')
                fail(err, size, "unknown option -%c (try --help)", optopt);
            else if (optopt >= OPT_LOG_DIR)
                fail(err, size, "%s needs a value (try --help)", argv[optind - 1]);
            else
                fail(err, size, "unknown option %s (try --help)", argv[optind - 1]);
            return CONFIG_ERROR;
        }
    }
    if (optind < argc) {
        fail(err, size, "unexpected argument \"%s\" (try --help)", argv[optind]);
        return CONFIG_ERROR;
    }

    if (config_path && config_apply_yaml(c, config_path, err, size) != 0)
        return CONFIG_ERROR;
    if (config_apply_environment(c, err, size) != 0)
        return CONFIG_ERROR;
    for (int which = 0; which < SETTING_COUNT; which++) {
        if (!flag_value[which])
            continue;
        if (set_value(c, (enum setting)which, flag_value[which], reason, sizeof reason) != 0) {
            fail(err, size, "%s %.200s: %s", settings[which].flag, flag_value[which], reason);
            return CONFIG_ERROR;
        }
    }
    return CONFIG_OK;
}
