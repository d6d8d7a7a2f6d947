/* procevents.c - user-space side of procevents.bpf.c: loads and attaches
 * the programs (BTF tracepoints, raw tracepoints as fallback), keeps the
 * scope and capture allow-lists, and hands the ring buffer's events to
 * ulogd with their time on CLOCK_REALTIME.
 */
#include "procevents.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "procevents.skel.h"

struct procevents {
	struct procevents_bpf *skel;
	struct ring_buffer *rb;
	bool capture_writes;
	int ncpus;
	/* during procevents_consume */
	procevents_fn *fn;
	void *ctx;
	int64_t offset_ns;   /* CLOCK_REALTIME - CLOCK_MONOTONIC */
	struct procevent ev; /* the copy handed to fn */
};

/* libbpf's messages never reach stderr: the first warning of a failed
 * attempt (which program, what failed) is kept for the error string. libbpf_set_print is process-wide; ulogd has no other user. */
static char last_libbpf_msg[256];

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[sizeof(last_libbpf_msg)];
	size_t n;

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	if (n > 0 && !last_libbpf_msg[0])
		memcpy(last_libbpf_msg, strncmp(buf, "libbpf: ", 8) ? buf : buf + 8,
		       n + 1 - (strncmp(buf, "libbpf: ", 8) ? 0 : 8));
	return 0;
}

static void set_err(char *err, size_t err_size, const char *fmt, ...)
{
	va_list ap;

	if (!err || err_size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_size, fmt, ap);
	va_end(ap);
}

#define OFF_NOTE "process events and crash context from eBPF are off"

static void set_load_err(char *err, size_t err_size, int e, const char *what)
{
	char exe[512];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		snprintf(exe, sizeof(exe), "ulogd");
	else
		exe[n] = 0;
	if (e == EPERM)  /* EACCES is the verifier's refusal, not a missing privilege */
		set_err(err, err_size,
		        "eBPF unavailable: loading needs CAP_BPF and CAP_PERFMON (or root): run ulogd as "
		        "root or grant them (setcap cap_bpf,cap_perfmon+ep %s); " OFF_NOTE,
		        exe);
	else
		set_err(err, err_size, "eBPF unavailable: %s failed: %s%s%s; " OFF_NOTE, what, strerror(e),
		        last_libbpf_msg[0] ? " - libbpf: " : "", last_libbpf_msg);
}

/* Does this kernel's sched_process_exit pass group_dead (6.16 and later)? */
static bool exit_has_group_dead(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	const struct btf_type *t;
	bool yes = false;
	int id;

	if (!btf)
		return false;
	id = btf__find_by_name_kind(btf, "btf_trace_sched_process_exit", BTF_KIND_TYPEDEF);
	if (id > 0) {
		t = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);   /* pointer */
		if (t && btf_is_ptr(t)) {
			t = btf__type_by_id(btf, t->type);                      /* func proto */
			yes = t && btf_is_func_proto(t) && btf_vlen(t) == 3;    /* ctx, task, group_dead */
		}
	}
	btf__free(btf);
	return yes;
}

static void choose(struct procevents_bpf *s, bool raw, bool writes)
{
	struct bpf_program *btf_progs[] = {
		s->progs.exec_btf, s->progs.exit_btf, s->progs.fork_btf, s->progs.oom_btf,
		s->progs.signal_btf, s->progs.sys_enter_btf, s->progs.sys_exit_btf,
	};
	struct bpf_program *raw_progs[] = {
		s->progs.exec_raw, s->progs.exit_raw, s->progs.fork_raw, s->progs.oom_raw,
		s->progs.signal_raw, s->progs.sys_enter_raw, s->progs.sys_exit_raw,
	};
	size_t i, n = sizeof(btf_progs) / sizeof(btf_progs[0]);

	for (i = 0; i < n; i++) {
		bool on = i < n - 2 || writes;

		bpf_program__set_autoload(btf_progs[i], on && !raw);
		bpf_program__set_autoload(raw_progs[i], on && raw);
	}
}

/* 0, or a positive errno; *stage says which step failed. */
static int try_load(struct procevents *p, const struct procevents_options *opt, bool raw,
                    bool group_dead, const char **stage)
{
	unsigned cap = opt->capture_bytes;
	int e;

	*stage = "opening the BPF object";
	p->skel = procevents_bpf__open();
	if (!p->skel)
		return errno ? errno : EINVAL;
	if (cap == 0 || cap > PROCEVENTS_WRITE_MAX)
		cap = PROCEVENTS_WRITE_MAX;
	p->skel->rodata->scope_containers = opt->scope_containers;
	p->skel->rodata->report_forks = opt->report_forks;
	p->skel->rodata->capture_bytes = cap;
	p->skel->rodata->exit_has_group_dead = group_dead;
	choose(p->skel, raw, opt->capture_writes);
	*stage = raw ? "loading the programs (raw tracepoints)" : "loading the programs";
	e = procevents_bpf__load(p->skel);
	if (!e) {
		*stage = raw ? "attaching the programs (raw tracepoints)" : "attaching the programs";
		e = procevents_bpf__attach(p->skel);
	}
	if (e) {
		procevents_bpf__destroy(p->skel);
		p->skel = NULL;
		return e < 0 ? -e : e;
	}
	return 0;
}

static int on_sample(void *ctx, void *data, size_t size)
{
	struct procevents *p = ctx;
	struct procevent *ev = &p->ev;
	size_t i, n;

	if (size < PROCEVENT_HEADER_SIZE)
		return 0;
	if (size > sizeof(*ev))
		size = sizeof(*ev);
	memcpy(ev, data, size);
	if (size < sizeof(*ev))
		memset((char *)ev + size, 0, sizeof(*ev) - size);
	if (ev->type == PROCEVENT_EXEC) {
		ev->exec.filename[sizeof(ev->exec.filename) - 1] = 0;
		n = ev->exec.args_size < sizeof(ev->exec.args) - 1 ? ev->exec.args_size
		                                                    : sizeof(ev->exec.args) - 1;
		ev->exec.args[n] = 0;
		for (i = 0; i < n; i++)
			if (ev->exec.args[i] == 0)
				ev->exec.args[i] = ' ';
		while (n > 0 && ev->exec.args[n - 1] == ' ')
			ev->exec.args[--n] = 0;
	} else if (ev->type == PROCEVENT_WRITE) {
		if (ev->write.captured > PROCEVENTS_WRITE_MAX)
			ev->write.captured = PROCEVENTS_WRITE_MAX;
	}
	ev->comm[sizeof(ev->comm) - 1] = 0;
	p->fn(p->ctx, ev, ev->ktime_ns + p->offset_ns);
	return 0;
}

int procevents_open(struct procevents **out, const struct procevents_options *opt, char *err,
                    size_t err_size)
{
	struct procevents_options defaults = { 0 };
	struct procevents *p;
	const char *stage = "";
	bool group_dead;
	int e;

	*out = NULL;
	if (!opt)
		opt = &defaults;
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		set_err(err, err_size,
		        "eBPF unavailable: the kernel has no BTF (/sys/kernel/btf/vmlinux); a kernel "
		        "built with CONFIG_DEBUG_INFO_BTF=y (most distributions' since 2020) is needed; " OFF_NOTE);
		return -1;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		set_err(err, err_size, "eBPF unavailable: out of memory; " OFF_NOTE);
		return -1;
	}
	libbpf_set_print(quiet_print);
	last_libbpf_msg[0] = 0;
	group_dead = exit_has_group_dead();
	e = try_load(p, opt, false, group_dead, &stage);
	if (e && e != EPERM) {
		const char *stage_raw;

		/* The message kept is the BTF attempt's: the one that matters. */
		if (try_load(p, opt, true, group_dead, &stage_raw) == 0)
			e = 0;
	}
	if (e) {
		set_load_err(err, err_size, e, stage);
		free(p);
		return -1;
	}
	p->capture_writes = opt->capture_writes;
	p->ncpus = libbpf_num_possible_cpus();
	p->rb = ring_buffer__new(bpf_map__fd(p->skel->maps.events), on_sample, p, NULL);
	if (!p->rb || p->ncpus <= 0) {
		set_load_err(err, err_size, errno ? errno : EINVAL, "opening the ring buffer");
		procevents_close(p);
		return -1;
	}
	*out = p;
	return 0;
}

int procevents_fd(const struct procevents *p)
{
	return ring_buffer__epoll_fd(p->rb);
}

static int set_u8(int fd, const void *key, bool on)
{
	__u8 one = 1;
	int r = on ? bpf_map_update_elem(fd, key, &one, BPF_ANY) : bpf_map_delete_elem(fd, key);

	if (r < 0 && !on && errno == ENOENT)
		return 0;
	return r < 0 ? -errno : 0;
}

int procevents_watch(struct procevents *p, uint32_t tgid)
{
	return set_u8(bpf_map__fd(p->skel->maps.watched), &tgid, true);
}

int procevents_unwatch(struct procevents *p, uint32_t tgid)
{
	return set_u8(bpf_map__fd(p->skel->maps.watched), &tgid, false);
}

int procevents_capture(struct procevents *p, uint32_t tgid, bool on)
{
	return set_u8(bpf_map__fd(p->skel->maps.capture_tgids), &tgid, on);
}

int procevents_capture_cgroup(struct procevents *p, uint64_t cgroup_id, bool on)
{
	return set_u8(bpf_map__fd(p->skel->maps.capture_cgroups), &cgroup_id, on);
}

/* CLOCK_REALTIME - CLOCK_MONOTONIC, from the tightest of three brackets. */
static int64_t realtime_offset(void)
{
	int64_t best = 0, best_gap = INT64_MAX;
	struct timespec a, r, b;
	int i;

	for (i = 0; i < 3; i++) {
		clock_gettime(CLOCK_MONOTONIC, &a);
		clock_gettime(CLOCK_REALTIME, &r);
		clock_gettime(CLOCK_MONOTONIC, &b);
		int64_t ma = a.tv_sec * 1000000000LL + a.tv_nsec;
		int64_t mb = b.tv_sec * 1000000000LL + b.tv_nsec;
		int64_t rt = r.tv_sec * 1000000000LL + r.tv_nsec;
		if (mb - ma < best_gap) {
			best_gap = mb - ma;
			best = rt - (ma + (mb - ma) / 2);
		}
	}
	return best;
}

int procevents_consume(struct procevents *p, procevents_fn *fn, void *ctx)
{
	int n;

	p->fn = fn;
	p->ctx = ctx;
	p->offset_ns = realtime_offset();  /* follows clock steps (NTP, settimeofday) */
	n = ring_buffer__consume(p->rb);
	p->fn = NULL;
	p->ctx = NULL;
	return n;
}

static uint64_t lost_at(const struct procevents *p, uint32_t idx)
{
	uint64_t *v, sum = 0;
	int i;

	v = calloc(p->ncpus, sizeof(*v));
	if (!v)
		return 0;
	if (bpf_map_lookup_elem(bpf_map__fd(p->skel->maps.lost), &idx, v) == 0)
		for (i = 0; i < p->ncpus; i++)
			sum += v[i];
	free(v);
	return sum;
}

uint64_t procevents_lost(const struct procevents *p)
{
	return lost_at(p, 0);
}

uint64_t procevents_lost_writes(const struct procevents *p)
{
	return lost_at(p, 1);
}

void procevents_close(struct procevents *p)
{
	if (!p)
		return;
	ring_buffer__free(p->rb);
	procevents_bpf__destroy(p->skel);
	free(p);
}

const char *procevent_type_name(uint32_t type)
{
	switch (type) {
	case PROCEVENT_EXEC: return "exec";
	case PROCEVENT_EXIT: return "exit";
	case PROCEVENT_FORK: return "fork";
	case PROCEVENT_OOM: return "oom_kill";
	case PROCEVENT_SIGNAL: return "signal";
	case PROCEVENT_WRITE: return "write";
	}
	return "unknown";
}
