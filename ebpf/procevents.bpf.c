// SPDX-License-Identifier: GPL-2.0
/* procevents.bpf.c - process events for ulogd: exec, exit (of a whole
 * thread group), fork, OOM kill, fatal signals sent by another process, and
 * (opt-in) writes to stdout/stderr.
 *
 * Every hook exists twice: as a BTF tracepoint (tp_btf/…, preferred) and as
 * a raw tracepoint (raw_tp/…, the loader's fallback where tp_btf is refused).
 * Both read kernel memory only through CO-RE reads, so one body serves both.
 *
 * Scope: a process is reported when its tgid is in `watched` (user space
 * adds the shim-connected ones; children follow here, at fork) or, with
 * scope_containers, when it lives in a pid namespace below the root one.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "procevents.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the loader before load (read-only afterwards: the verifier prunes
 * what they switch off). */
const volatile bool scope_containers = false;
const volatile bool report_forks = false;
const volatile __u32 capture_bytes = PROCEVENTS_WRITE_MAX;
const volatile bool exit_has_group_dead = false;  /* sched_process_exit(task, group_dead) */
const volatile __u64 fatal_signals = PROCEVENTS_FATAL_SIGNALS;

#define SIGNAL_GROUP_EXIT 0x00000004  /* include/linux/sched/signal.h */
#define MAX_PID_NS_LEVEL  32
#define SI_USER   0
#define SI_KERNEL 0x80

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PROCEVENTS_RINGBUF_SIZE);
} events SEC(".maps");

/* tgids in scope (value unused). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PROCEVENTS_MAX_WATCHED);
	__type(key, __u32);
	__type(value, __u8);
} watched SEC(".maps");

/* Write capture allow-lists: by tgid (followed at fork) and by cgroup v2 id. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} capture_tgids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u8);
} capture_cgroups SEC(".maps");

/* [0] events lost (all types), [1] of which WRITE. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

/* A write(v) seen at sys_enter, waiting for its sys_exit (by thread id). */
struct pending_write {
	__u64 buf;      /* write: the buffer; writev: the iovec array */
	__u32 fd;
	__u32 iovcnt;   /* 0 for write */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, struct pending_write);
} pending SEC(".maps");

/* Where events are built before bpf_ringbuf_output copies the part that
 * matters: one slot per event type and CPU, so that a signal generated in
 * interrupt context cannot scribble over an exec being built. The padding
 * keeps writev's variable offsets provably inside the value. */
struct scratch {
	struct procevent ev;
	char pad[PROCEVENTS_WRITE_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PROCEVENT_WRITE + 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

static __always_inline struct procevent *slot(__u32 type)
{
	struct scratch *s = bpf_map_lookup_elem(&scratch, &type);
	return s ? &s->ev : NULL;
}

static __always_inline void count_lost(__u32 idx)
{
	__u64 *n = bpf_map_lookup_elem(&lost, &idx);
	if (n)
		*n += 1;
}

static __always_inline void emit(struct procevent *e, __u32 size)
{
	e->size = size;
	if (bpf_ringbuf_output(&events, e, size, 0)) {
		count_lost(0);
		if (e->type == PROCEVENT_WRITE)
			count_lost(1);
	}
}

/* The struct pid of t's thread group leader: its level and its number there. */
static __always_inline void pid_ns_of(struct task_struct *t, __u32 *level, __u32 *ns_tgid)
{
	struct pid *pid = BPF_CORE_READ(t, group_leader, thread_pid);
	unsigned int lvl = BPF_CORE_READ(pid, level);
	struct upid up = {};

	if (lvl > MAX_PID_NS_LEVEL)
		lvl = 0;
	bpf_probe_read_kernel(&up, sizeof(up),
	                      (void *)pid + bpf_core_field_offset(struct pid, numbers) +
	                              lvl * bpf_core_type_size(struct upid));
	*level = lvl;
	*ns_tgid = up.nr;
}

/* Fills the common part of e for t, if t is in scope (or always, with
 * force). False when out of scope. */
static __always_inline bool fill_scoped(struct procevent *e, struct task_struct *t, __u32 type,
                                        bool force)
{
	__u32 tgid = BPF_CORE_READ(t, tgid);
	__u32 level = 0, ns_tgid = 0;
	bool w;

	pid_ns_of(t, &level, &ns_tgid);
	w = bpf_map_lookup_elem(&watched, &tgid) != NULL;
	if (!force && !w && !(scope_containers && level > 0))
		return false;
	e->ktime_ns = bpf_ktime_get_ns();
	e->type = type;
	e->flags = (w ? PROCEVENT_F_WATCHED : 0) | (level > 0 ? PROCEVENT_F_CONTAINER : 0);
	e->tgid = tgid;
	e->ppid = BPF_CORE_READ(t, real_parent, tgid);
	e->uid = BPF_CORE_READ(t, real_cred, uid.val);
	e->ns_tgid = ns_tgid;
	e->pidns_level = level;
	e->cgroup_id = BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id);
	BPF_CORE_READ_STR_INTO(&e->comm, t, comm);
	return true;
}

static __always_inline bool fill(struct procevent *e, struct task_struct *t, __u32 type)
{
	return fill_scoped(e, t, type, false);
}

/* ------------------------------------------------------------------ exec */

static __always_inline int on_exec(struct task_struct *t, pid_t old_pid, struct linux_binprm *bprm)
{
	struct procevent *e = slot(PROCEVENT_EXEC);
	unsigned long start, end, n;

	if (!e || !fill(e, t, PROCEVENT_EXEC))
		return 0;
	e->exec.old_tid = old_pid;
	bpf_probe_read_kernel_str(e->exec.filename, sizeof(e->exec.filename),
	                          BPF_CORE_READ(bprm, filename));
	start = BPF_CORE_READ(t, mm, arg_start);
	end = BPF_CORE_READ(t, mm, arg_end);
	n = end > start ? end - start : 0;
	e->exec.args_size = n;
	if (n > PROCEVENTS_ARGS_LEN - 1) {
		n = PROCEVENTS_ARGS_LEN - 1;
		e->flags |= PROCEVENT_F_TRUNCATED;
	}
	e->exec.args[0] = 0;
	if (n > 0 && bpf_probe_read_user(e->exec.args, n, (void *)start) == 0)
		e->exec.args[n & (PROCEVENTS_ARGS_LEN - 1)] = 0;
	else
		e->exec.args[0] = 0;
	emit(e, PROCEVENT_HEADER_SIZE + sizeof(e->exec));
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(exec_btf, struct task_struct *t, pid_t old_pid, struct linux_binprm *bprm)
{
	return on_exec(t, old_pid, bprm);
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(exec_raw, struct task_struct *t, pid_t old_pid, struct linux_binprm *bprm)
{
	return on_exec(t, old_pid, bprm);
}

/* ------------------------------------------------------------------ exit */

static __always_inline int on_exit(struct task_struct *t, bool group_dead)
{
	struct procevent *e;
	__u32 tgid;
	int code;

	if (!group_dead)
		return 0;
	tgid = BPF_CORE_READ(t, tgid);
	e = slot(PROCEVENT_EXIT);
	if (e && fill(e, t, PROCEVENT_EXIT)) {
		/* What wait() will report: the group's code when the group was
		 * told to exit (exit_group, fatal signal), else the leader's. */
		if (BPF_CORE_READ(t, signal, flags) & SIGNAL_GROUP_EXIT)
			code = BPF_CORE_READ(t, signal, group_exit_code);
		else
			code = BPF_CORE_READ(t, group_leader, exit_code);
		e->exit.code = code;
		e->exit.pad = 0;
		emit(e, PROCEVENT_HEADER_SIZE + sizeof(e->exit));
	}
	bpf_map_delete_elem(&watched, &tgid);
	bpf_map_delete_elem(&capture_tgids, &tgid);
	return 0;
}

static __always_inline bool last_thread(struct task_struct *t)
{
	return BPF_CORE_READ(t, signal, live.counter) == 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(exit_btf, struct task_struct *t)
{
	bool group_dead;

	if (exit_has_group_dead)
		group_dead = (bool)ctx[1];
	else
		group_dead = last_thread(t);
	return on_exit(t, group_dead);
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(exit_raw, struct task_struct *t)
{
	bool group_dead;

	if (exit_has_group_dead)
		group_dead = (bool)ctx[1];
	else
		group_dead = last_thread(t);
	return on_exit(t, group_dead);
}

/* ------------------------------------------------------------------ fork */

static __always_inline int on_fork(struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	__u32 ctgid = BPF_CORE_READ(child, tgid);
	struct procevent *e;
	__u8 one = 1;

	if (ptgid == ctgid)  /* a thread */
		return 0;
	if (bpf_map_lookup_elem(&watched, &ptgid))
		bpf_map_update_elem(&watched, &ctgid, &one, BPF_ANY);
	if (bpf_map_lookup_elem(&capture_tgids, &ptgid))
		bpf_map_update_elem(&capture_tgids, &ctgid, &one, BPF_ANY);
	if (!report_forks)
		return 0;
	e = slot(PROCEVENT_FORK);
	if (!e || !fill(e, parent, PROCEVENT_FORK))
		return 0;
	e->fork.child_tgid = ctgid;
	e->fork.pad = 0;
	emit(e, PROCEVENT_HEADER_SIZE + sizeof(e->fork));
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(fork_btf, struct task_struct *parent, struct task_struct *child)
{
	return on_fork(parent, child);
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(fork_raw, struct task_struct *parent, struct task_struct *child)
{
	return on_fork(parent, child);
}

/* ------------------------------------------------------------------- OOM */

static __always_inline int on_oom(struct task_struct *victim)
{
	struct procevent *e = slot(PROCEVENT_OOM);

	if (!e || !fill(e, victim, PROCEVENT_OOM))
		return 0;
	e->oom.total_vm_pages = BPF_CORE_READ(victim, mm, total_vm);
	e->oom.killer_tgid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(&e->oom.killer_comm, sizeof(e->oom.killer_comm));
	emit(e, PROCEVENT_HEADER_SIZE + sizeof(e->oom));
	return 0;
}

SEC("tp_btf/mark_victim")
int BPF_PROG(oom_btf, struct task_struct *victim)
{
	return on_oom(victim);
}

SEC("raw_tp/mark_victim")
int BPF_PROG(oom_raw, struct task_struct *victim)
{
	return on_oom(victim);
}

/* ---------------------------------------------------------------- signal */

/* Runs where the signal is generated: in the sender's context for kill(2)
 * and friends, possibly in interrupt context for timers (si_code says so). */
static __always_inline int on_signal(int sig, struct kernel_siginfo *info, struct task_struct *t,
                                     int result)
{
	__u32 sender = bpf_get_current_pid_tgid() >> 32;
	struct procevent *e;
	unsigned long handler = 0;
	struct sighand_struct *sh;
	int code = SI_KERNEL;

	if (sig <= 0 || sig >= 64 || !(fatal_signals & (1ull << sig)))
		return 0;
	if (result != 0 && result != 4)  /* TRACE_SIGNAL_DELIVERED, TRACE_SIGNAL_LOSE_INFO */
		return 0;
	if (BPF_CORE_READ(t, tgid) == sender)
		return 0;
	e = slot(PROCEVENT_SIGNAL);
	if (!e || !fill(e, t, PROCEVENT_SIGNAL))
		return 0;
	if ((unsigned long)info == 0)        /* SEND_SIG_NOINFO */
		code = SI_USER;
	else if ((unsigned long)info != 1)   /* SEND_SIG_PRIV */
		code = BPF_CORE_READ(info, si_code);
	sh = BPF_CORE_READ(t, sighand);
	bpf_probe_read_kernel(&handler, sizeof(handler),
	                      (void *)sh + bpf_core_field_offset(struct sighand_struct, action) +
	                              (sig - 1) * bpf_core_type_size(struct k_sigaction));
	if (handler > 1 && sig != 9)  /* neither SIG_DFL nor SIG_IGN */
		e->flags |= PROCEVENT_F_HANDLED;
	e->signal.sig = sig;
	e->signal.si_code = code;
	e->signal.sender_tgid = sender;
	e->signal.sender_uid = (__u32)bpf_get_current_uid_gid();
	e->signal.result = result;
	bpf_get_current_comm(&e->signal.sender_comm, sizeof(e->signal.sender_comm));
	emit(e, PROCEVENT_HEADER_SIZE + sizeof(e->signal));
	return 0;
}

SEC("tp_btf/signal_generate")
int BPF_PROG(signal_btf, int sig, struct kernel_siginfo *info, struct task_struct *t, int group,
             int result)
{
	return on_signal(sig, info, t, result);
}

SEC("raw_tp/signal_generate")
int BPF_PROG(signal_raw, int sig, struct kernel_siginfo *info, struct task_struct *t, int group,
             int result)
{
	return on_signal(sig, info, t, result);
}

/* --------------------------------------------------------- write capture */

#if defined(__TARGET_ARCH_x86)
#define NR_write  1
#define NR_writev 20
#elif defined(__TARGET_ARCH_arm64)
#define NR_write  64
#define NR_writev 66
#else
#define NR_write  (-1)
#define NR_writev (-1)
#endif

static __always_inline int on_sys_enter(struct pt_regs *regs, long id)
{
	struct pending_write pw = {};
	__u64 pid_tgid, cg;
	__u32 tgid, tid;
	int fd;

	if (id != NR_write && id != NR_writev)
		return 0;
	fd = (int)PT_REGS_PARM1_CORE_SYSCALL(regs);
	if (fd != 1 && fd != 2)
		return 0;
	pid_tgid = bpf_get_current_pid_tgid();
	tgid = pid_tgid >> 32;
	tid = (__u32)pid_tgid;
	if (!bpf_map_lookup_elem(&capture_tgids, &tgid)) {
		cg = bpf_get_current_cgroup_id();
		if (!bpf_map_lookup_elem(&capture_cgroups, &cg))
			return 0;
	}
	pw.fd = fd;
	pw.buf = PT_REGS_PARM2_CORE_SYSCALL(regs);
	pw.iovcnt = id == NR_writev ? (__u32)PT_REGS_PARM3_CORE_SYSCALL(regs) : 0;
	if (id == NR_writev && pw.iovcnt == 0)
		return 0;
	bpf_map_update_elem(&pending, &tid, &pw, BPF_ANY);
	return 0;
}

static __always_inline int on_sys_exit(long ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct pending_write *pwp, pw;
	struct task_struct *t;
	struct procevent *e;
	__u64 cap = capture_bytes, got = 0, n;  /* 64-bit: no zero-extension the verifier loses track through */

	pwp = bpf_map_lookup_elem(&pending, &tid);
	if (!pwp)
		return 0;
	pw = *pwp;
	bpf_map_delete_elem(&pending, &tid);
	if (ret <= 0)
		return 0;
	e = slot(PROCEVENT_WRITE);
	if (!e)
		return 0;
	/* In scope by the allow-list, whatever fill_scoped thinks. */
	t = (struct task_struct *)bpf_get_current_task();
	fill_scoped(e, t, PROCEVENT_WRITE, true);
	e->write.tid = tid;
	e->write.fd = pw.fd;
	e->write.len = ret;
	if (cap > PROCEVENTS_WRITE_MAX)
		cap = PROCEVENTS_WRITE_MAX;
	if ((__u64)ret < cap)
		cap = ret;
	if (pw.iovcnt == 0) {
		n = cap;
		if (n > 0 && n <= PROCEVENTS_WRITE_MAX &&
		    bpf_probe_read_user(e->write.data, n, (void *)pw.buf) == 0)
			got = n;
	} else {
		struct iovec iov;
		__u64 len;
		__u32 i;

		for (i = 0; i < PROCEVENTS_IOV_MAX; i++) {
			if (i >= pw.iovcnt || got >= cap)
				break;
			if (bpf_probe_read_user(&iov, sizeof(iov), (void *)(pw.buf + i * sizeof(iov))))
				break;
			len = iov.iov_len;
			if (len > cap - got)
				len = cap - got;
			if (len == 0)
				continue;
			/* A copy the compiler cannot swap for an unbounded twin. */
			barrier_var(len);
			if (len > PROCEVENTS_WRITE_MAX)
				len = PROCEVENTS_WRITE_MAX;
			/* got < cap <= WRITE_MAX: the mask changes nothing but tells
			 * the verifier; scratch.pad absorbs got + len > WRITE_MAX. */
			if (bpf_probe_read_user(&e->write.data[got & (PROCEVENTS_WRITE_MAX - 1)], len,
			                        iov.iov_base))
				break;
			got += len;
		}
	}
	barrier_var(got);
	if (got > PROCEVENTS_WRITE_MAX)
		got = PROCEVENTS_WRITE_MAX;
	barrier_var(got);
	e->write.captured = got;
	if (got < (__u64)ret)
		e->flags |= PROCEVENT_F_TRUNCATED;
	emit(e, PROCEVENT_HEADER_SIZE + __builtin_offsetof(struct procevent, write.data) -
	                __builtin_offsetof(struct procevent, write) + got);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter_btf, struct pt_regs *regs, long id)
{
	return on_sys_enter(regs, id);
}

SEC("raw_tp/sys_enter")
int BPF_PROG(sys_enter_raw, struct pt_regs *regs, long id)
{
	return on_sys_enter(regs, id);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit_btf, struct pt_regs *regs, long ret)
{
	return on_sys_exit(ret);
}

SEC("raw_tp/sys_exit")
int BPF_PROG(sys_exit_raw, struct pt_regs *regs, long ret)
{
	return on_sys_exit(ret);
}
