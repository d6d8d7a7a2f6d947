/*
 * inbox.h - entries posted over HTTP, on their way into the event loop, and
 * the answer back to the HTTP thread.
 *
 * POST /logs is answered with the entry's log_id, and only the event loop
 * may run the pipeline that gives it one. The HTTP thread validates the body,
 * hands the entries over (inbox_post: a lock and an eventfd write, never a
 * wait) and goes on serving; the event loop wakes on inbox_fd, runs each
 * entry through the pipeline (rules, redaction, all.log, the store) and
 * posts the ids back; the HTTP thread is woken by the `wake` callback it
 * set with inbox_set_wake and collects them with inbox_take_answers.
 */
#ifndef ULOGD_INBOX_H
#define ULOGD_INBOX_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* What happened to one posted entry. */
enum inbox_outcome {
    INBOX_WRITTEN,      /* in all.log (and the store) under `id` */
    INBOX_DROPPED_RULE, /* a rule dropped it */
    INBOX_RATE_LIMITED, /* a rate-limit rule dropped it */
    INBOX_BELOW_LEVEL,  /* below the minimum level for it */
    INBOX_STOPPED,      /* ulogd stopped before the pipeline took it */
};

struct inbox_result {
    enum inbox_outcome outcome;
    uint64_t id; /* 0 unless INBOX_WRITTEN */
};

struct inbox_request {
    struct inbox_request *next;
    uint64_t cookie;       /* the HTTP thread's, to find its request again */
    json_t *entries;       /* a JSON array of validated entry objects (owned) */
    char *client;          /* the peer's address, for metadata (owned; may be NULL) */
    /* Filled in by the event loop: one result per entry. */
    struct inbox_result *results;
    size_t count;
};

struct inbox;

struct inbox *inbox_new(void);
/* `wake` is called (from the event loop's thread) when answers are waiting. */
void inbox_set_wake(struct inbox *inbox, void (*wake)(void *ctx), void *wake_ctx);
void inbox_free(struct inbox *inbox);

/* The eventfd the event loop polls for posted entries. */
int inbox_fd(const struct inbox *inbox);

/* HTTP thread: hand `entries` (an array, reference stolen) over; 0, or -1 when
 * ulogd is stopping or INBOX_MAX_PENDING entries already wait (answer 503). */
#define INBOX_MAX_PENDING 100000
int inbox_post(struct inbox *inbox, uint64_t cookie, json_t *entries, const char *client);

/* Event loop: take what was posted (a list, oldest first) ... */
struct inbox_request *inbox_take_posts(struct inbox *inbox);
/* ... and give each back once its results are filled in (wakes the HTTP thread). */
void inbox_answer(struct inbox *inbox, struct inbox_request *request);

/* HTTP thread: the answered requests (a list), to free with inbox_request_free. */
struct inbox_request *inbox_take_answers(struct inbox *inbox);
void inbox_request_free(struct inbox_request *request);

/* At stop: refuse further posts; what is still queued is answered as lost. */
void inbox_close(struct inbox *inbox);

#endif
