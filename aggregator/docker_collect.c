/*
 * docker_collect.c - the containers' side of the Docker Engine collector:
 * the list, inspects, the collection decision and log streams (see
 * docker_engine_private.h; events and HELLOs are docker_lifecycle.c's).
 *
 * Every log stream is opened after a fresh inspect, which says whether the
 * container runs, whether it has a TTY (raw or multiplexed body) and
 * whether its logs are to be read at all; a stream that ends or breaks is
 * reopened the same way, after a backoff, from its last line. Where a
 * container's first stream starts (its floor): at ulogd's start for one
 * that already ran then, or was found by a list; for one that started
 * while ulogd watched, at the end of its previous run (its die event, or
 * FinishedAt), else its creation; never before ulogd's start, nor at or
 * before the last line ulogd read of it. Not at its start event: the
 * engine stamps that after the program has begun, and a fast program's
 * first lines come before it.
 */
#include "docker_engine_private.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "assembler.h"
#include "docker_shim.h"
#include "record.h"

#define LIST_MAX_BODY (16u << 20)
#define INSPECT_MAX_BODY (4u << 20)
#define ERROR_BODY_MAX 4096u
#define LIST_TIMEOUT_MS 30000L
#define INSPECT_TIMEOUT_MS 15000L

static void http_reason(char *out, size_t size, const struct docker_response *r)
{
    if (r->too_big)
        snprintf(out, size, "the answer is too big");
    else if (r->transport_failed)
        snprintf(out, size, "%s", r->error);
    else
        snprintf(out, size, "HTTP %ld: %.*s", r->status,
                 (int)(r->body_len < 200 ? r->body_len : 200), r->body);
}

void docker_want_inspect(struct docker_engine *e, struct docker_container *c, uint64_t due)
{
    c->needs_inspect = true;
    c->retry_due = due;
    if (due < e->containers_due)
        e->containers_due = due;
}

static void retry_inspect(struct docker_engine *e, struct docker_container *c)
{
    uint64_t wait_ns = (uint64_t)docker_backoff_next(&c->backoff_ms) * 1000000u;
    docker_want_inspect(e, c, assembler_monotonic_now() + wait_ns);
}

void docker_stop_logs(struct docker_container *c)
{
    if (!c->logs)
        return;
    docker_http_cancel(c->logs->request);
    if (c->logs->last_line_ns > c->last_line_ns)
        c->last_line_ns = c->logs->last_line_ns; /* where its next run's reader resumes */
    docker_logs_free(c->logs);
    c->logs = NULL;
}

void docker_forget(struct docker_engine *e, struct docker_container *c)
{
    char short_id[CONTAINER_ID_SIZE];

    docker_stop_logs(c);
    if (c->inspect) {
        docker_http_cancel(c->inspect);
        e->inspects--;
    }
    memcpy(short_id, c->short_id, sizeof short_id);
    docker_table_remove(e->table, c);
    docker_shim_answered(e->connections, short_id);
}

struct docker_container *docker_add_container(struct docker_engine *e, const char *id)
{
    struct docker_container *c = docker_table_add(e->table, id), *old;

    if (!c && (old = docker_table_evictable(e->table))) {
        docker_forget(e, old);
        c = docker_table_add(e->table, id);
    }
    if (!c) {
        if (!e->table_full_reported)
            docker_report_error(e, NULL, "list", "more than 4096 containers run: the others' "
                                                 "logs and names are not read");
        e->table_full_reported = true;
        return NULL;
    }
    c->engine = e;
    return c;
}

/* ---- log streams ---------------------------------------------------------------- */

static uint64_t later(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

static uint64_t floor_of(const struct docker_engine *e, const struct docker_container *c)
{
    uint64_t f = e->start_ns, start = c->start_event_ns;

    if (!start)
        return f; /* it ran when ulogd started, or was found by a list */
    /* Started while ulogd watched: everything since its previous run ended (a die
     * event comes after the run's last line is stored), else since its creation. */
    f = later(f, c->created_ns <= start ? c->created_ns : 0);
    f = later(f, c->die_event_ns <= start ? c->die_event_ns : 0);
    return later(f, c->finished_ns <= start ? c->finished_ns : 0);
}

static void on_logs_body(void *owner, const char *bytes, size_t len)
{
    struct docker_container *c = owner;
    struct docker_engine *e = c->engine;
    char reason[DOCKER_STREAM_MAX_ERROR + 128];
    uint64_t lines = e->counts.lines;

    if (docker_logs_feed(c->logs, bytes, len)) {
        if (e->counts.lines != lines)
            c->backoff_ms = 0; /* a stream that gives lines is a healthy one */
    } else {
        const struct docker_stream *s = &c->logs->demux;
        snprintf(reason, sizeof reason, "%s%s%s; reading them again from the last line",
                 s->error, s->engine_error_len ? ": " : "", s->engine_error);
        docker_report_error(e, c, "logs", reason);
        docker_http_cancel(c->logs->request);
        c->logs->request = NULL;
        retry_inspect(e, c);
    }
}

static void on_logs_done(void *owner, struct docker_request *request,
                         const struct docker_response *response)
{
    struct docker_container *c = owner;
    struct docker_engine *e = c->engine;
    char reason[512];
    (void)request;

    c->logs->request = NULL;
    if (c->destroyed) {
        docker_forget(e, c); /* its last lines are read: it can go */
        return;
    }
    if (response->status == 404) {
        docker_stop_logs(c); /* the container is gone */
        return;
    }
    if (response->status == 501) {
        /* Its logging driver (none, syslog, ...) cannot be read back: said once. */
        c->unreadable = true;
        http_reason(reason, sizeof reason, response);
        docker_report_error(e, c, "logs", reason);
        docker_stop_logs(c);
        return;
    }
    if (!response->transport_failed && (response->status < 200 || response->status >= 300)) {
        http_reason(reason, sizeof reason, response);
        docker_report_error(e, c, "logs", reason);
    } else if (!response->transport_failed && !c->running) {
        docker_stop_logs(c); /* it stopped, and everything it wrote has been read */
        return;
    }
    /* Broken, refused, or ended while it seemed to run: ask again after a while (if the
     * engine itself went, the events stream says so and everything waits for it). */
    retry_inspect(e, c);
}

static void open_logs(struct docker_engine *e, struct docker_container *c)
{
    char path[256];

    if (!c->logs)
        c->logs = docker_logs_new(e->connections, c, floor_of(e, c), c->last_line_ns,
                                  &e->counts);
    uint64_t since = docker_logs_begin(c->logs, !c->tty);
    snprintf(path, sizeof path,
             "/v" DOCKER_API_VERSION "/containers/%s/logs?follow=1&stdout=1&stderr=1"
             "&timestamps=1&since=%" PRIu64 ".%09" PRIu64,
             c->id, since / 1000000000u, since % 1000000000u);
    c->logs->request = docker_http_get(e->http, path, true, ERROR_BODY_MAX, 0, on_logs_body,
                                       on_logs_done, c);
}

/* Read its logs, or not, as the decision says now. */
static void update_collection(struct docker_engine *e, struct docker_container *c)
{
    enum docker_verdict verdict =
        docker_container_verdict(c, docker_self_is(&e->self, c), e->collect);

    if (!docker_verdict_collects(verdict) || c->unreadable) {
        docker_stop_logs(c);
        return;
    }
    if ((c->logs && c->logs->request) || (!c->running && !c->logs))
        return; /* being read; or stopped before ulogd read anything of it */
    /* A stopped container's stream gives what is left and ends. */
    open_logs(e, c);
}

/* ---- inspects --------------------------------------------------------------------- */

static void on_inspect_done(void *owner, struct docker_request *request,
                            const struct docker_response *response)
{
    struct docker_container *c = owner;
    struct docker_engine *e = c->engine;
    char why[512];
    json_t *json = NULL;
    (void)request;

    c->inspect = NULL;
    e->inspects--;
    if (response->status == 404) {
        c->unknown = true; /* not the engine's: a shim's guess, or destroyed meanwhile */
        c->running = false;
        if (!(c->logs && c->logs->request))
            docker_stop_logs(c); /* an open stream still gives what it has, then ends */
        docker_shim_answered(e->connections, c->short_id);
    } else if (response->status != 200 || response->too_big || response->transport_failed) {
        if (!response->transport_failed) {
            http_reason(why, sizeof why, response);
            docker_report_error(e, c, "inspect", why);
        }
        retry_inspect(e, c);
        docker_shim_answered(e->connections, c->short_id);
    } else if (!(json = json_loadb(response->body, response->body_len, 0, NULL)) ||
               docker_container_from_inspect(c, json, why, sizeof why) != 0) {
        docker_report_error(e, c, "inspect", json ? why : "the answer is not JSON");
        retry_inspect(e, c);
        docker_shim_answered(e->connections, c->short_id);
    } else {
        c->unknown = false;
        if (c->logs)
            docker_logs_rename(c->logs, c);
        docker_shim_answered(e->connections, c->short_id);
        update_collection(e, c);
    }
    json_decref(json);
    docker_collect_visit(e, assembler_monotonic_now()); /* the next one waiting */
}

static void start_inspect(struct docker_engine *e, struct docker_container *c)
{
    char path[128];

    snprintf(path, sizeof path, "/v" DOCKER_API_VERSION "/containers/%s/json", c->id);
    c->needs_inspect = false;
    e->inspects++;
    c->inspect = docker_http_get(e->http, path, false, INSPECT_MAX_BODY, INSPECT_TIMEOUT_MS, NULL,
                                 on_inspect_done, c);
}

void docker_collect_visit(struct docker_engine *e, uint64_t now)
{
    uint64_t next = UINT64_MAX;

    if (e->state != DOCKER_UP)
        return;
    for (size_t i = 0; i < docker_table_count(e->table); i++) {
        struct docker_container *c = docker_table_at(e->table, i);
        if (!c->needs_inspect || c->inspect)
            continue;
        if (c->retry_due > now) {
            next = c->retry_due < next ? c->retry_due : next;
            continue;
        }
        if (e->inspects >= DOCKER_MAX_INSPECTS)
            continue; /* on_inspect_done visits again */
        start_inspect(e, c);
    }
    e->containers_due = next;
}

/* ---- the list --------------------------------------------------------------------- */

static void on_list_done(void *owner, struct docker_request *request,
                         const struct docker_response *response)
{
    struct docker_engine *e = owner;
    char why[512];
    size_t i, bad = 0;
    json_t *item, *list;
    (void)request;

    e->list = NULL;
    if (response->transport_failed) {
        docker_engine_lost(e, response->error);
        return;
    }
    list = response->status == 200 && !response->too_big
               ? json_loadb(response->body, response->body_len, 0, NULL)
               : NULL;
    if (!json_is_array(list)) {
        if (response->status == 200 && !response->too_big)
            snprintf(why, sizeof why, "the container list is not a JSON array");
        else
            http_reason(why, sizeof why, response);
        docker_report_error(e, NULL, "list", why);
        json_decref(list);
        e->list_due = assembler_monotonic_now() +
                      (uint64_t)docker_backoff_next(&e->list_backoff_ms) * 1000000u;
        return;
    }
    e->list_backoff_ms = 0;
    for (size_t k = 0; k < docker_table_count(e->table); k++)
        docker_table_at(e->table, k)->listed = false;
    json_array_foreach(list, i, item) {
        char id[DOCKER_ID_SIZE];
        struct docker_container *c;
        if (!docker_id_copy(json_string_value(json_object_get(item, "Id")), id)) {
            bad++;
            continue;
        }
        if (!(c = docker_table_find(e->table, id)) && !(c = docker_add_container(e, id)))
            continue;
        if (docker_container_from_list(c, item, why, sizeof why) != 0) {
            bad++;
            continue;
        }
        c->listed = true;
        c->unknown = false;
        docker_want_inspect(e, c, 0);
    }
    json_decref(list);
    if (bad) {
        snprintf(why, sizeof why, "%zu listed containers have no usable Id", bad);
        docker_report_error(e, NULL, "list", why);
    }
    /* Stopped while the engine was away: what they wrote meanwhile is still read. */
    for (size_t k = 0; k < docker_table_count(e->table); k++) {
        struct docker_container *c = docker_table_at(e->table, k);
        if (c->listed || (!c->running && !c->logs))
            continue;
        c->running = false;
        if (c->logs)
            docker_want_inspect(e, c, 0);
    }
    docker_collect_visit(e, assembler_monotonic_now());
}

void docker_collect_list(struct docker_engine *e)
{
    e->list_due = 0;
    e->list = docker_http_get(e->http, "/v" DOCKER_API_VERSION "/containers/json", false,
                              LIST_MAX_BODY, LIST_TIMEOUT_MS, NULL, on_list_done, e);
}

/* ---- the engine comes and goes ----------------------------------------------------- */

void docker_collect_disconnected(struct docker_engine *e)
{
    for (size_t i = 0; i < docker_table_count(e->table); i++) {
        struct docker_container *c = docker_table_at(e->table, i);
        docker_http_cancel(c->inspect);
        c->inspect = NULL;
        c->needs_inspect = false;
        if (c->logs) {
            docker_http_cancel(c->logs->request);
            c->logs->request = NULL; /* the reader stays: the next stream resumes from it */
        }
    }
    e->inspects = 0;
    e->containers_due = UINT64_MAX;
}

void docker_collect_free(struct docker_engine *e)
{
    while (docker_table_count(e->table))
        docker_forget(e, docker_table_at(e->table, 0));
    docker_table_free(e->table);
    e->table = NULL;
}
