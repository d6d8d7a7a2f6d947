/*
 * ebpf_input.h - process events and captured writes from eBPF, into ulogd.
 *
 * The input owns the eBPF loader (ebpf/procevents.h) for ulogd: it opens it
 * with the `ebpf:` settings, hands each event to the process registry
 * (procs.h: exec, exit, OOM kill, fatal signal) with the process's identity
 * (program, service, container: resolved at exec, when /proc still shows
 * them, and remembered for its exit), and turns captured writes into lines
 * of a pseudo-connection per process, so they go through the line
 * assembler, multiline and the pipeline exactly as the shim's lines do,
 * with source "ebpf". Events the ring buffer lost are reported in ulogd's
 * own log, at most every 10 s.
 *
 * Every function takes NULL for "no eBPF", so callers need not ask.
 */
#ifndef ULOGD_EBPF_INPUT_H
#define ULOGD_EBPF_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "connection.h"
#include "procs.h"

/* Lost events are reported at most this often. */
#define EBPF_LOST_REPORT_INTERVAL_NS 10000000000u

struct ebpf_input;

/*
 * The mode decides (config->ebpf.mode): off opens nothing; auto opens it or,
 * when it cannot, says why once in ulogd's own log (WARNING ebpf_unavailable)
 * and goes on without; on refuses: -1 with `err`, and ulogd does not start.
 * 0 otherwise, with *out NULL when eBPF is not used. Tells `procs` whether
 * exits are exact (procs_set_exact).
 */
int ebpf_input_start(struct ebpf_input **out, const struct ulogd_config *config,
                     struct procs *procs, struct connection_context *connections, char *err,
                     size_t err_size);

/* Open regardless of the mode; NULL with `why` (the reason and what to do). */
struct ebpf_input *ebpf_input_open(const struct ulogd_config *config, struct procs *procs,
                                   struct connection_context *connections, char *why,
                                   size_t why_size);

/* Readable when events wait (for epoll); -1 for NULL. */
int ebpf_input_fd(const struct ebpf_input *in);

/* Drain every event ready now. */
void ebpf_input_read(struct ebpf_input *in);

/* A shim connection's process (the kernel's pid): in scope from now on. */
void ebpf_input_watch(struct ebpf_input *in, uint32_t kernel_pid);

/* Report lost events when due; returns when next due (monotonic ns, UINT64_MAX: never). */
uint64_t ebpf_input_housekeeping(struct ebpf_input *in, uint64_t now_mono_ns);

/*
 * A reload: the program names to capture (and new pids) take effect now;
 * false when something changed that needs a restart (mode, scope,
 * capture_bytes, or capture asked for while none was set up).
 */
bool ebpf_input_reload(struct ebpf_input *in, const struct ulogd_config *config);

/* Events taken since the start (0 without eBPF). */
uint64_t ebpf_input_events(const struct ebpf_input *in);

/* Events lost since the start (ring buffer full, or no room for a captured process). */
uint64_t ebpf_input_lost(const struct ebpf_input *in);

/* Drain, flush captured partial lines, detach. */
void ebpf_input_close(struct ebpf_input *in);

#endif
