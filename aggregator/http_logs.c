/*
 * http_logs.c - GET /logs (a query of the store, on a job thread) and
 * POST /logs (entries into the pipeline through the inbox), on the HTTP
 * thread.
 *
 * Neither ever waits on this thread. A query is parsed here, run by a
 * worker with its own SQLite connection, and answered from its `done`. A
 * post is validated here, handed to the event loop (the only thread that
 * may give records their ids), and its request parked; when the inbox
 * answers, the reply still waits, without blocking, until the store has
 * committed the ids it names (read-your-writes: a GET right after a 201
 * finds the entries), for at most POST_COMMIT_WAIT_US.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "http_internal.h"
#include "log_query.h"

#define POST_BODY_MAX (1u << 20)
#define POST_COMMIT_WAIT_US (2 * LWS_USEC_PER_SEC)
/* The event loop answers within a turn; this only bounds a stuck one. */
#define POST_INBOX_WAIT_US (30 * LWS_USEC_PER_SEC)
#define QUERY_ARGS_MAX 64

static uint64_t realtime_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* --- GET /logs --------------------------------------------------------------- */

struct query_job {
    struct http_shared *shared;
    uint64_t cookie;
    struct log_query query;
    json_t *result;
    int status;
    char error[512];
};

struct query_args {
    struct log_query *query;
    uint64_t now_ns;
    char names[QUERY_ARGS_MAX][32];
    size_t count;
    char error[512];
};

static int set_query_arg(const char *name, const char *value, void *ctx)
{
    struct query_args *args = ctx;

    /* The token may travel in the URL; it is no filter. */
    if (strcmp(name, "token") == 0)
        return 0;
    for (size_t i = 0; i < args->count; i++) {
        if (strcmp(args->names[i], name) == 0) {
            snprintf(args->error, sizeof args->error, "%s: given more than once", name);
            return -1;
        }
    }
    if (args->count == QUERY_ARGS_MAX) {
        snprintf(args->error, sizeof args->error, "too many parameters");
        return -1;
    }
    snprintf(args->names[args->count++], sizeof args->names[0], "%s", name);
    return log_query_set(args->query, name, value, args->now_ns, args->error, sizeof args->error);
}

static void run_query(void *arg, sqlite3 *db)
{
    struct query_job *job = arg;
    bool bad_request = false;

    if (!db) {
        job->status = 503;
        snprintf(job->error, sizeof job->error, "the store cannot be read now");
        return;
    }
    if (log_query_run(db, &job->query, &job->result, &bad_request, job->error,
                      sizeof job->error) != 0)
        job->status = bad_request ? 400 : 500;
    else
        job->status = 200;
}

static void query_done(void *arg)
{
    struct query_job *job = arg;
    struct lws *wsi = http_request_find(job->shared, job->cookie);

    if (wsi && job->status == 200) {
        http_reply_json(wsi, 200, job->result);
        job->result = NULL;
    } else if (wsi) {
        http_reply_error(wsi, job->status, "%s", job->error);
    }
    json_decref(job->result);
    log_query_free(&job->query);
    free(job);
}

void http_logs_get(struct lws *wsi, struct http_request *req)
{
    struct http_shared *shared = http_shared_of(wsi);
    struct query_job *job = must_calloc(1, sizeof *job);
    struct query_args *args = must_calloc(1, sizeof *args);
    int rc;

    (void)req;
    log_query_init(&job->query);
    args->query = &job->query;
    args->now_ns = realtime_ns();
    rc = http_foreach_arg(wsi, set_query_arg, args);
    if (rc) {
        http_reply_error(wsi, 400, "%s", args->error);
    } else if (!shared->store) {
        http_reply_error(wsi, 503, "the store is off (store.mode: off)");
    } else {
        job->shared = shared;
        job->cookie = http_request_park(wsi, HTTP_WAIT_JOB);
        if (jobs_submit(shared->jobs, run_query, query_done, job) == 0) {
            free(args);
            return;
        }
        http_reply_error(wsi, 503, "too many queries are waiting; try again shortly");
    }
    free(args);
    log_query_free(&job->query);
    free(job);
}

/* --- POST /logs: the request ----------------------------------------------------- */

int http_logs_post_begin(struct lws *wsi, struct http_request *req)
{
    struct http_shared *shared = http_shared_of(wsi);
    char length[32];
    unsigned long long announced = 0;

    if (lws_hdr_copy(wsi, length, sizeof length, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0)
        announced = strtoull(length, NULL, 10);
    if (announced > POST_BODY_MAX) {
        http_reply_error(wsi, 413, "the body is larger than %u bytes", POST_BODY_MAX);
        return 0;
    }
    if (!http_entries_content_type_ok(wsi)) {
        http_reply_error(wsi, 415, "the body must be JSON (Content-Type: application/json)");
        return 0;
    }
    if (!shared->inbox) {
        http_reply_error(wsi, 503, "ulogd takes no entries now");
        return 0;
    }
    req->reading_body = true;
    req->body_cap = (size_t)announced + 1;
    req->body = must_malloc(req->body_cap);
    req->body_len = 0;
    return 0;
}

int http_logs_post_body(struct lws *wsi, struct http_request *req, const void *data, size_t len)
{
    (void)wsi;
    if (!len)
        return 0; /* lws announces an empty body with data NULL */
    /* lws reads exactly the announced length, which was checked. */
    if (req->body_len + len >= req->body_cap)
        return -1;
    memcpy(req->body + req->body_len, data, len);
    req->body_len += len;
    return 0;
}

void http_logs_post_end(struct lws *wsi, struct http_request *req)
{
    struct http_shared *shared = http_shared_of(wsi);
    char err[512];
    bool single = false;
    json_t *entries = http_entries_parse(req->body, req->body_len, &single, err, sizeof err);
    uint64_t cookie;

    free(req->body);
    req->body = NULL;
    if (!entries) {
        http_reply_error(wsi, 400, "%s", err);
        return;
    }
    /* The answer's shape is all the request keeps of the entries. */
    req->single_entry = single;
    cookie = http_request_park(wsi, HTTP_WAIT_INBOX);
    if (inbox_post(shared->inbox, cookie, entries, req->peer[0] ? req->peer : NULL) != 0) {
        http_reply_error(wsi, 503, "ulogd is stopping, or too many entries are waiting");
        return;
    }
    lws_set_timer_usecs(wsi, POST_INBOX_WAIT_US);
}

/* --- POST /logs: the answer -------------------------------------------------------- */

static const char *dropped_reason(enum inbox_outcome outcome)
{
    switch (outcome) {
    case INBOX_DROPPED_RULE:
        return "rule";
    case INBOX_RATE_LIMITED:
        return "rate_limit";
    case INBOX_BELOW_LEVEL:
        return "level";
    default:
        return NULL;
    }
}

static void reply_created(struct lws *wsi, struct http_request *req)
{
    json_t *answer = req->answer;

    req->answer = NULL;
    http_reply_json(wsi, 201, answer);
}

/* The ids (or why not), then the reply once the store has them. */
static void answered(struct lws *wsi, struct http_request *req, const struct inbox_request *r)
{
    struct http_shared *shared = http_shared_of(wsi);
    json_t *ids = json_array(), *dropped = json_array(), *answer;
    uint64_t max_id = 0;

    for (size_t i = 0; i < r->count; i++) {
        const char *reason = dropped_reason(r->results[i].outcome);
        if (r->results[i].outcome == INBOX_WRITTEN) {
            json_array_append_new(ids, json_integer((json_int_t)r->results[i].id));
            if (r->results[i].id > max_id)
                max_id = r->results[i].id;
        } else if (reason) {
            json_array_append_new(ids, json_null());
            json_array_append_new(dropped, json_pack("{s:I,s:s}", "index", (json_int_t)i,
                                                     "reason", reason));
        } else {
            json_decref(ids);
            json_decref(dropped);
            http_reply_error(wsi, 503, "ulogd stopped before the entries were written");
            return;
        }
    }
    if (r->count == 0) {
        json_decref(ids);
        json_decref(dropped);
        http_reply_error(wsi, 500, "the entries came back without results");
        return;
    }
    if (req->single_entry) {
        answer = json_pack("{s:O}", "id", json_array_get(ids, 0));
        json_decref(ids);
    } else {
        answer = json_pack("{s:o}", "ids", ids);
    }
    if (json_array_size(dropped))
        json_object_set(answer, "dropped", dropped);
    json_decref(dropped);
    req->answer = answer;

    if (!shared->store || !max_id || store_committed_id(shared->store) >= max_id) {
        reply_created(wsi, req);
        return;
    }
    req->commit_id = max_id;
    http_request_park(wsi, HTTP_WAIT_COMMIT);
    lws_set_timer_usecs(wsi, POST_COMMIT_WAIT_US);
}

static void check_commit(struct lws *wsi, struct http_request *req, void *ctx)
{
    uint64_t *committed = ctx;

    if (req->wait == HTTP_WAIT_COMMIT && *committed >= req->commit_id)
        reply_created(wsi, req);
}

void http_logs_wake(struct http_shared *shared)
{
    struct inbox_request *answers = shared->inbox ? inbox_take_answers(shared->inbox) : NULL;
    uint64_t committed;

    while (answers) {
        struct inbox_request *next = answers->next;
        struct lws *wsi = http_request_find(shared, answers->cookie);
        if (wsi) {
            struct http_request *req = lws_wsi_user(wsi);
            if (req->wait == HTTP_WAIT_INBOX)
                answered(wsi, req, answers);
        }
        inbox_request_free(answers);
        answers = next;
    }
    if (shared->store) {
        committed = store_committed_id(shared->store);
        http_request_foreach_parked(shared, check_commit, &committed);
    }
}

void http_logs_timer(struct lws *wsi, struct http_request *req)
{
    if (req->wait == HTTP_WAIT_COMMIT)
        reply_created(wsi, req); /* written, only not yet readable back */
    else if (req->wait == HTTP_WAIT_INBOX)
        http_reply_error(wsi, 503, "ulogd did not take the entries in time");
}
