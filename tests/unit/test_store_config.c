/*
 * test_store_config.c - the `store:` section and the store's variables
 * (aggregator/config_store.c, through config_load): defaults, the file,
 * the environment over the file, ages and sizes, and refusals that name
 * their origin (FILE:LINE:COLUMN or VARIABLE=value) without ever echoing a
 * PostgreSQL connection string, which may hold a password.
 */
#define CONFIG_FIXTURE_NAME "store"
static const char *const fixture_variables[] = {
    "ULOG_STORE", "ULOG_STORE_PATH", "ULOG_STORE_MAX_AGE", "ULOG_STORE_MAX_SIZE",
    "ULOG_STORE_QUEUE", "ULOG_POSTGRESQL", "ULOG_CONFIG", "ULOG_ENV"};

#include "config_fixture.h"

static void defaults(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(load_yaml(f, NULL), CONFIG_OK);
    assert_true(f->config.store.enabled);
    assert_null(f->config.store.path);
    assert_int_equal(f->config.store.max_age_s, 7 * 86400);
    assert_int_equal(f->config.store.max_size, 1ull << 30);
    assert_int_equal(f->config.store.queue_bytes, 64ull << 20);
    assert_null(f->config.store.postgresql);
}

static void the_section(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(load_yaml(f, "store:\n  mode: off\n  path: /var/lib/ulog/x.db\n  max_age: 36h\n"
                             "  max_size: 500M\n  queue_bytes: 8M\n"
                             "  postgresql: postgresql://u:secret@db/logs\n"),
                     CONFIG_OK);
    assert_false(f->config.store.enabled);
    assert_string_equal(f->config.store.path, "/var/lib/ulog/x.db");
    assert_int_equal(f->config.store.max_age_s, 36 * 3600);
    assert_int_equal(f->config.store.max_size, 500ull << 20);
    assert_int_equal(f->config.store.queue_bytes, 8ull << 20);
    assert_string_equal(f->config.store.postgresql, "postgresql://u:secret@db/logs");

    assert_int_equal(load_yaml(f, "store: off\n"), CONFIG_OK);
    assert_false(f->config.store.enabled);
    assert_int_equal(load_yaml(f, "store:\n  mode: on\n  max_age: 0\n  max_size: 0\n"), CONFIG_OK);
    assert_true(f->config.store.enabled);
    assert_int_equal(f->config.store.max_age_s, 0);
    assert_int_equal(f->config.store.max_size, 0);
    assert_int_equal(load_yaml(f, "store:\n  max_age: 90s\n"), CONFIG_OK);
    assert_int_equal(f->config.store.max_age_s, 90);
    assert_int_equal(load_yaml(f, "store:\n  max_age: 15m\n"), CONFIG_OK);
    assert_int_equal(f->config.store.max_age_s, 900);
    assert_int_equal(load_yaml(f, "store:\n  postgresql: off\n"), CONFIG_OK);
    assert_null(f->config.store.postgresql);
}

static void refusals_name_the_place(void **state)
{
    struct fixture *f = *state;

    assert_yaml_refused(f, "store:\n  mode: sometimes\n", ":2:9: store.mode: use on");
    assert_yaml_refused(f, "store: maybe\n", ":1:8: store: use on");
    assert_yaml_refused(f, "store:\n  max_age: 7\n", ":2:12: store.max_age: an age such as 90s");
    assert_yaml_refused(f, "store:\n  max_age: 7y\n", "store.max_age: an age");
    assert_yaml_refused(f, "store:\n  max_age: -1d\n", "store.max_age: an age");
    assert_yaml_refused(f, "store:\n  max_size: 10K\n", ":2:13: store.max_size: a size of 1M or more");
    assert_yaml_refused(f, "store:\n  max_size: lots\n", "store.max_size: a size");
    assert_yaml_refused(f, "store:\n  queue_bytes: 1K\n", "store.queue_bytes: a size from 64K to 16G");
    assert_yaml_refused(f, "store:\n  queue_bytes: 32G\n", "store.queue_bytes: a size from 64K");
    assert_yaml_refused(f, "store:\n  path: \"\"\n", "store.path: a file path");
    assert_yaml_refused(f, "store:\n  paths: /x\n", "store");
    assert_yaml_refused(f, "store:\n  max_age: [1d]\n", "store.max_age");
    assert_yaml_refused(f, "store: [on]\n", "store");
    assert_yaml_refused(f, "stores: on\n", "unknown setting \"stores\"");
}

static void environment_over_file(void **state)
{
    struct fixture *f = *state;
    static const char yaml[] = "store:\n  mode: on\n  path: from-yaml.db\n  max_age: 1d\n";

    setenv("ULOG_STORE", "off", 1);
    setenv("ULOG_STORE_PATH", "/from/env.db", 1);
    setenv("ULOG_STORE_MAX_AGE", "2h", 1);
    setenv("ULOG_STORE_MAX_SIZE", "2G", 1);
    setenv("ULOG_STORE_QUEUE", "1M", 1);
    setenv("ULOG_POSTGRESQL", "host=db dbname=logs", 1);
    assert_int_equal(load_yaml(f, yaml), CONFIG_OK);
    assert_false(f->config.store.enabled);
    assert_string_equal(f->config.store.path, "/from/env.db");
    assert_int_equal(f->config.store.max_age_s, 7200);
    assert_int_equal(f->config.store.max_size, 2ull << 30);
    assert_int_equal(f->config.store.queue_bytes, 1ull << 20);
    assert_string_equal(f->config.store.postgresql, "host=db dbname=logs");

    /* Empty: not set, as in a .env file. */
    for (size_t i = 0; i < 6; i++)
        setenv(fixture_variables[i], "", 1);
    assert_int_equal(load_yaml(f, yaml), CONFIG_OK);
    assert_true(f->config.store.enabled);
    assert_string_equal(f->config.store.path, "from-yaml.db");
    assert_int_equal(f->config.store.max_age_s, 86400);
    assert_null(f->config.store.postgresql);
    setenv("ULOG_STORE", "1", 1);
    assert_int_equal(load_yaml(f, NULL), CONFIG_OK);
    assert_true(f->config.store.enabled);
}

static void bad_variables_are_refused(void **state)
{
    struct fixture *f = *state;

    setenv("ULOG_STORE", "perhaps", 1);
    assert_yaml_refused(f, NULL, "ULOG_STORE=perhaps: use on");
    unsetenv("ULOG_STORE");
    setenv("ULOG_STORE_MAX_AGE", "forever", 1);
    assert_yaml_refused(f, NULL, "ULOG_STORE_MAX_AGE=forever: an age");
    unsetenv("ULOG_STORE_MAX_AGE");
    setenv("ULOG_STORE_MAX_SIZE", "12", 1);
    assert_yaml_refused(f, NULL, "ULOG_STORE_MAX_SIZE=12: a size of 1M or more");
    unsetenv("ULOG_STORE_MAX_SIZE");
    setenv("ULOG_STORE_QUEUE", "1T", 1);
    assert_yaml_refused(f, NULL, "ULOG_STORE_QUEUE=1T");
    unsetenv("ULOG_STORE_QUEUE");

    /* A connection string may carry a password: never echoed. */
    char long_value[4100];
    memset(long_value, 'p', sizeof long_value - 1);
    long_value[sizeof long_value - 1] = '\0';
    memcpy(long_value, "password=", 9);
    setenv("ULOG_POSTGRESQL", long_value, 1);
    assert_yaml_refused(f, NULL, "ULOG_POSTGRESQL: a libpq connection string");
    assert_null(strstr(f->err, "password="));
}

static void ages(void **state)
{
    uint64_t s = 1;
    (void)state;

    assert_true(config_parse_age("90s", &s) && s == 90);
    assert_true(config_parse_age("15m", &s) && s == 900);
    assert_true(config_parse_age("2h", &s) && s == 7200);
    assert_true(config_parse_age("7d", &s) && s == 604800);
    assert_true(config_parse_age("0", &s) && s == 0);
    assert_true(config_parse_age("0s", &s) && s == 0);
    assert_false(config_parse_age("", &s));
    assert_false(config_parse_age("5", &s));
    assert_false(config_parse_age("5 m", &s));
    assert_false(config_parse_age("5ms", &s));
    assert_false(config_parse_age("-5m", &s));
    assert_false(config_parse_age("1.5h", &s));
    assert_false(config_parse_age("99999999999999999999d", &s));
    assert_false(config_parse_age("999999999999999999d", &s)); /* overflows seconds */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(the_section, setup, teardown),
        cmocka_unit_test_setup_teardown(refusals_name_the_place, setup, teardown),
        cmocka_unit_test_setup_teardown(environment_over_file, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_variables_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(ages, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
