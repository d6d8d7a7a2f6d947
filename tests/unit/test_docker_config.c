/*
 * test_docker_config.c - the `docker:` section and the variables of the
 * Docker Engine collector (aggregator/config_docker.c, through config_load).
 *
 * The socket's layers have their own order: docker.socket in the file <
 * DOCKER_HOST=unix:///path < ULOG_DOCKER_SOCKET; a DOCKER_HOST of another
 * scheme is kept aside (ulogd refuses it in mode on, warns in auto), and a
 * more specific layer naming a socket makes it moot. Refusals name their
 * origin, as every other setting's do.
 */
#define CONFIG_FIXTURE_NAME "docker"
static const char *const fixture_variables[] = {
    "ULOG_DOCKER", "ULOG_DOCKER_SOCKET", "DOCKER_HOST", "ULOG_CONFIG", "ULOG_ENV"};

#include "config_fixture.h"

static void defaults(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(load_yaml(f, NULL), CONFIG_OK);
    assert_int_equal(f->config.docker.mode, DOCKER_MODE_AUTO);
    assert_int_equal(f->config.docker.collect, DOCKER_COLLECT_AUTO);
    assert_string_equal(f->config.docker.socket, "/var/run/docker.sock");
    assert_string_equal(f->config.docker.socket_origin, "default");
    assert_null(f->config.docker.unsupported_host);
    assert_string_equal(docker_mode_name(DOCKER_MODE_ON), "on");
    assert_string_equal(docker_collect_name(DOCKER_COLLECT_NONE), "none");
}

static void the_section(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(load_yaml(f, "docker:\n  mode: on\n  socket: /run/d.sock\n  collect: all\n"),
                     CONFIG_OK);
    assert_int_equal(f->config.docker.mode, DOCKER_MODE_ON);
    assert_int_equal(f->config.docker.collect, DOCKER_COLLECT_ALL);
    assert_string_equal(f->config.docker.socket, "/run/d.sock");
    assert_string_equal(f->config.docker.socket_origin, "docker.socket");
    assert_int_equal(load_yaml(f, "docker: off\n"), CONFIG_OK);
    assert_int_equal(f->config.docker.mode, DOCKER_MODE_OFF);
    assert_int_equal(load_yaml(f, "docker:\n  socket: unix:///run/x.sock\n  collect: None\n"),
                     CONFIG_OK);
    assert_string_equal(f->config.docker.socket, "/run/x.sock");
    assert_int_equal(f->config.docker.collect, DOCKER_COLLECT_NONE);

    assert_yaml_refused(f, "docker:\n  mode: sometimes\n", ":2:9: docker.mode: use auto");
    assert_yaml_refused(f, "docker:\n  collect: most\n", ":2:12: docker.collect: use auto");
    assert_yaml_refused(f, "docker:\n  sockets: /x\n", "docker");
    assert_yaml_refused(f, "docker:\n  socket: \"\"\n", "docker.socket: a unix socket path");
    assert_yaml_refused(f, "docker: [on]\n", "docker");
}

static void environment_layers(void **state)
{
    struct fixture *f = *state;
    static const char yaml[] = "docker:\n  socket: /from/yaml.sock\n  mode: off\n";

    setenv("ULOG_DOCKER", "on", 1); /* the environment beats the file */
    assert_int_equal(load_yaml(f, yaml), CONFIG_OK);
    assert_int_equal(f->config.docker.mode, DOCKER_MODE_ON);
    assert_string_equal(f->config.docker.socket, "/from/yaml.sock");

    setenv("DOCKER_HOST", "unix:///from/docker-host.sock", 1);
    assert_int_equal(load_yaml(f, yaml), CONFIG_OK);
    assert_string_equal(f->config.docker.socket, "/from/docker-host.sock");
    assert_string_equal(f->config.docker.socket_origin, "DOCKER_HOST");

    setenv("ULOG_DOCKER_SOCKET", "/from/ulog.sock", 1);
    assert_int_equal(load_yaml(f, yaml), CONFIG_OK);
    assert_string_equal(f->config.docker.socket, "/from/ulog.sock");
    assert_string_equal(f->config.docker.socket_origin, "ULOG_DOCKER_SOCKET");

    /* A tcp:// DOCKER_HOST is kept aside, and moot once ULOG_DOCKER_SOCKET names one. */
    setenv("DOCKER_HOST", "tcp://127.0.0.1:2375", 1);
    assert_int_equal(load_yaml(f, yaml), CONFIG_OK);
    assert_null(f->config.docker.unsupported_host);
    unsetenv("ULOG_DOCKER_SOCKET");
    assert_int_equal(load_yaml(f, yaml), CONFIG_OK);
    assert_string_equal(f->config.docker.unsupported_host, "tcp://127.0.0.1:2375");
    assert_string_equal(f->config.docker.socket, "/from/yaml.sock");

    setenv("DOCKER_HOST", "", 1); /* empty: unset */
    setenv("ULOG_DOCKER", "0", 1);
    assert_int_equal(load_yaml(f, NULL), CONFIG_OK);
    assert_int_equal(f->config.docker.mode, DOCKER_MODE_OFF);
    assert_null(f->config.docker.unsupported_host);
}

static void bad_variables_are_refused(void **state)
{
    struct fixture *f = *state;

    setenv("ULOG_DOCKER", "maybe", 1);
    assert_yaml_refused(f, NULL, "ULOG_DOCKER=maybe: use auto");
    unsetenv("ULOG_DOCKER");
    setenv("DOCKER_HOST", "unix://", 1);
    assert_yaml_refused(f, NULL, "DOCKER_HOST=unix://: expected unix:///PATH");
    unsetenv("DOCKER_HOST");
    char long_path[200];
    memset(long_path, 'x', sizeof long_path - 1);
    long_path[0] = '/';
    long_path[sizeof long_path - 1] = '\0';
    setenv("ULOG_DOCKER_SOCKET", long_path, 1);
    assert_yaml_refused(f, NULL, "ULOG_DOCKER_SOCKET=");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(the_section, setup, teardown),
        cmocka_unit_test_setup_teardown(environment_layers, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_variables_are_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
