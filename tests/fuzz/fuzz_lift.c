/*
 * fuzz_lift.c - libFuzzer target for what ulogd reads out of every captured
 * line: lift_line (aggregator/lift.h: JSON and logfmt), level_detect_text
 * and level_from_name (aggregator/levels.h).
 *
 * All three run on every line any program prints, before anything else
 * could refuse it. The input is one line, as the assembler hands it on.
 * Besides not crashing, lifting must keep what lift.h promises: the fields
 * it fills point at readable text of the length it says, the level agrees
 * with the level text, a line with a NUL byte stays plain, and a struct
 * reused for the next line (as ulogd reuses it) gives the same answer as a
 * fresh one.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "fuzz_util.h"
#include "levels.h"
#include "lift.h"
#include "ulog/level.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    json_set_alloc_funcs(must_malloc, free); /* as ulogd's main() does */
    return 0;
}

static void check_text(const char *text, size_t len)
{
    FUZZ_CHECK(len == 0 || text != NULL);
    fuzz_touch(text, len);
}

static void check_string(const char *s)
{
    if (s)
        fuzz_touch(s, strlen(s) + 1);
}

static void check_lifted(const struct lifted *l, int lifted, const char *line, size_t len)
{
    FUZZ_CHECK(lifted == 0 || lifted == 1);
    FUZZ_CHECK(l->level >= -1 && l->level < ULOG_LEVEL_COUNT);
    if (!lifted) {
        FUZZ_CHECK(l->format == LIFT_NONE && !l->metadata && !l->message && !l->level_text &&
                   !l->time_text && !l->component && l->level == -1);
        return;
    }
    FUZZ_CHECK(l->format == LIFT_JSON || l->format == LIFT_LOGFMT);
    FUZZ_CHECK(!memchr(line, '\0', len)); /* "A line with a NUL byte stays plain" */
    check_text(l->level_text, l->level_len);
    check_text(l->message, l->message_len);
    check_text(l->time_text, l->time_len);
    if (l->level_text)
        FUZZ_CHECK(l->level == level_from_name(l->level_text, l->level_len));
    check_string(l->component);
    check_string(l->event_type);
    check_string(l->trace_id);
    check_string(l->span_id);
    check_string(l->agent_id);
    check_string(l->task_id);
    if (l->metadata) {
        FUZZ_CHECK(json_is_object(l->metadata));
        /* What the record writer will do with it; it must be encodable. */
        char *dumped = json_dumps(l->metadata, JSON_COMPACT);
        FUZZ_CHECK(dumped != NULL);
        free(dumped);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = fuzz_copy(data, size);
    struct lifted l;
    int level;

    lifted_init(&l);
    int lifted = lift_line(&l, line, size);
    check_lifted(&l, lifted, line, size);

    struct lifted first = l;
    size_t message_len = l.message_len, level_len = l.level_len;
    char *message = l.message ? fuzz_copy(l.message, message_len) : NULL;
    char *level_text = l.level_text ? fuzz_copy(l.level_text, level_len) : NULL;

    /* The same struct again, as for the next line: nothing left over may count. */
    int again = lift_line(&l, line, size);
    check_lifted(&l, again, line, size);
    FUZZ_CHECK(again == lifted && l.format == first.format && l.level == first.level &&
               l.time_ns == first.time_ns && (l.metadata != NULL) == (first.metadata != NULL));
    FUZZ_CHECK((l.message != NULL) == (message != NULL) && l.message_len == message_len &&
               (!message || memcmp(l.message, message, message_len) == 0));
    FUZZ_CHECK((l.level_text != NULL) == (level_text != NULL) && l.level_len == level_len &&
               (!level_text || memcmp(l.level_text, level_text, level_len) == 0));
    free(message);
    free(level_text);
    lifted_free(&l);

    level = level_detect_text(line, size);
    FUZZ_CHECK(level >= -1 && level < ULOG_LEVEL_COUNT);
    level = level_from_name(line, size);
    FUZZ_CHECK(level >= -1 && level < ULOG_LEVEL_COUNT);
    free(line);
    return 0;
}
