/*
 * config_docker.c - the `docker:` section and the variables that steer the
 * Docker Engine collector (see struct docker_settings in config.h).
 *
 * The socket has three spellings with an order of their own, the one the
 * Docker CLI users already expect: the file's docker.socket, then
 * DOCKER_HOST (unix:///path; any other scheme is remembered, so that ulogd
 * can refuse it in mode on and say why it is off in mode auto), then
 * ULOG_DOCKER_SOCKET, the most specific. The mode and collect words are
 * checked here for every layer, so the file and the variables accept the
 * same ones.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "config_private.h"

static const char *const mode_names[] = {"auto", "on", "off"};
static const char *const collect_names[] = {"auto", "all", "none"};

const char *docker_mode_name(enum docker_mode mode)
{
    return (unsigned)mode < 3 ? mode_names[mode] : "auto";
}

const char *docker_collect_name(enum docker_collect collect)
{
    return (unsigned)collect < 3 ? collect_names[collect] : "auto";
}

void config_docker_defaults(struct docker_settings *d)
{
    memset(d, 0, sizeof *d);
    d->mode = DOCKER_MODE_AUTO;
    d->collect = DOCKER_COLLECT_AUTO;
    d->socket = must_strdup(CONFIG_DEFAULT_DOCKER_SOCKET);
    d->socket_origin = "default";
}

void config_docker_free(struct docker_settings *d)
{
    free(d->socket);
    free(d->unsupported_host);
    memset(d, 0, sizeof *d);
}

/* The words ULOG_EBPF takes too: auto; on, true, yes, 1; off, false, no, 0. */
static int parse_mode(const char *value, enum docker_mode *out)
{
    bool on;

    if (strcasecmp(value, "auto") == 0)
        *out = DOCKER_MODE_AUTO;
    else if (config_parse_switch(value, &on))
        *out = on ? DOCKER_MODE_ON : DOCKER_MODE_OFF;
    else
        return -1;
    return 0;
}

#define MODE_HINT                                                                           \
    "use auto (read the Docker Engine when its socket answers), on (refuse to start "       \
    "without it) or off"

static bool socket_path_ok(const char *path)
{
    return path[0] && strlen(path) <= CONFIG_MAX_DOCKER_SOCKET;
}

static void set_socket(struct docker_settings *d, const char *path, const char *origin)
{
    config_replace_string(&d->socket, path);
    d->socket_origin = origin;
    free(d->unsupported_host); /* a more specific layer named a usable socket */
    d->unsupported_host = NULL;
}

/* ---- the file ---------------------------------------------------------------- */

static int read_mode(struct docker_settings *d, const struct yaml_source *src,
                     const yaml_node_t *node)
{
    if (yaml_expect_scalar(src, node, "docker.mode") != 0)
        return -1;
    if (parse_mode(yaml_text(node), &d->mode) != 0)
        return yaml_fail(src, node, "docker.mode: %s", MODE_HINT);
    return 0;
}

int config_read_docker(struct ulogd_config *c, const struct yaml_source *src,
                       const yaml_node_t *value)
{
    static const char *const known[] = {"mode", "socket", "collect", NULL};
    struct docker_settings *d = &c->docker;

    if (value->type == YAML_SCALAR_NODE)
        return read_mode(d, src, value); /* docker: off */
    if (yaml_expect_mapping(src, value, "docker") != 0 ||
        yaml_only_keys(src, value, "docker", known, "mode, socket, collect") != 0)
        return -1;
    YAML_EACH_PAIR(value, pair) {
        const char *key = yaml_text(yaml_child(src, pair->key));
        const yaml_node_t *node = yaml_child(src, pair->value);
        if (strcmp(key, "mode") == 0) {
            if (read_mode(d, src, node) != 0)
                return -1;
        } else if (strcmp(key, "socket") == 0) {
            if (yaml_expect_scalar(src, node, "docker.socket") != 0)
                return -1;
            const char *path = yaml_text(node);
            if (strncmp(path, "unix://", 7) == 0)
                path += 7; /* as DOCKER_HOST spells it */
            if (!socket_path_ok(path))
                return yaml_fail(src, node, "docker.socket: a unix socket path of 1 to %u bytes, "
                                            "such as /var/run/docker.sock",
                                 CONFIG_MAX_DOCKER_SOCKET);
            set_socket(d, path, "docker.socket");
        } else {
            if (yaml_expect_scalar(src, node, "docker.collect") != 0)
                return -1;
            int which = -1;
            for (int i = 0; i < 3; i++)
                if (strcasecmp(yaml_text(node), collect_names[i]) == 0)
                    which = i;
            if (which < 0)
                return yaml_fail(src, node, "docker.collect: use auto (containers whose "
                                            "processes do not speak through the shim), all, or "
                                            "none (lifecycle events and names only)");
            d->collect = (enum docker_collect)which;
        }
    }
    return 0;
}

/* ---- the environment ------------------------------------------------------------ */

/* `LOG_LEVEL=` in a .env file means "not set"; so does an empty value here. */
static const char *variable(const char *name)
{
    const char *value = getenv(name);
    return value && value[0] ? value : NULL;
}

int config_docker_apply_environment(struct ulogd_config *c, char *err, size_t size)
{
    struct docker_settings *d = &c->docker;
    const char *value;

    if ((value = variable("ULOG_DOCKER")) && parse_mode(value, &d->mode) != 0) {
        config_fail(err, size, "ULOG_DOCKER=%.100s: %s", value, MODE_HINT);
        return -1;
    }
    if ((value = variable("DOCKER_HOST"))) {
        if (strncmp(value, "unix://", 7) == 0) {
            if (!socket_path_ok(value + 7)) {
                config_fail(err, size, "DOCKER_HOST=%.150s: expected unix:///PATH with a path "
                                       "of 1 to %u bytes",
                            value, CONFIG_MAX_DOCKER_SOCKET);
                return -1;
            }
            set_socket(d, value + 7, "DOCKER_HOST");
        } else {
            /* tcp://, ssh://, npipe:// or a bare host: ulogd speaks to unix sockets only. */
            config_replace_string(&d->unsupported_host, value);
        }
    }
    if ((value = variable("ULOG_DOCKER_SOCKET"))) {
        if (strncmp(value, "unix://", 7) == 0)
            value += 7;
        if (!socket_path_ok(value)) {
            config_fail(err, size, "ULOG_DOCKER_SOCKET=%.150s: a unix socket path of 1 to %u bytes",
                        value, CONFIG_MAX_DOCKER_SOCKET);
            return -1;
        }
        set_socket(d, value, "ULOG_DOCKER_SOCKET");
    }
    return 0;
}
