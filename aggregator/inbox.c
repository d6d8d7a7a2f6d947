/*
 * inbox.c - posted entries in, their ids out (see inbox.h).
 *
 * Two lists under one mutex: posted (HTTP thread → event loop) and answered
 * (event loop → HTTP thread). The eventfd counts nothing; it only wakes the
 * event loop, which then takes the whole posted list at once. Neither side
 * ever waits for the other: a lock held for a list splice is all they share.
 */
#include "inbox.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "alloc.h"

struct inbox {
    pthread_mutex_t lock;
    int fd;
    bool closed;
    size_t pending_entries;
    struct inbox_request *posted, **posted_tail;
    struct inbox_request *answered, **answered_tail;
    void (*wake)(void *ctx);
    void *wake_ctx;
};

struct inbox *inbox_new(void)
{
    struct inbox *inbox = must_calloc(1, sizeof *inbox);

    pthread_mutex_init(&inbox->lock, NULL);
    inbox->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (inbox->fd < 0) {
        pthread_mutex_destroy(&inbox->lock);
        free(inbox);
        return NULL;
    }
    inbox->posted_tail = &inbox->posted;
    inbox->answered_tail = &inbox->answered;
    return inbox;
}

static void free_list(struct inbox_request *r)
{
    while (r) {
        struct inbox_request *next = r->next;
        inbox_request_free(r);
        r = next;
    }
}

void inbox_free(struct inbox *inbox)
{
    if (!inbox)
        return;
    free_list(inbox->posted);
    free_list(inbox->answered);
    close(inbox->fd);
    pthread_mutex_destroy(&inbox->lock);
    free(inbox);
}

void inbox_set_wake(struct inbox *inbox, void (*wake)(void *ctx), void *wake_ctx)
{
    pthread_mutex_lock(&inbox->lock);
    inbox->wake = wake;
    inbox->wake_ctx = wake_ctx;
    pthread_mutex_unlock(&inbox->lock);
}

int inbox_fd(const struct inbox *inbox)
{
    return inbox->fd;
}

int inbox_post(struct inbox *inbox, uint64_t cookie, json_t *entries, const char *client)
{
    struct inbox_request *r;
    size_t count = json_array_size(entries);
    uint64_t one = 1;

    pthread_mutex_lock(&inbox->lock);
    if (inbox->closed || inbox->pending_entries + count > INBOX_MAX_PENDING) {
        pthread_mutex_unlock(&inbox->lock);
        json_decref(entries);
        return -1;
    }
    r = must_calloc(1, sizeof *r);
    r->cookie = cookie;
    r->entries = entries;
    r->client = client ? must_strdup(client) : NULL;
    r->count = count;
    r->results = must_calloc(count ? count : 1, sizeof *r->results);
    inbox->pending_entries += count;
    *inbox->posted_tail = r;
    inbox->posted_tail = &r->next;
    pthread_mutex_unlock(&inbox->lock);
    /* Only EAGAIN can fail here (the counter at its maximum): it is set anyway. */
    if (write(inbox->fd, &one, sizeof one) < 0 && errno != EAGAIN)
        return 0;
    return 0;
}

struct inbox_request *inbox_take_posts(struct inbox *inbox)
{
    struct inbox_request *list;
    uint64_t count;

    if (read(inbox->fd, &count, sizeof count) < 0 && errno != EAGAIN)
        return NULL;
    pthread_mutex_lock(&inbox->lock);
    list = inbox->posted;
    inbox->posted = NULL;
    inbox->posted_tail = &inbox->posted;
    pthread_mutex_unlock(&inbox->lock);
    return list;
}

void inbox_answer(struct inbox *inbox, struct inbox_request *request)
{
    void (*wake)(void *ctx);
    void *wake_ctx;

    request->next = NULL;
    pthread_mutex_lock(&inbox->lock);
    inbox->pending_entries -= request->count;
    *inbox->answered_tail = request;
    inbox->answered_tail = &request->next;
    wake = inbox->wake;
    wake_ctx = inbox->wake_ctx;
    pthread_mutex_unlock(&inbox->lock);
    if (wake)
        wake(wake_ctx);
}

struct inbox_request *inbox_take_answers(struct inbox *inbox)
{
    struct inbox_request *list;

    pthread_mutex_lock(&inbox->lock);
    list = inbox->answered;
    inbox->answered = NULL;
    inbox->answered_tail = &inbox->answered;
    pthread_mutex_unlock(&inbox->lock);
    return list;
}

void inbox_request_free(struct inbox_request *request)
{
    if (!request)
        return;
    json_decref(request->entries);
    free(request->client);
    free(request->results);
    free(request);
}

void inbox_close(struct inbox *inbox)
{
    struct inbox_request *list;

    pthread_mutex_lock(&inbox->lock);
    inbox->closed = true;
    list = inbox->posted;
    inbox->posted = NULL;
    inbox->posted_tail = &inbox->posted;
    pthread_mutex_unlock(&inbox->lock);
    /* Not run through the pipeline: answered with no ids, as lost. */
    while (list) {
        struct inbox_request *next = list->next;
        for (size_t i = 0; i < list->count; i++)
            list->results[i] = (struct inbox_result){.outcome = INBOX_STOPPED, .id = 0};
        inbox_answer(inbox, list);
        list = next;
    }
}
