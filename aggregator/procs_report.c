/*
 * procs_report.c - the records about processes, and what /proc/<pid>/stat
 * says about one (see procs.h, procs_private.h).
 *
 * Every record names its process the same way: the program from its shim's
 * HELLO when ulogd met it, else the eBPF input's resolution (`who`), else
 * the kernel's comm. Strings that reach metadata may hold any bytes (argv,
 * a line's text): procs_text() makes them well-formed UTF-8, bytes that are
 * not becoming the text \xNN as the record encoder spells them, because
 * jansson refuses anything else and the record would be lost.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "assembler.h"
#include "procs_private.h"

/* A remembered signal explains an exit by that signal if it came this recently. */
#define SENDER_WINDOW_NS 30000000000ull

/* Who a record is about. */
struct subject {
    const char *name; /* in messages and metadata.program */
    const char *service, *container, *host;
    uint32_t pid, kernel_pid;
    const json_t *context;
};

static const char *nonempty(const char *s)
{
    return s && s[0] ? s : NULL;
}

static void resolve(const struct procs *p, const struct proc *e, uint32_t kernel_pid,
                    const struct proc_identity *who, const char *comm, struct subject *s)
{
    const char *who_program = who ? nonempty(who->program) : NULL;
    const char *who_service = who ? nonempty(who->service) : NULL;
    const char *who_container = who ? nonempty(who->container) : NULL;
    bool known = e && (e->known || e->kernel_named);

    comm = nonempty(comm);
    memset(s, 0, sizeof *s);
    s->name = known && nonempty(e->program) ? e->program
              : who_program                 ? who_program
              : comm                        ? comm
                                            : "unknown";
    s->service = known ? e->service : who_service ? who_service : s->name;
    s->container = known && e->container[0] ? e->container : who_container;
    s->host = known && e->host ? e->host : p->host;
    s->pid = known && e->pid ? e->pid : who && who->pid ? who->pid : kernel_pid;
    s->kernel_pid = kernel_pid;
    s->context = known ? e->context : NULL;
}

static void signal_name(int sig, char out[32])
{
    const char *abbrev = sig > 0 ? sigabbrev_np(sig) : NULL;

    if (abbrev)
        snprintf(out, 32, "SIG%s", abbrev);
    else
        snprintf(out, 32, "signal %d", sig);
}

/* The identity keys every process record has first, then `details` (taken over). */
static void emit(struct procs *p, const struct subject *s, enum ulog_level level,
                 const char *source, const char *event_type, uint64_t time_ns, json_t *details,
                 const char *message, int len)
{
    json_t *metadata = json_pack("{s:o}", "program", procs_text(s->name));

    if (s->pid != s->kernel_pid)
        json_object_set_new(metadata, "host_pid", json_integer(s->kernel_pid));
    json_object_update(metadata, details);
    json_decref(details);
    if (len < 0)
        len = 0;
    struct record record = {
        .time_ns = time_ns,
        .level = level,
        .service = s->service,
        .container = s->container,
        .host = s->host,
        .pid = s->pid,
        .stream = "event",
        .source = source,
        .event_type = event_type,
        .message = message,
        .message_len = (size_t)len,
        .context = s->context,
        .metadata = metadata,
    };
    pipeline_record(p->pipeline, &record);
    json_decref(metadata);
}

void procs_report_exit(struct procs *p, const struct proc *e, uint32_t kernel_pid,
                       const struct proc_exit *x, const struct proc_identity *who)
{
    struct subject s;
    char message[1024], sig_name[32];
    int sig = x->known ? x->raw & 0x7f : 0;
    bool signaled = sig != 0 && sig != 0x7f;
    int status = x->known ? (x->raw >> 8) & 0xff : 0;
    bool core = signaled && (x->raw & 0x80);
    bool oom = e && e->oom;
    bool oom_kill = oom && (signaled || !x->known);
    bool sender = signaled && e && e->sig == sig && e->sender_pid &&
                  assembler_monotonic_now() - e->sig_at <= SENDER_WINDOW_NS;
    uint32_t ppid = x->ppid ? x->ppid : e ? e->ppid : 0;
    enum ulog_level level;
    json_t *metadata = json_object();
    int len;

    resolve(p, e, kernel_pid, who, x->comm, &s);
    signal_name(sig, sig_name);
    if (oom_kill) {
        level = ULOG_CRITICAL;
        len = snprintf(message, sizeof message, "%s (pid %" PRIu32 ") was killed by the OOM killer",
                       s.name, s.pid);
    } else if (signaled) {
        level = ULOG_CRITICAL;
        len = snprintf(message, sizeof message, "%s (pid %" PRIu32 ") was killed by %s", s.name,
                       s.pid, sig_name);
        if (sender && len > 0 && (size_t)len < sizeof message)
            len += snprintf(message + len, sizeof message - (size_t)len,
                            ", sent by %s (pid %" PRIu32 ")",
                            e->sender_comm[0] ? e->sender_comm : "unknown", e->sender_pid);
        if (core && len > 0 && (size_t)len < sizeof message)
            len += snprintf(message + len, sizeof message - (size_t)len, " (core dumped)");
    } else if (x->known) {
        level = status ? ULOG_ERROR : ULOG_INFO;
        len = snprintf(message, sizeof message, "%s (pid %" PRIu32 ") exited with status %d",
                       s.name, s.pid, status);
    } else {
        level = ULOG_WARNING;
        len = snprintf(message, sizeof message, "%s (pid %" PRIu32 ") ended (exit status unknown%s)",
                       s.name, s.pid, p->exact ? "" : " without eBPF");
    }
    if (len >= (int)sizeof message)
        len = sizeof message - 1;

    if (x->known && !signaled)
        json_object_set_new(metadata, "exit_status", json_integer(status));
    if (signaled) {
        json_object_set_new(metadata, "signal", json_integer(sig));
        json_object_set_new(metadata, "signal_name", json_string(sig_name));
        json_object_set_new(metadata, "core_dumped", json_boolean(core));
    }
    if (sender) {
        json_object_set_new(metadata, "sender_pid", json_integer(e->sender_pid));
        json_object_set_new(metadata, "sender_program", procs_text(e->sender_comm));
    }
    if (oom)
        json_object_set_new(metadata, "oom_killed", json_true());
    if (!x->known)
        json_object_set_new(metadata, "status_known", json_false());
    if (x->status_from)
        json_object_set_new(metadata, "status_from", json_string(x->status_from));
    if (ppid)
        json_object_set_new(metadata, "ppid", json_integer(ppid));
    /* Crash context, only where there is a crash to explain. */
    if ((!x->known || status || signaled || oom) && e && e->known) {
        json_object_set_new(metadata, "lines_before_exit", json_integer(e->count));
        json_object_set_new(metadata, "last_lines", procs_ring_json(e));
    }
    emit(p, &s, level, x->status_from || !x->known ? "preload" : "ebpf", "process_exit",
         x->time_ns, metadata, message, len);
}

void procs_report_exec(struct procs *p, const struct proc *e, uint32_t tgid, uint32_t ppid,
                       const char *filename, const char *args, const struct proc_identity *who,
                       uint64_t time_ns)
{
    struct subject s;
    char message[1024];
    const char *name = filename ? filename : "";

    resolve(p, e, tgid, who, NULL, &s);
    int len = snprintf(message, sizeof message, "exec %s%s%s", name, args && args[0] ? " " : "",
                       args ? args : "");
    if (len >= (int)sizeof message)
        len = sizeof message - 1;
    json_t *metadata = json_pack("{s:o, s:o}", "filename", procs_text(name), "args", procs_text(args));
    if (ppid)
        json_object_set_new(metadata, "ppid", json_integer(ppid));
    emit(p, &s, ULOG_INFO, "ebpf", "process_exec", time_ns, metadata, message, len);
}

void procs_report_oom(struct procs *p, const struct proc *e, uint32_t tgid, const char *comm,
                      const struct proc_identity *who, uint64_t time_ns)
{
    struct subject s;
    char message[512];

    resolve(p, e, tgid, who, comm, &s);
    int len = snprintf(message, sizeof message, "%s (pid %" PRIu32 ") was chosen by the OOM killer",
                       s.name, s.pid);
    if (len >= (int)sizeof message)
        len = sizeof message - 1;
    emit(p, &s, ULOG_CRITICAL, "ebpf", "oom_kill", time_ns, json_object(), message, len);
}

void procs_report_signal(struct procs *p, const struct proc *e, uint32_t target, int sig,
                         uint32_t sender, const char *sender_comm,
                         const struct proc_identity *who, uint64_t time_ns)
{
    struct subject s;
    char message[512], sig_name[32];
    const char *sender_name = nonempty(sender_comm) ? sender_comm : "unknown";

    resolve(p, e, target, who, NULL, &s);
    signal_name(sig, sig_name);
    int len = snprintf(message, sizeof message,
                       "%s sent to %s (pid %" PRIu32 ") by %s (pid %" PRIu32 ")", sig_name,
                       s.name, s.pid, sender_name, sender);
    if (len >= (int)sizeof message)
        len = sizeof message - 1;
    json_t *metadata = json_pack("{s:i, s:s, s:I, s:o}", "sig", sig, "signal_name", sig_name,
                                 "sender_pid", (json_int_t)sender, "sender_program",
                                 procs_text(sender_name));
    emit(p, &s, ULOG_WARNING, "ebpf", "signal", time_ns, metadata, message, len);
}

/* The eBPF input's events: a record each; signals and OOM kills are remembered for the exit. */
void procs_exec(struct procs *p, uint32_t tgid, uint32_t ppid, const char *filename,
                const char *args, const struct proc_identity *who, uint64_t time_ns)
{
    struct proc *e = p ? procs_find(p, tgid) : NULL;

    if (!p)
        return;
    if (e && ppid)
        e->ppid = ppid;
    procs_report_exec(p, e, tgid, ppid, filename, args, who, time_ns);
}

void procs_oom(struct procs *p, uint32_t tgid, const char *comm, const struct proc_identity *who,
               uint64_t time_ns)
{
    struct proc *e = p ? procs_find(p, tgid) : NULL;

    if (!p)
        return;
    procs_report_oom(p, e, tgid, comm, who, time_ns);
    if (!tgid)
        return;
    e = procs_mark(p, tgid);
    e->oom = true;
}

void procs_signal(struct procs *p, uint32_t target_tgid, int sig, uint32_t sender_tgid,
                  const char *sender_comm, const struct proc_identity *who, uint64_t time_ns)
{
    struct proc *e = p ? procs_find(p, target_tgid) : NULL;

    if (!p)
        return;
    procs_report_signal(p, e, target_tgid, sig, sender_tgid, sender_comm, who, time_ns);
    if (!target_tgid)
        return;
    e = procs_mark(p, target_tgid);
    e->sig = sig;
    e->sender_pid = sender_tgid;
    snprintf(e->sender_comm, sizeof e->sender_comm, "%s", sender_comm ? sender_comm : "");
    e->sig_at = assembler_monotonic_now();
}

/* Field `n` (counting from 1 as proc(5) does) of a stat line, from field 3 on. */
static const char *stat_field(const char *after_comm, unsigned n)
{
    const char *f = after_comm;

    for (unsigned i = 3; i < n && f; i++) {
        f = strchr(f, ' ');
        if (f)
            f++;
    }
    return f;
}

void procs_read_stat(uint32_t kernel_pid, uint64_t starttime, struct proc_stat *out)
{
    char path[64], buf[2048];
    struct stat owner;
    FILE *f;
    size_t n;

    memset(out, 0, sizeof *out);
    out->state = PROC_GONE;
    snprintf(path, sizeof path, "/proc/%" PRIu32 "/stat", kernel_pid);
    f = fopen(path, "re");
    if (!f)
        return;
    n = fread(buf, 1, sizeof buf - 1, f);
    bool have_owner = fstat(fileno(f), &owner) == 0;
    fclose(f);
    buf[n] = '\0';
    char *open = strchr(buf, '('), *close = strrchr(buf, ')');
    if (!open || !close || close < open || close[1] != ' ')
        return;
    snprintf(out->comm, sizeof out->comm, "%.*s", (int)(close - open - 1), open + 1);
    const char *rest = close + 2;
    const char *ppid = stat_field(rest, 4), *flags = stat_field(rest, 9);
    const char *threads = stat_field(rest, 20), *start = stat_field(rest, 22);
    const char *code = stat_field(rest, 52);
    out->ppid = ppid ? (uint32_t)strtoul(ppid, NULL, 10) : 0;
    out->threads = threads ? (unsigned)strtoul(threads, NULL, 10) : 0;
    out->starttime = start ? strtoull(start, NULL, 10) : 0;
    if (starttime && out->starttime != starttime)
        return; /* the pid was reused: ours is gone */
    /* The kernel writes 0 here for a reader who may not ptrace the process. */
    out->exit_code_known = code && (geteuid() == 0 || (have_owner && owner.st_uid == geteuid()));
    out->exit_code = code ? (int)strtol(code, NULL, 10) : 0;
    /* A leader that ended with pthread_exit() shows Z while its threads run on. */
    if (rest[0] == 'Z' && out->threads <= 1) {
        out->state = PROC_ZOMBIE;
    } else if (rest[0] == 'X' || rest[0] == 'x') {
        out->state = PROC_GONE;
    } else {
        unsigned long pf = flags ? strtoul(flags, NULL, 10) : 0;
        out->state = (pf & 0x4) ? PROC_EXITING : PROC_RUNNING; /* PF_EXITING */
    }
}
