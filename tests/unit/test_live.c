/*
 * test_live.c - the live hub without sockets (aggregator/live.c,
 * live_client.c, live_filter.c, live_metrics.c, live_refs.c).
 *
 * Records go the way ulogd sends them (record -> all.log line -> feed batch
 * -> live_take -> live_pump); a client's frames are taken one at a time, as
 * http_ws.c's writeable callbacks take them, and joined into messages as a
 * WebSocket client would. What is checked is what a client can see: every
 * record as all.log has it plus "log_id" first, the bounds of a frame and of
 * a queue, and that every record it does not get is counted in "missed".
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

#include "feed.h"
#include "live.h"
#include "live_client.h"
#include "live_filter.h"
#include "live_metrics.h"
#include "record.h"

struct hub {
    struct live *live;
    struct feed feed;
    int wakes;
};

static void count_wake(void *ctx)
{
    ((struct hub *)ctx)->wakes++;
}

static struct hub *hub_new(unsigned buffer_size)
{
    struct hub *hub = calloc(1, sizeof *hub);
    hub->live = live_new(buffer_size);
    feed_init(&hub->feed, 1);
    feed_add_consumer(&hub->feed, (struct feed_consumer){live_take, hub->live});
    live_set_wake(hub->live, count_wake, hub);
    return hub;
}

static void hub_free(struct hub *hub)
{
    live_free(hub->live);
    feed_free(&hub->feed);
    free(hub);
}

/* One turn of the event loop: `n` records, one batch. */
static void publish(struct hub *hub, int n, const char *service, enum ulog_level level,
                    const char *container, const char *message)
{
    struct bytebuf line = BYTEBUF_INIT;
    for (int i = 0; i < n; i++) {
        struct record r = {.time_ns = 1795270938000000000ull, .level = level, .service = service,
                           .container = container, .source = "preload", .message = message,
                           .message_len = strlen(message)};
        line.len = 0;
        assert_int_equal(record_append_json(&r, &line), 0);
        feed_add(&hub->feed, &r, line.data, line.len);
    }
    feed_commit(&hub->feed);
    bytebuf_free(&line);
}

struct seen {
    json_t *messages;     /* every whole message */
    unsigned frames, fragments;
    size_t largest_frame;
};

/* Take frames until there is nothing more, joining fragments. */
static struct seen drain(struct hub *hub, struct live_client *client)
{
    struct seen seen = {.messages = json_array()};
    struct bytebuf frame = BYTEBUF_INIT, message = BYTEBUF_INIT;
    enum live_frame kind;
    while ((kind = live_client_next_frame(hub->live, client, &frame)) != LIVE_NOTHING) {
        if (kind == LIVE_NOT_YET)
            continue;
        if (kind == LIVE_CLOSE)
            break;
        seen.frames++;
        if (kind != LIVE_WHOLE)
            seen.fragments++;
        if (frame.len > seen.largest_frame)
            seen.largest_frame = frame.len;
        bytebuf_append(&message, frame.data, frame.len);
        frame.len = 0;
        if (kind == LIVE_WHOLE || kind == LIVE_LAST) {
            json_error_t err;
            json_t *value = json_loadb(message.data, message.len, 0, &err);
            if (!value)
                fail_msg("not JSON: %s: %.200s", err.text, message.data);
            json_array_append_new(seen.messages, value);
            message.len = 0;
        }
    }
    bytebuf_free(&frame);
    bytebuf_free(&message);
    return seen;
}

static const char *type_of(const json_t *message)
{
    return json_string_value(json_object_get(message, "type"));
}

static size_t records_in(const json_t *message)
{
    return json_array_size(json_object_get(message, "records"));
}

static json_int_t log_id(const json_t *record)
{
    return json_integer_value(json_object_get(record, "log_id"));
}

static void hello_then_the_rings_newest_as_all_log_has_them(void **state)
{
    (void)state;
    struct hub *hub = hub_new(100);
    publish(hub, 150, "api", ULOG_INFO, NULL, "hello \"world\"");
    live_pump(hub->live);
    struct live_client *client = live_client_add(hub->live, NULL, NULL);
    struct seen seen = drain(hub, client);

    assert_int_equal(json_array_size(seen.messages), 2);
    const json_t *hello = json_array_get(seen.messages, 0);
    assert_string_equal(type_of(hello), "hello");
    assert_int_equal(json_integer_value(json_object_get(hello, "buffer_size")), 100);
    assert_int_equal(json_object_size(json_object_get(hello, "filter")), 0);
    const json_t *backlog = json_array_get(seen.messages, 1);
    assert_string_equal(type_of(backlog), "backlog");
    assert_int_equal(records_in(backlog), 100);
    const json_t *records = json_object_get(backlog, "records");
    for (size_t i = 0; i < 100; i++)
        assert_int_equal(log_id(json_array_get(records, i)), 51 + (json_int_t)i);

    /* log_id first, then exactly the line. */
    char *text = json_dumps(json_array_get(records, 0), JSON_COMPACT);
    assert_string_equal(text, "{\"log_id\":51,\"timestamp\":\"2026-11-21T14:22:18.000000Z\","
                              "\"level\":\"INFO\",\"service\":\"api\",\"source\":\"preload\","
                              "\"message\":\"hello \\\"world\\\"\"}");
    free(text);
    json_decref(seen.messages);
    live_client_remove(hub->live, client);
    hub_free(hub);
}

static void one_wake_until_the_pump_has_taken_everything(void **state)
{
    (void)state;
    struct hub *hub = hub_new(10);
    publish(hub, 1, "api", ULOG_INFO, NULL, "a");
    publish(hub, 1, "api", ULOG_INFO, NULL, "b");
    assert_int_equal(hub->wakes, 1);
    live_pump(hub->live);
    publish(hub, 1, "api", ULOG_INFO, NULL, "c");
    assert_int_equal(hub->wakes, 2);

    /* Batches taken with nobody to wake wake whoever comes next. */
    live_set_wake(hub->live, NULL, NULL);
    live_pump(hub->live);
    publish(hub, 1, "api", ULOG_INFO, NULL, "d");
    assert_int_equal(hub->wakes, 2);
    live_set_wake(hub->live, count_wake, hub);
    assert_int_equal(hub->wakes, 3);
    hub_free(hub);
}

static void a_stalled_client_loses_its_oldest_and_is_told_how_many(void **state)
{
    (void)state;
    struct hub *hub = hub_new(10);
    struct live_client *client = live_client_add(hub->live, NULL, NULL);
    json_decref(drain(hub, client).messages); /* hello, empty backlog */
    for (int i = 0; i < 100; i++)
        publish(hub, 100, "api", ULOG_INFO, NULL, "x");
    live_pump(hub->live);

    struct seen seen = drain(hub, client);
    const json_t *missed = json_array_get(seen.messages, 0);
    assert_string_equal(type_of(missed), "missed");
    assert_int_equal(json_integer_value(json_object_get(missed, "count")),
                     10000 - LIVE_QUEUE_RECORDS);
    json_int_t expected = 10000 - LIVE_QUEUE_RECORDS + 1;
    for (size_t i = 1; i < json_array_size(seen.messages); i++) {
        const json_t *message = json_array_get(seen.messages, i);
        assert_string_equal(type_of(message), "records");
        assert_true(records_in(message) <= LIVE_FRAME_RECORDS);
        const json_t *records = json_object_get(message, "records");
        for (size_t j = 0; j < json_array_size(records); j++)
            assert_int_equal(log_id(json_array_get(records, j)), expected++);
    }
    assert_int_equal(expected, 10001);
    json_decref(seen.messages);

    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    live_write_metrics(hub->live, out);
    fclose(out);
    assert_non_null(strstr(text, "\nulog_ws_clients 1\n"));
    assert_non_null(strstr(text, "\nulog_ws_missed_records_total 5904\n"));
    free(text);
    live_client_remove(hub->live, client);
    hub_free(hub);
}

static void queues_and_frames_are_bounded_in_bytes(void **state)
{
    (void)state;
    struct hub *hub = hub_new(10);
    struct live_client *client = live_client_add(hub->live, NULL, NULL);
    json_decref(drain(hub, client).messages);
    char *big = malloc(100001);
    memset(big, 'a', 100000);
    big[100000] = '\0';
    publish(hub, 60, "api", ULOG_INFO, NULL, big);
    live_pump(hub->live);

    struct seen seen = drain(hub, client);
    size_t got = 0;
    for (size_t i = 1; i < json_array_size(seen.messages); i++)
        got += records_in(json_array_get(seen.messages, i));
    json_int_t missed =
        json_integer_value(json_object_get(json_array_get(seen.messages, 0), "count"));
    assert_true(got * 100000 <= LIVE_QUEUE_BYTES);
    assert_int_equal(got + (size_t)missed, 60);
    assert_true(seen.largest_frame <= LIVE_FRAME_BYTES);
    json_decref(seen.messages);
    free(big);
    live_client_remove(hub->live, client);
    hub_free(hub);
}

/* A backlog is one message in fragments; what the ring lets go before it is
 * sent is counted as missed, right after it. */
static void a_backlog_the_ring_overtakes_counts_what_it_lost(void **state)
{
    (void)state;
    struct hub *hub = hub_new(1000);
    publish(hub, 1000, "api", ULOG_INFO, NULL, "old");
    live_pump(hub->live);
    struct live_client *client = live_client_add(hub->live, NULL, NULL);
    struct bytebuf frame = BYTEBUF_INIT;
    assert_int_equal(live_client_next_frame(hub->live, client, &frame), LIVE_WHOLE);
    frame.len = 0;
    assert_int_equal(live_client_next_frame(hub->live, client, &frame), LIVE_FIRST);
    frame.len = 0;
    publish(hub, 1000, "api", ULOG_INFO, NULL, "new");
    live_pump(hub->live);
    assert_int_equal(live_client_next_frame(hub->live, client, &frame), LIVE_LAST);
    assert_int_equal(frame.len, 2);
    bytebuf_free(&frame);

    struct seen seen = drain(hub, client);
    assert_string_equal(type_of(json_array_get(seen.messages, 0)), "missed");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(seen.messages, 0), "count")),
                     1000 - LIVE_FRAME_RECORDS);
    size_t got = 0;
    for (size_t i = 1; i < json_array_size(seen.messages); i++)
        got += records_in(json_array_get(seen.messages, i));
    assert_int_equal(got, 1000);
    json_decref(seen.messages);

    /* A whole backlog: 4 fragments of at most 256 records. */
    struct live_client *second = live_client_add(hub->live, NULL, NULL);
    seen = drain(hub, second);
    assert_int_equal(json_array_size(seen.messages), 2);
    assert_int_equal(records_in(json_array_get(seen.messages, 1)), 1000);
    assert_int_equal(seen.fragments, 4);
    json_decref(seen.messages);
    live_client_remove(hub->live, client);
    live_client_remove(hub->live, second);
    hub_free(hub);
}

static struct live_filter parse(const char *text, int expect, const char *error_part)
{
    struct live_filter filter;
    char err[256] = "";
    json_t *message = json_loads(text, 0, NULL);
    assert_non_null(message);
    assert_int_equal(live_filter_parse(&filter, message, err, sizeof err), expect);
    if (error_part && !strstr(err, error_part))
        fail_msg("%s: error \"%s\" does not name \"%s\"", text, err, error_part);
    json_decref(message);
    return filter;
}

static void refused(const char *text, int expect, const char *error_part)
{
    struct live_filter filter = parse(text, expect, error_part);
    live_filter_free(&filter);
}

static void filters_select_and_answer_normalised(void **state)
{
    (void)state;
    struct hub *hub = hub_new(100);
    publish(hub, 3, "api", ULOG_INFO, "0123456789ab", "Upstream TIMEOUT");
    publish(hub, 3, "api", ULOG_ERROR, "0123456789ab", "upstream timeout");
    publish(hub, 3, "db", ULOG_ERROR, "fedcba987654", "upstream timeout");
    publish(hub, 3, "web", ULOG_CRITICAL, NULL, "disk full");
    live_pump(hub->live);
    struct live_client *client = live_client_add(hub->live, NULL, NULL);
    json_decref(drain(hub, client).messages);

    static const struct {
        const char *filter, *normalised;
        size_t backlog, live;
    } cases[] = {
        {"{\"type\":\"filter\",\"service\":[\"api\",\"db\",\"api\"],\"level\":\"warn\","
         "\"text\":\"TimeOut\"}",
         "{\"service\":[\"api\",\"db\"],\"level\":\"WARNING\",\"text\":\"TimeOut\"}", 6, 2},
        {"{\"type\":\"filter\",\"service\":\"api\",\"level\":null,\"container\":null}",
         "{\"service\":[\"api\"]}", 6, 2},
        {"{\"type\":\"filter\",\"container\":\"0123\"}", "{\"container\":\"0123\"}", 6, 2},
        {"{\"type\":\"filter\",\"text\":\"\",\"level\":\"CRITICAL\"}", "{\"level\":\"CRITICAL\"}",
         3, 1},
        {"{\"type\":\"filter\"}", "{}", 12, 4},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct live_filter filter = parse(cases[c].filter, 0, NULL);
        live_client_set_filter(hub->live, client, &filter);
        live_filter_free(&filter);
        publish(hub, 1, "api", ULOG_INFO, "0123456789ab", "upstream Timeout");
        publish(hub, 1, "api", ULOG_ERROR, "0123456789ab", "upstream timeout");
        publish(hub, 1, "db", ULOG_ERROR, "fedcba987654", "upstream timeout");
        publish(hub, 1, "web", ULOG_CRITICAL, NULL, "disk full");
        live_pump(hub->live);
        struct seen seen = drain(hub, client);
        const json_t *answer = json_array_get(seen.messages, 0);
        assert_string_equal(type_of(answer), "filter");
        char *text = json_dumps(json_object_get(answer, "filter"), JSON_COMPACT);
        assert_string_equal(text, cases[c].normalised);
        free(text);
        const json_t *backlog = json_array_get(seen.messages, 1);
        assert_string_equal(type_of(backlog), "backlog");
        /* The ring also holds the live records of the cases before. */
        assert_true(records_in(backlog) >= cases[c].backlog);
        assert_int_equal(records_in(json_array_get(seen.messages, 2)), cases[c].live);
        json_decref(seen.messages);
    }

    refused("{\"type\":\"filter\",\"colour\":1}", -1, "colour");
    refused("{\"type\":\"filter\",\"level\":\"loud\"}", -1, "level");
    refused("{\"type\":\"filter\",\"service\":[]}", -1, "service");
    refused("{\"type\":\"filter\",\"service\":[1]}", -1, "service");
    refused("{\"type\":\"filter\",\"container\":7}", -1, "container");
    refused("{\"type\":\"filter\",\"text\":[\"a\"]}", -1, "text");
    live_client_remove(hub->live, client);
    hub_free(hub);
}

static void replies_come_first_and_a_closing_client_ends(void **state)
{
    (void)state;
    struct hub *hub = hub_new(10);
    struct live_client *client = live_client_add(hub->live, NULL, NULL);
    uint64_t id = live_client_id(client);
    assert_ptr_equal(live_client_find(hub->live, id), client);
    assert_null(live_client_find(hub->live, id + 1));
    json_decref(drain(hub, client).messages);
    publish(hub, 2, "api", ULOG_INFO, NULL, "x");
    live_pump(hub->live);
    /* A reason cut inside a UTF-8 sequence still gives valid JSON. */
    json_t *request_id = json_integer(7);
    live_client_reply_error(client, "bad \xc3", request_id);
    json_decref(request_id);
    struct seen seen = drain(hub, client);
    assert_string_equal(type_of(json_array_get(seen.messages, 0)), "error");
    assert_string_equal(json_string_value(json_object_get(json_array_get(seen.messages, 0), "error")),
                        "bad ?");
    assert_string_equal(type_of(json_array_get(seen.messages, 1)), "records");
    json_decref(seen.messages);

    live_client_reply(client, json_pack("{s:s}", "type", "pong"));
    live_client_close_after_replies(client);
    publish(hub, 2, "api", ULOG_INFO, NULL, "x");
    live_pump(hub->live);
    struct bytebuf frame = BYTEBUF_INIT;
    assert_int_equal(live_client_next_frame(hub->live, client, &frame), LIVE_WHOLE);
    frame.len = 0;
    assert_int_equal(live_client_next_frame(hub->live, client, &frame), LIVE_CLOSE);
    bytebuf_free(&frame);
    assert_int_equal(live_client_count(hub->live), 1);
    live_client_remove(hub->live, client);
    assert_int_equal(live_client_count(hub->live), 0);
    hub_free(hub);
}

static void service_labels_are_capped_and_escaped(void **state)
{
    (void)state;
    struct hub *hub = hub_new(0);
    char service[32];
    for (int i = 0; i < 300; i++) {
        snprintf(service, sizeof service, "svc%03d", i);
        publish(hub, 1, service, ULOG_WARNING, NULL, "x");
    }
    publish(hub, 2, "a\"b\\c\nd", ULOG_ERROR, NULL, "x");
    live_pump(hub->live);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    live_write_metrics(hub->live, out);
    fclose(out);
    assert_non_null(strstr(text, "# TYPE ulog_records_written_total counter\n"));
    assert_non_null(strstr(text, "ulog_records_written_total{source=\"preload\",level=\"WARNING\","
                                 "service=\"svc255\"} 1\n"));
    assert_null(strstr(text, "service=\"svc256\""));
    /* 44 after the first 256, and the odd name that came after them too. */
    assert_non_null(strstr(text, "ulog_records_written_total{source=\"preload\",level=\"WARNING\","
                                 "service=\"other\"} 44\n"));
    assert_non_null(strstr(text, "level=\"ERROR\",service=\"other\"} 2\n"));
    free(text);
    hub_free(hub);

    text = NULL;
    out = open_memstream(&text, &len);
    live_metrics_write_label_value(out, "a\"b\\c\nd\xff");
    fclose(out);
    assert_string_equal(text, "a\\\"b\\\\c\\nd\xef\xbf\xbd");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hello_then_the_rings_newest_as_all_log_has_them),
        cmocka_unit_test(one_wake_until_the_pump_has_taken_everything),
        cmocka_unit_test(a_stalled_client_loses_its_oldest_and_is_told_how_many),
        cmocka_unit_test(queues_and_frames_are_bounded_in_bytes),
        cmocka_unit_test(a_backlog_the_ring_overtakes_counts_what_it_lost),
        cmocka_unit_test(filters_select_and_answer_normalised),
        cmocka_unit_test(replies_come_first_and_a_closing_client_ends),
        cmocka_unit_test(service_labels_are_capped_and_escaped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
