/*
 * runcheck.h - what `ulog run` can tell about COMMAND before it execs it:
 * will the dynamic loader load libulog.so into it at all, and which flavour
 * of the shim (glibc or musl) does its loader take?
 */
#ifndef ULOG_CLI_RUNCHECK_H
#define ULOG_CLI_RUNCHECK_H

#include <limits.h>
#include <stddef.h>

enum runcheck_loader {
    RUNCHECK_UNKNOWN = 0, /* not found, not readable, not ELF, malformed: nothing to say */
    RUNCHECK_DYNAMIC,     /* an ELF of this machine with a loader (PT_INTERP) */
    RUNCHECK_STATIC,      /* an ELF without PT_INTERP: no loader ever reads LD_PRELOAD */
    RUNCHECK_FOREIGN,     /* an ELF of another word size, byte order or machine than ulog */
};

/* Why the kernel will start it in secure-execution mode (AT_SECURE), where
 * glibc's loader ignores LD_PRELOAD paths and removes the variable. */
#define RUNCHECK_SETUID 0x1u   /* set-user-ID bit, owner other than the real uid */
#define RUNCHECK_SETGID 0x2u   /* set-group-ID bit (with g+x), group other than the real gid */
#define RUNCHECK_FILECAPS 0x4u /* file capabilities, for a user other than root */

struct runcheck {
    char file[PATH_MAX];   /* COMMAND's file, found as execvp finds it; "" if not found */
    char runs[PATH_MAX];   /* the file the kernel really loads: `file`, or the
                              interpreter its #! line (and `env NAME`) leads to */
    char interp[PATH_MAX]; /* the PT_INTERP of `runs` (its loader), or "" */
    int scripts;           /* how many #! lines led from `file` to `runs` */
    int elf_class;         /* ELFCLASS32 or ELFCLASS64 of `runs`, 0 if not ELF */
    enum runcheck_loader loader;
    unsigned secure;       /* RUNCHECK_SET* bits of `runs` */
};

/*
 * The file execvp(cmd) would execute, into `out` (`size` bytes): `cmd`
 * itself when it holds a '/', else the first executable regular file named
 * `cmd` in `path_env` (":"-separated, an empty entry being ".", NULL meaning
 * execvp's default "/bin:/usr/bin"). Returns 0, or -1 when there is none.
 */
int runcheck_find(char *out, size_t size, const char *cmd, const char *path_env);

/* Everything above about `cmd`, as it would be executed now by this process. */
void runcheck_inspect(struct runcheck *rc, const char *cmd, const char *path_env);

/* 1 when the loader of `rc->runs` is musl's (it takes libulog-musl.so). */
int runcheck_wants_musl(const struct runcheck *rc);

/*
 * The warning `ulog run` prints before it execs `cmd`, into `buf`: what will
 * and will not be captured, and what to do. Empty when the shim will load
 * (or nothing can be told). Returns the length it has, or would have had.
 */
size_t runcheck_warning(char *buf, size_t size, const struct runcheck *rc, const char *cmd);

#endif /* ULOG_CLI_RUNCHECK_H */
