/*
 * config_store.c - the `store:` section and the variables of the embedded
 * store and its PostgreSQL copy (see struct store_settings in config.h).
 *
 * Kept apart from the plain settings because they form one group with a
 * mode of its own (`store: off` like `docker: off`), and because one of
 * them, the PostgreSQL connection string, may carry a password: a refusal
 * names the setting, never echoes that value. The age parser lives here
 * too: store.max_age and GET /logs's start_time ("15m") read ages alike.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "config_private.h"

void config_store_defaults(struct store_settings *s)
{
    memset(s, 0, sizeof *s);
    s->enabled = true;
    s->max_age_s = CONFIG_DEFAULT_STORE_MAX_AGE;
    s->max_size = CONFIG_DEFAULT_STORE_MAX_SIZE;
    s->queue_bytes = CONFIG_DEFAULT_STORE_QUEUE;
}

void config_store_free(struct store_settings *s)
{
    free(s->path);
    if (s->postgresql)
        explicit_bzero(s->postgresql, strlen(s->postgresql));
    free(s->postgresql);
    memset(s, 0, sizeof *s);
}

bool config_parse_age(const char *text, uint64_t *seconds)
{
    uint64_t value = 0, unit;
    const char *p = text;

    if (*p < '0' || *p > '9')
        return false;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (value > (UINT64_MAX - 9) / 10)
            return false;
        value = value * 10 + (uint64_t)(*p - '0');
    }
    switch (*p) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    case '\0':
        if (value != 0) /* a bare number's unit would be a guess */
            return false;
        *seconds = 0;
        return true;
    default: return false;
    }
    if (p[1] != '\0' || value > UINT64_MAX / unit)
        return false;
    *seconds = value * unit;
    return true;
}


enum store_key { KEY_MODE, KEY_PATH, KEY_MAX_AGE, KEY_MAX_SIZE, KEY_QUEUE, KEY_POSTGRESQL };

/* Check and store one value, from the file or a variable; -1 with `reason`. */
static int set_value(struct store_settings *s, enum store_key key, const char *value,
                     char *reason, size_t size)
{
    uint64_t number;

    switch (key) {
    case KEY_MODE:
        if (config_parse_switch(value, &s->enabled))
            return 0;
        config_fail(reason, size, "use on (keep every record in the store for GET /logs, the "
                                  "live page and `ulog query`) or off");
        return -1;
    case KEY_PATH:
        if (!value[0] || strlen(value) > 4000) {
            config_fail(reason, size, "a file path (relative ones are under the log directory)");
            return -1;
        }
        config_replace_string(&s->path, value);
        return 0;
    case KEY_MAX_AGE:
        if (!config_parse_age(value, &number) || number > CONFIG_MAX_STORE_MAX_AGE) {
            config_fail(reason, size, "an age such as 90s, 15m, 12h or 7d (0 keeps records "
                                      "until max_size removes them)");
            return -1;
        }
        s->max_age_s = number;
        return 0;
    case KEY_MAX_SIZE:
        if (!config_parse_size(value, &number) || (number && number < CONFIG_MIN_STORE_MAX_SIZE)) {
            config_fail(reason, size, "a size of 1M or more, such as 500M or 2G (0: no limit)");
            return -1;
        }
        s->max_size = number;
        return 0;
    case KEY_QUEUE:
        if (!config_parse_size(value, &number) || number < CONFIG_MIN_STORE_QUEUE ||
            number > CONFIG_MAX_STORE_QUEUE) {
            config_fail(reason, size, "a size from 64K to 16G, such as 64M");
            return -1;
        }
        s->queue_bytes = number;
        return 0;
    case KEY_POSTGRESQL:
        /* libpq checks the rest when it connects; "" or off: none. */
        if (!value[0] || strcasecmp(value, "off") == 0 || strcasecmp(value, "none") == 0) {
            if (s->postgresql)
                explicit_bzero(s->postgresql, strlen(s->postgresql));
            free(s->postgresql);
            s->postgresql = NULL;
            return 0;
        }
        if (strlen(value) > 4000) {
            config_fail(reason, size, "a libpq connection string or URI of at most 4000 bytes");
            return -1;
        }
        if (s->postgresql)
            explicit_bzero(s->postgresql, strlen(s->postgresql));
        config_replace_string(&s->postgresql, value);
        return 0;
    }
    config_fail(reason, size, "no such setting");
    return -1;
}

/* ---- the file ---------------------------------------------------------------- */

static const char *const key_names[] = {"mode", "path", "max_age", "max_size", "queue_bytes",
                                        "postgresql"};

int config_read_store(struct ulogd_config *c, const struct yaml_source *src,
                      const yaml_node_t *value)
{
    static const char *const known[] = {"mode",        "path",       "max_age", "max_size",
                                        "queue_bytes", "postgresql", NULL};
    char reason[256], what[32];

    if (value->type == YAML_SCALAR_NODE) { /* store: off */
        if (yaml_expect_scalar(src, value, "store") != 0)
            return -1;
        if (set_value(&c->store, KEY_MODE, yaml_text(value), reason, sizeof reason) != 0)
            return yaml_fail(src, value, "store: %s", reason);
        return 0;
    }
    if (yaml_expect_mapping(src, value, "store") != 0 ||
        yaml_only_keys(src, value, "store", known,
                       "mode, path, max_age, max_size, queue_bytes, postgresql") != 0)
        return -1;
    YAML_EACH_PAIR(value, pair) {
        const char *key = yaml_text(yaml_child(src, pair->key));
        const yaml_node_t *node = yaml_child(src, pair->value);
        enum store_key which = KEY_MODE;
        for (size_t i = 0; i < sizeof key_names / sizeof key_names[0]; i++)
            if (strcmp(key, key_names[i]) == 0)
                which = (enum store_key)i;
        snprintf(what, sizeof what, "store.%s", key_names[which]);
        if (yaml_expect_scalar(src, node, what) != 0)
            return -1;
        /* `mode: off` is a boolean to YAML, but its text is what counts here. */
        if (set_value(&c->store, which, yaml_text(node), reason, sizeof reason) != 0)
            return yaml_fail(src, node, "%s: %s", what, reason);
    }
    return 0;
}

/* ---- the environment ------------------------------------------------------------ */

int config_store_apply_environment(struct ulogd_config *c, char *err, size_t size)
{
    static const struct {
        const char *name;
        enum store_key key;
    } variables[] = {
        {"ULOG_STORE", KEY_MODE},          {"ULOG_STORE_PATH", KEY_PATH},
        {"ULOG_STORE_MAX_AGE", KEY_MAX_AGE}, {"ULOG_STORE_MAX_SIZE", KEY_MAX_SIZE},
        {"ULOG_STORE_QUEUE", KEY_QUEUE},   {"ULOG_POSTGRESQL", KEY_POSTGRESQL},
    };
    char reason[256];

    for (size_t i = 0; i < sizeof variables / sizeof variables[0]; i++) {
        const char *value = getenv(variables[i].name);
        if (!value || !value[0])
            continue; /* `ULOG_STORE=` in a .env file means "not set" */
        if (set_value(&c->store, variables[i].key, value, reason, sizeof reason) == 0)
            continue;
        if (variables[i].key == KEY_POSTGRESQL) /* may hold a password */
            config_fail(err, size, "%s: %s", variables[i].name, reason);
        else
            config_fail(err, size, "%s=%.200s: %s", variables[i].name, value, reason);
        return -1;
    }
    return 0;
}
