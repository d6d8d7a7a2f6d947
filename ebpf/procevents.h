/* procevents.h - process events from eBPF: what the kernel side
 * (procevents.bpf.c) puts in its ring buffer, and the loader ulogd uses
 * (procevents.c).
 *
 * The first half is shared with the BPF program, which includes vmlinux.h
 * first: plain fixed-width types only, no libc. The second half, the
 * loader's API, is user space only (__bpf__ is defined by clang -target bpf).
 *
 * Process ids are the kernel's (the root pid namespace's); ns_tgid is the
 * same process as its own pid namespace numbers it (what a process in a
 * container calls getpid()).
 */
#ifndef ULOG_PROCEVENTS_H
#define ULOG_PROCEVENTS_H

#ifndef __bpf__
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
typedef uint8_t pe_u8;
typedef uint16_t pe_u16;
typedef uint32_t pe_u32;
typedef int32_t pe_s32;
typedef uint64_t pe_u64;
#else
typedef __u8 pe_u8;
typedef __u16 pe_u16;
typedef __u32 pe_u32;
typedef __s32 pe_s32;
typedef __u64 pe_u64;
#endif

#define PROCEVENTS_COMM_LEN     16
#define PROCEVENTS_FILENAME_LEN 256
#define PROCEVENTS_ARGS_LEN     128   /* head of the argument vector, NULs turned into spaces */
#define PROCEVENTS_WRITE_MAX    4096  /* bytes one WRITE event can carry */
#define PROCEVENTS_IOV_MAX      8     /* writev: iovecs read, at most */
#define PROCEVENTS_RINGBUF_SIZE (1u << 20)
#define PROCEVENTS_MAX_WATCHED  65536

enum procevent_type {
	PROCEVENT_EXEC   = 1,  /* a program was executed (after execve succeeded) */
	PROCEVENT_EXIT   = 2,  /* a whole thread group exited */
	PROCEVENT_FORK   = 3,  /* a new process (not a thread); only with report_forks */
	PROCEVENT_OOM    = 4,  /* the OOM killer chose this process (mark_victim) */
	PROCEVENT_SIGNAL = 5,  /* another process sent this one a fatal signal */
	PROCEVENT_WRITE  = 6,  /* bytes written to fd 1 or 2 (opt-in capture) */
};

/* procevent.flags */
#define PROCEVENT_F_CONTAINER  0x1  /* the process is in a pid namespace below the root one */
#define PROCEVENT_F_WATCHED    0x2  /* the process is in the watched set (shim-connected or descendant) */
#define PROCEVENT_F_TRUNCATED  0x4  /* WRITE: more was written than captured;
                                     * EXEC: the argument vector is longer than args */
#define PROCEVENT_F_HANDLED    0x8  /* SIGNAL: the target has a handler for it (may not die) */

/* Signals reported by SIGNAL events: those whose default action ends the
 * process and that are not routinely used for something else. */
#define PROCEVENTS_FATAL_SIGNALS                                         \
	((1ull << 1) | (1ull << 2) | (1ull << 3) | (1ull << 4) |   /* HUP INT QUIT ILL */  \
	 (1ull << 5) | (1ull << 6) | (1ull << 7) | (1ull << 8) |   /* TRAP ABRT BUS FPE */ \
	 (1ull << 9) | (1ull << 11) | (1ull << 15) |               /* KILL SEGV TERM */    \
	 (1ull << 24) | (1ull << 25) | (1ull << 31))               /* XCPU XFSZ SYS */

/* exit.code is the kernel's raw exit code, as wait() reports it. */
#define PROCEVENT_EXIT_STATUS(code) (((code) >> 8) & 0xff)
#define PROCEVENT_EXIT_SIGNAL(code) ((code) & 0x7f)
#define PROCEVENT_EXIT_CORE(code)   (((code) & 0x80) != 0)

struct procevent {
	pe_u64 ktime_ns;    /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	pe_u64 cgroup_id;   /* cgroup v2 id of the process the event is about */
	pe_u32 type;        /* enum procevent_type */
	pe_u32 flags;       /* PROCEVENT_F_* */
	pe_u32 tgid;        /* the process the event is about */
	pe_u32 ppid;        /* its parent (real_parent's tgid) */
	pe_u32 uid;         /* its real uid */
	pe_u32 ns_tgid;     /* its tgid in its own pid namespace */
	pe_u32 pidns_level; /* 0: the root pid namespace (host); > 0: a container */
	pe_u32 size;        /* bytes of this event that are meaningful (WRITE: up to write.data + captured) */
	char comm[PROCEVENTS_COMM_LEN];
	union {
		struct {
			char filename[PROCEVENTS_FILENAME_LEN];  /* as passed to execve */
			char args[PROCEVENTS_ARGS_LEN];          /* argv head, NUL-terminated */
			pe_u32 args_size;                        /* the whole argument vector's size */
			pe_u32 old_tid;                          /* the thread that called execve */
		} exec;
		struct {
			pe_s32 code;    /* raw: PROCEVENT_EXIT_STATUS/SIGNAL/CORE */
			pe_u32 pad;
		} exit;
		struct {
			pe_u32 child_tgid;   /* tgid is the parent */
			pe_u32 pad;
		} fork;
		struct {
			pe_u64 total_vm_pages;  /* victim's mm->total_vm */
			pe_u32 killer_tgid;     /* the process whose allocation triggered it */
			char killer_comm[PROCEVENTS_COMM_LEN];
		} oom;
		struct {
			pe_u32 sig;
			pe_s32 si_code;         /* SI_USER 0, SI_KERNEL 0x80, SI_QUEUE -1, SI_TKILL -6 ... */
			pe_u32 sender_tgid;
			pe_u32 sender_uid;
			pe_s32 result;          /* 0 delivered, 4 delivered without siginfo */
			char sender_comm[PROCEVENTS_COMM_LEN];
		} signal;
		struct {
			pe_u32 tid;
			pe_u32 fd;              /* 1 or 2 */
			pe_u32 len;             /* bytes the system call wrote */
			pe_u32 captured;        /* bytes in data (<= len, <= capture_bytes) */
			char data[PROCEVENTS_WRITE_MAX];
		} write;
	};
};

/* Offset where an event's type-specific part begins. */
#define PROCEVENT_HEADER_SIZE ((pe_u32)__builtin_offsetof(struct procevent, exec))

#ifndef __bpf__
/* ------------------------------------------------------------ loader API */

struct procevents;

struct procevents_options {
	bool scope_containers;    /* processes in a pid namespace of level > 0 are in scope */
	bool capture_writes;      /* attach the write/writev capture (allow-list still empty) */
	unsigned capture_bytes;   /* per WRITE event; 0: PROCEVENTS_WRITE_MAX; capped to it */
	bool report_forks;        /* emit FORK events (scope propagation happens anyway) */
};

/* Loads and attaches the programs. 0, or -1 with err saying why eBPF cannot
 * be used here and what the user can do. Never prints (libbpf's own
 * messages are kept from stderr too). */
int procevents_open(struct procevents **out, const struct procevents_options *opt,
                    char *err, size_t err_size);
/* Readable when events are ready (epoll). */
int procevents_fd(const struct procevents *p);
/* Puts a (kernel) tgid in scope; its future children follow in the kernel.
 * 0 or -errno. The tgid leaves the set when its thread group exits. */
int procevents_watch(struct procevents *p, uint32_t tgid);
int procevents_unwatch(struct procevents *p, uint32_t tgid);
/* Write-capture allow-list, by process (followed to its children) or by
 * cgroup v2 id. 0 or -errno. No effect unless opened with capture_writes. */
int procevents_capture(struct procevents *p, uint32_t tgid, bool on);
int procevents_capture_cgroup(struct procevents *p, uint64_t cgroup_id, bool on);

/* ev is valid during the call only; it is a whole struct procevent (a WRITE
 * carries write.captured bytes of data, not NUL-terminated). realtime_ns is
 * ev->ktime_ns on CLOCK_REALTIME. */
typedef void procevents_fn(void *ctx, const struct procevent *ev, uint64_t realtime_ns);
/* Drains what is ready without blocking: the number of events, or -errno. */
int procevents_consume(struct procevents *p, procevents_fn *fn, void *ctx);
/* Events the ring buffer could not take, since open (all types). */
uint64_t procevents_lost(const struct procevents *p);
/* Of those, WRITE events. */
uint64_t procevents_lost_writes(const struct procevents *p);
void procevents_close(struct procevents *p);

const char *procevent_type_name(uint32_t type);  /* "exec", "exit", ... */
#endif /* !__bpf__ */

#endif
