/*
 * pg_sink.c - the records in PostgreSQL (see pg_sink.h): the queue the
 * event loop fills and the writer thread that empties it into
 * pg_session.c's transactions, one group of queued batches each.
 *
 * A group stays queued until it is written: when the connection is lost,
 * the writer connects again (0.5 s, doubling to 30 s) and writes the same
 * group again, which ON CONFLICT makes harmless for what the first attempt
 * stored. A first attempt that finds some of its ids already there has met
 * other records under them (ids that started again, another ulogd writing
 * the same table): those records are counted as dropped, with the reason.
 *
 * Rows the server refuses as data (a message too long for the full-text
 * index, say) would be refused again: the group is halved until the refused
 * record is alone, and only that record is dropped and counted.
 *
 * The thread never prints and never writes ulogd's own records (it would
 * feed itself): what went wrong is in pg_sink_stats.last_error, the counts
 * on /metrics; serve.c tells ulogd's log.
 */
#include "pg_sink.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "bytebuf.h"
#include "pg_session.h"
#include "pg_table.h"

#define BACKOFF_FIRST_MS 500u
#define BACKOFF_MAX_MS 30000u
/* One transaction's share of the queue: big enough to keep up with ulogd,
 * small enough to stay a short transaction. */
#define GROUP_MAX_BATCHES 256
#define GROUP_MAX_RECORDS 20000
#define GROUP_MAX_BYTES (8u << 20)
#define ROWS_KEEP_BYTES (1u << 20)

struct queued {
    struct feed_batch *batch;
    size_t bytes;
    struct queued *next;
};

struct pg_sink {
    char *conninfo;
    uint64_t queue_limit;
    pthread_t thread;
    bool started;
    /* Set (once) by pg_sink_close: monotonic ms; UINT64_MAX until then. */
    _Atomic uint64_t close_deadline_ms;

    pthread_mutex_t lock;
    pthread_cond_t cond;
    /* Under lock. */
    struct queued *head, *tail;
    uint64_t queued_bytes;
    struct pg_sink_stats stats;

    /* The writer thread's own. */
    struct pg_session session;
    bool ever_connected;
    unsigned backoff_ms;
    uint64_t retry_at_ms;
    bool last_chance; /* a connection was attempted after closing began */
    bool retrying;    /* the queue's first group was sent on a connection since lost */
    struct bytebuf rows;
};

/* Records [from, from + n) of the group (its batches' items end to end) as
 * COPY rows; returns how many of their lines were not JSON objects. */
static size_t build_rows(struct pg_sink *s, struct queued **group, size_t count, size_t from,
                         size_t n)
{
    size_t skipped = 0;

    bytebuf_reset(&s->rows, ROWS_KEEP_BYTES);
    for (size_t b = 0; b < count && n; b++) {
        const struct feed_batch *batch = group[b]->batch;
        if (from >= batch->count) {
            from -= batch->count;
            continue;
        }
        for (size_t i = from; i < batch->count && n; i++, n--)
            if (!pg_table_row(&s->rows, &batch->items[i]))
                skipped++;
        from = 0;
    }
    return skipped;
}

static void count_error(struct pg_sink *s)
{
    pthread_mutex_lock(&s->lock);
    s->stats.errors_total++;
    memcpy(s->stats.last_error, s->session.error, sizeof s->stats.last_error);
    pthread_mutex_unlock(&s->lock);
}

/*
 * Records [from, from + n) of the group, in one transaction; when the server
 * refuses them, each half in its own, down to the one record it refuses,
 * which is dropped: one bad record costs about 2 log2(n) transactions, not
 * the group. PG_OK once each record is written or dropped (counted in
 * `written`, `dropped`). Whatever is cut short is written again whole later.
 */
static enum pg_outcome write_range(struct pg_sink *s, struct queued **group, size_t count,
                                   size_t from, size_t n, uint64_t *written, uint64_t *dropped)
{
    size_t skipped = build_rows(s, group, count, from, n);
    uint64_t sent = n - skipped, inserted = 0;
    enum pg_outcome o;

    if (skipped)
        pg_session_set_error(&s->session, "a line of all.log is not a JSON object", NULL);
    o = sent ? pg_session_write(&s->session, s->rows.data, s->rows.len, &inserted) : PG_OK;
    if (o == PG_OK) {
        /* A first write that finds its ids taken: they were not ours (ids
         * that started again at 1, another ulogd on the same table). */
        if (!s->retrying && inserted < sent) {
            char what[96];
            snprintf(what, sizeof what, "%llu records not stored",
                     (unsigned long long)(sent - inserted));
            pg_session_set_error(&s->session, what,
                                 "their log_id is already in system_logs, from other records");
            skipped += sent - inserted;
        }
        *written += n - skipped;
        *dropped += skipped;
        return PG_OK;
    }
    if (o != PG_REFUSED)
        return o;
    count_error(s);
    if (n == 1) {
        (*dropped)++;
        return PG_OK;
    }
    o = write_range(s, group, count, from, n / 2, written, dropped);
    return o == PG_OK ? write_range(s, group, count, from + n / 2, n - n / 2, written, dropped)
                      : o;
}

/*
 * Wait for something to write and a moment to write it; fill `group` with
 * the first batches of the queue (they stay queued until written). Returns
 * their number, 0 when the writer is to stop.
 */
static size_t next_group(struct pg_sink *s, struct queued **group)
{
    size_t count = 0, records = 0, bytes = 0;

    pthread_mutex_lock(&s->lock);
    for (;;) {
        uint64_t now = pg_session_now_ms(), close_at = atomic_load(&s->close_deadline_ms);
        uint64_t wake = close_at;
        bool closing = close_at != UINT64_MAX, connected = s->session.conn != NULL;
        struct timespec until;

        /* Closing while disconnected: one attempt, not a wait for the backoff
         * (a stop with PostgreSQL away would otherwise take all of drain_ms). */
        if (closing && (!s->head || now >= close_at || (!connected && s->last_chance)))
            break;
        if (s->head && (connected || closing || now >= s->retry_at_ms)) {
            if (!connected && closing)
                s->last_chance = true;
            for (struct queued *q = s->head; q && count < GROUP_MAX_BATCHES; q = q->next) {
                if (count && (records + q->batch->count > GROUP_MAX_RECORDS ||
                              bytes + q->bytes > GROUP_MAX_BYTES))
                    break;
                group[count++] = q;
                records += q->batch->count;
                bytes += q->bytes;
            }
            break;
        }
        if (s->head && s->retry_at_ms < wake)
            wake = s->retry_at_ms;
        if (wake == UINT64_MAX) {
            pthread_cond_wait(&s->cond, &s->lock);
            continue;
        }
        until.tv_sec = (time_t)(wake / 1000);
        until.tv_nsec = (long)(wake % 1000) * 1000000;
        pthread_cond_timedwait(&s->cond, &s->lock, &until);
    }
    pthread_mutex_unlock(&s->lock);
    return count;
}

/* Take the group's batches off the queue; `written` rows stored, `dropped` lost. */
static void finish_group(struct pg_sink *s, struct queued **group, size_t count, uint64_t written,
                         uint64_t dropped)
{
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < count; i++) {
        s->head = group[i]->next;
        s->queued_bytes -= group[i]->bytes;
        s->stats.queued_records -= group[i]->batch->count;
    }
    if (!s->head)
        s->tail = NULL;
    s->stats.written_total += written;
    s->stats.dropped_total += dropped;
    if (written)
        s->stats.committed_id = group[count - 1]->batch->last_id;
    if (dropped)
        memcpy(s->stats.last_error, s->session.error, sizeof s->stats.last_error);
    pthread_mutex_unlock(&s->lock);
    for (size_t i = 0; i < count; i++) {
        feed_batch_unref(group[i]->batch);
        free(group[i]);
    }
}

static void set_connected(struct pg_sink *s, bool connected)
{
    pthread_mutex_lock(&s->lock);
    s->stats.connected = connected;
    if (connected && s->ever_connected)
        s->stats.reconnects_total++;
    pthread_mutex_unlock(&s->lock);
    s->ever_connected |= connected;
}

/* The connection failed or broke: try again after the backoff. */
static void connection_failed(struct pg_sink *s)
{
    pg_session_close(&s->session);
    set_connected(s, false);
    count_error(s);
    s->retry_at_ms = pg_session_now_ms() + s->backoff_ms;
    s->backoff_ms = s->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : s->backoff_ms * 2;
}

static void *writer_main(void *arg)
{
    struct pg_sink *s = arg;
    struct queued *group[GROUP_MAX_BATCHES];
    size_t count;

    while ((count = next_group(s, group)) != 0) {
        uint64_t written = 0, dropped = 0;
        size_t records = 0;
        enum pg_outcome o;

        s->session.error[0] = '\0';
        if (!s->session.conn) {
            o = pg_session_open(&s->session, s->conninfo);
            if (o == PG_ABORTED)
                break;
            if (o != PG_OK) {
                connection_failed(s);
                continue;
            }
            s->backoff_ms = BACKOFF_FIRST_MS;
            set_connected(s, true);
        }
        for (size_t i = 0; i < count; i++)
            records += group[i]->batch->count;
        o = write_range(s, group, count, 0, records, &written, &dropped);
        if (o == PG_OK) {
            finish_group(s, group, count, written, dropped);
            s->retrying = false;
        } else if (o == PG_LOST) {
            connection_failed(s);
            s->retrying = true;
        } else {
            break;
        }
    }
    pg_session_close(&s->session);
    set_connected(s, false);
    return NULL;
}

/* --- the interface ---------------------------------------------------------- */

struct pg_sink *pg_sink_new(const char *conninfo, uint64_t queue_bytes, char *err, size_t err_size)
{
    char *parse_error = NULL;
    PQconninfoOption *options = PQconninfoParse(conninfo ? conninfo : "", &parse_error);
    struct pg_sink *s;
    pthread_condattr_t attr;

    if (!options) {
        size_t n;
        snprintf(err, err_size, "bad connection string: %s",
                 parse_error ? parse_error : "out of memory");
        n = strlen(err);
        while (n && err[n - 1] == '\n')
            err[--n] = '\0';
        PQfreemem(parse_error);
        return NULL;
    }
    PQconninfoFree(options);
    s = must_calloc(1, sizeof *s);
    s->session.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->session.wake_fd < 0) {
        snprintf(err, err_size, "eventfd: %s", strerror(errno));
        free(s);
        return NULL;
    }
    s->conninfo = must_strdup(conninfo ? conninfo : "");
    s->queue_limit = queue_bytes;
    s->backoff_ms = BACKOFF_FIRST_MS;
    s->rows = (struct bytebuf)BYTEBUF_INIT;
    atomic_init(&s->close_deadline_ms, UINT64_MAX);
    s->session.abort_at_ms = &s->close_deadline_ms;
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cond, &attr);
    pthread_condattr_destroy(&attr);
    return s;
}

int pg_sink_start(struct pg_sink *s, char *err, size_t err_size)
{
    int rc = pthread_create(&s->thread, NULL, writer_main, s);

    if (rc != 0) {
        snprintf(err, err_size, "cannot start its thread: %s", strerror(rc));
        return -1;
    }
    s->started = true;
    return 0;
}

static size_t batch_bytes(const struct feed_batch *batch)
{
    size_t bytes = sizeof *batch + batch->count * sizeof *batch->items;

    for (size_t i = 0; i < batch->count; i++)
        bytes += batch->items[i].line_len;
    return bytes;
}

void pg_sink_take(void *ctx, struct feed_batch *batch)
{
    struct pg_sink *s = ctx;
    struct queued *q = must_malloc(sizeof *q);

    q->batch = batch;
    q->bytes = batch_bytes(batch);
    q->next = NULL;
    pthread_mutex_lock(&s->lock);
    /* An empty queue takes any batch: one larger than the bound must still get through. */
    if (s->head && s->queued_bytes + q->bytes > s->queue_limit) {
        s->stats.dropped_total += batch->count;
        snprintf(s->stats.last_error, sizeof s->stats.last_error,
                 "the queue is full (%llu bytes waiting): records dropped",
                 (unsigned long long)s->queued_bytes);
        pthread_mutex_unlock(&s->lock);
        free(q);
        return;
    }
    feed_batch_ref(batch);
    if (s->tail)
        s->tail->next = q;
    else
        s->head = q;
    s->tail = q;
    s->queued_bytes += q->bytes;
    s->stats.queued_records += batch->count;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

void pg_sink_get_stats(struct pg_sink *s, struct pg_sink_stats *out)
{
    pthread_mutex_lock(&s->lock);
    *out = s->stats;
    pthread_mutex_unlock(&s->lock);
}

void pg_sink_write_metrics(struct pg_sink *s, FILE *out)
{
    struct pg_sink_stats st;

    pg_sink_get_stats(s, &st);
    fprintf(out,
            "# HELP ulog_pg_connected 1 while ulogd is connected to PostgreSQL.\n"
            "# TYPE ulog_pg_connected gauge\n"
            "ulog_pg_connected %d\n"
            "# HELP ulog_pg_written_total Records written to PostgreSQL.\n"
            "# TYPE ulog_pg_written_total counter\n"
            "ulog_pg_written_total %llu\n"
            "# HELP ulog_pg_dropped_total Records all.log has and PostgreSQL will not get "
            "(queue full, refused by the server, log_id taken).\n"
            "# TYPE ulog_pg_dropped_total counter\n"
            "ulog_pg_dropped_total %llu\n"
            "# HELP ulog_pg_errors_total Failed connection attempts and transactions.\n"
            "# TYPE ulog_pg_errors_total counter\n"
            "ulog_pg_errors_total %llu\n"
            "# HELP ulog_pg_reconnects_total Connections made again after one was lost or failed.\n"
            "# TYPE ulog_pg_reconnects_total counter\n"
            "ulog_pg_reconnects_total %llu\n"
            "# HELP ulog_pg_lag_records Records queued for PostgreSQL, not yet written.\n"
            "# TYPE ulog_pg_lag_records gauge\n"
            "ulog_pg_lag_records %llu\n",
            st.connected, (unsigned long long)st.written_total,
            (unsigned long long)st.dropped_total, (unsigned long long)st.errors_total,
            (unsigned long long)st.reconnects_total, (unsigned long long)st.queued_records);
}

void pg_sink_close(struct pg_sink *s, unsigned drain_ms)
{
    uint64_t one = 1;

    if (!s)
        return;
    if (s->started) {
        pthread_mutex_lock(&s->lock);
        atomic_store(&s->close_deadline_ms, pg_session_now_ms() + drain_ms);
        pthread_cond_signal(&s->cond);
        pthread_mutex_unlock(&s->lock);
        if (write(s->session.wake_fd, &one, sizeof one) < 0) {
            /* Only EAGAIN is possible (the counter is full): it is readable anyway. */
        }
        pthread_join(s->thread, NULL);
    }
    while (s->head) {
        struct queued *q = s->head;
        s->head = q->next;
        feed_batch_unref(q->batch);
        free(q);
    }
    pg_session_close(&s->session);
    bytebuf_free(&s->rows);
    close(s->session.wake_fd);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    free(s->conninfo);
    free(s);
}
