/*
 * console.c - the console mirror (see console.h): a byte ring the loop
 * fills and one writer thread that empties it onto the terminal.
 *
 * The ring holds [u32 length][line] entries, wrapping at the end. Only the
 * writer moves the head and only submitters write into free space, so the
 * writer can copy an entry out without holding the lock: the lock is held
 * for a few comparisons and a memcpy, never across a write(). The records are
 * formatted by cli/format.c, the same code as `ulog tail`, so the mirror
 * looks like the tail people already know and neutralises hostile text the
 * same way.
 *
 * Stopping must not hang on a terminal that stopped reading (Ctrl-S, a full
 * pipe). console_stop waits a bounded time; after that the thread is
 * abandoned, detached, and frees the console itself whenever its write()
 * returns. Whoever sees the other gone under the lock does the freeing.
 */
#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "../cli/format.h"
#include "alloc.h"
#include "bytebuf.h"
#include "record.h"

#define ENTRY_HEADER sizeof(uint32_t)
/* stdio buffering between the formatter and write(): one write per burst. */
#define OUTPUT_BUFFER_BYTES 65536
/* The writer's copy of one line is given back past this size. */
#define SCRATCH_KEEP_BYTES 65536

struct console {
    enum console_mode mode;
    int fd; /* our own duplicate: an abandoned writer may outlive the caller's */
    struct human_format format;

    pthread_mutex_t lock;
    pthread_cond_t wake;     /* writer: something queued, or stop */
    pthread_cond_t finished; /* console_stop: the writer is done */
    char *ring;
    size_t capacity, head, used; /* under lock */
    uint64_t skipped_unreported; /* under lock */
    bool stopping, done;         /* under lock */
    atomic_bool abandoned;       /* set under lock; read lock-free while writing */
    atomic_uint_fast64_t skipped_total;
    bool broken; /* the writer's: the fd refused a write, output is discarded */

    pthread_t thread;
    FILE *out;
    struct bytebuf scratch;
};

int console_mode_parse(const char *word)
{
    static const struct {
        const char *word;
        enum console_mode mode;
    } table[] = {
        {"off", CONSOLE_OFF},   {"none", CONSOLE_OFF},   {"false", CONSOLE_OFF},
        {"no", CONSOLE_OFF},    {"text", CONSOLE_TEXT},  {"human", CONSOLE_TEXT},
        {"on", CONSOLE_TEXT},   {"true", CONSOLE_TEXT},  {"yes", CONSOLE_TEXT},
        {"json", CONSOLE_JSON},
    };
    for (size_t i = 0; word && i < sizeof table / sizeof table[0]; i++)
        if (strcasecmp(word, table[i].word) == 0)
            return (int)table[i].mode;
    return -1;
}

/* ---- the ring --------------------------------------------------------------- */

static void ring_put(struct console *c, size_t at, const void *bytes, size_t len)
{
    size_t first = c->capacity - at < len ? c->capacity - at : len;
    memcpy(c->ring + at, bytes, first);
    memcpy(c->ring, (const char *)bytes + first, len - first);
}

static void ring_get(const struct console *c, size_t at, void *bytes, size_t len)
{
    size_t first = c->capacity - at < len ? c->capacity - at : len;
    memcpy(bytes, c->ring + at, first);
    memcpy((char *)bytes + first, c->ring, len - first);
}

void console_submit(struct console *c, const char *json_line, size_t len)
{
    uint32_t header;

    if (!c)
        return;
    if (len > 0 && json_line[len - 1] == '\n')
        len--;
    header = (uint32_t)len;
    pthread_mutex_lock(&c->lock);
    if (len > UINT32_MAX || ENTRY_HEADER + len > c->capacity - c->used) {
        c->skipped_unreported++;
        atomic_fetch_add(&c->skipped_total, 1);
        pthread_cond_signal(&c->wake); /* an idle writer reports it at once */
    } else {
        size_t tail = (c->head + c->used) % c->capacity;
        ring_put(c, tail, &header, ENTRY_HEADER);
        ring_put(c, (tail + ENTRY_HEADER) % c->capacity, json_line, len);
        c->used += ENTRY_HEADER + len;
        pthread_cond_signal(&c->wake);
    }
    pthread_mutex_unlock(&c->lock);
}

uint64_t console_skipped(const struct console *c)
{
    return c ? atomic_load(&((struct console *)c)->skipped_total) : 0;
}

/* ---- output ------------------------------------------------------------------ */

/*
 * The stdio FILE's sink: blocking writes of everything, even to an fd some
 * other program left non-blocking. Once the fd has failed (the terminal is
 * gone) or the writer is abandoned, output is discarded so the queue still
 * drains and nothing piles up.
 */
static ssize_t write_all(void *cookie, const char *bytes, size_t len)
{
    struct console *c = cookie;
    size_t done = 0;

    while (done < len && !c->broken && !atomic_load(&c->abandoned)) {
        ssize_t n = write(c->fd, bytes + done, len - done);
        if (n > 0) {
            done += (size_t)n;
        } else if (n < 0 && errno == EAGAIN) {
            struct pollfd p = {.fd = c->fd, .events = POLLOUT};
            poll(&p, 1, -1);
        } else if (!(n < 0 && errno == EINTR)) {
            c->broken = true;
        }
    }
    return (ssize_t)len;
}

static void print_line(struct console *c, const char *line, size_t len)
{
    if (c->mode == CONSOLE_JSON) {
        print_json_line(c->out, line, len);
        return;
    }
    /* ulogd writes a NUL in a message as \u0000, which jansson refuses unless told. */
    json_t *record = json_loadb(line, len, JSON_ALLOW_NUL, NULL);
    if (json_is_object(record))
        human_print_record(c->out, &c->format, record);
    else
        human_print_invalid(c->out, &c->format, line, len);
    json_decref(record);
}

/* Said as a record of ulogd's own, so that JSON mode stays parseable. */
static void print_skipped(struct console *c, uint64_t skipped)
{
    char message[128];
    struct bytebuf line = BYTEBUF_INIT;
    json_t *metadata = json_pack("{sI}", "skipped", (json_int_t)skipped);
    int len = snprintf(message, sizeof message,
                       "console mirror skipped %llu records (stdout is slow)",
                       (unsigned long long)skipped);
    struct record record = {
        .level = ULOG_WARNING,
        .service = "ulogd",
        .pid = (uint32_t)getpid(),
        .source = "ulogd",
        .event_type = "console_skipped",
        .message = message,
        .message_len = (size_t)len,
        .metadata = metadata,
    };

    if (record_append_json(&record, &line) == 0 && line.len > 0)
        print_line(c, line.data, line.len - 1);
    bytebuf_free(&line);
    json_decref(metadata);
}

/* ---- the writer thread ------------------------------------------------------- */

/* Copy the oldest entry into scratch and free its room; false when stopping with none. */
static bool take_line(struct console *c)
{
    uint32_t len;
    size_t head;
    uint64_t skipped;

    pthread_mutex_lock(&c->lock);
    for (;;) {
        if (atomic_load(&c->abandoned)) {
            pthread_mutex_unlock(&c->lock);
            return false;
        }
        if (c->used > 0)
            break;
        /* Caught up: say what was lost, then show it all before sleeping. */
        if ((skipped = c->skipped_unreported) > 0) {
            c->skipped_unreported = 0;
            pthread_mutex_unlock(&c->lock);
            print_skipped(c, skipped);
            pthread_mutex_lock(&c->lock);
            continue;
        }
        pthread_mutex_unlock(&c->lock);
        fflush(c->out);
        pthread_mutex_lock(&c->lock);
        if (c->used > 0 || c->skipped_unreported > 0)
            continue;
        if (c->stopping) {
            pthread_mutex_unlock(&c->lock);
            return false;
        }
        pthread_cond_wait(&c->wake, &c->lock);
    }
    head = c->head;
    pthread_mutex_unlock(&c->lock);

    /* Submitters only write into free room, so the entry holds still without the lock. */
    ring_get(c, head, &len, ENTRY_HEADER);
    bytebuf_reset(&c->scratch, SCRATCH_KEEP_BYTES);
    bytebuf_reserve(&c->scratch, (size_t)len + 1);
    ring_get(c, (head + ENTRY_HEADER) % c->capacity, c->scratch.data, len);
    c->scratch.len = len;

    pthread_mutex_lock(&c->lock);
    c->head = (head + ENTRY_HEADER + len) % c->capacity;
    c->used -= ENTRY_HEADER + len;
    pthread_mutex_unlock(&c->lock);
    return true;
}

static void console_free(struct console *c)
{
    if (c->out)
        fclose(c->out); /* flushes, or discards once abandoned */
    close(c->fd);
    bytebuf_free(&c->scratch);
    free(c->ring);
    pthread_cond_destroy(&c->finished);
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static void *writer_main(void *arg)
{
    struct console *c = arg;
    bool abandoned;

    while (take_line(c))
        print_line(c, c->scratch.data, c->scratch.len);
    fflush(c->out);

    pthread_mutex_lock(&c->lock);
    c->done = true;
    abandoned = atomic_load(&c->abandoned);
    pthread_cond_signal(&c->finished);
    pthread_mutex_unlock(&c->lock);
    if (abandoned) /* console_stop has left: nobody else will free it */
        console_free(c);
    return NULL;
}

/* ---- start and stop ---------------------------------------------------------- */

static int start_writer(struct console *c, char *err, size_t err_size)
{
    /* The loop takes its signals from a signalfd; this thread must never catch one. */
    sigset_t all, old;
    int rc;

    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&c->thread, NULL, writer_main, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        snprintf(err, err_size, "cannot start the console thread: %s", strerror(rc));
        return -1;
    }
    return 0;
}

struct console *console_start(enum console_mode mode, int fd, size_t queue_bytes, char *err,
                              size_t err_size)
{
    cookie_io_functions_t io = {.write = write_all};
    pthread_condattr_t attr;
    struct console *c;

    if (err_size > 0)
        err[0] = '\0';
    if (mode == CONSOLE_OFF)
        return NULL;
    if (mode != CONSOLE_TEXT && mode != CONSOLE_JSON) {
        snprintf(err, err_size, "unknown console mode %d", (int)mode);
        return NULL;
    }

    c = must_calloc(1, sizeof *c);
    if ((c->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0) {
        snprintf(err, err_size, "cannot use fd %d for the console: %s", fd, strerror(errno));
        free(c);
        return NULL;
    }
    c->mode = mode;
    human_format_init(&c->format, color_wanted(COLOR_AUTO, isatty(fd) == 1, getenv("NO_COLOR"),
                                               getenv("TERM")));
    c->capacity = queue_bytes ? queue_bytes : CONSOLE_DEFAULT_QUEUE_BYTES;
    c->ring = must_malloc(c->capacity);
    atomic_init(&c->abandoned, false);
    atomic_init(&c->skipped_total, 0);

    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->wake, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* stop's deadline ignores clock steps */
    pthread_cond_init(&c->finished, &attr);
    pthread_condattr_destroy(&attr);

    if (!(c->out = fopencookie(c, "w", io))) {
        snprintf(err, err_size, "cannot set up the console output: %s", strerror(errno));
        console_free(c);
        return NULL;
    }
    setvbuf(c->out, NULL, _IOFBF, OUTPUT_BUFFER_BYTES);
    if (start_writer(c, err, err_size) < 0) {
        console_free(c);
        return NULL;
    }
    return c;
}

void console_stop(struct console *c)
{
    struct timespec deadline;
    pthread_t thread;
    bool done;

    if (!c)
        return;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += (time_t)(CONSOLE_STOP_GRACE_NS / 1000000000ull);
    deadline.tv_nsec += (long)(CONSOLE_STOP_GRACE_NS % 1000000000ull);
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }

    pthread_mutex_lock(&c->lock);
    c->stopping = true;
    pthread_cond_signal(&c->wake);
    while (!c->done && pthread_cond_timedwait(&c->finished, &c->lock, &deadline) != ETIMEDOUT)
        ;
    done = c->done;
    if (!done)
        atomic_store(&c->abandoned, true);
    thread = c->thread;
    pthread_mutex_unlock(&c->lock);

    if (done) {
        pthread_join(thread, NULL);
        console_free(c);
    } else {
        pthread_detach(thread); /* c may be gone already: the thread frees it */
    }
}
