/*
 * test_draft.c - a record being built (aggregator/draft.c).
 *
 * Rules reach fields by name, so the names, the text each field reads as,
 * what may be set, and where metadata paths lead are tested one by one,
 * including the refusals. The arena is checked to be reused across records
 * (the pipeline's no-malloc-per-line promise) and, under ASan, to leak nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "draft.h"

static struct field_ref ref(const char *name)
{
    struct field_ref f;
    char err[256];
    assert_int_equal(field_ref_parse(&f, name, err, sizeof err), 0);
    return f;
}

static const char *get(const struct draft *d, const char *name, size_t *len)
{
    static char scratch[64];
    struct field_ref f = ref(name);
    const char *v = draft_get(d, &f, len, scratch);
    field_ref_free(&f);
    return v;
}

static bool has(const struct draft *d, const char *name)
{
    struct field_ref f = ref(name);
    bool v = draft_has(d, &f);
    field_ref_free(&f);
    return v;
}

static int set(struct draft *d, const char *name, const char *value)
{
    struct field_ref f = ref(name);
    int rc = draft_set(d, &f, value, strlen(value));
    field_ref_free(&f);
    return rc;
}

static void field_names_parse_and_unknown_ones_are_refused(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        enum field_id id;
    } good[] = {{"level", FIELD_LEVEL},       {"service", FIELD_SERVICE},
                {"container", FIELD_CONTAINER}, {"host", FIELD_HOST},
                {"pid", FIELD_PID},           {"tid", FIELD_TID},
                {"stream", FIELD_STREAM},     {"source", FIELD_SOURCE},
                {"component", FIELD_COMPONENT}, {"event_type", FIELD_EVENT_TYPE},
                {"message", FIELD_MESSAGE},   {"trace_id", FIELD_TRACE_ID},
                {"span_id", FIELD_SPAN_ID},   {"agent_id", FIELD_AGENT_ID},
                {"task_id", FIELD_TASK_ID},   {"metadata", FIELD_METADATA},
                {"context", FIELD_CONTEXT}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        struct field_ref f = ref(good[i].name);
        assert_int_equal(f.id, good[i].id);
        assert_null(f.path);
    }
    struct field_ref f = ref("metadata.user.id");
    assert_int_equal(f.id, FIELD_METADATA);
    assert_string_equal(f.path, "user.id");
    field_ref_free(&f);
    f = ref("context.env");
    assert_int_equal(f.id, FIELD_CONTEXT);
    assert_string_equal(f.path, "env");
    field_ref_free(&f);

    static const char *const bad[] = {"",          "Level",        "msg",         "services",
                                      "service.x", "metadata.",    "metadata..x", "metadata.x.",
                                      "pid.1",     "context..",    "timestamp.x", "metadata.x..y"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[256] = "";
        assert_int_equal(field_ref_parse(&f, bad[i], err, sizeof err), -1);
        assert_true(strlen(err) > 0);
        assert_null(f.path);
    }
    char err[256];
    assert_int_equal(field_ref_parse(&f, "colour", err, sizeof err), -1);
    assert_non_null(strstr(err, "\"colour\""));

    /* The timestamp reads as all.log spells it, and cannot be set. */
    struct draft d;
    struct record base = {.time_ns = 1700000000123456789ull, .message = "m", .message_len = 1};
    char scratch[64];
    size_t len;
    draft_init(&d);
    draft_begin(&d, &base);
    f = ref("timestamp");
    assert_int_equal(f.id, FIELD_TIMESTAMP);
    assert_string_equal(draft_get(&d, &f, &len, scratch), "2023-11-14T22:13:20.123456Z");
    assert_int_equal(len, 27);
    assert_int_equal(draft_set(&d, &f, "x", 1), -1);
    field_ref_free(&f);
    draft_end(&d);
    draft_free(&d);
}

static void begin_takes_a_reference_and_end_gives_it_back(void **state)
{
    (void)state;
    json_t *meta = json_pack("{s:s}", "k", "v");
    struct record base = {.level = ULOG_INFO, .metadata = meta, .message = "m", .message_len = 1};
    struct draft d;
    draft_init(&d);
    draft_begin(&d, &base);
    assert_ptr_equal(d.metadata, meta);
    assert_ptr_equal(d.rec.metadata, meta);
    assert_int_equal(meta->refcount, 2);
    draft_end(&d);
    assert_int_equal(meta->refcount, 1);
    assert_null(d.metadata);
    json_decref(meta);

    struct record bare = {.level = ULOG_INFO};
    draft_begin(&d, &bare);
    assert_null(d.metadata);
    json_t *created = draft_metadata(&d);
    assert_true(json_is_object(created));
    assert_ptr_equal(d.rec.metadata, created);
    assert_ptr_equal(draft_metadata(&d), created);
    draft_end(&d);
    draft_free(&d);
}

static void fields_read_as_text(void **state)
{
    (void)state;
    json_t *meta = json_pack("{s:s, s:I, s:f, s:b, s:b, s:n, s:{s:{s:s}}, s:[i], s:s, s:{}}",
                             "user", "ann", "count", (json_int_t)-42, "ratio", 0.1, "ok", 1, "no",
                             0, "nothing", "req", "user", "id", "u-7", "list", 1, "http.method",
                             "GET", "empty");
    json_t *context = json_pack("{s:s}", "env", "prod");
    struct record base = {.level = ULOG_WARNING, .service = "api", .container = "",
                          .pid = 42, .tid = 0, .message = "", .message_len = 0,
                          .metadata = meta, .context = context};
    struct draft d;
    draft_init(&d);
    draft_begin(&d, &base);
    size_t len;
    assert_string_equal(get(&d, "level", &len), "WARNING");
    assert_int_equal(len, 7);
    assert_string_equal(get(&d, "service", &len), "api");
    assert_int_equal(len, 3);
    assert_null(get(&d, "container", &len)); /* "" is absent, as in all.log */
    assert_null(get(&d, "host", &len));
    assert_string_equal(get(&d, "pid", &len), "42");
    assert_null(get(&d, "tid", &len)); /* 0 is absent */
    assert_non_null(get(&d, "message", &len));
    assert_int_equal(len, 0);
    assert_string_equal(get(&d, "metadata.user", &len), "ann");
    assert_string_equal(get(&d, "metadata.count", &len), "-42");
    assert_string_equal(get(&d, "metadata.ratio", &len), "0.1");
    assert_string_equal(get(&d, "metadata.ok", &len), "true");
    assert_string_equal(get(&d, "metadata.no", &len), "false");
    assert_null(get(&d, "metadata.nothing", &len));
    assert_null(get(&d, "metadata.req", &len)); /* an object has no text */
    assert_null(get(&d, "metadata.list", &len));
    assert_null(get(&d, "metadata.missing", &len));
    assert_null(get(&d, "metadata.user.id", &len)); /* through a string: nothing */
    assert_string_equal(get(&d, "metadata.req.user.id", &len), "u-7");
    assert_string_equal(get(&d, "metadata.http.method", &len), "GET"); /* a dotted key */
    assert_string_equal(get(&d, "context.env", &len), "prod");
    assert_null(get(&d, "context.nope", &len));
    assert_null(get(&d, "metadata", &len));

    assert_true(has(&d, "service"));
    assert_false(has(&d, "container"));
    assert_true(has(&d, "pid"));
    assert_false(has(&d, "tid"));
    assert_false(has(&d, "message")); /* empty */
    assert_true(has(&d, "metadata.req"));
    assert_true(has(&d, "metadata.empty")); /* the key is there */
    assert_true(has(&d, "metadata.list"));
    assert_false(has(&d, "metadata.nothing"));
    assert_false(has(&d, "metadata.missing"));
    assert_true(has(&d, "metadata"));
    assert_true(has(&d, "context"));
    assert_true(has(&d, "level"));
    draft_end(&d);

    struct record none = {.level = ULOG_INFO, .message = "x\0y", .message_len = 3};
    draft_begin(&d, &none);
    assert_false(has(&d, "metadata"));
    assert_false(has(&d, "context"));
    assert_false(has(&d, "metadata.a"));
    assert_null(get(&d, "metadata.a", &len));
    assert_null(get(&d, "context.env", &len));
    assert_true(has(&d, "message"));
    assert_memory_equal(get(&d, "message", &len), "x\0y", 3);
    assert_int_equal(len, 3);
    draft_end(&d);
    draft_free(&d);
    json_decref(meta);
    json_decref(context);
}

static void fields_are_set_from_text(void **state)
{
    (void)state;
    json_t *context = json_pack("{s:s}", "env", "prod");
    struct record base = {.level = ULOG_INFO, .service = "api", .pid = 7, .context = context};
    struct draft d;
    draft_init(&d);
    draft_begin(&d, &base);
    char value[] = "worker";
    assert_int_equal(set(&d, "service", value), 0);
    value[0] = 'W'; /* the draft holds its own copy */
    assert_string_equal(d.rec.service, "worker");
    assert_int_equal(set(&d, "component", "app.db"), 0);
    assert_string_equal(d.rec.component, "app.db");
    assert_int_equal(set(&d, "level", "warn"), 0);
    assert_int_equal(d.rec.level, ULOG_WARNING);
    assert_int_equal(set(&d, "level", "ERROR"), 0);
    assert_int_equal(d.rec.level, ULOG_ERROR);
    assert_int_equal(set(&d, "level", "loud"), -1);
    assert_int_equal(set(&d, "level", "a-level-name-much-too-long"), -1);
    assert_int_equal(d.rec.level, ULOG_ERROR);
    assert_int_equal(set(&d, "pid", "9"), -1);
    assert_int_equal(set(&d, "tid", "9"), -1);
    assert_int_equal(d.rec.pid, 7);
    assert_int_equal(set(&d, "context.env", "dev"), -1);
    assert_string_equal(json_string_value(json_object_get(context, "env")), "prod");
    assert_int_equal(set(&d, "metadata", "x"), -1);
    assert_null(d.metadata);

    assert_int_equal(set(&d, "metadata.user.id", "u-1"), 0);
    assert_non_null(d.metadata);
    assert_ptr_equal(d.rec.metadata, d.metadata);
    json_t *user = json_object_get(d.metadata, "user");
    assert_true(json_is_object(user));
    assert_string_equal(json_string_value(json_object_get(user, "id")), "u-1");
    assert_int_equal(set(&d, "metadata.user.name", "ann"), 0);
    assert_int_equal(json_object_size(user), 2);
    assert_int_equal(set(&d, "metadata.user.id.x", "no"), -1); /* id is a string */
    assert_string_equal(json_string_value(json_object_get(user, "id")), "u-1");
    assert_int_equal(set(&d, "metadata.user", "flat"), 0); /* replaces the object */
    assert_string_equal(json_string_value(json_object_get(d.metadata, "user")), "flat");

    json_object_set_new(d.metadata, "http.method", json_string("GET"));
    assert_int_equal(set(&d, "metadata.http.method", "POST"), 0);
    assert_string_equal(json_string_value(json_object_get(d.metadata, "http.method")), "POST");
    assert_null(json_object_get(d.metadata, "http"));

    struct field_ref f = ref("metadata.bad");
    assert_int_equal(draft_set(&d, &f, "\xff\xfe", 2), -1); /* JSON strings are UTF-8 */
    field_ref_free(&f);

    f = ref("message");
    assert_int_equal(draft_set(&d, &f, "a\0b", 3), 0);
    field_ref_free(&f);
    assert_int_equal(d.rec.message_len, 3);
    assert_memory_equal(d.rec.message, "a\0b", 4);
    draft_end(&d);
    draft_free(&d);
    json_decref(context);
}

static void metadata_is_changed_in_place_for_the_caller(void **state)
{
    (void)state;
    json_t *meta = json_object();
    struct record base = {.level = ULOG_INFO, .metadata = meta};
    struct draft d;
    draft_init(&d);
    draft_begin(&d, &base);
    assert_int_equal(set(&d, "metadata.k", "v"), 0);
    draft_end(&d);
    assert_string_equal(json_string_value(json_object_get(meta, "k")), "v");
    draft_free(&d);
    json_decref(meta);
}

static void routes_are_unique_and_bounded(void **state)
{
    (void)state;
    struct record base = {.level = ULOG_INFO};
    struct draft d;
    draft_init(&d);
    draft_begin(&d, &base);
    char name[32] = "trade.log";
    assert_true(draft_add_route(&d, name));
    name[0] = 'T';
    assert_true(draft_add_route(&d, "trade.log"));
    assert_int_equal(d.route_count, 1);
    assert_string_equal(d.routes[0], "trade.log");
    for (int i = 1; i < DRAFT_MAX_ROUTES; i++) {
        snprintf(name, sizeof name, "r%d.log", i);
        assert_true(draft_add_route(&d, name));
    }
    assert_int_equal(d.route_count, DRAFT_MAX_ROUTES);
    assert_false(draft_add_route(&d, "one-too-many.log"));
    assert_true(draft_add_route(&d, "r3.log")); /* already there */
    assert_int_equal(d.route_count, DRAFT_MAX_ROUTES);
    d.kept = true;
    draft_end(&d);
    assert_int_equal(d.route_count, 0);
    assert_false(d.kept);
    draft_begin(&d, &base);
    assert_int_equal(d.route_count, 0);
    draft_end(&d);
    draft_free(&d);
}

static void the_arena_is_reused_across_records(void **state)
{
    (void)state;
    struct record base = {.level = ULOG_INFO};
    struct draft d;
    draft_init(&d);
    draft_begin(&d, &base);
    char *first = draft_store(&d, "hello", 5);
    assert_string_equal(first, "hello");
    char *second = draft_store(&d, "world", 5);
    assert_ptr_not_equal(first, second);
    assert_string_equal(first, "hello");
    draft_end(&d);
    for (int round = 0; round < 100; round++) {
        draft_begin(&d, &base);
        assert_ptr_equal(draft_store(&d, "again", 5), first);
        draft_end(&d);
    }
    /* Bigger than a block, and more than the arena keeps: fine, and freed (ASan). */
    size_t big = 300 * 1024;
    char *text = malloc(big);
    assert_non_null(text);
    memset(text, 'x', big);
    draft_begin(&d, &base);
    for (int i = 0; i < 3; i++) {
        char *copy = draft_store(&d, text, big);
        assert_memory_equal(copy, text, big);
        assert_int_equal(copy[big], '\0');
    }
    char *small = draft_store(&d, "", 0);
    assert_string_equal(small, "");
    draft_end(&d);
    draft_begin(&d, &base);
    draft_set_message(&d, text, 5000);
    assert_int_equal(d.rec.message_len, 5000);
    draft_end(&d);
    draft_free(&d);
    draft_free(&d); /* twice is harmless */
    free(text);
}

int main(void)
{
    json_object_seed(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(field_names_parse_and_unknown_ones_are_refused),
        cmocka_unit_test(begin_takes_a_reference_and_end_gives_it_back),
        cmocka_unit_test(fields_read_as_text),
        cmocka_unit_test(fields_are_set_from_text),
        cmocka_unit_test(metadata_is_changed_in_place_for_the_caller),
        cmocka_unit_test(routes_are_unique_and_bounded),
        cmocka_unit_test(the_arena_is_reused_across_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
