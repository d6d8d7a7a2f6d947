/*
 * test_config.c - defaults < YAML < environment < flags (aggregator/config.c).
 *
 * Each test starts from a clean environment (every variable ulogd reads is
 * unset) and writes its YAML to a private temporary file. Refusals are
 * checked by their text, because the text is what the user acts on: where
 * the fault is (file:line:column, VARIABLE=value, --flag) and what is wrong.
 */
#define CONFIG_FIXTURE_NAME "config"
static const char *const fixture_variables[] = {
    "LOG_DIR",          "LOG_LEVEL",        "LOG_ROTATION_SIZE", "LOG_MAX_BYTES",
    "LOG_BACKUP_COUNT", "ULOG_SOCKET",      "ULOG_MAX_LINE",     "ULOG_ENV",
    "ULOG_CONFIG",      "ULOG_CONSOLE",     "LOG_SERVICE_HOST",  "LOG_SERVICE_PORT",
    "LOG_BUFFER_SIZE",  "ULOG_TOKEN",       "ULOG_EBPF"};

#include "config_fixture.h"

static void write_yaml(struct fixture *f, const char *text)
{
    FILE *file = fopen(f->path, "w");
    assert_non_null(file);
    fputs(text, file);
    fclose(file);
}

/* Run config_load() on a NULL-terminated argument list after "ulogd". */
static enum config_outcome load(struct fixture *f, ...)
{
    char *argv[16] = {"ulogd"};
    int argc = 1;
    va_list ap;

    va_start(ap, f);
    for (char *arg; (arg = va_arg(ap, char *)) != NULL;) {
        assert_true(argc < 15);
        argv[argc++] = arg;
    }
    va_end(ap);
    config_free(&f->config);
    f->err[0] = '\0';
    return config_load(&f->config, argc, argv, f->err, sizeof f->err);
}

static void assert_error(struct fixture *f, const char *expected)
{
    if (strcmp(f->err, expected) != 0)
        fail_msg("error\n  got:      %s\n  expected: %s", f->err, expected);
}

static void defaults_without_anything(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, NULL), CONFIG_OK);
    /* ULOG_ENV unset is the development profile: DEBUG and the console mirror. */
    assert_int_equal(f->config.profile, PROFILE_DEVELOPMENT);
    assert_int_equal(f->config.console, CONSOLE_TEXT);
    assert_string_equal(f->config.log_dir, "./logs");
    assert_int_equal(f->config.level, ULOG_DEBUG);
    assert_string_equal(f->config.errors_file, "errors.log");
    assert_int_equal(f->config.errors_level, ULOG_ERROR);
    assert_string_equal(f->config.service_host, "localhost");
    assert_int_equal(f->config.service_port, 8765);
    assert_int_equal(f->config.buffer_size, 1000);
    assert_false(f->config.line_timestamps);
    assert_true(f->config.pipeline.lift);
    assert_non_null(f->config.pipeline.redactor); /* redaction is on by default */
    assert_non_null(f->config.pipeline.multiline);
    assert_int_equal(f->config.rotation_size, 10485760);
    assert_int_equal(f->config.backup_count, 5);
    assert_null(f->config.socket);
    assert_int_equal(f->config.max_line_bytes, 16384);
    assert_null(f->config.config_file);
}

static void yaml_sets_every_key(void **state)
{
    struct fixture *f = *state;
    write_yaml(f, "# ulog.yaml\n"
                  "log_dir: /var/log/stack\n"
                  "level: warning\n"
                  "rotation_size: 10M\n"
                  "backup_count: 3\n"
                  "socket: \"/run/x/ulog.sock\"\n"
                  "max_line_bytes: 4K\n");
    assert_int_equal(load(f, "--config", f->path, NULL), CONFIG_OK);
    assert_string_equal(f->config.log_dir, "/var/log/stack");
    assert_int_equal(f->config.level, ULOG_WARNING);
    assert_int_equal(f->config.rotation_size, 10u << 20);
    assert_int_equal(f->config.backup_count, 3);
    assert_string_equal(f->config.socket, "/run/x/ulog.sock");
    assert_int_equal(f->config.max_line_bytes, 4096);
    assert_string_equal(f->config.config_file, f->path);
}

static void environment_overrides_yaml_and_flags_override_both(void **state)
{
    struct fixture *f = *state;
    write_yaml(f, "log_dir: from-yaml\nlevel: ERROR\nbackup_count: 1\nsocket: /yaml.sock\n");
    setenv("LOG_DIR", "from-env", 1);
    setenv("LOG_LEVEL", "debug", 1);
    setenv("ULOG_SOCKET", "/env.sock", 1);
    assert_int_equal(load(f, "--config", f->path, "--log-dir", "from-flag", "--socket=/flag.sock",
                          NULL),
                     CONFIG_OK);
    assert_string_equal(f->config.log_dir, "from-flag");    /* flag > env > yaml */
    assert_int_equal(f->config.level, ULOG_DEBUG);         /* env > yaml */
    assert_int_equal(f->config.backup_count, 1);           /* yaml > default */
    assert_string_equal(f->config.socket, "/flag.sock");
    assert_int_equal(load(f, "--config", f->path, "--level", "CRITICAL", NULL), CONFIG_OK);
    assert_int_equal(f->config.level, ULOG_CRITICAL);
}

static void rotation_size_has_an_alias(void **state)
{
    struct fixture *f = *state;
    setenv("LOG_MAX_BYTES", "2048", 1);
    assert_int_equal(load(f, NULL), CONFIG_OK);
    assert_int_equal(f->config.rotation_size, 2048);
    setenv("LOG_ROTATION_SIZE", "4096", 1); /* the main name wins */
    assert_int_equal(load(f, NULL), CONFIG_OK);
    assert_int_equal(f->config.rotation_size, 4096);
    setenv("LOG_ROTATION_SIZE", "0", 1); /* 0 never rotates */
    assert_int_equal(load(f, NULL), CONFIG_OK);
    assert_int_equal(f->config.rotation_size, 0);
}

static void empty_variables_count_as_unset(void **state)
{
    struct fixture *f = *state;
    setenv("LOG_LEVEL", "", 1);
    setenv("LOG_BACKUP_COUNT", "", 1);
    setenv("ULOG_ENV", "", 1);
    assert_int_equal(load(f, NULL), CONFIG_OK);
    assert_int_equal(f->config.level, ULOG_DEBUG);
    assert_int_equal(f->config.backup_count, 5);
}

static void profiles_are_defaults_that_everything_else_overrides(void **state)
{
    struct fixture *f = *state;
    setenv("ULOG_ENV", "production", 1);
    assert_int_equal(load(f, NULL), CONFIG_OK);
    assert_int_equal(f->config.profile, PROFILE_PRODUCTION);
    assert_int_equal(f->config.level, ULOG_INFO);
    assert_int_equal(f->config.console, CONSOLE_OFF);

    setenv("ULOG_ENV", "Testing", 1);
    assert_int_equal(load(f, NULL), CONFIG_OK);
    assert_int_equal(f->config.level, ULOG_DEBUG);
    assert_int_equal(f->config.console, CONSOLE_OFF);
    assert_string_equal(f->config.log_dir, "./logs/testing");

    /* The file beats the profile, the environment the file, a flag all. */
    write_yaml(f, "level: WARNING\nconsole: json\n");
    setenv("ULOG_CONFIG", f->path, 1);
    assert_int_equal(load(f, NULL), CONFIG_OK);
    assert_int_equal(f->config.level, ULOG_WARNING);
    assert_int_equal(f->config.console, CONSOLE_JSON);
    setenv("ULOG_CONSOLE", "off", 1);
    assert_int_equal(load(f, "--env", "development", NULL), CONFIG_OK);
    assert_int_equal(f->config.profile, PROFILE_DEVELOPMENT);
    assert_int_equal(f->config.level, ULOG_WARNING);
    assert_int_equal(f->config.console, CONSOLE_OFF);

    setenv("ULOG_ENV", "staging", 1);
    assert_int_equal(load(f, NULL), CONFIG_ERROR);
    assert_error(f, "ULOG_ENV=staging: unknown profile (use development, production or testing)");
}

static void binding_beyond_localhost_needs_a_token(void **state)
{
    struct fixture *f = *state;
    setenv("LOG_SERVICE_HOST", "0.0.0.0", 1);
    assert_int_equal(load(f, NULL), CONFIG_ERROR);
    assert_error(f, "LOG_SERVICE_HOST=0.0.0.0 binds beyond this machine: set ULOG_TOKEN "
                    "(16 characters or more) to allow it");
    setenv("ULOG_TOKEN", "short", 1);
    assert_int_equal(load(f, NULL), CONFIG_ERROR);
    assert_error(f, "ULOG_TOKEN: a token must have at least 16 characters"); /* never echoed */
    setenv("ULOG_TOKEN", "0123456789abcdef0123", 1);
    assert_int_equal(load(f, NULL), CONFIG_OK);
    assert_string_equal(f->config.service_host, "0.0.0.0");
    write_yaml(f, "token: 0123456789abcdef0123\n");
    assert_int_equal(load(f, "--config", f->path, NULL), CONFIG_ERROR);
    char expected[256];
    snprintf(expected, sizeof expected,
             "%s:1:1: the token is read from ULOG_TOKEN only, never from a file", f->path);
    assert_error(f, expected);
}

static void pipeline_sections_point_at_their_faults(void **state)
{
    struct fixture *f = *state;
    char expected[512];

    write_yaml(f, "rules:\n"
                  "  - match: {service: api}\n"
                  "    drop: true\n"
                  "  - match: {message: \"~(unclosed\"}\n"
                  "    drop: true\n");
    assert_int_equal(load(f, "--config", f->path, NULL), CONFIG_ERROR);
    /* The fault is the regex: line 4, the column of its opening quote. */
    assert_non_null(strstr(f->err, ":4:22: message: "));

    write_yaml(f, "min_levels:\n  services:\n    api: LOUD\n");
    assert_int_equal(load(f, "--config", f->path, NULL), CONFIG_ERROR);
    snprintf(expected, sizeof expected,
             "%s:3:10: api: unknown level \"LOUD\" (use DEBUG, INFO, WARNING, ERROR or "
             "CRITICAL)", f->path);
    assert_error(f, expected);

    write_yaml(f, "redaction:\n  disable: [card, nonsense]\n");
    assert_int_equal(load(f, "--config", f->path, NULL), CONFIG_ERROR);
    assert_non_null(strstr(f->err, ":2:19: no built-in redaction pattern \"nonsense\""));

    write_yaml(f, "multiline:\n  timeout: 5\n");
    assert_int_equal(load(f, "--config", f->path, NULL), CONFIG_ERROR);
    snprintf(expected, sizeof expected,
             "%s:2:12: timeout: expected a duration from 1ms to 1h, such as 500ms or 2s", f->path);
    assert_error(f, expected);

    write_yaml(f, "rules:\n  - match: {service: api}\n");
    assert_int_equal(load(f, "--config", f->path, NULL), CONFIG_ERROR);
    assert_non_null(strstr(f->err, ":2:5: "));

    write_yaml(f, "redaction:\n  enabled: false\nmultiline:\n  enabled: false\n"
                  "default_levels: {stderr: WARNING}\nlift: false\n");
    assert_int_equal(load(f, "--config", f->path, NULL), CONFIG_OK);
    assert_null(f->config.pipeline.redactor);
    assert_null(f->config.pipeline.multiline);
    assert_int_equal(f->config.pipeline.stream_level[1], ULOG_WARNING);
    assert_int_equal(f->config.pipeline.stream_level[0], ULOG_INFO);
    assert_false(f->config.pipeline.lift);
}

static void bad_environment_values_are_refused(void **state)
{
    struct fixture *f = *state;
    setenv("LOG_BACKUP_COUNT", "abc", 1);
    assert_int_equal(load(f, NULL), CONFIG_ERROR);
    assert_error(f, "LOG_BACKUP_COUNT=abc: not a whole number from 0 to 1000");
    setenv("LOG_BACKUP_COUNT", "-1", 1);
    assert_int_equal(load(f, NULL), CONFIG_ERROR);
    assert_error(f, "LOG_BACKUP_COUNT=-1: not a whole number from 0 to 1000");
    setenv("LOG_BACKUP_COUNT", "5 ", 1);
    assert_int_equal(load(f, NULL), CONFIG_ERROR);
    unsetenv("LOG_BACKUP_COUNT");

    setenv("LOG_ROTATION_SIZE", "99999999999999999999999", 1);
    assert_int_equal(load(f, NULL), CONFIG_ERROR);
    assert_error(f, "LOG_ROTATION_SIZE=99999999999999999999999: not a size in bytes "
                    "(such as 10485760, 512K, 10M; 0 never rotates)");
    setenv("LOG_ROTATION_SIZE", "10MB", 1);
    assert_int_equal(load(f, NULL), CONFIG_ERROR);
    unsetenv("LOG_ROTATION_SIZE");

    setenv("LOG_MAX_BYTES", "ten", 1);
    assert_int_equal(load(f, NULL), CONFIG_ERROR);
    assert_error(f, "LOG_MAX_BYTES=ten: not a size in bytes (such as 10485760, 512K, 10M; 0 "
                    "never rotates)");
    unsetenv("LOG_MAX_BYTES");

    setenv("LOG_LEVEL", "verbose", 1);
    assert_int_equal(load(f, NULL), CONFIG_ERROR);
    assert_error(f, "LOG_LEVEL=verbose: unknown level (use DEBUG, INFO, WARNING, ERROR or CRITICAL)");
    unsetenv("LOG_LEVEL");

    setenv("ULOG_MAX_LINE", "8", 1);
    assert_int_equal(load(f, NULL), CONFIG_ERROR);
    assert_error(f, "ULOG_MAX_LINE=8: not a size from 16 to 16777216 bytes");
    unsetenv("ULOG_MAX_LINE");

    char long_path[128];
    memset(long_path, 'x', sizeof long_path - 1);
    long_path[0] = '/';
    long_path[100] = '\0'; /* one byte more than the limit */
    setenv("ULOG_SOCKET", long_path, 1);
    assert_int_equal(load(f, NULL), CONFIG_ERROR);
    assert_non_null(strstr(f->err, "a socket path must have 1 to 99 bytes"));
}

static void bad_flags_are_refused(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, "--level", "loud", NULL), CONFIG_ERROR);
    assert_error(f, "--level loud: unknown level (use DEBUG, INFO, WARNING, ERROR or CRITICAL)");
    assert_int_equal(load(f, "--log-dir", "", NULL), CONFIG_ERROR);
    assert_error(f, "--log-dir : the log directory must not be empty");
    assert_int_equal(load(f, "--colour", NULL), CONFIG_ERROR);
    assert_error(f, "unknown option --colour (try --help)");
    assert_int_equal(load(f, "-x", NULL), CONFIG_ERROR);
    assert_error(f, "unknown option -x (try --help)");
    assert_int_equal(load(f, "--log-dir", NULL), CONFIG_ERROR);
    assert_error(f, "--log-dir needs a value (try --help)");
    assert_int_equal(load(f, "extra", NULL), CONFIG_ERROR);
    assert_error(f, "unexpected argument \"extra\" (try --help)");
    /* The flag is checked even when the environment already set the value. */
    setenv("LOG_LEVEL", "INFO", 1);
    assert_int_equal(load(f, "--level", "nope", NULL), CONFIG_ERROR);
}

static void help_and_version_end_the_program_successfully(void **state)
{
    struct fixture *f = *state;
    /* They print to stdout, where the test runner reads results: hide it. */
    int saved = dup(STDOUT_FILENO);
    FILE *null = freopen("/dev/null", "w", stdout);
    assert_non_null(null);
    enum config_outcome version = load(f, "--version", NULL);
    enum config_outcome help = load(f, "--help", NULL);
    enum config_outcome short_help = load(f, "-h", NULL);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    assert_int_equal(version, CONFIG_EXIT_SUCCESS);
    assert_int_equal(help, CONFIG_EXIT_SUCCESS);
    assert_int_equal(short_help, CONFIG_EXIT_SUCCESS);
}

static void broken_yaml_is_refused_with_line_and_column(void **state)
{
    struct fixture *f = *state;
    char expected[512];

    write_yaml(f, "level: INFO\nlog_dir: [unclosed\n");
    assert_int_equal(load(f, "--config", f->path, NULL), CONFIG_ERROR);
    /* Found at the end of the file; the message says where the list began. */
    snprintf(expected, sizeof expected,
             "%s:3:1: did not find expected ',' or ']' while parsing a flow sequence that starts "
             "at line 2, column 10",
             f->path);
    assert_error(f, expected);

    write_yaml(f, "level: INFO\n  backup_count: 3\n");
    assert_int_equal(load(f, "--config", f->path, NULL), CONFIG_ERROR);
    snprintf(expected, sizeof expected, "%s:2:15: mapping values are not allowed in this context",
             f->path);
    assert_error(f, expected);

    write_yaml(f, "level: \"INFO\n");
    assert_int_equal(load(f, "--config", f->path, NULL), CONFIG_ERROR);
    assert_true(strncmp(f->err, f->path, strlen(f->path)) == 0);
    assert_non_null(strstr(f->err, "found unexpected end of stream"));
}

static void wrong_settings_in_yaml_point_at_themselves(void **state)
{
    struct fixture *f = *state;
    char expected[512];

    write_yaml(f, "level: INFO\n\nlog_dri: /x\n");
    assert_int_equal(load(f, "--config", f->path, NULL), CONFIG_ERROR);
    snprintf(expected, sizeof expected,
             "%s:3:1: unknown setting \"log_dri\" (known: log_dir, level, rotation_size, "
             "backup_count, socket, max_line_bytes, console, errors_file, errors_level, "
             "timestamp, watch, service_host, service_port, buffer_size, lift, default_levels, "
             "min_levels, multiline, redaction, rules, ebpf, docker, store)", f->path);
    assert_error(f, expected);

    write_yaml(f, "level: INFO\nbackup_count:   many\n");
    assert_int_equal(load(f, "--config", f->path, NULL), CONFIG_ERROR);
    snprintf(expected, sizeof expected,
             "%s:2:17: backup_count: not a whole number from 0 to 1000", f->path);
    assert_error(f, expected);

    write_yaml(f, "level:\n  - INFO\n  - DEBUG\n");
    assert_int_equal(load(f, "--config", f->path, NULL), CONFIG_ERROR);
    snprintf(expected, sizeof expected,
             "%s:2:3: level: expected a single value, not a list or a mapping", f->path);
    assert_error(f, expected);

    write_yaml(f, "level: INFO\nlevel: DEBUG\n");
    assert_int_equal(load(f, "--config", f->path, NULL), CONFIG_ERROR);
    snprintf(expected, sizeof expected, "%s:2:1: level is set twice", f->path);
    assert_error(f, expected);

    write_yaml(f, "- level\n- INFO\n");
    assert_int_equal(load(f, "--config", f->path, NULL), CONFIG_ERROR);
    snprintf(expected, sizeof expected,
             "%s:1:1: expected a mapping of settings (name: value) at the top level", f->path);
    assert_error(f, expected);

    write_yaml(f, "level: INFO\n---\nlevel: DEBUG\n");
    assert_int_equal(load(f, "--config", f->path, NULL), CONFIG_ERROR);
    snprintf(expected, sizeof expected, "%s:3:1: only one YAML document is allowed", f->path);
    assert_error(f, expected);
}

static void ebpf_defaults_try_quietly_in_containers(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, NULL), CONFIG_OK);
    assert_int_equal(f->config.ebpf.mode, EBPF_MODE_AUTO);
    assert_int_equal(f->config.ebpf.scope, EBPF_SCOPE_CONTAINERS);
    assert_int_equal(f->config.ebpf.crash_context_lines, 20);
    assert_int_equal(f->config.ebpf.capture_bytes, 4096);
    assert_int_equal(f->config.ebpf.capture_program_count, 0);
    assert_int_equal(f->config.ebpf.capture_pid_count, 0);
    assert_string_equal(ebpf_mode_name(f->config.ebpf.mode), "auto");
    assert_string_equal(ebpf_scope_name(f->config.ebpf.scope), "containers");
}

static void ebpf_section_sets_every_key(void **state)
{
    struct fixture *f = *state;
    write_yaml(f, "ebpf:\n"
                  "  mode: on\n"
                  "  scope: all\n"
                  "  crash_context_lines: 0\n"
                  "  capture_bytes: 1K\n"
                  "  capture_writes:\n"
                  "    programs: [gosrv, static-app]\n"
                  "    pids: [1, 4194304]\n");
    assert_int_equal(load(f, "--config", f->path, NULL), CONFIG_OK);
    assert_int_equal(f->config.ebpf.mode, EBPF_MODE_ON);
    assert_int_equal(f->config.ebpf.scope, EBPF_SCOPE_ALL);
    assert_int_equal(f->config.ebpf.crash_context_lines, 0);
    assert_int_equal(f->config.ebpf.capture_bytes, 1024);
    assert_int_equal(f->config.ebpf.capture_program_count, 2);
    assert_string_equal(f->config.ebpf.capture_programs[0], "gosrv");
    assert_string_equal(f->config.ebpf.capture_programs[1], "static-app");
    assert_int_equal(f->config.ebpf.capture_pid_count, 2);
    assert_int_equal(f->config.ebpf.capture_pids[0], 1);
    assert_int_equal(f->config.ebpf.capture_pids[1], 4194304);

    /* A bare mode is the short form; the rest keeps its defaults. */
    write_yaml(f, "ebpf: off\n");
    assert_int_equal(load(f, "--config", f->path, NULL), CONFIG_OK);
    assert_int_equal(f->config.ebpf.mode, EBPF_MODE_OFF);
    assert_int_equal(f->config.ebpf.scope, EBPF_SCOPE_CONTAINERS);
    assert_int_equal(f->config.ebpf.crash_context_lines, 20);

    write_yaml(f, "ebpf:\n  scope: shim\n  crash_context_lines: 1000\n");
    assert_int_equal(load(f, "--config", f->path, NULL), CONFIG_OK);
    assert_int_equal(f->config.ebpf.mode, EBPF_MODE_AUTO);
    assert_int_equal(f->config.ebpf.scope, EBPF_SCOPE_SHIM);
    assert_int_equal(f->config.ebpf.crash_context_lines, 1000);
}

static void ulog_ebpf_overrides_the_file(void **state)
{
    struct fixture *f = *state;
    write_yaml(f, "ebpf: {mode: on, scope: shim}\n");
    setenv("ULOG_EBPF", "off", 1);
    assert_int_equal(load(f, "--config", f->path, NULL), CONFIG_OK);
    assert_int_equal(f->config.ebpf.mode, EBPF_MODE_OFF);
    assert_int_equal(f->config.ebpf.scope, EBPF_SCOPE_SHIM); /* the rest stays the file's */
    setenv("ULOG_EBPF", "AUTO", 1);
    assert_int_equal(load(f, "--config", f->path, NULL), CONFIG_OK);
    assert_int_equal(f->config.ebpf.mode, EBPF_MODE_AUTO);
    setenv("ULOG_EBPF", "1", 1);
    assert_int_equal(load(f, NULL), CONFIG_OK);
    assert_int_equal(f->config.ebpf.mode, EBPF_MODE_ON);
    setenv("ULOG_EBPF", "maybe", 1);
    assert_int_equal(load(f, NULL), CONFIG_ERROR);
    assert_error(f, "ULOG_EBPF=maybe: use auto (use eBPF when it can load), on (refuse to start "
                    "without it) or off");
    setenv("ULOG_EBPF", "", 1); /* empty: unset */
    assert_int_equal(load(f, NULL), CONFIG_OK);
    assert_int_equal(f->config.ebpf.mode, EBPF_MODE_AUTO);
}

static void ebpf_faults_point_at_themselves(void **state)
{
    struct fixture *f = *state;
    char expected[512];

    write_yaml(f, "ebpf:\n  mode: sometimes\n");
    assert_int_equal(load(f, "--config", f->path, NULL), CONFIG_ERROR);
    snprintf(expected, sizeof expected,
             "%s:2:9: ebpf.mode: use auto (use eBPF when it can load), on (refuse to start "
             "without it) or off", f->path);
    assert_error(f, expected);

    write_yaml(f, "ebpf:\n  scope: everything\n");
    assert_int_equal(load(f, "--config", f->path, NULL), CONFIG_ERROR);
    snprintf(expected, sizeof expected,
             "%s:2:10: ebpf.scope: use containers (processes in containers and those the shim "
             "connects), shim (only those) or all (every process)", f->path);
    assert_error(f, expected);

    write_yaml(f, "ebpf:\n  crash_context_lines: 1001\n");
    assert_int_equal(load(f, "--config", f->path, NULL), CONFIG_ERROR);
    snprintf(expected, sizeof expected,
             "%s:2:24: ebpf.crash_context_lines: expected a whole number from 0 to 1000",
             f->path);
    assert_error(f, expected);

    write_yaml(f, "ebpf:\n  crash_context_lines: -1\n");
    assert_int_equal(load(f, "--config", f->path, NULL), CONFIG_ERROR);
    assert_non_null(strstr(f->err, ":2:24: ebpf.crash_context_lines: "));

    write_yaml(f, "ebpf:\n  capture_bytes: 32\n");
    assert_int_equal(load(f, "--config", f->path, NULL), CONFIG_ERROR);
    snprintf(expected, sizeof expected,
             "%s:2:18: ebpf.capture_bytes: expected a size in bytes from 64 to 65536", f->path);
    assert_error(f, expected);
    write_yaml(f, "ebpf:\n  capture_bytes: 65537\n");
    assert_int_equal(load(f, "--config", f->path, NULL), CONFIG_ERROR);
    assert_non_null(strstr(f->err, ":2:18: ebpf.capture_bytes: "));

    write_yaml(f, "ebpf:\n  scope: all\n  capture: [x]\n");
    assert_int_equal(load(f, "--config", f->path, NULL), CONFIG_ERROR);
    assert_non_null(strstr(f->err, ":3:3: "));
    assert_non_null(strstr(f->err, "mode, scope, crash_context_lines, capture_writes, "
                                   "capture_bytes"));

    write_yaml(f, "ebpf:\n  capture_writes:\n    programs: [ok, /usr/bin/app]\n");
    assert_int_equal(load(f, "--config", f->path, NULL), CONFIG_ERROR);
    snprintf(expected, sizeof expected,
             "%s:3:20: ebpf.capture_writes.programs: expected a program's name without its "
             "directory, such as myserver", f->path);
    assert_error(f, expected);

    write_yaml(f, "ebpf:\n  capture_writes:\n    pids: [12, 0]\n");
    assert_int_equal(load(f, "--config", f->path, NULL), CONFIG_ERROR);
    snprintf(expected, sizeof expected,
             "%s:3:16: ebpf.capture_writes.pids: expected a whole number from 1 to 4194304",
             f->path);
    assert_error(f, expected);

    write_yaml(f, "ebpf:\n  capture_writes:\n    programs: gosrv\n");
    assert_int_equal(load(f, "--config", f->path, NULL), CONFIG_ERROR);
    assert_non_null(strstr(f->err, ":3:15: "));

    write_yaml(f, "ebpf:\n  capture_writes:\n    users: [root]\n");
    assert_int_equal(load(f, "--config", f->path, NULL), CONFIG_ERROR);
    assert_non_null(strstr(f->err, ":3:5: "));

    write_yaml(f, "ebpf:\n  - on\n");
    assert_int_equal(load(f, "--config", f->path, NULL), CONFIG_ERROR);
    assert_non_null(strstr(f->err, ":2:3: "));
}

static void ebpf_capture_lists_are_bounded(void **state)
{
    struct fixture *f = *state;
    char text[2048] = "ebpf:\n  capture_writes:\n    pids: [";

    for (int i = 1; i <= 65; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "%s%d", i > 1 ? ", " : "", i);
    strcat(text, "]\n");
    write_yaml(f, text);
    assert_int_equal(load(f, "--config", f->path, NULL), CONFIG_ERROR);
    assert_non_null(strstr(f->err, "ebpf.capture_writes.pids: at most 64 pids"));
}

static void an_empty_yaml_file_sets_nothing(void **state)
{
    struct fixture *f = *state;
    write_yaml(f, "# nothing here yet\n");
    assert_int_equal(load(f, "--config", f->path, NULL), CONFIG_OK);
    assert_int_equal(f->config.backup_count, 5);
}

static void a_missing_yaml_file_is_refused(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, "--config", "/nonexistent/ulog.yaml", NULL), CONFIG_ERROR);
    assert_error(f, "/nonexistent/ulog.yaml: No such file or directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(defaults_without_anything, setup, teardown),
        cmocka_unit_test_setup_teardown(yaml_sets_every_key, setup, teardown),
        cmocka_unit_test_setup_teardown(environment_overrides_yaml_and_flags_override_both, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(rotation_size_has_an_alias, setup, teardown),
        cmocka_unit_test_setup_teardown(empty_variables_count_as_unset, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_environment_values_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(profiles_are_defaults_that_everything_else_overrides,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(binding_beyond_localhost_needs_a_token, setup, teardown),
        cmocka_unit_test_setup_teardown(pipeline_sections_point_at_their_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_flags_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(help_and_version_end_the_program_successfully, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(broken_yaml_is_refused_with_line_and_column, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(wrong_settings_in_yaml_point_at_themselves, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(ebpf_defaults_try_quietly_in_containers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(ebpf_section_sets_every_key, setup, teardown),
        cmocka_unit_test_setup_teardown(ulog_ebpf_overrides_the_file, setup, teardown),
        cmocka_unit_test_setup_teardown(ebpf_faults_point_at_themselves, setup, teardown),
        cmocka_unit_test_setup_teardown(ebpf_capture_lists_are_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(an_empty_yaml_file_sets_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(a_missing_yaml_file_is_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
