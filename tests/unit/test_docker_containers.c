/*
 * test_docker_containers.c - the collector's table of containers, what it
 * takes from the engine's answers, the collection decision and ulogd's own
 * container (aggregator/docker_containers.c).
 *
 * The list items and inspects are shaped as Docker Engine 20.10 answers
 * GET /containers/json and /containers/{id}/json; the /proc texts are
 * those of a process inside a container and of one on a docker host.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "docker_containers.h"

#define ID "3f4e5d6c7b8a99887766554433221100ffeeddccbbaa00112233445566778899"
#define ID12 "3f4e5d6c7b8a"
#define OTHER "aaaabbbbccccddddeeeeffff00001111222233334444555566667777888899990"

static json_t *parse(const char *text)
{
    json_error_t error;
    json_t *json = json_loads(text, 0, &error);
    if (!json)
        fail_msg("bad test JSON: %s", error.text);
    return json;
}

static void the_table_finds_by_short_id(void **state)
{
    struct docker_table *t = docker_table_new();
    (void)state;

    struct docker_container *c = docker_table_add(t, ID);
    assert_non_null(c);
    assert_string_equal(c->short_id, ID12);
    assert_string_equal(c->name, ID12); /* until the engine names it */
    assert_string_equal(c->service, ID12);
    assert_false(c->named);
    assert_ptr_equal(docker_table_find(t, ID), c);
    assert_ptr_equal(docker_table_find(t, ID12), c);
    assert_null(docker_table_find(t, OTHER));
    assert_int_equal(docker_table_count(t), 1);

    /* Only a container that runs nothing and is read by nothing may be evicted. */
    struct docker_container *o = docker_table_add(t, OTHER);
    c->running = true;
    assert_ptr_equal(docker_table_evictable(t), o);
    o->running = true;
    assert_null(docker_table_evictable(t));
    docker_table_remove(t, c);
    assert_null(docker_table_find(t, ID));
    docker_table_free(t);
}

static void the_table_is_bounded(void **state)
{
    struct docker_table *t = docker_table_new();
    char id[DOCKER_ID_SIZE];
    (void)state;

    for (unsigned i = 0; i < DOCKER_MAX_CONTAINERS; i++) {
        snprintf(id, sizeof id, "%012x", i);
        assert_non_null(docker_table_add(t, id));
    }
    assert_null(docker_table_add(t, "ffffffffffff"));
    /* The least recently looked at goes first. */
    docker_table_find(t, "000000000000");
    assert_string_equal(docker_table_evictable(t)->short_id, "000000000001");
    docker_table_free(t);
}

static void a_list_item_names_it(void **state)
{
    struct docker_table *t = docker_table_new();
    struct docker_container *c = docker_table_add(t, ID);
    char why[128];
    (void)state;

    json_t *item = parse("{\"Id\":\"" ID "\",\"Names\":[\"/shop-web-1\"],\"Image\":\"demo/web:2\","
                         "\"Created\":1795270938,\"State\":\"running\",\"Labels\":{"
                         "\"com.docker.compose.service\":\"web\","
                         "\"com.docker.compose.project\":\"shop\"}}");
    assert_int_equal(docker_container_from_list(c, item, why, sizeof why), 0);
    assert_true(c->named && c->running);
    assert_string_equal(c->name, "shop-web-1");
    assert_string_equal(c->service, "web");
    assert_string_equal(c->project, "shop");
    assert_true(c->created_ns == 1795270938000000000ull);
    char *context = json_dumps(c->context, JSON_COMPACT);
    assert_string_equal(context, "{\"container_name\":\"shop-web-1\",\"compose_project\":\"shop\","
                                 "\"image\":\"demo/web:2\"}");
    free(context);
    json_decref(item);
    docker_table_free(t);
}

static json_t *inspect_of(const char *env, const char *labels, const char *finished)
{
    char text[2048];
    snprintf(text, sizeof text,
             "{\"Id\":\"" ID "\",\"Name\":\"/worker-7\",\"Created\":\"2026-11-21T14:00:00.5Z\","
             "\"State\":{\"Status\":\"running\",\"Running\":true,\"Pid\":4242,"
             "\"StartedAt\":\"2026-11-21T14:22:18.214521123Z\"%s},"
             "\"Config\":{\"Tty\":true,\"Image\":\"demo/worker:2\",\"Env\":[%s],\"Labels\":{%s}}}",
             finished, env, labels);
    return parse(text);
}

static void an_inspect_tells_what_the_decision_needs(void **state)
{
    struct docker_table *t = docker_table_new();
    struct docker_container *c = docker_table_add(t, ID12); /* as a shim reported it */
    char why[128];
    (void)state;

    json_t *inspect = inspect_of("\"PATH=/bin\",\"LD_PRELOAD=/usr/local/lib/ulog/libulog.so\"",
                                 "\"ulog.collect\":\"TRUE\"",
                                 ",\"FinishedAt\":\"0001-01-01T00:00:00Z\"");
    assert_int_equal(docker_container_from_inspect(c, inspect, why, sizeof why), 0);
    assert_string_equal(c->id, ID); /* the full id, now known */
    assert_true(c->inspected && c->running && c->tty && c->shim_preloaded && c->named);
    assert_int_equal(c->collect_label, 1);
    assert_string_equal(c->name, "worker-7");
    assert_string_equal(c->service, "worker-7"); /* no compose label: the name */
    assert_null(c->project);
    assert_true(c->started_ns == 1795270938214521123ull);
    assert_true(c->created_ns == 1795269600500000000ull);
    assert_true(c->finished_ns == 0); /* docker's zero time: never */
    json_decref(inspect);

    /* ULOG_DISABLE=1 makes the shim a pass-through; another preload is not the shim. */
    inspect = inspect_of("\"LD_PRELOAD=libulog.so\",\"ULOG_DISABLE=1\"", "", "");
    assert_int_equal(docker_container_from_inspect(c, inspect, why, sizeof why), 0);
    assert_false(c->shim_preloaded);
    assert_int_equal(c->collect_label, -1);
    json_decref(inspect);
    inspect = inspect_of("\"LD_PRELOAD=/usr/lib/libjemalloc.so.2\"", "\"ulog.collect\":\"maybe\"",
                         ",\"FinishedAt\":\"2026-11-21T14:10:00Z\"");
    assert_int_equal(docker_container_from_inspect(c, inspect, why, sizeof why), 0);
    assert_false(c->shim_preloaded);
    assert_int_equal(c->collect_label, -1);
    assert_true(c->finished_ns == 1795270200000000000ull);
    json_decref(inspect);

    /* Someone else's answer, or one without Config, changes nothing. */
    inspect = parse("{\"Id\":\"" OTHER "\",\"Config\":{},\"State\":{}}");
    assert_int_equal(docker_container_from_inspect(c, inspect, why, sizeof why), -1);
    assert_non_null(strstr(why, "another container"));
    json_decref(inspect);
    inspect = parse("{\"Id\":\"" ID "\"}");
    assert_int_equal(docker_container_from_inspect(c, inspect, why, sizeof why), -1);
    json_decref(inspect);
    assert_string_equal(c->name, "worker-7");
    docker_table_free(t);
}

static void an_event_renames_without_forgetting(void **state)
{
    struct docker_table *t = docker_table_new();
    struct docker_container *c = docker_table_add(t, ID);
    struct docker_event ev = {.name = "renamed"};
    char why[128];
    (void)state;

    json_t *item = parse("{\"Id\":\"" ID "\",\"Names\":[\"/old\"],\"Labels\":{"
                         "\"com.docker.compose.service\":\"web\","
                         "\"com.docker.compose.project\":\"shop\"}}");
    assert_int_equal(docker_container_from_list(c, item, why, sizeof why), 0);
    docker_container_from_event(c, &ev); /* an event without the labels keeps them */
    assert_string_equal(c->name, "renamed");
    assert_string_equal(c->service, "web");
    assert_string_equal(c->project, "shop");
    json_decref(item);
    docker_table_free(t);
}

static void the_decision(void **state)
{
    struct docker_container c = {.collect_label = -1};
    (void)state;

    assert_int_equal(docker_container_verdict(&c, false, DOCKER_COLLECT_AUTO),
                     DOCKER_VERDICT_COLLECT);
    assert_int_equal(docker_container_verdict(&c, true, DOCKER_COLLECT_ALL), DOCKER_VERDICT_OWN);
    assert_int_equal(docker_container_verdict(&c, false, DOCKER_COLLECT_NONE),
                     DOCKER_VERDICT_NONE);
    c.shim_preloaded = true;
    assert_int_equal(docker_container_verdict(&c, false, DOCKER_COLLECT_AUTO),
                     DOCKER_VERDICT_SHIM_ENV);
    assert_int_equal(docker_container_verdict(&c, false, DOCKER_COLLECT_ALL),
                     DOCKER_VERDICT_COLLECT);
    c.shim_seen = true;
    assert_int_equal(docker_container_verdict(&c, false, DOCKER_COLLECT_AUTO),
                     DOCKER_VERDICT_SHIM_SEEN);
    c.collect_label = 1; /* "true": always, but never ulogd itself */
    assert_int_equal(docker_container_verdict(&c, false, DOCKER_COLLECT_AUTO),
                     DOCKER_VERDICT_LABEL_TRUE);
    assert_int_equal(docker_container_verdict(&c, true, DOCKER_COLLECT_AUTO), DOCKER_VERDICT_OWN);
    c.collect_label = 0; /* "false": never, even with collect: all */
    assert_int_equal(docker_container_verdict(&c, false, DOCKER_COLLECT_ALL),
                     DOCKER_VERDICT_LABEL_FALSE);

    assert_true(docker_verdict_collects(DOCKER_VERDICT_COLLECT));
    assert_true(docker_verdict_collects(DOCKER_VERDICT_LABEL_TRUE));
    for (int v = DOCKER_VERDICT_OWN; v <= DOCKER_VERDICT_SHIM_SEEN; v++)
        assert_false(docker_verdict_collects((enum docker_verdict)v));
    assert_string_equal(docker_verdict_name(DOCKER_VERDICT_SHIM_SEEN), "shim");
}

static void ulogd_finds_its_own_container(void **state)
{
    struct docker_self self;
    struct docker_container c = {.short_id = ID12};
    (void)state;

    static const char cgroup[] = "12:pids:/docker/" ID "\n0::/\n";
    docker_self_from_texts(&self, cgroup, sizeof cgroup - 1, NULL, 0, "abcdefabcdef");
    assert_string_equal(self.id, ID12);
    assert_true(docker_self_is(&self, &c));

    /* A private cgroup namespace ("0::/"): docker's bind mounts of /etc/hostname tell. */
    static const char inside[] =
        "612 588 0:52 / / rw,relatime - overlay overlay rw\n"
        "633 612 8:1 /var/lib/docker/containers/" ID "/resolv.conf /etc/resolv.conf rw - ext4 "
        "/dev/sda1 rw\n"
        "634 612 8:1 /var/lib/docker/containers/" ID "/hostname /etc/hostname rw - ext4 "
        "/dev/sda1 rw\n";
    docker_self_from_texts(&self, "0::/\n", 5, inside, sizeof inside - 1, NULL);
    assert_string_equal(self.id, ID12);

    /* On the docker host itself, every container's shm mount is listed: not ulogd's. */
    static const char host[] = "100 25 0:48 / /var/lib/docker/containers/" OTHER
                               "/mounts/shm rw - tmpfs shm rw\n";
    docker_self_from_texts(&self, "0::/user.slice\n", 15, host, sizeof host - 1, "myhost");
    assert_string_equal(self.id, "");
    assert_string_equal(self.hostname, "");
    assert_false(docker_self_is(&self, &c));

    /* Nothing else: docker's default host name is the short id. */
    docker_self_from_texts(&self, "0::/\n", 5, "", 0, ID12);
    assert_string_equal(self.hostname, ID12);
    assert_true(docker_self_is(&self, &c));
    docker_self_from_texts(&self, "0::/\n", 5, "", 0, "3F4E5D6C7B8A");
    assert_false(docker_self_is(&self, &c));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_table_finds_by_short_id),
        cmocka_unit_test(the_table_is_bounded),
        cmocka_unit_test(a_list_item_names_it),
        cmocka_unit_test(an_inspect_tells_what_the_decision_needs),
        cmocka_unit_test(an_event_renames_without_forgetting),
        cmocka_unit_test(the_decision),
        cmocka_unit_test(ulogd_finds_its_own_container),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
