/*
 * procs_private.h - what procs.c (the registry), procs_lines.c (the crash
 * context) and procs_report.c (the records and /proc/<pid>/stat) share, and
 * nothing else may use.
 *
 * The registry decides *when* a process's story ends; the report side
 * decides *what* the record says. Keeping the wording, levels and metadata
 * in one file makes the record shapes easy to check against the docs.
 */
#ifndef ULOGD_PROCS_PRIVATE_H
#define ULOGD_PROCS_PRIVATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "container.h"
#include "list.h"
#include "procs.h"

#define PROCS_COMM_SIZE 17

/* One kept line; its buffer is reused for the next line in the slot. */
struct proc_line {
    char *bytes;
    uint32_t len, cap;
    bool is_stderr;
    bool cut; /* longer than PROCS_LINE_CAP: only its head is kept */
};

enum proc_deadline {
    DEADLINE_NONE,
    DEADLINE_EXIT,    /* an eBPF exit waits for the last lines */
    DEADLINE_RECHECK, /* no connection left: look at /proc again */
    DEADLINE_FORGET,  /* only a signal or OOM mark: drop it if no exit comes */
};

struct proc {
    struct proc *hash_next;
    struct list_node order; /* creation order: the oldest idle one is evicted first */
    struct list_node timed; /* on procs.timed while deadline_kind != DEADLINE_NONE */
    uint32_t kernel_pid, pid, ppid;
    uint64_t starttime; /* /proc/<pid>/stat field 22: tells a reused pid apart */
    bool known;         /* identity from a HELLO */
    bool kernel_named;  /* identity from eBPF, for an exit no HELLO has named (yet) */
    char *program, *service, *host;
    char container[CONTAINER_ID_SIZE];
    json_t *context;
    unsigned connections;
    bool reported; /* its exit record is written: only counting connections down */
    /* Crash context: a ring of the last lines, oldest at ring[start]. */
    struct proc_line *ring;
    unsigned ring_size, start, count;
    /* The last fatal signal another process sent it. */
    int sig;
    uint32_t sender_pid;
    char sender_comm[PROCS_COMM_SIZE];
    uint64_t sig_at; /* monotonic */
    bool oom;
    /* An exit eBPF reported while connections were open, or before any HELLO. */
    bool exit_pending;
    bool awaiting_hello; /* that exit, of a process no shim has named (yet) */
    int exit_raw;
    uint32_t exit_ppid;
    uint64_t exit_time_ns;
    char comm[PROCS_COMM_SIZE];
    enum proc_deadline deadline_kind;
    uint64_t deadline;
    unsigned polls;
};

struct procs {
    struct pipeline *pipeline;
    struct selflog *selflog;
    const char *host;
    unsigned context_lines;
    bool exact;
    struct proc **buckets;
    size_t bucket_count, count, max_entries;
    struct list_node order;
    struct list_node timed;
    bool evict_reported;
};

/* How an exit is known: exactly (eBPF, or a zombie in /proc) or not at all. */
struct proc_exit {
    bool known;
    int raw;           /* waitpid form, when known */
    uint32_t ppid;     /* 0: unknown */
    uint64_t time_ns;  /* 0: now */
    const char *comm;  /* the kernel's name for it, or NULL */
    const char *status_from; /* "proc" when read from /proc/<pid>/stat; NULL */
};

/* The registry (procs.c): the entry of a kernel pid, or NULL. */
struct proc *procs_find(const struct procs *p, uint32_t pid);
/* The entry a signal or OOM mark goes on; one made for it is forgotten if no exit comes. */
struct proc *procs_mark(struct procs *p, uint32_t tgid);

/* The crash context (procs_lines.c): keep a line in a ring of `size` slots. */
void procs_ring_push(struct proc *e, unsigned size, const char *bytes, size_t len,
                     bool is_stderr);
void procs_ring_free(struct proc *e);
/* The kept lines, oldest first: [{"stream", "message"[, "truncated"]}]. */
json_t *procs_ring_json(const struct proc *e);
/* A JSON string of any bytes: ill-formed UTF-8 becomes the text \xNN. */
json_t *procs_text_value(const char *s, size_t len);
json_t *procs_text(const char *s); /* NULL: "" */

/* The records (procs_report.c). `e` may be NULL: a process ulogd never met. */
void procs_report_exit(struct procs *p, const struct proc *e, uint32_t kernel_pid,
                       const struct proc_exit *x, const struct proc_identity *who);
void procs_report_exec(struct procs *p, const struct proc *e, uint32_t tgid, uint32_t ppid,
                       const char *filename, const char *args, const struct proc_identity *who,
                       uint64_t time_ns);
void procs_report_oom(struct procs *p, const struct proc *e, uint32_t tgid, const char *comm,
                      const struct proc_identity *who, uint64_t time_ns);
void procs_report_signal(struct procs *p, const struct proc *e, uint32_t target, int sig,
                         uint32_t sender, const char *sender_comm,
                         const struct proc_identity *who, uint64_t time_ns);

/* What /proc/<pid>/stat says about a process. */
enum proc_state {
    PROC_GONE,    /* no such process (reaped), or its pid now names another one */
    PROC_ZOMBIE,  /* ended, not yet reaped: the status is there */
    PROC_EXITING, /* in the middle of exiting */
    PROC_RUNNING,
};
struct proc_stat {
    enum proc_state state;
    uint32_t ppid;
    unsigned threads;
    uint64_t starttime;
    /* Set by do_exit() before it closes the files, so shown while exiting too. */
    bool exit_code_known; /* the kernel shows it only to its owner (or root) */
    int exit_code;
    char comm[PROCS_COMM_SIZE];
};
/* `starttime` 0 accepts any process; else a different one counts as gone. */
void procs_read_stat(uint32_t kernel_pid, uint64_t starttime, struct proc_stat *out);

#endif
