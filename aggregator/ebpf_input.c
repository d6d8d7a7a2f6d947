/*
 * ebpf_input.c - process events and captured writes from eBPF (see ebpf_input.h).
 *
 * This file owns the loader's lifetime for ulogd, the scope and capture
 * lists it is given (pids and program names from the `ebpf:` section, the
 * shim's processes as they connect, every process for scope: all), the
 * dispatch of events to the process registry, and one pseudo-connection
 * per captured process. Who a process is comes from ebpf_identity.c.
 *
 * The loader follows scope and capture to children in the kernel, but not
 * to processes that already run: those are found once in /proc at start
 * (scope all, and capture by program name). Capture by name begins at the
 * exec event, so what a program writes before that event is read is missed.
 */
#include "ebpf_input.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "assembler.h"
#include "ebpf_identity.h"
#include "procevents.h"
#include "selflog.h"
#include "ulog/wire.h"

/* Captured processes with a pseudo-connection at once; the rest are counted as lost. */
#define MAX_CAPTURED 1024

struct captured {
    uint32_t tgid;
    struct connection *conn;
};

struct ebpf_input {
    struct procevents *events;
    struct procs *procs;
    struct connection_context *connections;
    struct ebpf_identities *ids;
    enum ebpf_scope scope;
    unsigned capture_bytes;
    bool capturing;                /* the write capture is attached */
    char **programs;               /* names whose exec starts a capture */
    size_t program_count;
    struct captured captured[MAX_CAPTURED];
    size_t captured_count;
    uint64_t events_taken;         /* from the ring buffer */
    uint64_t writes_dropped;       /* no room for another captured process */
    uint64_t writes_truncated;     /* longer than capture_bytes */
    uint64_t lost_reported;        /* the loss already reported */
    uint64_t lost_reported_at;     /* monotonic ns; 0: never */
};

/* ---- lists from the configuration ------------------------------------------ */

static void set_programs(struct ebpf_input *in, const struct ebpf_settings *e)
{
    for (size_t i = 0; i < in->program_count; i++)
        free(in->programs[i]);
    free(in->programs);
    in->programs = e->capture_program_count ? must_calloc(e->capture_program_count, sizeof(char *))
                                            : NULL;
    for (size_t i = 0; i < e->capture_program_count; i++)
        in->programs[i] = must_strdup(e->capture_programs[i]);
    in->program_count = e->capture_program_count;
}

/* A configured name matches the executable's base name, or the comm (cut to 15 bytes). */
static bool program_listed(const struct ebpf_input *in, const char *base, const char *comm)
{
    for (size_t i = 0; i < in->program_count; i++) {
        const char *name = in->programs[i];
        if (base && strcmp(base, name) == 0)
            return true;
        if (comm && comm[0] && strncmp(comm, name, PROCEVENTS_COMM_LEN - 1) == 0 &&
            (strlen(name) >= PROCEVENTS_COMM_LEN - 1 || strcmp(comm, name) == 0))
            return true;
    }
    return false;
}

static void capture(struct ebpf_input *in, uint32_t tgid)
{
    /* A process whose output is captured is one whose exit matters too. */
    procevents_capture(in->events, tgid, true);
    procevents_watch(in->events, tgid);
}

/* One pass over /proc: every process for scope all, and those the capture names. */
static void scan_running(struct ebpf_input *in)
{
    DIR *dir;
    struct dirent *d;

    if (in->scope != EBPF_SCOPE_ALL && !(in->capturing && in->program_count))
        return;
    if (!(dir = opendir("/proc")))
        return;
    while ((d = readdir(dir))) {
        char *end;
        unsigned long tgid = strtoul(d->d_name, &end, 10);
        if (!isdigit((unsigned char)d->d_name[0]) || *end || tgid == 0 || tgid > UINT32_MAX)
            continue;
        if (in->scope == EBPF_SCOPE_ALL)
            procevents_watch(in->events, (uint32_t)tgid);
        /* By its executable's base name. */
        if (in->capturing && in->program_count &&
            program_listed(in, ebpf_identity_of(in->ids, (uint32_t)tgid, 0, "")->program, NULL))
            capture(in, (uint32_t)tgid);
    }
    closedir(dir);
}

/* ---- captured writes ------------------------------------------------------- */

static struct captured *find_captured(struct ebpf_input *in, uint32_t tgid)
{
    for (size_t i = 0; i < in->captured_count; i++)
        if (in->captured[i].tgid == tgid)
            return &in->captured[i];
    return NULL;
}

/* Its partial lines go out now: it exited, or became another program. */
static void end_capture(struct ebpf_input *in, uint32_t tgid)
{
    struct captured *c = find_captured(in, tgid);

    if (!c)
        return;
    connection_destroy(c->conn);
    *c = in->captured[--in->captured_count];
}

/*
 * A connection that nobody connected: the shim's identity fields, filled
 * from what eBPF knows, so its lines take the shim's path through the
 * assembler, multiline and the pipeline. Its fd is -1 (closing it is a no-op).
 */
static struct connection *open_capture(struct ebpf_input *in, const struct procevent *ev)
{
    struct connection_context *ctx = in->connections;
    const struct ebpf_identity *who;
    struct connection *c;

    if (in->captured_count == MAX_CAPTURED)
        return NULL;
    who = ebpf_identity_of(in->ids, ev->tgid, ev->cgroup_id, ev->comm);
    c = connection_new(ctx, -1);
    ctx->stats.accepted--; /* the count is of shim connections */
    c->greeted = true;
    c->source = "ebpf";
    c->kernel_pid = ev->tgid;
    c->pid = ev->ns_tgid ? ev->ns_tgid : ev->tgid;
    c->program = must_strdup(who->program);
    c->service = must_strdup(who->program);
    c->host = must_strdup(ctx->host);
    memcpy(c->container, who->container, CONTAINER_ID_SIZE);
    /* As greet() does for the shim: the registry keeps its last lines for a crash,
     * and connection_destroy() tells it of the end (procs_disconnected). */
    procs_connected(in->procs, c->kernel_pid, c->pid, c->program, c->service, c->container,
                    c->host, NULL);
    in->captured[in->captured_count++] = (struct captured){.tgid = ev->tgid, .conn = c};
    return c;
}

static void on_write(struct ebpf_input *in, const struct procevent *ev, uint64_t time_ns)
{
    struct captured *known = find_captured(in, ev->tgid);
    struct connection *c = known ? known->conn : open_capture(in, ev);
    uint32_t n = ev->write.captured;

    if (!c) {
        in->writes_dropped++;
        return;
    }
    if (n > sizeof ev->write.data)
        n = sizeof ev->write.data;
    struct chunk chunk = {
        .time_ns = time_ns,
        .pid = c->pid,
        .kernel_pid = ev->tgid,
        .tid = ev->write.tid,
        .stream = ev->write.fd == 2 ? ULOG_STREAM_STDERR : ULOG_STREAM_STDOUT,
        .bytes = (const unsigned char *)ev->write.data,
        .len = n,
    };
    assembler_feed(in->connections->assembler, &c->lines, &chunk);
    /* The rest of a long write is gone: end the line where the capture ended,
     * rather than glue the next write to it. */
    if (n < ev->write.len || (ev->flags & PROCEVENT_F_TRUNCATED)) {
        in->writes_truncated++;
        if (n && ev->write.data[n - 1] != '\n') {
            chunk.bytes = (const unsigned char *)"\n";
            chunk.len = 1;
            assembler_feed(in->connections->assembler, &c->lines, &chunk);
        }
    }
}

/* ---- events ---------------------------------------------------------------- */

/* A copy that is surely NUL-terminated. */
#define TEXT(dst, src)                                                                      \
    char dst[sizeof(src) + 1];                                                              \
    memcpy(dst, src, sizeof(src));                                                          \
    dst[sizeof(src)] = '\0'

static struct proc_identity identity(const struct ebpf_identity *who, const struct procevent *ev)
{
    return (struct proc_identity){
        .program = who->program,
        .service = who->program,
        .container = who->container[0] ? who->container : NULL,
        .pid = ev->ns_tgid, /* records give the pid the process sees, as the shim's do */
    };
}

static void on_event(void *ctx, const struct procevent *ev, uint64_t time_ns)
{
    struct ebpf_input *in = ctx;
    const struct ebpf_identity *who;
    struct proc_identity id;
    TEXT(comm, ev->comm);

    in->events_taken++;
    switch (ev->type) {
    case PROCEVENT_EXEC: {
        TEXT(filename, ev->exec.filename);
        TEXT(args, ev->exec.args);
        end_capture(in, ev->tgid);
        who = ebpf_identity_exec(in->ids, ev->tgid, ev->cgroup_id, filename, comm);
        if (in->capturing && program_listed(in, who->program, comm))
            capture(in, ev->tgid);
        id = identity(who, ev);
        procs_exec(in->procs, ev->tgid, ev->ppid, filename, args, &id, time_ns);
        break;
    }
    case PROCEVENT_EXIT:
        end_capture(in, ev->tgid); /* its last lines first */
        who = ebpf_identity_at_exit(in->ids, ev->tgid, ev->cgroup_id, comm);
        id = identity(who, ev);
        procs_exit(in->procs, ev->tgid, ev->ppid, ev->exit.code, comm, &id, time_ns);
        ebpf_identity_forget(in->ids, ev->tgid);
        break;
    case PROCEVENT_OOM:
        who = ebpf_identity_of(in->ids, ev->tgid, ev->cgroup_id, comm);
        id = identity(who, ev);
        procs_oom(in->procs, ev->tgid, comm, &id, time_ns);
        break;
    case PROCEVENT_SIGNAL: {
        TEXT(sender, ev->signal.sender_comm);
        who = ebpf_identity_of(in->ids, ev->tgid, ev->cgroup_id, comm);
        id = identity(who, ev);
        procs_signal(in->procs, ev->tgid, (int)ev->signal.sig, ev->signal.sender_tgid, sender,
                     &id, time_ns);
        break;
    }
    case PROCEVENT_WRITE:
        on_write(in, ev, time_ns);
        break;
    default: /* FORK: scope and capture follow children in the kernel */
        break;
    }
}

/* ---- lost events ----------------------------------------------------------- */

uint64_t ebpf_input_events(const struct ebpf_input *in)
{
    return in ? in->events_taken : 0;
}

uint64_t ebpf_input_lost(const struct ebpf_input *in)
{
    return in ? procevents_lost(in->events) + in->writes_dropped : 0;
}

uint64_t ebpf_input_housekeeping(struct ebpf_input *in, uint64_t now)
{
    if (!in)
        return UINT64_MAX;
    uint64_t lost = ebpf_input_lost(in);
    if (lost <= in->lost_reported)
        return UINT64_MAX;
    uint64_t due = in->lost_reported_at ? in->lost_reported_at + EBPF_LOST_REPORT_INTERVAL_NS : 0;
    if (now < due)
        return due;
    uint64_t count = lost - in->lost_reported;
    json_t *metadata = json_pack("{s:I, s:I, s:I, s:I, s:I}", "lost", (json_int_t)count,
                                 "lost_total", (json_int_t)lost, "lost_writes",
                                 (json_int_t)procevents_lost_writes(in->events),
                                 "writes_without_room", (json_int_t)in->writes_dropped,
                                 "writes_truncated", (json_int_t)in->writes_truncated);
    selflog_emit(in->connections->selflog, ULOG_WARNING, "ebpf_lost", metadata,
                 "%" PRIu64 " eBPF events were lost (the ring buffer was full, or too many "
                 "processes were captured at once); %" PRIu64 " since the start",
                 count, lost);
    in->lost_reported = lost;
    in->lost_reported_at = now;
    return UINT64_MAX;
}

/* ---- the input --------------------------------------------------------------- */

struct ebpf_input *ebpf_input_open(const struct ulogd_config *config, struct procs *procs,
                                   struct connection_context *connections, char *why,
                                   size_t why_size)
{
    const struct ebpf_settings *e = &config->ebpf;
    struct procevents_options options = {
        .scope_containers = e->scope == EBPF_SCOPE_CONTAINERS,
        .capture_writes = e->capture_program_count || e->capture_pid_count,
        .capture_bytes = e->capture_bytes,
        .report_forks = false,
    };
    struct procevents *events;

    if (procevents_open(&events, &options, why, why_size) != 0)
        return NULL;
    struct ebpf_input *in = must_calloc(1, sizeof *in);
    in->events = events;
    in->procs = procs;
    in->connections = connections;
    in->ids = ebpf_identities_new();
    in->scope = e->scope;
    in->capture_bytes = e->capture_bytes;
    in->capturing = options.capture_writes;
    set_programs(in, e);
    for (size_t i = 0; i < e->capture_pid_count; i++)
        capture(in, e->capture_pids[i]);
    scan_running(in);
    return in;
}

int ebpf_input_start(struct ebpf_input **out, const struct ulogd_config *config,
                     struct procs *procs, struct connection_context *connections, char *err,
                     size_t err_size)
{
    char why[512];

    *out = NULL;
    if (config->ebpf.mode == EBPF_MODE_OFF) {
        procs_set_exact(procs, false);
        return 0;
    }
    *out = ebpf_input_open(config, procs, connections, why, sizeof why);
    procs_set_exact(procs, *out != NULL);
    if (*out)
        return 0;
    if (config->ebpf.mode == EBPF_MODE_ON) {
        snprintf(err, err_size, "eBPF is required (ebpf.mode on, or ULOG_EBPF=on): %s", why);
        return -1;
    }
    selflog_emit(connections->selflog, ULOG_WARNING, "ebpf_unavailable",
                 json_pack("{s:s, s:s}", "reason", why, "mode", "auto"),
                 "%s. Exits are still told, and carry their last lines, for programs under "
                 "the shim; set ULOG_EBPF=off to stop trying",
                 why);
    return 0;
}

int ebpf_input_fd(const struct ebpf_input *in)
{
    return in ? procevents_fd(in->events) : -1;
}

void ebpf_input_read(struct ebpf_input *in)
{
    if (!in)
        return;
    procevents_consume(in->events, on_event, in);
    if (ebpf_input_lost(in) > in->lost_reported)
        ebpf_input_housekeeping(in, assembler_monotonic_now());
}

void ebpf_input_watch(struct ebpf_input *in, uint32_t kernel_pid)
{
    if (!in || !kernel_pid)
        return;
    procevents_watch(in->events, kernel_pid);
    /* A process that ended before ulogd read its HELLO has had its exit
     * event already, which is what takes a pid out of scope: left in, its
     * pid's next owner (pids are reused) would be watched. Dying after this
     * check is fine: the exit event removes it. */
    if (kill((pid_t)kernel_pid, 0) != 0 && errno == ESRCH)
        procevents_unwatch(in->events, kernel_pid);
}

bool ebpf_input_reload(struct ebpf_input *in, const struct ulogd_config *config)
{
    const struct ebpf_settings *e = &config->ebpf;
    bool wants_capture = e->capture_program_count || e->capture_pid_count;

    if (!in)
        return e->mode != EBPF_MODE_ON;
    if (in->capturing) {
        set_programs(in, e);
        for (size_t i = 0; i < e->capture_pid_count; i++)
            capture(in, e->capture_pids[i]);
    }
    return e->mode != EBPF_MODE_OFF && e->scope == in->scope &&
           (!wants_capture || (in->capturing && e->capture_bytes == in->capture_bytes));
}

void ebpf_input_close(struct ebpf_input *in)
{
    if (!in)
        return;
    procevents_consume(in->events, on_event, in);
    while (in->captured_count)
        end_capture(in, in->captured[0].tgid);
    ebpf_input_housekeeping(in, UINT64_MAX);
    procevents_close(in->events);
    ebpf_identities_free(in->ids);
    for (size_t i = 0; i < in->program_count; i++)
        free(in->programs[i]);
    free(in->programs);
    free(in);
}
