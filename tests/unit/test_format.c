/*
 * test_format.c - what `ulog tail` puts on a terminal: neutralisation of
 * hostile bytes (cli/neutralise.c), the human layout and its colours
 * (cli/format.c), and the choice of records (cli/filter.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "filter.h"
#include "format.h"
#include "neutralise.h"
#include "ulog/level.h"

/* ---- helpers ------------------------------------------------------------ */

struct capture {
    FILE *stream;
    char *text;
    size_t len;
};

static void capture_begin(struct capture *c)
{
    c->text = NULL;
    c->len = 0;
    c->stream = open_memstream(&c->text, &c->len);
    assert_non_null(c->stream);
}

/* The captured text; the caller frees it. */
static char *capture_end(struct capture *c)
{
    assert_int_equal(fclose(c->stream), 0);
    return c->text;
}

static char *neutralised(const char *s, size_t len, int indent)
{
    struct capture c;
    capture_begin(&c);
    neutralise_write(c.stream, s, len, indent);
    return capture_end(&c);
}

#define assert_neutralised(input, indent, expected)                                              \
    do {                                                                                         \
        char *out_ = neutralised(input, sizeof(input) - 1, indent);                              \
        assert_string_equal(out_, expected);                                                     \
        free(out_);                                                                              \
    } while (0)

static bool has_byte_below_space(const char *s, bool allow_newline)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 && !(allow_newline && *s == '\n'))
            return true;
    return false;
}

static json_t *record(const char *json)
{
    json_error_t error;
    json_t *value = json_loads(json, JSON_ALLOW_NUL, &error);
    if (!value)
        fail_msg("test record does not parse: %s", error.text);
    return value;
}

static char *print_record(struct human_format *format, const char *json)
{
    struct capture c;
    json_t *r = record(json);
    capture_begin(&c);
    human_print_record(c.stream, format, r);
    json_decref(r);
    return capture_end(&c);
}

static char *print_one(const char *json, bool color)
{
    struct human_format format;
    human_format_init(&format, color);
    return print_record(&format, json);
}

static int utc(void **state)
{
    (void)state;
    setenv("TZ", "UTC", 1);
    tzset();
    return 0;
}

/* ---- neutralisation ----------------------------------------------------- */

static void test_sgr_sequence_is_shown_not_sent(void **state)
{
    (void)state;
    assert_neutralised("a\033[31mred\033[0m", NEUTRALISE_ONE_LINE, "a\\x1b[31mred\\x1b[0m");
    /* Erase-screen and cursor moves are no different. */
    assert_neutralised("\033[2J\033[H\033[1A", 0, "\\x1b[2J\\x1b[H\\x1b[1A");
}

static void test_osc_sequences_are_shown_not_sent(void **state)
{
    (void)state;
    /* Window title, ended by BEL and by ST (ESC \). */
    assert_neutralised("\033]0;pwned\007x", 0, "\\x1b]0;pwned\\x07x");
    assert_neutralised("\033]8;;http://x\033\\link", 0, "\\x1b]8;;http://x\\x1b\\link");
}

static void test_c1_controls_in_utf8_form(void **state)
{
    (void)state;
    /* U+009B is a one-character CSI; U+0080 and U+009F bound the range. */
    assert_neutralised("\xc2\x9b" "31m", 0, "\\u009b31m");
    assert_neutralised("\xc2\x80|\xc2\x9d|\xc2\x9f", 0, "\\u0080|\\u009d|\\u009f");
    /* U+00A0 is the first character past C1: printable, kept. */
    assert_neutralised("\xc2\xa0", 0, "\xc2\xa0");
}

static void test_bel_del_nul_cr_backspace(void **state)
{
    (void)state;
    assert_neutralised("ding\007", 0, "ding\\x07");
    assert_neutralised("rub\177out", 0, "rub\\x7fout");
    assert_neutralised("a\0b", 0, "a\\x00b");
    assert_neutralised("fake\rreal", 0, "fake\\x0dreal");
    assert_neutralised("x\by", 0, "x\\x08y");
}

static void test_newline_and_tab_depend_on_mode(void **state)
{
    (void)state;
    assert_neutralised("one\ntwo\tx", 4, "one\n    two\tx");
    assert_neutralised("one\ntwo\tx", NEUTRALISE_ONE_LINE, "one\\x0atwo\\x09x");
    /* A newline followed by an escape: the indent cannot be undone. */
    assert_neutralised("a\n\033[1Ab", 2, "a\n  \\x1b[1Ab");
}

static void test_invalid_utf8_bytes_become_hex(void **state)
{
    (void)state;
    assert_neutralised("\xff\xfe", 0, "\\xff\\xfe");
    assert_neutralised("cut \xe2\x82", 0, "cut \\xe2\\x82");      /* truncated sequence */
    assert_neutralised("\xc0\xaf", 0, "\\xc0\\xaf");              /* overlong '/' */
    assert_neutralised("\xed\xa0\x80", 0, "\\xed\\xa0\\x80");     /* surrogate */
    assert_neutralised("\xf4\x90\x80\x80", 0, "\\xf4\\x90\\x80\\x80"); /* past U+10FFFF */
    /* An 8-bit CSI byte alone is invalid UTF-8 and shown, never sent. */
    assert_neutralised("\x9b" "2J", 0, "\\x9b2J");
}

static void test_valid_text_passes_unchanged(void **state)
{
    (void)state;
    assert_neutralised("plain ascii ~!", 0, "plain ascii ~!");
    assert_neutralised("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x99\x82", 0,
                       "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x99\x82");
    /* A backslash is text like any other. */
    assert_neutralised("C:\\dir", 0, "C:\\dir");
}

static void test_bidi_overrides_are_shown(void **state)
{
    (void)state;
    assert_neutralised("abc\xe2\x80\xae" "cba", 0, "abc\\u202ecba");
    assert_neutralised("\xe2\x81\xa6x\xe2\x81\xa9", 0, "\\u2066x\\u2069");
}

static void test_every_byte_value_leaves_no_control(void **state)
{
    (void)state;
    char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (char)i;
    char *out = neutralised(all, sizeof all, NEUTRALISE_ONE_LINE);
    assert_false(has_byte_below_space(out, false));
    assert_null(strchr(out, 0x7f));
    for (const unsigned char *p = (const unsigned char *)out; *p; p++)
        assert_true(*p < 0x80); /* every byte >= 0x80 alone is invalid UTF-8 */
    free(out);
}

static void test_decode_and_count_columns(void **state)
{
    (void)state;
    uint32_t cp = 0;
    assert_int_equal(decode_utf8_char((const unsigned char *)"A", 1, &cp), 1);
    assert_int_equal(cp, 'A');
    assert_int_equal(decode_utf8_char((const unsigned char *)"\xc3\xa9", 2, &cp), 2);
    assert_int_equal(cp, 0xe9);
    assert_int_equal(decode_utf8_char((const unsigned char *)"\xf0\x9f\x99\x82", 4, &cp), 4);
    assert_int_equal(cp, 0x1f642);
    assert_int_equal(decode_utf8_char((const unsigned char *)"\xc3\xa9", 1, &cp), 0);
    assert_int_equal(decode_utf8_char((const unsigned char *)"\x80", 1, &cp), 0);
    assert_int_equal(decode_utf8_char((const unsigned char *)"\xe0\x80\x80", 3, &cp), 0);
    assert_int_equal(neutralise_write(NULL, "caf\xc3\xa9\x1b", 6, NEUTRALISE_ONE_LINE), 8);
    assert_int_equal(neutralise_write(NULL, "ab\ncde", 6, 3), 6); /* the last line: indent + 3 */
}

/* ---- colour ------------------------------------------------------------- */

static void test_color_decision(void **state)
{
    (void)state;
    assert_true(color_wanted(COLOR_AUTO, true, NULL, "xterm-256color"));
    assert_false(color_wanted(COLOR_AUTO, false, NULL, "xterm"));
    assert_false(color_wanted(COLOR_AUTO, true, "1", "xterm"));
    assert_true(color_wanted(COLOR_AUTO, true, "", "xterm")); /* NO_COLOR empty: unset */
    assert_false(color_wanted(COLOR_AUTO, true, NULL, "dumb"));
    assert_true(color_wanted(COLOR_ALWAYS, false, "1", "dumb"));
    assert_false(color_wanted(COLOR_NEVER, true, NULL, "xterm"));

    assert_int_equal(color_mode_parse("always"), COLOR_ALWAYS);
    assert_int_equal(color_mode_parse("NEVER"), COLOR_NEVER);
    assert_int_equal(color_mode_parse("auto"), COLOR_AUTO);
    assert_int_equal(color_mode_parse("sometimes"), -1);
    assert_int_equal(color_mode_parse(NULL), -1);
}

static const char *const level_record =
    "{\"timestamp\":\"2026-11-21T14:22:18.214521Z\",\"level\":\"%s\",\"service\":\"api\","
    "\"pid\":42,\"tid\":43,\"stream\":\"stderr\",\"message\":\"m\"}";

static void test_color_on_wraps_only_the_level(void **state)
{
    (void)state;
    static const struct {
        const char *level, *expected;
    } cases[] = {
        {"DEBUG", "\033[2mDEBUG\033[0m    "},     {"INFO", "\033[32mINFO\033[0m     "},
        {"WARNING", "\033[33mWARNING\033[0m  "},  {"ERROR", "\033[31mERROR\033[0m    "},
        {"CRITICAL", "\033[1;31mCRITICAL\033[0m "},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char json[512], expected[512];
        snprintf(json, sizeof json, level_record, cases[i].level);
        snprintf(expected, sizeof expected, "2026-11-21 14:22:18.214 %sapi[42/43] stderr: m\n",
                 cases[i].expected);
        char *out = print_one(json, true);
        assert_string_equal(out, expected);
        free(out);
    }
}

static void test_color_off_writes_no_escape(void **state)
{
    (void)state;
    char json[512];
    snprintf(json, sizeof json, level_record, "ERROR");
    char *out = print_one(json, false);
    assert_string_equal(out, "2026-11-21 14:22:18.214 ERROR    api[42/43] stderr: m\n");
    free(out);
}

static void test_color_on_keeps_record_escapes_neutralised(void **state)
{
    (void)state;
    char *out = print_one("{\"timestamp\":\"2026-11-21T14:22:18Z\",\"level\":\"INFO\","
                          "\"service\":\"a\\u001b[0m\",\"message\":\"\\u001b[31mx\\u009b0m\"}",
                          true);
    /* Two ESCs: the ones around the level, none from the record. */
    size_t escs = 0;
    for (const char *p = out; *p; p++)
        escs += *p == '\033';
    assert_int_equal(escs, 2);
    assert_non_null(strstr(out, "a\\x1b[0m:"));
    assert_non_null(strstr(out, "\\x1b[31mx\\u009b0m"));
    free(out);
}

/* ---- the human layout --------------------------------------------------- */

static void test_layout_of_a_captured_line(void **state)
{
    (void)state;
    char *out = print_one("{\"timestamp\":\"2026-11-21T14:22:18.214521Z\",\"level\":\"INFO\","
                          "\"service\":\"api\",\"container\":\"0123456789ab\",\"host\":\"h\","
                          "\"pid\":4242,\"tid\":4243,\"stream\":\"stdout\",\"source\":\"preload\","
                          "\"message\":\"GET /health 200\",\"context\":{\"env\":\"dev\"}}",
                          false);
    assert_string_equal(out, "2026-11-21 14:22:18.214 INFO     api[4242/4243] stdout: GET /health 200\n");
    free(out);
}

static void test_layout_of_an_ulogd_record(void **state)
{
    (void)state;
    /* No stream and no tid: the source stands in, the pid stands alone. */
    char *out = print_one("{\"timestamp\":\"2026-11-21T00:00:00.000001Z\",\"level\":\"WARNING\","
                          "\"service\":\"ulogd\",\"pid\":9,\"source\":\"ulogd\","
                          "\"event_type\":\"connection_error\",\"message\":\"bad magic\"}",
                          false);
    assert_string_equal(out, "2026-11-21 00:00:00.000 WARNING  ulogd[9] ulogd: bad magic\n");
    free(out);
}

static void test_columns_align_once_measured(void **state)
{
    (void)state;
    struct human_format format;
    json_t *wide = record("{\"timestamp\":\"2026-11-21T14:22:18Z\",\"level\":\"INFO\","
                          "\"service\":\"payments-worker\",\"pid\":100,\"tid\":101,"
                          "\"stream\":\"stderr\",\"message\":\"second\"}");
    human_format_init(&format, false);
    human_format_measure(&format, wide);
    json_decref(wide);

    char *narrow = print_record(&format, "{\"timestamp\":\"2026-11-21T14:22:18Z\",\"level\":"
                                         "\"CRITICAL\",\"service\":\"db\",\"pid\":1,\"tid\":1,"
                                         "\"stream\":\"stdout\",\"message\":\"first\"}");
    char *broad = print_record(&format, "{\"timestamp\":\"2026-11-21T14:22:18Z\",\"level\":"
                                        "\"INFO\",\"service\":\"payments-worker\",\"pid\":100,"
                                        "\"tid\":101,\"stream\":\"stderr\",\"message\":\"second\"}");
    assert_string_equal(narrow, "2026-11-21 14:22:18.000 CRITICAL db[1/1] stdout:                  first\n");
    assert_string_equal(broad,  "2026-11-21 14:22:18.000 INFO     payments-worker[100/101] stderr: second\n");
    assert_int_equal(strstr(narrow, "first") - narrow, strstr(broad, "second") - broad);
    free(narrow);
    free(broad);
}

static void test_origin_column_has_a_ceiling(void **state)
{
    (void)state;
    struct human_format format;
    char json[512];
    human_format_init(&format, false);
    snprintf(json, sizeof json,
             "{\"level\":\"INFO\",\"service\":\"%0100d\",\"pid\":1,\"message\":\"x\\ny\"}", 0);
    char *out = print_record(&format, json);
    assert_int_equal(format.origin_width, HUMAN_ORIGIN_MAX_WIDTH);
    /* The outsized origin is printed whole; continuation lines stay at the capped column. */
    assert_non_null(strstr(out, "0000[1]: x\n"));
    assert_int_equal(strlen(strchr(out, '\n') + 1), 23 + 1 + 8 + 1 + HUMAN_ORIGIN_MAX_WIDTH + 1 + 2);
    free(out);
}

static void test_multiline_message_is_indented(void **state)
{
    (void)state;
    char *out = print_one("{\"timestamp\":\"2026-11-21T14:22:18Z\",\"level\":\"ERROR\","
                          "\"service\":\"py\",\"pid\":5,\"tid\":5,\"stream\":\"stderr\","
                          "\"message\":\"Traceback:\\n  File \\\"x\\\"\\nValueError\"}",
                          false);
    /* Continuation lines start under the message: 23 + 1 + 8 + 1 + 15 + 1 = 49 columns. */
    assert_string_equal(out, "2026-11-21 14:22:18.000 ERROR    py[5/5] stderr: Traceback:\n"
                             "                                                   File \"x\"\n"
                             "                                                 ValueError\n");
    assert_int_equal(strstr(out, "ValueError") - (strstr(out, "x\"\n") + 3), 49);
    free(out);
}

static void test_time_conversion(void **state)
{
    (void)state;
    /* Microseconds are truncated to milliseconds, never rounded up into the next second. */
    char *out = print_one("{\"timestamp\":\"2026-12-31T23:59:59.999999Z\",\"level\":\"INFO\","
                          "\"service\":\"s\",\"message\":\"m\"}", false);
    assert_string_equal(out, "2026-12-31 23:59:59.999 INFO     s: m\n");
    free(out);
    /* An offset is honoured: shown in local time (UTC here). */
    out = print_one("{\"timestamp\":\"2026-11-21T16:22:18.5+02:00\",\"level\":\"INFO\","
                    "\"service\":\"s\",\"message\":\"m\"}", false);
    assert_string_equal(out, "2026-11-21 14:22:18.500 INFO     s: m\n");
    free(out);
    /* And so is TZ. */
    setenv("TZ", "Asia/Tokyo", 1);
    tzset();
    out = print_one("{\"timestamp\":\"2026-11-21T14:22:18Z\",\"level\":\"INFO\","
                    "\"service\":\"s\",\"message\":\"m\"}", false);
    setenv("TZ", "UTC", 1);
    tzset();
    assert_string_equal(out, "2026-11-21 23:22:18.000 INFO     s: m\n");
    free(out);
}

static void test_missing_and_odd_fields_are_shown_not_dropped(void **state)
{
    (void)state;
    /* Unreadable time and unknown level: shown as they are, neutralised, in their columns. */
    char *out = print_one("{\"timestamp\":\"yesterday\\u001b\",\"level\":\"TRACE\","
                          "\"service\":\"s\",\"message\":\"m\"}", false);
    assert_string_equal(out, "yesterday\\x1b           TRACE    s: m\n");
    free(out);
    /* Nothing at all but an event type. */
    out = print_one("{\"event_type\":\"process_exit\"}", false);
    assert_string_equal(out, "-                       -        -: process_exit\n");
    free(out);
    /* Fields of the wrong type are treated as absent. */
    out = print_one("{\"timestamp\":7,\"level\":[1],\"service\":{},\"pid\":\"12\",\"message\":\"m\"}",
                    false);
    assert_string_equal(out, "-                       -        -: m\n");
    free(out);
}

static void test_invalid_line_has_a_marker(void **state)
{
    (void)state;
    struct human_format format;
    struct capture c;
    const char line[] = "{\"truncated\":\"\033[31m";

    human_format_init(&format, false);
    capture_begin(&c);
    human_print_invalid(c.stream, &format, line, sizeof line - 1);
    char *out = capture_end(&c);
    assert_string_equal(out, HUMAN_INVALID_MARKER " {\"truncated\":\"\\x1b[31m\n");
    free(out);

    human_format_init(&format, true);
    capture_begin(&c);
    human_print_invalid(c.stream, &format, line, sizeof line - 1);
    out = capture_end(&c);
    assert_string_equal(out, "\033[35m" HUMAN_INVALID_MARKER "\033[0m {\"truncated\":\"\\x1b[31m\n");
    free(out);
}

static void test_json_line_keeps_its_value(void **state)
{
    (void)state;
    /* DEL, C1 and a bidi override may sit raw in a JSON string; they are escaped. */
    const char line[] = "{\"message\":\"a\177b\xc2\x9b" "c\xe2\x80\xae" "d \xc3\xa9\",\t\"n\":1}";
    struct capture c;

    capture_begin(&c);
    print_json_line(c.stream, line, sizeof line - 1);
    char *out = capture_end(&c);
    assert_string_equal(out, "{\"message\":\"a\\u007fb\\u009bc\\u202ed \xc3\xa9\", \"n\":1}\n");

    json_t *before = record(line), *after = record(out);
    assert_true(json_equal(before, after));
    json_decref(before);
    json_decref(after);
    free(out);
}

/* ---- choosing records --------------------------------------------------- */

static void test_record_parse(void **state)
{
    (void)state;
    json_t *r = tail_record_parse("{\"message\":\"a\\u0000b\"}", 22);
    assert_non_null(r);
    assert_int_equal(json_string_length(json_object_get(r, "message")), 3);
    json_decref(r);
    assert_null(tail_record_parse("[1,2]", 5));
    assert_null(tail_record_parse("\"text\"", 6));
    assert_null(tail_record_parse("{\"a\":1", 6));
    assert_null(tail_record_parse("{\"a\":1} {}", 10));
    assert_null(tail_record_parse("", 0));
}

static bool matches(const struct tail_filter *filter, const char *json)
{
    json_t *r = record(json);
    bool result = tail_filter_match(filter, r);
    json_decref(r);
    return result;
}

static void test_level_filter_is_a_minimum(void **state)
{
    (void)state;
    struct tail_filter filter = {.min_level = ULOG_WARNING, .service = NULL};

    assert_false(matches(&filter, "{\"level\":\"DEBUG\"}"));
    assert_false(matches(&filter, "{\"level\":\"INFO\"}"));
    assert_true(matches(&filter, "{\"level\":\"WARNING\"}"));
    assert_true(matches(&filter, "{\"level\":\"ERROR\"}"));
    assert_true(matches(&filter, "{\"level\":\"CRITICAL\"}"));
    /* What cannot be ranked is shown. */
    assert_true(matches(&filter, "{\"level\":\"TRACE\"}"));
    assert_true(matches(&filter, "{\"message\":\"no level\"}"));
    assert_true(tail_filter_match(&filter, NULL));
    /* A NUL cannot smuggle a low level past as a known one, or the reverse. */
    assert_true(matches(&filter, "{\"level\":\"INFO\\u0000\"}"));

    filter.min_level = -1;
    assert_true(matches(&filter, "{\"level\":\"DEBUG\"}"));
    filter.min_level = ULOG_CRITICAL;
    assert_false(matches(&filter, "{\"level\":\"ERROR\"}"));
    assert_true(matches(&filter, "{\"level\":\"CRITICAL\"}"));
}

static void test_service_filter_is_exact(void **state)
{
    (void)state;
    struct tail_filter filter = {.min_level = ULOG_ERROR, .service = "api"};

    assert_true(matches(&filter, "{\"level\":\"ERROR\",\"service\":\"api\"}"));
    assert_false(matches(&filter, "{\"level\":\"INFO\",\"service\":\"api\"}"));
    assert_false(matches(&filter, "{\"level\":\"ERROR\",\"service\":\"api2\"}"));
    assert_false(matches(&filter, "{\"level\":\"ERROR\",\"service\":\"ap\"}"));
    assert_false(matches(&filter, "{\"level\":\"ERROR\",\"service\":\"api\\u0000x\"}"));
    assert_false(matches(&filter, "{\"level\":\"ERROR\"}"));
    assert_true(tail_filter_match(&filter, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgr_sequence_is_shown_not_sent),
        cmocka_unit_test(test_osc_sequences_are_shown_not_sent),
        cmocka_unit_test(test_c1_controls_in_utf8_form),
        cmocka_unit_test(test_bel_del_nul_cr_backspace),
        cmocka_unit_test(test_newline_and_tab_depend_on_mode),
        cmocka_unit_test(test_invalid_utf8_bytes_become_hex),
        cmocka_unit_test(test_valid_text_passes_unchanged),
        cmocka_unit_test(test_bidi_overrides_are_shown),
        cmocka_unit_test(test_every_byte_value_leaves_no_control),
        cmocka_unit_test(test_decode_and_count_columns),
        cmocka_unit_test(test_color_decision),
        cmocka_unit_test(test_color_on_wraps_only_the_level),
        cmocka_unit_test(test_color_off_writes_no_escape),
        cmocka_unit_test(test_color_on_keeps_record_escapes_neutralised),
        cmocka_unit_test(test_layout_of_a_captured_line),
        cmocka_unit_test(test_layout_of_an_ulogd_record),
        cmocka_unit_test(test_columns_align_once_measured),
        cmocka_unit_test(test_origin_column_has_a_ceiling),
        cmocka_unit_test(test_multiline_message_is_indented),
        cmocka_unit_test(test_time_conversion),
        cmocka_unit_test(test_missing_and_odd_fields_are_shown_not_dropped),
        cmocka_unit_test(test_invalid_line_has_a_marker),
        cmocka_unit_test(test_json_line_keeps_its_value),
        cmocka_unit_test(test_record_parse),
        cmocka_unit_test(test_level_filter_is_a_minimum),
        cmocka_unit_test(test_service_filter_is_exact),
    };
    return cmocka_run_group_tests(tests, utc, NULL);
}
