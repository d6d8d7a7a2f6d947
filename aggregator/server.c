/*
 * server.c - the event loop (see server.h).
 *
 * epoll's data pointer is a connection, or one of two tags for the listener
 * and the signalfd; a connection is only ever freed while its own event is
 * being handled, so no later event in the same batch can point at it.
 */
#include "server.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "docker_shim.h"

/* Messages read from one connection per wake-up before the others get a turn. */
#define READ_BUDGET 64
/* Connections accepted per wake-up. */
#define ACCEPT_BUDGET 64
#define MAX_EVENTS 64
/* After a failed write of a log file, try again this much later. */
#define WRITE_RETRY_NS 1000000000u
/* Report running out of descriptors at most this often. */
#define SHED_REPORT_INTERVAL_NS 10000000000u

static char listener_tag, signal_tag, inotify_tag, ebpf_tag, docker_tag, inbox_tag;

int server_block_signals(void)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
        return -1;
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

int server_init(struct server *s, const struct server_parts *parts, char *err, size_t size)
{
    struct epoll_event ev = {.events = EPOLLIN};
    struct listener *listener = parts->listener;
    sigset_t set;

    memset(s, 0, sizeof *s);
    s->listener = listener;
    s->connection_ctx = parts->connections;
    s->assembler = parts->assembler;
    s->multiline = parts->multiline;
    s->pipeline = parts->pipeline;
    s->outputs = parts->outputs;
    s->reload = parts->reload;
    s->selflog = parts->selflog;
    s->procs = parts->procs;
    s->ebpf = parts->ebpf;
    s->docker = parts->docker;
    s->serve = parts->serve;
    s->start_time_ns = record_now_ns();
    list_init(&s->connections);

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    s->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (s->signal_fd < 0 || s->epoll_fd < 0) {
        snprintf(err, size, "cannot set up the event loop: %s", strerror(errno));
        server_free(s);
        return -1;
    }
    ev.data.ptr = &listener_tag;
    if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, listener->fd, &ev) != 0) {
        snprintf(err, size, "epoll: %s", strerror(errno));
        server_free(s);
        return -1;
    }
    ev.data.ptr = &signal_tag;
    if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->signal_fd, &ev) != 0) {
        snprintf(err, size, "epoll: %s", strerror(errno));
        server_free(s);
        return -1;
    }
    ev.data.ptr = &ebpf_tag;
    if (s->ebpf && epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, ebpf_input_fd(s->ebpf), &ev) != 0) {
        snprintf(err, size, "epoll: %s", strerror(errno));
        server_free(s);
        return -1;
    }
    ev.data.ptr = &docker_tag;
    if (s->docker && epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, docker_engine_fd(s->docker), &ev) != 0) {
        snprintf(err, size, "epoll: %s", strerror(errno));
        server_free(s);
        return -1;
    }
    ev.data.ptr = &inbox_tag;
    if (s->serve && serve_inbox_fd(s->serve) >= 0 &&
        epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, serve_inbox_fd(s->serve), &ev) != 0) {
        snprintf(err, size, "epoll: %s", strerror(errno));
        server_free(s);
        return -1;
    }
    ev.data.ptr = &inotify_tag;
    if (s->reload->inotify_fd >= 0 &&
        epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->reload->inotify_fd, &ev) != 0) {
        snprintf(err, size, "epoll: %s", strerror(errno));
        server_free(s);
        return -1;
    }
    return 0;
}

void server_free(struct server *s)
{
    while (!list_empty(&s->connections))
        connection_destroy(LIST_ENTRY(s->connections.next, struct connection, link));
    if (s->epoll_fd >= 0)
        close(s->epoll_fd);
    if (s->signal_fd >= 0)
        close(s->signal_fd);
    s->epoll_fd = s->signal_fd = -1;
}

static void report_shed_connection(struct server *s)
{
    uint64_t now = assembler_monotonic_now();

    if (s->shed_reported_at && now - s->shed_reported_at < SHED_REPORT_INTERVAL_NS)
        return;
    s->shed_reported_at = now;
    fprintf(stderr, "ulogd: out of file descriptors; refusing new connections\n");
    selflog_emit(s->selflog, ULOG_ERROR, "connection_refused", NULL,
                 "out of file descriptors: new connections are closed at once");
}

/* Accept up to `budget` connections (0: all that are queued). */
static void accept_connections(struct server *s, unsigned budget)
{
    for (unsigned count = 0; budget == 0 || count < budget; count++) {
        int fd = listener_accept(s->listener);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE)
                report_shed_connection(s);
            else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINVAL)
                fprintf(stderr, "ulogd: accept: %s\n", strerror(errno));
            return;
        }
        struct connection *c = connection_new(s->connection_ctx, fd);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        list_add_tail(&s->connections, &c->link);
        if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            fprintf(stderr, "ulogd: epoll: %s\n", strerror(errno));
            connection_destroy(c);
        }
    }
}

static void serve_connection(struct connection *c)
{
    enum connection_state state = connection_read(c, READ_BUDGET);
    if (state == CONNECTION_EOF || state == CONNECTION_FAILED)
        connection_destroy(c); /* closing the fd also takes it out of the epoll set */
}

static void handle_signals(struct server *s)
{
    struct signalfd_siginfo info;

    while (read(s->signal_fd, &info, sizeof info) == (ssize_t)sizeof info) {
        if (info.ssi_signo == SIGHUP) {
            outputs_reopen(s->outputs);
            reload_now(s->reload, "SIGHUP");
        } else {
            s->stop_signal = (int)info.ssi_signo;
        }
    }
}

static void flush_outputs(struct server *s, uint64_t now)
{
    s->flush_due = outputs_flush(s->outputs) == 0 ? 0 : now + WRITE_RETRY_NS;
}

static uint64_t earliest(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* Everything that runs on time, and the epoll timeout that the next of it gives. */
static int housekeeping(struct server *s, uint64_t batch_start)
{
    uint64_t now, deadline;

    now = assembler_monotonic_now();
    reload_housekeeping(s->reload, now);
    assembler_expire(s->assembler);
    multiline_expire(s->multiline);
    /* After the lines' own timeouts: an exit record carries the lines just flushed. */
    procs_expire(s->procs, assembler_monotonic_now());
    deadline = pipeline_housekeeping(s->pipeline, now);
    /* Bytes queued during this batch are no older than its start. */
    if (outputs_have_queued(s->outputs) && s->flush_due == 0)
        s->flush_due = batch_start + LOGFILE_FLUSH_INTERVAL_NS;
    now = assembler_monotonic_now();
    if (s->flush_due && now >= s->flush_due)
        flush_outputs(s, now);

    deadline = earliest(deadline, assembler_next_deadline(s->assembler));
    deadline = earliest(deadline, multiline_next_deadline(s->multiline));
    deadline = earliest(deadline, procs_next_deadline(s->procs));
    deadline = earliest(deadline, ebpf_input_housekeeping(s->ebpf, now));
    deadline = earliest(deadline, docker_engine_housekeeping(s->docker, now));
    /* Connections whose container the engine has not named in time go on without. */
    deadline = earliest(deadline, docker_shim_expire(s->connection_ctx, now));
    /* Those three may have queued records too (released lines, engine streams
     * read on their timers): they are due as soon as the others. */
    if (outputs_have_queued(s->outputs) && s->flush_due == 0)
        s->flush_due = now + LOGFILE_FLUSH_INTERVAL_NS;
    if (s->reload->due)
        deadline = earliest(deadline, s->reload->due);
    if (s->flush_due)
        deadline = earliest(deadline, s->flush_due);
    if (deadline == UINT64_MAX)
        return -1;
    if (deadline <= now)
        return 0;
    uint64_t ms = (deadline - now + 999999) / 1000000; /* round up: never wake early */
    return ms > 60000 ? 60000 : (int)ms;
}

/* The loop's counters, for /metrics. */
static void gather_stats(const struct server *s, struct ingest_stats *out)
{
    const struct connection_stats *cs = &s->connection_ctx->stats;
    const struct pipeline_stats *ps = &s->pipeline->stats;
    uint64_t docker_events = 0;

    memset(out, 0, sizeof *out);
    out->start_time_ns = s->start_time_ns;
    out->connections_open = cs->accepted - cs->closed;
    out->connections_total = cs->accepted;
    out->connection_errors_total = cs->failed;
    out->shim_messages_total = cs->messages;
    out->shim_lines_total = cs->lines;
    out->shim_dropped_lines_total = cs->dropped_messages;
    out->ebpf_events_total = ebpf_input_events(s->ebpf);
    out->ebpf_lost_total = ebpf_input_lost(s->ebpf);
    if (s->docker)
        docker_engine_counts(s->docker, &out->docker_lines_total, &docker_events);
    out->docker_events_total = docker_events;
    out->records_in_total = ps->records_in;
    out->records_out_total = ps->records_out;
    out->dropped_by_rule_total = ps->dropped_by_rule;
    out->rate_limited_total = ps->rate_limited;
    out->below_level_total = ps->below_level;
    out->redactions_total = ps->redactions;
    out->records_lost_total = s->outputs->all.log.refused_lines;
}

/* The end of a turn: what it wrote goes to the store and the live stream. */
static void end_turn(struct server *s)
{
    struct ingest_stats stats;

    if (!s->serve)
        return;
    serve_housekeeping(s->serve, assembler_monotonic_now());
    gather_stats(s, &stats);
    serve_end_turn(s->serve, &stats);
}

/* Everything a shim sent successfully reaches the file; see server.h. */
static void drain(struct server *s)
{
    /* SIGTERM is how service managers stop, and restart, ulogd: its socket
     * path stays, refusing connections, which tells the shims that ulogd is
     * away rather than absent, so a program ending meanwhile waits a moment
     * for it (ULOG_EXIT_WAIT_MS). SIGINT is a person at the terminal: the
     * path goes, and nobody waits. */
    listener_shut(s->listener, s->stop_signal == SIGTERM);
    accept_connections(s, 0);
    while (!list_empty(&s->connections)) {
        struct connection *c = LIST_ENTRY(s->connections.next, struct connection, link);
        shutdown(c->fd, SHUT_RD);
        connection_read(c, 0);
        connection_destroy(c); /* flushes its partial lines */
    }
    ebpf_input_read(s->ebpf); /* the exits of those that went meanwhile */
    docker_engine_ready(s->docker); /* lines the engine already sent */
    if (s->serve)
        serve_take_posts(s->serve); /* entries posted before the stop */
}

int server_run(struct server *s)
{
    struct epoll_event events[MAX_EVENTS];
    uint64_t batch_start = assembler_monotonic_now();
    int rc = 0;

    while (!s->stop_signal) {
        int timeout = housekeeping(s, batch_start);
        end_turn(s);
        int n = epoll_wait(s->epoll_fd, events, MAX_EVENTS, timeout);
        batch_start = assembler_monotonic_now();
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "ulogd: epoll_wait: %s\n", strerror(errno));
            rc = -1;
            break;
        }
        for (int i = 0; i < n; i++) {
            void *tag = events[i].data.ptr;
            if (tag == &listener_tag)
                accept_connections(s, ACCEPT_BUDGET);
            else if (tag == &signal_tag)
                handle_signals(s);
            else if (tag == &ebpf_tag)
                ebpf_input_read(s->ebpf);
            else if (tag == &docker_tag)
                docker_engine_ready(s->docker);
            else if (tag == &inbox_tag)
                serve_take_posts(s->serve);
            else if (tag == &inotify_tag)
                reload_file_changed(s->reload, batch_start);
            else
                serve_connection(tag);
        }
    }
    drain(s);
    return rc;
}
