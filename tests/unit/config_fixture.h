/*
 * config_fixture.h - what the configuration's unit tests share: a scratch
 * YAML file, a struct ulogd_config loaded through config_load, and an
 * environment cleared of the variables the test is about (each test file
 * lists them in `fixture_variables` before including this header, and names
 * its scratch file with CONFIG_FIXTURE_NAME).
 */
#ifndef ULOG_TEST_CONFIG_FIXTURE_H
#define ULOG_TEST_CONFIG_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

struct fixture {
    char path[64];
    struct ulogd_config config;
    char err[1024];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    for (size_t i = 0; i < sizeof fixture_variables / sizeof fixture_variables[0]; i++)
        unsetenv(fixture_variables[i]);
    strcpy(f->path, "/tmp/ulogd-test-" CONFIG_FIXTURE_NAME "-XXXXXX");
    int fd = mkstemp(f->path);
    assert_true(fd >= 0);
    close(fd);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    config_free(&f->config);
    unlink(f->path);
    free(f);
    return 0;
}

/* config_load with `yaml` as the file (NULL: no file); the outcome. */
static inline enum config_outcome load_yaml(struct fixture *f, const char *yaml)
{
    char *argv[] = {"ulogd", "--config", f->path, NULL};
    FILE *file = fopen(f->path, "w");

    assert_non_null(file);
    fputs(yaml ? yaml : "", file);
    fclose(file);
    config_free(&f->config);
    f->err[0] = '\0';
    return config_load(&f->config, yaml ? 3 : 1, argv, f->err, sizeof f->err);
}

/* The file `yaml` is refused, with `expected` in the reason. */
static inline void assert_yaml_refused(struct fixture *f, const char *yaml, const char *expected)
{
    assert_int_equal(load_yaml(f, yaml), CONFIG_ERROR);
    if (!strstr(f->err, expected))
        fail_msg("expected \"%s\" in: %s", expected, f->err);
}

#endif
