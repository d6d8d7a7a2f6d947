/*
 * test_docker_events.c - the engine's container events and the lifecycle
 * records they make (aggregator/docker_events.c).
 *
 * The events are written as Docker Engine 20.10 writes them on GET
 * /events (Action, Actor.ID, Actor.Attributes with the labels flattened
 * beside name and image, exitCode and signal as strings, time and
 * timeNano); each kind is checked for its event_type, level, metadata and
 * message, and the lines that are not events for their refusal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "docker_events.h"

#define ID "3f4e5d6c7b8a99887766554433221100ffeeddccbbaa00112233445566778899"
#define ID12 "3f4e5d6c7b8a"

static char *event_text(char *buf, size_t size, const char *action, const char *attributes)
{
    snprintf(buf, size,
             "{\"status\":\"%s\",\"id\":\"" ID "\",\"from\":\"demo/app:1.0\",\"Type\":"
             "\"container\",\"Action\":\"%s\",\"Actor\":{\"ID\":\"" ID "\",\"Attributes\":"
             "{\"image\":\"demo/app:1.0\",\"name\":\"shop-web-1\","
             "\"com.docker.compose.service\":\"web\",\"com.docker.compose.project\":\"shop\"%s}},"
             "\"scope\":\"local\",\"time\":1795270938,\"timeNano\":1795270938214521123}",
             action, action, attributes);
    return buf;
}

/* Parse `action` with extra attributes and describe it; false when it makes no record. */
static bool describe(const char *action, const char *attributes, struct docker_event *ev,
                     struct docker_event_record *rec)
{
    char text[1024], why[256];
    event_text(text, sizeof text, action, attributes);
    assert_int_equal(docker_event_parse(text, strlen(text), ev, why, sizeof why), 0);
    return docker_event_describe(ev, NULL, rec);
}

static void an_event_names_its_container(void **state)
{
    struct docker_event ev;
    struct docker_event_record rec;
    (void)state;

    assert_true(describe("start", "", &ev, &rec));
    assert_int_equal(ev.kind, DOCKER_EVENT_START);
    assert_string_equal(ev.id, ID);
    assert_string_equal(ev.short_id, ID12);
    assert_string_equal(ev.name, "shop-web-1");
    assert_string_equal(ev.image, "demo/app:1.0");
    assert_string_equal(ev.service, "web");
    assert_string_equal(ev.project, "shop");
    assert_true(ev.time_ns == 1795270938214521123ull);
    assert_string_equal(rec.event_type, "container_start");
    assert_int_equal(rec.level, ULOG_INFO);
    assert_null(rec.metadata);
    assert_string_equal(rec.message, "container shop-web-1 (" ID12 ") started");
    assert_int_equal(rec.message_len, strlen(rec.message));
    docker_event_clear(&ev);
}

static void die_carries_its_exit_code(void **state)
{
    struct docker_event ev;
    struct docker_event_record rec;
    (void)state;

    assert_true(describe("die", ",\"exitCode\":\"0\"", &ev, &rec));
    assert_string_equal(rec.event_type, "container_die");
    assert_int_equal(rec.level, ULOG_INFO);
    assert_int_equal(json_integer_value(json_object_get(rec.metadata, "exit_code")), 0);
    assert_string_equal(rec.message, "container shop-web-1 (" ID12 ") exited with status 0");
    json_decref(rec.metadata);
    docker_event_clear(&ev);

    assert_true(describe("die", ",\"exitCode\":\"137\"", &ev, &rec));
    assert_int_equal(rec.level, ULOG_ERROR);
    assert_int_equal(json_integer_value(json_object_get(rec.metadata, "exit_code")), 137);
    assert_string_equal(rec.message, "container shop-web-1 (" ID12 ") exited with status 137");
    json_decref(rec.metadata);
    docker_event_clear(&ev);

    /* No exit code: said as such, and not taken for a success. */
    assert_true(describe("die", "", &ev, &rec));
    assert_int_equal(rec.level, ULOG_ERROR);
    assert_null(rec.metadata);
    assert_string_equal(rec.message, "container shop-web-1 (" ID12 ") exited");
    docker_event_clear(&ev);
}

static void kill_oom_restart_and_health(void **state)
{
    struct docker_event ev;
    struct docker_event_record rec;
    (void)state;

    assert_true(describe("kill", ",\"signal\":\"15\"", &ev, &rec));
    assert_string_equal(rec.event_type, "container_kill");
    assert_int_equal(rec.level, ULOG_INFO);
    assert_int_equal(json_integer_value(json_object_get(rec.metadata, "signal")), 15);
    assert_string_equal(json_string_value(json_object_get(rec.metadata, "signal_name")),
                        "SIGTERM");
    assert_string_equal(rec.message, "container shop-web-1 (" ID12 ") was sent SIGTERM (15)");
    json_decref(rec.metadata);
    docker_event_clear(&ev);

    assert_true(describe("oom", "", &ev, &rec));
    assert_string_equal(rec.event_type, "container_oom");
    assert_int_equal(rec.level, ULOG_ERROR); /* CRITICAL is the process-level oom_kill */
    docker_event_clear(&ev);

    assert_true(describe("restart", "", &ev, &rec));
    assert_string_equal(rec.event_type, "container_restart");
    assert_int_equal(rec.level, ULOG_INFO);
    docker_event_clear(&ev);

    static const struct {
        const char *action, *status;
        enum ulog_level level;
    } health[] = {{"health_status: healthy", "healthy", ULOG_INFO},
                  {"health_status: unhealthy", "unhealthy", ULOG_WARNING},
                  {"health_status: starting", "starting", ULOG_INFO}};
    for (size_t i = 0; i < 3; i++) {
        assert_true(describe(health[i].action, "", &ev, &rec));
        assert_int_equal(ev.kind, DOCKER_EVENT_HEALTH);
        assert_string_equal(rec.event_type, "container_health");
        assert_int_equal(rec.level, health[i].level);
        assert_string_equal(json_string_value(json_object_get(rec.metadata, "health_status")),
                            health[i].status);
        json_decref(rec.metadata);
        docker_event_clear(&ev);
    }
}

static void other_actions_make_no_record(void **state)
{
    static const char *const actions[] = {"create", "attach", "destroy", "rename", "pause",
                                          "exec_start: sh -c true", "health_status: nonsense"};
    struct docker_event ev;
    struct docker_event_record rec;
    (void)state;

    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++) {
        assert_false(describe(actions[i], "", &ev, &rec));
        assert_null(rec.metadata);
        docker_event_clear(&ev);
    }
    assert_false(describe("destroy", "", &ev, &rec));
    assert_int_equal(ev.kind, DOCKER_EVENT_DESTROY); /* it steers the collector, no record */
    docker_event_clear(&ev);
}

static void other_types_and_older_spellings(void **state)
{
    struct docker_event ev;
    struct docker_event_record rec;
    char why[256];
    (void)state;

    static const char network[] = "{\"Type\":\"network\",\"Action\":\"connect\",\"Actor\":{"
                                  "\"ID\":\"n1\",\"Attributes\":{}},\"timeNano\":1}";
    assert_int_equal(docker_event_parse(network, strlen(network), &ev, why, sizeof why), 0);
    assert_int_equal(ev.kind, DOCKER_EVENT_OTHER);
    assert_string_equal(ev.id, "");
    docker_event_clear(&ev);

    /* No Action, no Type, no timeNano, no name: status, id and time are read instead. */
    static const char old[] = "{\"status\":\"start\",\"id\":\"" ID "\",\"time\":1795270938}";
    assert_int_equal(docker_event_parse(old, strlen(old), &ev, why, sizeof why), 0);
    assert_int_equal(ev.kind, DOCKER_EVENT_START);
    assert_true(ev.time_ns == 1795270938000000000ull);
    assert_true(docker_event_describe(&ev, "known-name", &rec));
    assert_string_equal(rec.message, "container known-name (" ID12 ") started");
    assert_true(docker_event_describe(&ev, NULL, &rec));
    assert_string_equal(rec.message, "container " ID12 " (" ID12 ") started");
    docker_event_clear(&ev);
}

static void assert_refused(const char *text, const char *why_part)
{
    struct docker_event ev;
    char why[256] = "";

    assert_int_equal(docker_event_parse(text, strlen(text), &ev, why, sizeof why), -1);
    assert_non_null(strstr(why, why_part));
    assert_null(ev.json);
}

static void malformed_events_are_refused(void **state)
{
    (void)state;
    assert_refused("{\"status\": \"start\", \"id\": \"7f", "not JSON");
    assert_refused("[1, 2]", "not a JSON object");
    assert_refused("{\"Type\":\"container\",\"Action\":\"start\"}", "no valid container id");
    assert_refused("{\"Type\":\"container\",\"Action\":\"start\",\"Actor\":{\"ID\":"
                   "\"../../../etc/passwd\"}}",
                   "no valid container id");
    assert_refused("{\"Type\":\"container\",\"Action\":\"start\",\"Actor\":{\"ID\":\"abc\"}}",
                   "no valid container id");
}

static void ids_are_hex_in_lower_case(void **state)
{
    char id[DOCKER_ID_SIZE], short_id[CONTAINER_ID_SIZE];
    (void)state;

    assert_true(docker_id_copy("3F4E5D6C7B8A", id));
    assert_string_equal(id, "3f4e5d6c7b8a");
    assert_true(docker_id_copy(ID, id));
    docker_short_id(id, short_id);
    assert_string_equal(short_id, ID12);
    assert_false(docker_id_copy("3f4e5d6c7b8", id));       /* 11 */
    assert_false(docker_id_copy(ID "0", id));              /* 65 */
    assert_false(docker_id_copy("3f4e5d6c7b8a/../x", id)); /* not hex */
    assert_false(docker_id_copy(NULL, id));
}

static void the_context_of_a_container(void **state)
{
    (void)state;
    json_t *c = docker_context_new("shop-web-1", "shop", "demo/app:1.0");
    char *text = json_dumps(c, JSON_COMPACT);
    assert_string_equal(text, "{\"container_name\":\"shop-web-1\",\"compose_project\":\"shop\","
                              "\"image\":\"demo/app:1.0\"}");
    free(text);
    json_decref(c);
    c = docker_context_new("plain", NULL, "");
    text = json_dumps(c, JSON_COMPACT);
    assert_string_equal(text, "{\"container_name\":\"plain\"}");
    free(text);
    json_decref(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_event_names_its_container),
        cmocka_unit_test(die_carries_its_exit_code),
        cmocka_unit_test(kill_oom_restart_and_health),
        cmocka_unit_test(other_actions_make_no_record),
        cmocka_unit_test(other_types_and_older_spellings),
        cmocka_unit_test(malformed_events_are_refused),
        cmocka_unit_test(ids_are_hex_in_lower_case),
        cmocka_unit_test(the_context_of_a_container),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
