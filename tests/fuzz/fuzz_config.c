/*
 * fuzz_config.c - libFuzzer target for ulog.yaml (aggregator/config.h):
 * config_apply_yaml, then config_finish, which compiles what the file's
 * sections describe (rules, min_levels, multiline formats, redaction).
 *
 * ulogd reads this file at start, on every reload and for `ulog check`, and
 * a reload must refuse a bad file without crashing or leaking, since the
 * daemon keeps running afterwards. The input is written to one temporary
 * file, reused from input to input; the variables ulogd reads are unset
 * first, so only the file counts. Beyond not crashing or leaking: a refusal
 * always says why, and an accepted file leaves a rule set behind.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "alloc.h"
#include "config.h"
#include "fuzz_util.h"

static char path[64];

static void remove_file(void)
{
    unlink(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char *const variables[] = {
        "LOG_DIR",          "LOG_LEVEL",        "LOG_ROTATION_SIZE", "LOG_MAX_BYTES",
        "LOG_BACKUP_COUNT", "ULOG_SOCKET",      "ULOG_MAX_LINE",     "ULOG_ENV",
        "ULOG_CONFIG",      "ULOG_CONSOLE",     "LOG_SERVICE_HOST",  "LOG_SERVICE_PORT",
        "LOG_BUFFER_SIZE",  "ULOG_TOKEN"};
    const char *tmp = getenv("TMPDIR");
    int fd;

    (void)argc;
    (void)argv;
    json_set_alloc_funcs(must_malloc, free); /* as ulogd's main() does */
    for (size_t i = 0; i < sizeof variables / sizeof variables[0]; i++)
        unsetenv(variables[i]);
    if (!tmp || !tmp[0] || strlen(tmp) > 40)
        tmp = "/tmp";
    snprintf(path, sizeof path, "%s/ulog-fuzz-config-XXXXXX", tmp);
    fd = mkstemp(path);
    FUZZ_CHECK(fd >= 0);
    close(fd);
    atexit(remove_file);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ulogd_config config;
    char err[1024];
    FILE *file = fopen(path, "wb");

    FUZZ_CHECK(file != NULL);
    FUZZ_CHECK(fwrite(data, 1, size, file) == size);
    FUZZ_CHECK(fclose(file) == 0);

    config_defaults(&config);
    err[0] = '\0';
    if (config_apply_yaml(&config, path, err, sizeof err) == 0) {
        FUZZ_CHECK(config.config_file && strcmp(config.config_file, path) == 0);
        if (config_finish(&config, err, sizeof err) == 0)
            FUZZ_CHECK(config.pipeline.rules != NULL);
        else
            FUZZ_CHECK(err[0] != '\0');
    } else {
        FUZZ_CHECK(err[0] != '\0');
    }
    FUZZ_CHECK(memchr(err, '\0', sizeof err) != NULL);
    config_free(&config);
    return 0;
}
