/*
 * config_settings.c - the plain settings: their names, and what each accepts.
 *
 * One table names each setting in all three spellings (YAML key,
 * environment variable, flag); one function checks and stores a value
 * whatever its origin, so the layers cannot disagree about what is valid.
 * The readers of levels, counts, sizes and durations inside the structured
 * sections (config_pipeline.c, config_rules.c) live here too, beside the
 * parsers they share with the plain settings. The `ebpf:` section, whose
 * mode is also a plain setting here (ULOG_EBPF), is read in config_ebpf.c.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "config_private.h"

const struct setting_names config_settings[SETTING_COUNT] = {
    [SET_LOG_DIR] = {"log_dir", "LOG_DIR", NULL, "--log-dir"},
    [SET_LEVEL] = {"level", "LOG_LEVEL", NULL, "--level"},
    [SET_ROTATION_SIZE] = {"rotation_size", "LOG_ROTATION_SIZE", "LOG_MAX_BYTES", NULL},
    [SET_BACKUP_COUNT] = {"backup_count", "LOG_BACKUP_COUNT", NULL, NULL},
    [SET_SOCKET] = {"socket", "ULOG_SOCKET", NULL, "--socket"},
    [SET_MAX_LINE] = {"max_line_bytes", "ULOG_MAX_LINE", NULL, NULL},
    [SET_CONSOLE] = {"console", "ULOG_CONSOLE", NULL, "--console"},
    [SET_ERRORS_FILE] = {"errors_file", NULL, NULL, NULL},
    [SET_ERRORS_LEVEL] = {"errors_level", NULL, NULL, NULL},
    [SET_TIMESTAMP] = {"timestamp", NULL, NULL, NULL},
    [SET_WATCH] = {"watch", NULL, NULL, NULL},
    [SET_SERVICE_HOST] = {"service_host", "LOG_SERVICE_HOST", NULL, NULL},
    [SET_SERVICE_PORT] = {"service_port", "LOG_SERVICE_PORT", NULL, NULL},
    [SET_BUFFER_SIZE] = {"buffer_size", "LOG_BUFFER_SIZE", NULL, NULL},
    [SET_TOKEN] = {NULL, "ULOG_TOKEN", NULL, NULL},
    [SET_EBPF_MODE] = {NULL, "ULOG_EBPF", NULL, NULL}, /* the file says ebpf: {mode: ...} */
};

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
bool config_parse_switch(const char *text, bool *on)
{
    static const char *const words[][4] = {{"on", "true", "yes", "1"},
                                           {"off", "false", "no", "0"}};

    for (int value = 0; value < 2; value++)
        for (int i = 0; i < 4; i++)
            if (strcasecmp(text, words[value][i]) == 0) {
                *on = value == 0;
                return true;
            }
    return false;
}

bool config_parse_size(const char *s, uint64_t *out)
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

void config_replace_string(char **slot, const char *value)
{
    free(*slot);
    *slot = must_strdup(value);
}

/* Check and store one value; on refusal `reason` says what is wrong with it. */
int config_set_value(struct ulogd_config *c, enum setting which, const char *value, char *reason,
                     size_t size)
{
    uint64_t number;
    int level;

    switch (which) {
    case SET_LOG_DIR:
        if (!value[0]) {
            config_fail(reason, size, "the log directory must not be empty");
            return -1;
        }
        config_replace_string(&c->log_dir, value);
        return 0;
    case SET_LEVEL:
        level = ulog_level_parse(value);
        if (level < 0) {
            config_fail(reason, size,
                        "unknown level (use DEBUG, INFO, WARNING, ERROR or CRITICAL)");
            return -1;
        }
        c->level = (enum ulog_level)level;
        return 0;
    case SET_ROTATION_SIZE:
        if (!config_parse_size(value, &number)) {
            config_fail(reason, size,
                        "not a size in bytes (such as 10485760, 512K, 10M; 0 never rotates)");
            return -1;
        }
        c->rotation_size = number;
        return 0;
    case SET_BACKUP_COUNT: {
        const char *rest;
        if (!parse_whole_number(value, &number, &rest) || *rest || number > CONFIG_MAX_BACKUP_COUNT) {
            config_fail(reason, size, "not a whole number from 0 to %u", CONFIG_MAX_BACKUP_COUNT);
            return -1;
        }
        c->backup_count = (unsigned)number;
        return 0;
    }
    case SET_SOCKET:
        if (!value[0] || strlen(value) > CONFIG_MAX_SOCKET_PATH) {
            config_fail(reason, size, "a socket path must have 1 to %u bytes",
                        CONFIG_MAX_SOCKET_PATH);
            return -1;
        }
        config_replace_string(&c->socket, value);
        return 0;
    case SET_CONSOLE:
        level = console_mode_parse(value);
        if (level < 0) {
            config_fail(reason, size, "not a console mode (use text, json or off)");
            return -1;
        }
        c->console = (enum console_mode)level;
        return 0;
    case SET_ERRORS_FILE:
        /* "" or off: no errors.log. A name stays inside the log directory. */
        if (strcasecmp(value, "off") == 0 || strcasecmp(value, "false") == 0 ||
            strcasecmp(value, "none") == 0)
            value = "";
        if (value[0] && (strchr(value, '/') || value[0] == '.' || strlen(value) > 100 ||
                         strcmp(value, "all.log") == 0)) {
            config_fail(reason, size, "a file name in the log directory (no '/', not starting "
                                      "with '.', not all.log), or off");
            return -1;
        }
        config_replace_string(&c->errors_file, value);
        return 0;
    case SET_ERRORS_LEVEL:
        level = ulog_level_parse(value);
        if (level < 0) {
            config_fail(reason, size,
                        "unknown level (use DEBUG, INFO, WARNING, ERROR or CRITICAL)");
            return -1;
        }
        c->errors_level = (enum ulog_level)level;
        return 0;
    case SET_TIMESTAMP:
        if (strcmp(value, "capture") == 0)
            c->line_timestamps = false;
        else if (strcmp(value, "line") == 0)
            c->line_timestamps = true;
        else {
            config_fail(reason, size, "use capture (when ulog saw the line) or line (the time "
                                      "the line itself carries, when it has one)");
            return -1;
        }
        return 0;
    case SET_WATCH:
        if (!config_parse_switch(value, &c->watch)) {
            config_fail(reason, size, "use true or false");
            return -1;
        }
        return 0;
    case SET_SERVICE_HOST:
        if (!value[0] || strlen(value) > 253 || strpbrk(value, " /\t")) {
            config_fail(reason, size, "not a host name or address");
            return -1;
        }
        config_replace_string(&c->service_host, value);
        return 0;
    case SET_SERVICE_PORT: {
        const char *rest;
        if (!parse_whole_number(value, &number, &rest) || *rest || number > 65535) {
            config_fail(reason, size, "not a port number from 1 to 65535 (0: no HTTP server)");
            return -1;
        }
        c->service_port = (unsigned)number;
        return 0;
    }
    case SET_BUFFER_SIZE: {
        const char *rest;
        if (!parse_whole_number(value, &number, &rest) || *rest ||
            number > CONFIG_MAX_BUFFER_SIZE) {
            config_fail(reason, size, "not a number of records from 0 to %u",
                        CONFIG_MAX_BUFFER_SIZE);
            return -1;
        }
        c->buffer_size = (unsigned)number;
        return 0;
    }
    case SET_TOKEN:
        if (strlen(value) < 16) {
            config_fail(reason, size, "a token must have at least 16 characters");
            return -1;
        }
        config_replace_string(&c->token, value);
        return 0;
    case SET_MAX_LINE:
        if (!config_parse_size(value, &number) || number < CONFIG_MIN_MAX_LINE || number > CONFIG_MAX_MAX_LINE) {
            config_fail(reason, size, "not a size from %u to %u bytes", CONFIG_MIN_MAX_LINE,
                        CONFIG_MAX_MAX_LINE);
            return -1;
        }
        c->max_line_bytes = (size_t)number;
        return 0;
    case SET_EBPF_MODE: {
        bool on;
        if (strcasecmp(value, "auto") == 0)
            c->ebpf.mode = EBPF_MODE_AUTO;
        else if (config_parse_switch(value, &on))
            c->ebpf.mode = on ? EBPF_MODE_ON : EBPF_MODE_OFF;
        else {
            config_fail(reason, size, "use auto (use eBPF when it can load), on (refuse to "
                                      "start without it) or off");
            return -1;
        }
        return 0;
    }
    case SETTING_COUNT:
        break;
    }
    config_fail(reason, size, "no such setting");
    return -1;
}

/* ---- values inside the structured sections -------------------------------- */

int config_read_level(const struct yaml_source *src, const yaml_node_t *node, const char *what,
                      enum ulog_level *out)
{
    if (yaml_expect_scalar(src, node, what) != 0)
        return -1;
    int level = ulog_level_parse(yaml_text(node));
    if (level < 0)
        return yaml_fail(src, node, "%s: unknown level \"%.40s\" (use DEBUG, INFO, WARNING, "
                                    "ERROR or CRITICAL)",
                         what, yaml_text(node));
    *out = (enum ulog_level)level;
    return 0;
}

/* "250ms", "1s", "1.5s", "2m". A bare number is refused: its unit would be a guess. */
int config_read_duration(const struct yaml_source *src, const yaml_node_t *node,
                         const char *what, uint64_t *out_ns)
{
    if (yaml_expect_scalar(src, node, what) != 0)
        return -1;
    const char *text = yaml_text(node);
    char *end;
    double value = strtod(text, &end);
    double scale = 0;

    if (end != text && value >= 0) {
        if (strcmp(end, "ms") == 0)
            scale = 1e6;
        else if (strcmp(end, "s") == 0)
            scale = 1e9;
        else if (strcmp(end, "m") == 0)
            scale = 60e9;
    }
    if (scale == 0 || value * scale > 3600e9 || value * scale < 1e6)
        return yaml_fail(src, node, "%s: expected a duration from 1ms to 1h, such as 500ms or 2s",
                         what);
    *out_ns = (uint64_t)(value * scale);
    return 0;
}

int config_read_count(const struct yaml_source *src, const yaml_node_t *node, const char *what,
                      uint64_t low, uint64_t high, bool size, uint64_t *out)
{
    uint64_t value;
    char *end;

    if (yaml_expect_scalar(src, node, what) != 0)
        return -1;
    if (size) {
        if (!config_parse_size(yaml_text(node), &value))
            value = UINT64_MAX;
    } else {
        value = strtoull(yaml_text(node), &end, 10);
        if (end == yaml_text(node) || *end || yaml_text(node)[0] == '-')
            value = UINT64_MAX;
    }
    if (value < low || value > high)
        return yaml_fail(src, node, "%s: expected a %s from %llu to %llu", what,
                         size ? "size in bytes" : "whole number", (unsigned long long)low,
                         (unsigned long long)high);
    *out = value;
    return 0;
}
