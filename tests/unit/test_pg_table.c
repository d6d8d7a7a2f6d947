/*
 * test_pg_table.c - a record of all.log as a row of PostgreSQL's COPY text
 * format (aggregator/pg_table.c), without a server: the rows are spelled
 * out in full, so the column order, NULLs and escapes are checked to the
 * byte. tests/integration/test_postgresql.py checks what a real server makes
 * of them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "pg_table.h"
#include "record.h"

/* 2026-11-21T14:22:18.214521Z */
#define SAMPLE_TIME_NS (1795270938ull * 1000000000ull + 214521000ull)

/* The row pg_table_row makes of `line`, NUL-terminated; NULL if it makes none. */
static char *row_of(uint64_t id, enum ulog_level level, const char *line, size_t len)
{
    struct feed_item item = {.id = id, .time_ns = SAMPLE_TIME_NS, .level = level,
                             .service = "", .container = "", .source = "",
                             .line = line, .line_len = len};
    struct bytebuf out = BYTEBUF_INIT;

    if (!pg_table_row(&out, &item)) {
        assert_int_equal(out.len, 0);
        bytebuf_free(&out);
        return NULL;
    }
    bytebuf_append_byte(&out, '\0');
    return out.data;
}

/* The row of a record encoded by record.c, as all.log has it. */
static char *row_of_record(uint64_t id, const struct record *r)
{
    struct bytebuf line = BYTEBUF_INIT;
    char *row;

    assert_int_equal(record_append_json(r, &line), 0);
    row = row_of(id, r->level, line.data, line.len - 1); /* without its newline */
    bytebuf_free(&line);
    return row;
}

static void a_full_record_fills_every_column_in_order(void **state)
{
    (void)state;
    json_t *context = json_pack("{s:s}", "user", "ann");
    json_t *metadata = json_pack("{s:i, s:[s]}", "attempt", 2, "tags", "a");
    struct record r = {
        .time_ns = SAMPLE_TIME_NS, .level = ULOG_ERROR, .service = "api", .container = "c0ffee",
        .host = "web-1", .pid = 42, .tid = 43, .stream = "stderr", .source = "preload",
        .component = "billing", .event_type = "charge_failed", .message = "card declined",
        .message_len = 13, .trace_id = "t", .span_id = "s", .agent_id = "a", .task_id = "k",
        .context = context, .metadata = metadata,
    };
    char *row = row_of_record(7, &r);

    assert_string_equal(row, "7\t2026-11-21T14:22:18.214521Z\tERROR\tapi\tc0ffee\tweb-1\t42\t43\t"
                             "stderr\tpreload\tbilling\tcharge_failed\tcard declined\tt\ts\ta\tk\t"
                             "{\"user\":\"ann\"}\t{\"attempt\":2,\"tags\":[\"a\"]}\n");
    free(row);
    json_decref(context);
    json_decref(metadata);
}

static void absent_keys_are_null_and_the_message_never_is(void **state)
{
    (void)state;
    struct record r = {.time_ns = SAMPLE_TIME_NS, .level = ULOG_INFO, .message = "",
                       .message_len = 0};
    char *row = row_of_record(1, &r);

    assert_string_equal(row, "1\t2026-11-21T14:22:18.214521Z\tINFO\t\\N\t\\N\t\\N\t\\N\t\\N\t"
                             "\\N\t\\N\t\\N\t\\N\t\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\n");
    free(row);
}

static void copy_escapes_and_nul(void **state)
{
    (void)state;
    /* Tab, newline, CR and backslash would end or bend the field; "\N" and
     * "\." typed by a program are text, not NULL or the end of the data. */
    static const char message[] = "a\tb\nc\rd\\e \\N \\. nul\0end \x01";
    struct record r = {.time_ns = SAMPLE_TIME_NS, .level = ULOG_DEBUG, .message = message,
                       .message_len = sizeof message - 1};
    char *row = row_of_record(3, &r);

    assert_string_equal(row, "3\t2026-11-21T14:22:18.214521Z\tDEBUG\t\\N\t\\N\t\\N\t\\N\t\\N\t"
                             "\\N\t\\N\t\\N\t\\N\t"
                             "a\\tb\\nc\\rd\\\\e \\\\N \\\\. nul\xEF\xBF\xBD" "end \x01"
                             "\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\n");
    free(row);
}

static void nul_inside_metadata_becomes_the_replacement_character(void **state)
{
    (void)state;
    static const char line[] = "{\"timestamp\":\"2026-11-21T14:22:18.214521Z\",\"level\":\"INFO\","
                               "\"message\":\"m\",\"metadata\":{\"k\":[\"x\\u0000y\"]}}";
    char *row = row_of(9, ULOG_INFO, line, sizeof line - 1);

    assert_non_null(strstr(row, "\t{\"k\":[\"x\xEF\xBF\xBDy\"]}\n"));
    assert_null(strstr(row, "u0000"));
    free(row);
}

static void a_pid_out_of_range_is_null(void **state)
{
    (void)state;
    static const char line[] = "{\"timestamp\":\"2026-11-21T14:22:18.214521Z\",\"level\":\"INFO\","
                               "\"pid\":4294967295,\"tid\":\"12\",\"message\":\"m\"}";
    char *row = row_of(2, ULOG_INFO, line, sizeof line - 1);

    assert_string_equal(row, "2\t2026-11-21T14:22:18.214521Z\tINFO\t\\N\t\\N\t\\N\t\\N\t\\N\t"
                             "\\N\t\\N\t\\N\t\\N\tm\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\n");
    free(row);
}

static void all_logs_timestamp_is_taken_as_it_is(void **state)
{
    (void)state;
    static const char line[] = "{\"timestamp\":\"2026-01-02T03:04:05.000006Z\",\"level\":\"INFO\","
                               "\"message\":\"m\"}";
    char *row = row_of(5, ULOG_INFO, line, sizeof line - 1);

    assert_non_null(row);
    assert_true(strncmp(row, "5\t2026-01-02T03:04:05.000006Z\tINFO\t", 35) == 0);
    free(row);
}

static void a_line_that_is_not_an_object_makes_no_row(void **state)
{
    (void)state;
    assert_null(row_of(1, ULOG_INFO, "[1,2]", 5));
    assert_null(row_of(1, ULOG_INFO, "{\"message\":", 11));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_full_record_fills_every_column_in_order),
        cmocka_unit_test(absent_keys_are_null_and_the_message_never_is),
        cmocka_unit_test(copy_escapes_and_nul),
        cmocka_unit_test(nul_inside_metadata_becomes_the_replacement_character),
        cmocka_unit_test(a_pid_out_of_range_is_null),
        cmocka_unit_test(all_logs_timestamp_is_taken_as_it_is),
        cmocka_unit_test(a_line_that_is_not_an_object_makes_no_row),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
