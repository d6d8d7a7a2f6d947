/*
 * procs.c - the process registry (see procs.h): its entries, and when each
 * process's exit record is due.
 *
 * Entries are found by kernel pid in a chained hash table that doubles as
 * it fills; they are also on a list in creation order (eviction takes the
 * oldest idle one) and, while something is due, on a list of timed entries
 * (few at any time: exits waiting for lines, processes that outlived their
 * connection). The lines themselves are kept by procs_lines.c, the records
 * written by procs_report.c; this file decides when an exit is told.
 */
#include "procs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "assembler.h"
#include "procs_private.h"

/* A process that still exits this long after its socket closed: look again soon. */
#define EXITING_RECHECK_NS 20000000u
/* One that lives on without a connection: look again after 2 s, then less often. */
#define RECHECK_FIRST_NS 2000000000u
#define RECHECK_MAX_NS 60000000000ull
/* A signal or OOM mark on a process ulogd does not know waits this long for its exit. */
#define MARK_KEEP_NS 10000000000ull

/* now + wait, without wrapping past "never" (procs_expire(UINT64_MAX) at shutdown). */
static uint64_t later(uint64_t now, uint64_t wait)
{
    return now > UINT64_MAX - wait ? UINT64_MAX : now + wait;
}

static size_t bucket_of(const struct procs *p, uint32_t pid)
{
    return (pid * 2654435761u) & (p->bucket_count - 1);
}

struct proc *procs_find(const struct procs *p, uint32_t pid)
{
    if (!pid)
        return NULL;
    for (struct proc *e = p->buckets[bucket_of(p, pid)]; e; e = e->hash_next)
        if (e->kernel_pid == pid)
            return e;
    return NULL;
}

static void grow(struct procs *p)
{
    struct proc **old = p->buckets;
    size_t old_count = p->bucket_count;

    p->bucket_count *= 2;
    p->buckets = must_calloc(p->bucket_count, sizeof *p->buckets);
    for (size_t i = 0; i < old_count; i++) {
        for (struct proc *e = old[i], *next; e; e = next) {
            next = e->hash_next;
            size_t b = bucket_of(p, e->kernel_pid);
            e->hash_next = p->buckets[b];
            p->buckets[b] = e;
        }
    }
    free(old);
}

static void set_deadline(struct procs *p, struct proc *e, enum proc_deadline kind, uint64_t at)
{
    if (e->deadline_kind == DEADLINE_NONE && kind != DEADLINE_NONE)
        list_add_tail(&p->timed, &e->timed);
    else if (e->deadline_kind != DEADLINE_NONE && kind == DEADLINE_NONE)
        list_remove(&e->timed);
    e->deadline_kind = kind;
    e->deadline = kind == DEADLINE_NONE ? 0 : at;
}

static void forget_identity(struct proc *e)
{
    free(e->program);
    free(e->service);
    free(e->host);
    json_decref(e->context);
    e->program = e->service = e->host = NULL;
    e->context = NULL;
    e->container[0] = '\0';
    e->known = false;
    e->kernel_named = false;
}

static void release(struct procs *p, struct proc *e)
{
    struct proc **link = &p->buckets[bucket_of(p, e->kernel_pid)];

    while (*link != e)
        link = &(*link)->hash_next;
    *link = e->hash_next;
    set_deadline(p, e, DEADLINE_NONE, 0);
    list_remove(&e->order);
    forget_identity(e);
    procs_ring_free(e);
    free(e);
    p->count--;
}

static bool idle(const struct proc *e)
{
    return e->connections == 0 && !e->exit_pending;
}

/* Make room under the bound: the oldest idle entry goes (or, if none is, the oldest). */
static void evict_one(struct procs *p)
{
    struct proc *victim = NULL;

    for (struct list_node *n = p->order.next; n != &p->order; n = n->next) {
        struct proc *e = LIST_ENTRY(n, struct proc, order);
        if (idle(e)) {
            victim = e;
            break;
        }
    }
    if (!victim)
        victim = LIST_ENTRY(p->order.next, struct proc, order);
    if (!p->evict_reported) {
        p->evict_reported = true;
        selflog_emit(p->selflog, ULOG_WARNING, "process_registry_full",
                     json_pack("{s:I}", "max_entries", (json_int_t)p->max_entries),
                     "more than %zu processes known at once: forgetting the oldest idle ones "
                     "(their exit records and crash context are lost)",
                     p->max_entries);
    }
    release(p, victim);
}

static struct proc *create(struct procs *p, uint32_t pid)
{
    while (p->count >= p->max_entries && p->count > 0)
        evict_one(p);
    if (p->count >= p->bucket_count)
        grow(p);
    struct proc *e = must_calloc(1, sizeof *e);
    size_t b = bucket_of(p, pid);

    e->kernel_pid = pid;
    e->pid = pid;
    list_init(&e->timed);
    list_add_tail(&p->order, &e->order);
    e->hash_next = p->buckets[b];
    p->buckets[b] = e;
    p->count++;
    return e;
}

struct procs *procs_new(struct pipeline *pipeline, struct selflog *selflog, const char *host,
                        unsigned context_lines)
{
    struct procs *p = must_calloc(1, sizeof *p);

    p->pipeline = pipeline;
    p->selflog = selflog;
    p->host = host;
    p->max_entries = PROCS_MAX_ENTRIES;
    p->bucket_count = 64;
    p->buckets = must_calloc(p->bucket_count, sizeof *p->buckets);
    list_init(&p->order);
    list_init(&p->timed);
    procs_set_context_lines(p, context_lines);
    return p;
}

void procs_free(struct procs *p)
{
    if (!p)
        return;
    while (!list_empty(&p->order))
        release(p, LIST_ENTRY(p->order.next, struct proc, order));
    free(p->buckets);
    free(p);
}

void procs_set_context_lines(struct procs *p, unsigned n)
{
    p->context_lines = n > PROCS_MAX_CONTEXT_LINES ? PROCS_MAX_CONTEXT_LINES : n;
}

void procs_set_max_entries(struct procs *p, size_t max)
{
    p->max_entries = max ? max : PROCS_MAX_ENTRIES;
    while (p->count > p->max_entries)
        evict_one(p);
}

size_t procs_count(const struct procs *p)
{
    return p->count;
}

void procs_set_exact(struct procs *p, bool ebpf_active)
{
    p->exact = ebpf_active;
}

/* The exit record, then the entry goes (or waits for its connections, counting them down). */
static void finish(struct procs *p, struct proc *e, const struct proc_exit *x)
{
    procs_report_exit(p, e, e->kernel_pid, x, NULL);
    if (e->connections) {
        e->reported = true;
        e->exit_pending = false;
        set_deadline(p, e, DEADLINE_NONE, 0);
    } else {
        release(p, e);
    }
}

static void finish_pending(struct procs *p, struct proc *e)
{
    e->awaiting_hello = false;
    struct proc_exit x = {.known = true, .raw = e->exit_raw, .ppid = e->exit_ppid,
                          .time_ns = e->exit_time_ns, .comm = e->comm[0] ? e->comm : NULL};
    finish(p, e, &x);
}

/* No connection left and no exit known: what does /proc say? */
static void settle(struct procs *p, struct proc *e, uint64_t now)
{
    struct proc_stat st;

    procs_read_stat(e->kernel_pid, e->starttime, &st);
    /*
     * The socket closes in do_exit() after the exit code is set, so a process
     * still exiting already shows it: the race with a parent that reaps at
     * once is won. Only a 0 of a multi-threaded one may be "not yet".
     */
    bool exit_code = st.exit_code_known &&
                     (st.state == PROC_ZOMBIE ||
                      (st.state == PROC_EXITING && (st.exit_code || st.threads == 1)));
    if (st.state == PROC_ZOMBIE || st.state == PROC_GONE || exit_code) {
        struct proc_exit x = {.known = exit_code,
                              .raw = st.exit_code, .ppid = st.ppid,
                              .comm = st.comm[0] ? st.comm : NULL};
        if (x.known)
            x.status_from = "proc";
        finish(p, e, &x);
        return;
    }
    if (st.state == PROC_EXITING) {
        set_deadline(p, e, DEADLINE_RECHECK, later(now, EXITING_RECHECK_NS));
        return;
    }
    /* It lives on (exec'd, or closed its own socket): look again, less and less often. */
    uint64_t wait = RECHECK_FIRST_NS;
    for (unsigned i = 0; i < e->polls && wait < RECHECK_MAX_NS; i++)
        wait *= 2;
    if (wait > RECHECK_MAX_NS)
        wait = RECHECK_MAX_NS;
    e->polls++;
    set_deadline(p, e, DEADLINE_RECHECK, later(now, wait));
}

void procs_connected(struct procs *p, uint32_t kernel_pid, uint32_t pid, const char *program,
                     const char *service, const char *container, const char *host,
                     const json_t *context)
{
    struct proc_stat st;
    struct proc *e;

    if (!p || !kernel_pid)
        return;
    procs_read_stat(kernel_pid, 0, &st);
    e = procs_find(p, kernel_pid);
    if (e && e->starttime && st.starttime && e->starttime != st.starttime && !e->connections &&
        !e->reported && e->known) {
        /* The pid names a new process: the old one ended unnoticed. */
        settle(p, e, assembler_monotonic_now());
        e = procs_find(p, kernel_pid);
    }
    if (e && e->awaiting_hello && !e->connections && st.starttime && st.state != PROC_GONE &&
        st.state != PROC_ZOMBIE && st.state != PROC_EXITING) {
        /* A live process: not the one whose exit waits, but a new one with its pid. */
        finish_pending(p, e);
        e = procs_find(p, kernel_pid);
    }
    if (e && e->reported) {
        /* Its exit is told; a new process took the pid while old connections linger. */
        unsigned connections = e->connections;
        release(p, e);
        e = create(p, kernel_pid);
        e->connections = connections;
    }
    if (!e)
        e = create(p, kernel_pid);
    forget_identity(e);
    e->known = true;
    e->pid = pid ? pid : kernel_pid;
    e->starttime = st.starttime;
    if (st.ppid)
        e->ppid = st.ppid;
    e->program = must_strdup(program ? program : "");
    e->service = must_strdup(service && service[0] ? service : "unknown");
    e->host = host && host[0] ? must_strdup(host) : NULL;
    snprintf(e->container, sizeof e->container, "%s", container ? container : "");
    e->context = context ? json_deep_copy(context) : NULL;
    e->connections++;
    e->polls = 0;
    if (e->exit_pending) {
        /* Its exit overtook this HELLO: now it waits for the lines behind it. */
        e->awaiting_hello = false;
        set_deadline(p, e, DEADLINE_EXIT, later(assembler_monotonic_now(), PROCS_EXIT_WAIT_NS));
    } else if (e->deadline_kind == DEADLINE_RECHECK || e->deadline_kind == DEADLINE_FORGET) {
        set_deadline(p, e, DEADLINE_NONE, 0);
    }
}

void procs_line(struct procs *p, uint32_t kernel_pid, const char *bytes, size_t len,
                bool is_stderr, uint64_t time_ns)
{
    struct proc *e;

    (void)time_ns;
    if (p && (e = procs_find(p, kernel_pid)) && !e->reported)
        procs_ring_push(e, p->context_lines, bytes, len, is_stderr);
}

void procs_renamed(struct procs *p, uint32_t kernel_pid, const char *service,
                   const json_t *context)
{
    struct proc *e;

    if (!p || !(e = procs_find(p, kernel_pid)) || !e->known || e->reported)
        return;
    free(e->service);
    e->service = must_strdup(service && service[0] ? service : "unknown");
    json_decref(e->context);
    e->context = context ? json_deep_copy(context) : NULL;
}

void procs_disconnected(struct procs *p, uint32_t kernel_pid)
{
    struct proc *e;

    if (!p || !(e = procs_find(p, kernel_pid)) || !e->connections)
        return;
    if (--e->connections)
        return;
    if (e->reported)
        release(p, e);
    else if (e->exit_pending)
        finish_pending(p, e);
    else if (p->exact) /* the exit comes from eBPF; look only if it never does */
        set_deadline(p, e, DEADLINE_RECHECK, assembler_monotonic_now() + RECHECK_FIRST_NS);
    else
        settle(p, e, assembler_monotonic_now());
}

static void hold_exit(struct procs *p, struct proc *e, int exit_code_raw, uint32_t ppid,
                      const char *comm, uint64_t time_ns, uint64_t wait)
{
    e->exit_pending = true;
    e->exit_raw = exit_code_raw;
    e->exit_ppid = ppid;
    e->exit_time_ns = time_ns;
    snprintf(e->comm, sizeof e->comm, "%s", comm ? comm : "");
    set_deadline(p, e, DEADLINE_EXIT, later(assembler_monotonic_now(), wait));
}

/* The kernel's view of a process no HELLO named: what its records say if none does. */
static void adopt_identity(struct proc *e, const struct proc_identity *who, const char *comm)
{
    const char *program = who && who->program && who->program[0] ? who->program
                          : comm && comm[0]                       ? comm
                                                                  : "unknown";
    forget_identity(e);
    e->kernel_named = true;
    e->pid = who && who->pid ? who->pid : e->kernel_pid;
    e->program = must_strdup(program);
    e->service = must_strdup(who && who->service && who->service[0] ? who->service : program);
    snprintf(e->container, sizeof e->container, "%s",
             who && who->container ? who->container : "");
}

void procs_exit(struct procs *p, uint32_t tgid, uint32_t ppid, int exit_code_raw,
                const char *comm, const struct proc_identity *who, uint64_t time_ns)
{
    struct proc *e = p ? procs_find(p, tgid) : NULL;
    struct proc_exit x = {.known = true, .raw = exit_code_raw, .ppid = ppid, .time_ns = time_ns,
                          .comm = comm};

    if (!p || (e && (e->reported || e->exit_pending)))
        return;
    if (e && e->connections) {
        /* Lines may still be queued in its socket: wait for them, but not for ever. */
        hold_exit(p, e, exit_code_raw, ppid, comm, time_ns, PROCS_EXIT_WAIT_NS);
        return;
    }
    if (e && e->known) { /* its connections have closed: everything it said is in */
        procs_report_exit(p, e, tgid, &x, who);
        release(p, e);
        return;
    }
    if (!e)
        e = create(p, tgid);
    /* Nobody has named it: its HELLO may still be queued (PROCS_HELLO_WAIT_NS).
     * Until then, and if none comes, it goes by what the kernel says of it. */
    adopt_identity(e, who, comm);
    e->awaiting_hello = true;
    hold_exit(p, e, exit_code_raw, ppid, comm, time_ns, PROCS_HELLO_WAIT_NS);
}

struct proc *procs_mark(struct procs *p, uint32_t tgid)
{
    struct proc *e = procs_find(p, tgid);

    if (!e) {
        e = create(p, tgid);
        set_deadline(p, e, DEADLINE_FORGET, assembler_monotonic_now() + MARK_KEEP_NS);
    }
    return e;
}

void procs_expire(struct procs *p, uint64_t now)
{
    struct list_node *n, *next;

    if (!p)
        return;
    for (n = p->timed.next; n != &p->timed; n = next) {
        struct proc *e = LIST_ENTRY(n, struct proc, timed);
        next = n->next;
        if (e->deadline > now)
            continue;
        /* Handling one entry frees only that one: `next` stays valid. */
        switch (e->deadline_kind) {
        case DEADLINE_EXIT:
            finish_pending(p, e);
            break;
        case DEADLINE_RECHECK:
            settle(p, e, now);
            break;
        case DEADLINE_FORGET:
            release(p, e);
            break;
        case DEADLINE_NONE:
            break;
        }
    }
}

uint64_t procs_next_deadline(const struct procs *p)
{
    uint64_t next = UINT64_MAX;

    if (!p)
        return next;
    for (const struct list_node *n = p->timed.next; n != &p->timed; n = n->next) {
        const struct proc *e = LIST_ENTRY(n, struct proc, timed);
        if (e->deadline < next)
            next = e->deadline;
    }
    return next;
}
