/*
 * procs.h - the process registry: crash context and the records about
 * processes (process_exec, process_exit, oom_kill, signal).
 *
 * One entry per process as ulogd sees it (the kernel pid): who it is (from
 * its shim's HELLO), how many connections it has open, its last lines, and
 * what eBPF said about it (a fatal signal's sender, an OOM kill, an exit
 * that waits for the lines still queued in its socket). When the process
 * ends, one process_exit record says how; an abnormal end carries its last
 * lines, the context a person needs to see why it died.
 *
 * Two sources of truth for an exit. With eBPF (procs_set_exact(true)) the
 * kernel reports the exact status and connection closes say nothing. Without
 * it, the close of a process's last connection makes ulogd look at
 * /proc/<pid>/stat: a process still exiting, or a zombie, shows its status;
 * one its parent has already reaped does not (its record then says the
 * status is unknown). An entry whose process
 * lives on without a connection (it closed its socket, or exec'd a program
 * the shim cannot reach) is looked at again later, so it still gets its
 * record, and is freed with it: the registry never outgrows the processes
 * alive, and is bounded anyway (PROCS_MAX_ENTRIES).
 *
 * One thread (the event loop) calls everything here.
 */
#ifndef ULOGD_PROCS_H
#define ULOGD_PROCS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline.h"
#include "selflog.h"

#define PROCS_DEFAULT_CONTEXT_LINES 20
#define PROCS_MAX_CONTEXT_LINES 1000
/* Each kept line is cut to this many bytes (and marked "truncated"). */
#define PROCS_LINE_CAP 1024
/* Beyond this many entries, the oldest idle ones are forgotten. */
#define PROCS_MAX_ENTRIES 65536
/* How long an exit reported by eBPF waits for the process's last lines. */
#define PROCS_EXIT_WAIT_NS 2000000000u
/*
 * How long the exit of a process ulogd does not know waits for its shim's
 * HELLO. A short-lived process can connect, write and end before ulogd has
 * read its connection: the kernel's word on the exit then overtakes the
 * HELLO queued in the socket, and without this wait the process would get
 * two exit records, one under the kernel's name for it and one under its own.
 */
#define PROCS_HELLO_WAIT_NS 1000000000u

struct procs;

/* Records go through pipeline_record; ulogd's own notes through selflog. */
struct procs *procs_new(struct pipeline *pipeline, struct selflog *selflog, const char *host,
                        unsigned context_lines);
void procs_free(struct procs *p);
/* A reload: entries take the new count at their next line. */
void procs_set_context_lines(struct procs *p, unsigned n);
/* Lower the bound on entries (tests); 0 restores PROCS_MAX_ENTRIES. */
void procs_set_max_entries(struct procs *p, size_t max);
size_t procs_count(const struct procs *p);

/* From connection.c. */
void procs_connected(struct procs *p, uint32_t kernel_pid, uint32_t pid, const char *program,
                     const char *service, const char *container, const char *host,
                     const json_t *context);
void procs_line(struct procs *p, uint32_t kernel_pid, const char *bytes, size_t len,
                bool is_stderr, uint64_t time_ns);
void procs_disconnected(struct procs *p, uint32_t kernel_pid);
/* Its connection learnt a better name (the compose service, from the Docker Engine). */
void procs_renamed(struct procs *p, uint32_t kernel_pid, const char *service,
                   const json_t *context);

/* From the eBPF input. `who` (or any of its strings) may be NULL. */
void procs_set_exact(struct procs *p, bool ebpf_active);
struct proc_identity {
    const char *program;
    const char *service;
    const char *container;
    uint32_t pid; /* as the process sees itself (in its pid namespace); 0: the kernel's */
};
void procs_exec(struct procs *p, uint32_t tgid, uint32_t ppid, const char *filename,
                const char *args, const struct proc_identity *who, uint64_t time_ns);
/* exit_code_raw in waitpid form: status << 8, or the signal | 0x80 for a core. */
void procs_exit(struct procs *p, uint32_t tgid, uint32_t ppid, int exit_code_raw,
                const char *comm, const struct proc_identity *who, uint64_t time_ns);
void procs_oom(struct procs *p, uint32_t tgid, const char *comm, const struct proc_identity *who,
               uint64_t time_ns);
void procs_signal(struct procs *p, uint32_t target_tgid, int sig, uint32_t sender_tgid,
                  const char *sender_comm, const struct proc_identity *who, uint64_t time_ns);

/* Deferred work that is due at `now_mono_ns` (CLOCK_MONOTONIC, assembler_monotonic_now()). */
void procs_expire(struct procs *p, uint64_t now_mono_ns);
/* When procs_expire next has work; UINT64_MAX: never. */
uint64_t procs_next_deadline(const struct procs *p);

#endif
