/*
 * jobs.c - the HTTP thread's SQLite reads, on worker threads of their own
 * (see jobs_submit in http_internal.h).
 *
 * A query of the store can take a while (a full-text search over millions of
 * rows, an analysis), and the HTTP thread must never wait: it queues a job,
 * a worker runs it with its own read connection, puts it on the finished
 * list and wakes the HTTP thread, which runs its `done` there. The queue is
 * bounded: beyond JOBS_QUEUE_MAX waiting jobs a request is refused (503)
 * rather than letting a burst of queries pile up behind each other.
 *
 * Each worker opens its connection the first time it needs one, and again
 * after a failure that says the connection is no good (I/O error,
 * corruption) or when the file at the store's path is no longer the one it
 * opened (the store moved a corrupt file aside and made a new one).
 */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alloc.h"
#include "http_internal.h"

struct job {
    struct job *next;
    void (*run)(void *arg, sqlite3 *db);
    void (*done)(void *arg);
    void *arg;
};

struct job_list {
    struct job *head, **tail;
};

struct jobs {
    pthread_mutex_t lock;
    pthread_cond_t work;
    struct job_list queued, finished;
    unsigned queued_count;
    bool stopping;
    char *store_path;
    void (*wake)(void *ctx);
    void *wake_ctx;
    pthread_t workers[JOBS_WORKERS];
    unsigned worker_count;
};

static void list_init(struct job_list *list)
{
    list->head = NULL;
    list->tail = &list->head;
}

static void list_push(struct job_list *list, struct job *job)
{
    job->next = NULL;
    *list->tail = job;
    list->tail = &job->next;
}

static struct job *list_take_all(struct job_list *list)
{
    struct job *head = list->head;

    list_init(list);
    return head;
}

struct reader {
    sqlite3 *db;
    dev_t dev;
    ino_t ino;
};

static void reader_close(struct reader *reader)
{
    sqlite3_close(reader->db);
    reader->db = NULL;
}

static sqlite3 *reader_get(struct reader *reader, const char *path)
{
    struct stat st;
    char err[256];

    if (!path)
        return NULL;
    if (stat(path, &st) != 0) {
        reader_close(reader);
        return NULL;
    }
    if (reader->db && (st.st_dev != reader->dev || st.st_ino != reader->ino))
        reader_close(reader);
    if (!reader->db) {
        reader->db = store_reader_open(path, err, sizeof err);
        reader->dev = st.st_dev;
        reader->ino = st.st_ino;
    }
    return reader->db;
}

/* After a job: errors that are the connection's, not the query's. */
static void reader_check(struct reader *reader)
{
    int code;

    if (!reader->db)
        return;
    code = sqlite3_errcode(reader->db) & 0xff;
    if (code == SQLITE_IOERR || code == SQLITE_CORRUPT || code == SQLITE_NOTADB ||
        code == SQLITE_CANTOPEN || code == SQLITE_NOMEM)
        reader_close(reader);
}

static void *worker(void *arg)
{
    struct jobs *jobs = arg;
    struct reader reader = {0};

    pthread_mutex_lock(&jobs->lock);
    for (;;) {
        struct job *job;
        while (!jobs->queued.head && !jobs->stopping)
            pthread_cond_wait(&jobs->work, &jobs->lock);
        if (jobs->stopping)
            break;
        job = jobs->queued.head;
        jobs->queued.head = job->next;
        if (!jobs->queued.head)
            jobs->queued.tail = &jobs->queued.head;
        jobs->queued_count--;
        pthread_mutex_unlock(&jobs->lock);

        job->run(job->arg, reader_get(&reader, jobs->store_path));
        reader_check(&reader);

        pthread_mutex_lock(&jobs->lock);
        list_push(&jobs->finished, job);
        pthread_mutex_unlock(&jobs->lock);
        if (jobs->wake)
            jobs->wake(jobs->wake_ctx);
        pthread_mutex_lock(&jobs->lock);
    }
    pthread_mutex_unlock(&jobs->lock);
    reader_close(&reader);
    return NULL;
}

struct jobs *jobs_new(const char *store_path, void (*wake)(void *ctx), void *wake_ctx)
{
    struct jobs *jobs = must_calloc(1, sizeof *jobs);
    sigset_t all, old;

    pthread_mutex_init(&jobs->lock, NULL);
    pthread_cond_init(&jobs->work, NULL);
    list_init(&jobs->queued);
    list_init(&jobs->finished);
    jobs->store_path = store_path ? must_strdup(store_path) : NULL;
    jobs->wake = wake;
    jobs->wake_ctx = wake_ctx;
    /* Signals stay with the event loop's thread. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (unsigned i = 0; i < JOBS_WORKERS; i++)
        if (pthread_create(&jobs->workers[jobs->worker_count], NULL, worker, jobs) == 0)
            jobs->worker_count++;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return jobs;
}

int jobs_submit(struct jobs *jobs, void (*run)(void *arg, sqlite3 *db), void (*done)(void *arg),
                void *arg)
{
    struct job *job;

    if (!jobs)
        return -1;
    pthread_mutex_lock(&jobs->lock);
    if (jobs->stopping || !jobs->worker_count || jobs->queued_count >= JOBS_QUEUE_MAX) {
        pthread_mutex_unlock(&jobs->lock);
        return -1;
    }
    job = must_malloc(sizeof *job);
    *job = (struct job){.run = run, .done = done, .arg = arg};
    list_push(&jobs->queued, job);
    jobs->queued_count++;
    pthread_cond_signal(&jobs->work);
    pthread_mutex_unlock(&jobs->lock);
    return 0;
}

static void run_done(struct job *job)
{
    while (job) {
        struct job *next = job->next;
        job->done(job->arg);
        free(job);
        job = next;
    }
}

void jobs_collect(struct jobs *jobs)
{
    struct job *finished;

    pthread_mutex_lock(&jobs->lock);
    finished = list_take_all(&jobs->finished);
    pthread_mutex_unlock(&jobs->lock);
    run_done(finished);
}

void jobs_free(struct jobs *jobs)
{
    struct job *unstarted;

    if (!jobs)
        return;
    pthread_mutex_lock(&jobs->lock);
    jobs->stopping = true;
    pthread_cond_broadcast(&jobs->work);
    pthread_mutex_unlock(&jobs->lock);
    for (unsigned i = 0; i < jobs->worker_count; i++)
        pthread_join(jobs->workers[i], NULL);

    unstarted = list_take_all(&jobs->queued);
    for (struct job *job = unstarted; job; job = job->next)
        job->run(job->arg, NULL);
    run_done(list_take_all(&jobs->finished));
    run_done(unstarted);
    free(jobs->store_path);
    pthread_cond_destroy(&jobs->work);
    pthread_mutex_destroy(&jobs->lock);
    free(jobs);
}
