/*
 * test_docker_logs.c - a container's log stream into ulogd's lines, and
 * where each stream resumes (aggregator/docker_logs.c).
 *
 * The pseudo-connection's lines are caught where the assembler hands them
 * on, so what is checked is what enters multiline and the pipeline: the
 * text, the engine's time, the stream, and that no line is passed twice
 * or lost when a stream is reopened from its last line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "docker_logs.h"

#define ID "3f4e5d6c7b8a99887766554433221100ffeeddccbbaa00112233445566778899"
#define SEC 1000000000ull
#define BASE 1795270938000000000ull /* 2026-11-21T14:22:18Z */

struct world {
    struct assembler assembler;
    struct multiline multiline;
    struct connection_context ctx;
    struct docker_table *table;
    struct docker_container *c;
    struct docker_log_counts counts;
    char got[4096]; /* "stream:seconds-after-BASE:text;" per line */
};

static void caught(void *ctx, void *owner, const struct line *line)
{
    struct world *w = ctx;
    struct connection *conn = owner;
    size_t used = strlen(w->got);

    assert_string_equal(conn->source, "docker");
    assert_int_equal(line->pid, 0);
    snprintf(w->got + used, sizeof w->got - used, "%u:%llu:%.*s;", line->stream,
             (unsigned long long)((line->time_ns - BASE) / SEC), (int)line->len, line->bytes);
}

static void never(void *ctx, void *owner, const struct line *line, const struct multiline_out *o)
{
    (void)ctx, (void)owner, (void)line, (void)o;
    fail_msg("multiline emitted a line it was never given");
}

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof *w);
    char why[64];

    assembler_init(&w->assembler, 16384, ASSEMBLER_PARTIAL_LINE_TIMEOUT_NS, NULL, caught, w);
    multiline_init(&w->multiline, NULL, 0, 0, 0, NULL, never, w);
    connection_context_init(&w->ctx, &w->assembler, &w->multiline, NULL, (struct record_sink){0},
                            NULL, "testhost");
    w->table = docker_table_new();
    w->c = docker_table_add(w->table, ID);
    json_t *item = json_loads("{\"Names\":[\"/shop-web-1\"],\"Image\":\"demo/web:2\",\"Labels\":{"
                              "\"com.docker.compose.service\":\"web\"}}",
                              0, NULL);
    assert_int_equal(docker_container_from_list(w->c, item, why, sizeof why), 0);
    json_decref(item);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    struct world *w = *state;
    docker_table_free(w->table);
    connection_context_free(&w->ctx);
    multiline_free(&w->multiline);
    assembler_free(&w->assembler);
    free(w);
    return 0;
}

/* A raw (TTY) body of lines "SECONDS text", each stamped BASE + SECONDS. */
static void feed(struct docker_logs *l, const char *lines)
{
    char body[2048] = "";
    size_t used = 0;

    for (const char *p = lines; *p;) {
        char *end;
        unsigned long long secs = strtoull(p, &end, 10);
        const char *eol = strchr(end, '\n');
        uint64_t ns = BASE + secs * SEC;
        used += (size_t)snprintf(body + used, sizeof body - used,
                                 "2026-11-21T14:%02llu:%02llu.%09lluZ%.*s\n",
                                 (unsigned long long)(22 + (18 + secs) / 60),
                                 (unsigned long long)((18 + secs) % 60),
                                 (unsigned long long)(ns % SEC), (int)(eol - end), end);
        p = eol + 1;
    }
    /* Fed in two pieces cut mid-line: a line's decision holds for all its pieces. */
    assert_true(docker_logs_feed(l, body, used / 2 + 1));
    assert_true(docker_logs_feed(l, body + used / 2 + 1, used - used / 2 - 1));
}

static void the_pseudo_connection_is_the_container(void **state)
{
    struct world *w = *state;
    struct docker_logs *l = docker_logs_new(&w->ctx, w->c, BASE, 0, &w->counts);

    assert_string_equal(l->conn->service, "web");
    assert_string_equal(l->conn->program, "shop-web-1");
    assert_string_equal(l->conn->container, "3f4e5d6c7b8a");
    assert_string_equal(l->conn->host, "testhost");
    assert_int_equal(l->conn->pid, 0);
    assert_string_equal(json_string_value(json_object_get(l->conn->context, "container_name")),
                        "shop-web-1");
    assert_int_equal(w->ctx.stats.accepted, 0); /* not a shim connection */
    docker_logs_free(l);
}

static void lines_before_the_floor_are_not_written(void **state)
{
    struct world *w = *state;
    struct docker_logs *l = docker_logs_new(&w->ctx, w->c, BASE + 10 * SEC, 0, &w->counts);

    assert_true(docker_logs_begin(l, false) == BASE + 10 * SEC);
    feed(l, "9 before the start\n10 at the start\n11 after\n");
    assert_string_equal(w->got, "1:10:at the start;1:11:after;");
    assert_int_equal(w->counts.lines, 2);
    assert_int_equal(w->counts.skipped, 1);
    docker_logs_free(l);
}

static void a_reopened_stream_resumes_after_its_last_line(void **state)
{
    struct world *w = *state;
    struct docker_logs *l = docker_logs_new(&w->ctx, w->c, BASE, 0, &w->counts);

    docker_logs_begin(l, false);
    feed(l, "1 one\n2 two\n2 two again, same instant\n");
    /* The engine went and came back: asked again since the last line, it resends it. */
    assert_true(docker_logs_begin(l, false) == BASE + 2 * SEC);
    feed(l, "2 two\n2 two again, same instant\n3 three\n4 four\n");
    assert_string_equal(w->got, "1:1:one;1:2:two;1:2:two again, same instant;1:3:three;"
                                "1:4:four;");
    docker_logs_free(l);
}

static void a_new_reader_resumes_after_the_last_one(void **state)
{
    struct world *w = *state;
    /* The container's previous run was read up to 5 s; its new run starts at 3 s. */
    struct docker_logs *l = docker_logs_new(&w->ctx, w->c, BASE + 3 * SEC, BASE + 5 * SEC,
                                            &w->counts);

    assert_true(docker_logs_begin(l, true) == BASE + 5 * SEC);
    char body[] = "\x02\x00\x00\x00\x00\x00\x00\x28"
                  "2026-11-21T14:22:23.000000000Z old line\n";
    char body2[] = "\x02\x00\x00\x00\x00\x00\x00\x28"
                   "2026-11-21T14:22:24.000000000Z new line\n";
    assert_true(docker_logs_feed(l, body, sizeof body - 1));
    assert_true(docker_logs_feed(l, body2, sizeof body2 - 1));
    assert_string_equal(w->got, "2:6:new line;");
    docker_logs_free(l);
}

static void a_partial_line_goes_out_when_the_reader_ends(void **state)
{
    struct world *w = *state;
    struct docker_logs *l = docker_logs_new(&w->ctx, w->c, BASE, 0, &w->counts);

    docker_logs_begin(l, false);
    assert_true(docker_logs_feed(l, "2026-11-21T14:22:20.000000000Z no newline", 41));
    assert_string_equal(w->got, "");
    docker_logs_free(l);
    assert_string_equal(w->got, "1:2:no newline;");
}

static void a_malformed_stream_stops(void **state)
{
    struct world *w = *state;
    struct docker_logs *l = docker_logs_new(&w->ctx, w->c, BASE, 0, &w->counts);

    docker_logs_begin(l, true);
    assert_false(docker_logs_feed(l, "\x01\x00\x00\x00\x00\x00\x00\x06" "hello\n", 14));
    assert_non_null(strstr(l->demux.error, "timestamp"));
    /* A new stream starts afresh. */
    docker_logs_begin(l, false);
    assert_true(docker_logs_feed(l, "2026-11-21T14:22:21.000000000Z fine\n", 36));
    assert_string_equal(w->got, "1:3:fine;");
    docker_logs_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(the_pseudo_connection_is_the_container, setup, teardown),
        cmocka_unit_test_setup_teardown(lines_before_the_floor_are_not_written, setup, teardown),
        cmocka_unit_test_setup_teardown(a_reopened_stream_resumes_after_its_last_line, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_new_reader_resumes_after_the_last_one, setup, teardown),
        cmocka_unit_test_setup_teardown(a_partial_line_goes_out_when_the_reader_ends, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_malformed_stream_stops, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
