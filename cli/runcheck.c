/*
 * runcheck.c - what `ulog run` can tell about COMMAND before it execs it.
 *
 * LD_PRELOAD is read by the dynamic loader, so the shim reaches a program
 * only when the kernel starts a loader for it and that loader honours the
 * variable. Nothing starts one for a statically linked program (no
 * PT_INTERP; most Go programs), and glibc's loader ignores LD_PRELOAD paths
 * (and removes the variable, so the program's children lose it too) when the
 * kernel starts the program in secure-execution mode: a set-user-ID or
 * set-group-ID bit that changes its ids, or file capabilities it gains.
 * Nothing breaks in those cases, the output simply never reaches all.log,
 * and `ulog run` is the one place that can say so before it is too late.
 * It also tells which libc's loader the program has, because musl's cannot
 * load the glibc shim (and glibc's not the musl one): the program would not
 * start at all.
 *
 * The file is found as execvp finds it; a script (#!) is judged by its
 * interpreter, since the kernel ignores a script's own set-ID bits, and
 * `#!/usr/bin/env NAME` by NAME. The ELF header and program headers are read
 * here with <elf.h>: a check of a few hundred bytes needs no library. Only
 * this machine's byte order is parsed; any other is simply foreign.
 */
#include "runcheck.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

/* The kernel's limits: a #! line is read from the first 256 bytes
 * (BINPRM_BUF_SIZE), program headers may take at most 64 KiB, and a
 * script's interpreter may itself be a script, a few levels deep. */
#define SHEBANG_BYTES 256
#define MAX_PHDR_BYTES 65536u
#define MAX_STEPS 8

static void copy(char *out, size_t size, const char *in)
{
    snprintf(out, size, "%s", in);
}

static bool is_executable_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int runcheck_find(char *out, size_t size, const char *cmd, const char *path_env)
{
    const char *p;

    if (!cmd || !cmd[0])
        return -1;
    if (strchr(cmd, '/')) {
        if ((size_t)snprintf(out, size, "%s", cmd) >= size)
            return -1;
        return is_executable_file(out) ? 0 : -1;
    }
    /* glibc's execvp, with PATH unset, searches confstr(_CS_PATH). */
    for (p = path_env ? path_env : "/bin:/usr/bin";; p++) {
        size_t len = strcspn(p, ":");
        int n = len ? snprintf(out, size, "%.*s/%s", (int)len, p, cmd)
                    : snprintf(out, size, "./%s", cmd); /* an empty entry is "." */
        if (n >= 0 && (size_t)n < size && is_executable_file(out))
            return 0;
        p += len;
        if (!*p)
            break;
    }
    out[0] = '\0';
    return -1;
}

/* ---- ELF ----------------------------------------------------------------- */

struct elf_info {
    int cls, data, type, machine;
    bool has_interp;
    char interp[PATH_MAX];
};

static bool read_at(int fd, void *buf, size_t len, uint64_t offset)
{
    if (offset > (uint64_t)INT64_MAX - len)
        return false;
    return pread(fd, buf, len, (off_t)offset) == (ssize_t)len;
}

/* The loader's path, as the kernel takes it: 2 to PATH_MAX bytes, NUL-ended. */
static bool read_interp(int fd, uint64_t offset, uint64_t size, struct elf_info *e)
{
    if (size < 2 || size > sizeof e->interp || !read_at(fd, e->interp, (size_t)size, offset) ||
        e->interp[size - 1] != '\0')
        return false;
    e->has_interp = true;
    return true;
}

/* Walks the program headers looking for PT_INTERP. false: malformed. */
static bool scan_phdrs(int fd, struct elf_info *e, uint64_t phoff, unsigned phentsize,
                       uint64_t phnum)
{
    size_t entry = e->cls == ELFCLASS64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);

    /* The kernel refuses any other entry size, and tables past 64 KiB. */
    if (phentsize != entry || phnum == 0 || phnum * entry > MAX_PHDR_BYTES)
        return false;
    for (uint64_t i = 0; i < phnum; i++) {
        union {
            Elf64_Phdr p64;
            Elf32_Phdr p32;
        } ph;
        if (!read_at(fd, &ph, entry, phoff + i * entry))
            return false;
        if (e->cls == ELFCLASS64 ? ph.p64.p_type == PT_INTERP : ph.p32.p_type == PT_INTERP)
            return e->cls == ELFCLASS64 ? read_interp(fd, ph.p64.p_offset, ph.p64.p_filesz, e)
                                        : read_interp(fd, ph.p32.p_offset, ph.p32.p_filesz, e);
    }
    return true;
}

/* 1: an ELF file, described in *e; 0: not ELF; -1: an ELF the kernel would
 * refuse (truncated, a relocatable object, inconsistent headers). */
static int elf_parse(int fd, struct elf_info *e)
{
    union {
        unsigned char ident[EI_NIDENT];
        Elf64_Ehdr h64;
        Elf32_Ehdr h32;
    } h;
    ssize_t n = pread(fd, &h, sizeof h, 0);
    uint64_t phoff, phnum;
    unsigned phentsize;

    memset(e, 0, sizeof *e);
    if (n < SELFMAG || memcmp(h.ident, ELFMAG, SELFMAG) != 0)
        return 0;
    if (n < EI_NIDENT)
        return -1;
    e->cls = h.ident[EI_CLASS];
    e->data = h.ident[EI_DATA];
    e->machine = -1;
    if (e->data != (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB : ELFDATA2MSB))
        return e->data == ELFDATA2LSB || e->data == ELFDATA2MSB ? 1 : -1; /* foreign */
    if (e->cls == ELFCLASS64 && (size_t)n >= sizeof h.h64) {
        e->type = h.h64.e_type;
        e->machine = h.h64.e_machine;
        phoff = h.h64.e_phoff;
        phentsize = h.h64.e_phentsize;
        phnum = h.h64.e_phnum;
        if (phnum == PN_XNUM) { /* the real count is in section header 0 */
            Elf64_Shdr sh;
            if (!read_at(fd, &sh, sizeof sh, h.h64.e_shoff))
                return -1;
            phnum = sh.sh_info;
        }
    } else if (e->cls == ELFCLASS32 && (size_t)n >= sizeof h.h32) {
        e->type = h.h32.e_type;
        e->machine = h.h32.e_machine;
        phoff = h.h32.e_phoff;
        phentsize = h.h32.e_phentsize;
        phnum = h.h32.e_phnum;
        if (phnum == PN_XNUM) {
            Elf32_Shdr sh;
            if (!read_at(fd, &sh, sizeof sh, h.h32.e_shoff))
                return -1;
            phnum = sh.sh_info;
        }
    } else {
        return -1;
    }
    if (e->type != ET_EXEC && e->type != ET_DYN)
        return -1;
    return scan_phdrs(fd, e, phoff, phentsize, phnum) ? 1 : -1;
}

/* The class, byte order and machine of ulog itself: those of libulog.so,
 * which the same build produced. */
static const struct elf_info *native(void)
{
    static struct elf_info self;
    static int state; /* 0 not read, 1 known, -1 unknown */

    if (!state) {
        int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        state = fd >= 0 && elf_parse(fd, &self) == 1 ? 1 : -1;
        if (fd >= 0)
            close(fd);
    }
    return state == 1 ? &self : NULL;
}

static bool is_foreign(const struct elf_info *e)
{
    const struct elf_info *self = native();
    return self && (e->cls != self->cls || e->data != self->data || e->machine != self->machine);
}

/* ---- scripts --------------------------------------------------------------- */

/* 1 with the interpreter and its one optional argument, as the kernel
 * splits a #! line; 0 if the file is no script; -1 if the line is empty. */
static int read_shebang(int fd, char *interp, size_t isize, char *arg, size_t asize)
{
    char buf[SHEBANG_BYTES + 1];
    ssize_t n = pread(fd, buf, SHEBANG_BYTES, 0);
    char *p, *end;
    size_t len;

    if (n < 2 || buf[0] != '#' || buf[1] != '!')
        return 0;
    buf[n] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    p = buf + 2;
    p += strspn(p, " \t");
    len = strcspn(p, " \t");
    if (!len || len >= isize)
        return -1;
    memcpy(interp, p, len);
    interp[len] = '\0';
    p += len;
    p += strspn(p, " \t");
    end = p + strlen(p);
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    snprintf(arg, asize, "%.*s", (int)(end - p), p);
    return 1;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* `#!/usr/bin/env NAME` runs NAME, found along PATH: the program that
 * matters. With -S the argument is split, and NAME follows any VAR=VALUE. */
static bool env_target(const char *arg, char *name, size_t size)
{
    bool split = strncmp(arg, "-S", 2) == 0;

    if (split)
        arg += 2 + strspn(arg + 2, " \t");
    for (;;) {
        size_t len = split ? strcspn(arg, " \t") : strlen(arg);
        if (!len || arg[0] == '-' || len >= size)
            return false;
        if (split && memchr(arg, '=', len)) {
            arg += len;
            arg += strspn(arg, " \t");
            continue;
        }
        memcpy(name, arg, len);
        name[len] = '\0';
        return true;
    }
}

/* ---- set-ID ---------------------------------------------------------------- */

static unsigned secure_bits(const char *path, const struct stat *st)
{
    bool setuid = st->st_mode & S_ISUID;
    /* set-group-ID without group execute marks mandatory locking, not set-ID. */
    bool setgid = (st->st_mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP);
    bool caps = getuid() != 0 && getxattr(path, "security.capability", NULL, 0) > 0;
    struct statvfs vfs;
    unsigned bits = 0;

    if (!setuid && !setgid && !caps)
        return 0;
    /* The kernel grants nothing on a nosuid mount, or to a process that
     * asked for no new privileges: the program then runs as we would. */
    if ((statvfs(path, &vfs) == 0 && (vfs.f_flag & ST_NOSUID)) ||
        prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1)
        return 0;
    /* Secure execution when the new ids differ from the real ones: root
     * running a set-user-ID-root program stays itself and keeps the shim. */
    if (setuid && st->st_uid != getuid())
        bits |= RUNCHECK_SETUID;
    if (setgid && st->st_gid != getgid())
        bits |= RUNCHECK_SETGID;
    if (caps)
        bits |= RUNCHECK_FILECAPS;
    return bits;
}

/* ---- the whole chain --------------------------------------------------------- */

void runcheck_inspect(struct runcheck *rc, const char *cmd, const char *path_env)
{
    char current[PATH_MAX], interp[PATH_MAX], arg[SHEBANG_BYTES], name[PATH_MAX];
    struct elf_info e;

    memset(rc, 0, sizeof *rc);
    if (runcheck_find(rc->file, sizeof rc->file, cmd, path_env) < 0)
        return;
    copy(current, sizeof current, rc->file);
    for (int step = 0; step < MAX_STEPS; step++) {
        struct stat st;
        int fd, kind;

        copy(rc->runs, sizeof rc->runs, current);
        if (stat(current, &st) != 0 || !S_ISREG(st.st_mode))
            return;
        fd = open(current, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
            /* Executable but not readable (mode 0711): the set-ID bits are
             * still known from stat, the format is not. */
            rc->secure = secure_bits(current, &st);
            return;
        }
        kind = elf_parse(fd, &e);
        if (kind != 0) {
            close(fd);
            if (kind < 0)
                return; /* the kernel will refuse it: execvp says why */
            rc->elf_class = e.cls;
            rc->secure = secure_bits(current, &st);
            if (e.has_interp)
                copy(rc->interp, sizeof rc->interp, e.interp);
            rc->loader = is_foreign(&e) ? RUNCHECK_FOREIGN
                         : e.has_interp ? RUNCHECK_DYNAMIC
                                        : RUNCHECK_STATIC;
            return;
        }
        kind = read_shebang(fd, interp, sizeof interp, arg, sizeof arg);
        close(fd);
        /* Neither ELF nor script: binfmt_misc, or execvp's fallback to
         * /bin/sh, decides what runs it; nothing to tell. */
        if (kind <= 0)
            return;
        rc->scripts++;
        if (strcmp(base_name(interp), "env") == 0 && env_target(arg, name, sizeof name) &&
            runcheck_find(current, sizeof current, name, path_env) == 0)
            continue;
        copy(current, sizeof current, interp);
    }
    rc->loader = RUNCHECK_UNKNOWN; /* a loop of scripts: the kernel gives up too (ELOOP) */
}

int runcheck_wants_musl(const struct runcheck *rc)
{
    return rc->loader == RUNCHECK_DYNAMIC && strncmp(base_name(rc->interp), "ld-musl-", 8) == 0;
}

/* ---- the words ---------------------------------------------------------------- */

struct text {
    char *buf;
    size_t size, len;
};

__attribute__((format(printf, 2, 3))) static void add(struct text *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(t->len < t->size ? t->buf + t->len : NULL,
                  t->len < t->size ? t->size - t->len : 0, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->len += (size_t)n;
}

/* The command as typed, if it can go between single quotes as it is. */
static const char *quotable(const char *cmd)
{
    return cmd[strspn(cmd, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                           "_-+./,:=@%")] == '\0'
               ? cmd
               : "COMMAND";
}

static void add_subject(struct text *t, const struct runcheck *rc)
{
    if (rc->scripts)
        add(t, "%s is a script run by %s, which", rc->file, rc->runs);
    else
        add(t, "%s", rc->file);
}

size_t runcheck_warning(char *buf, size_t size, const struct runcheck *rc, const char *cmd)
{
    struct text t = {buf, size, 0};
    struct stat st;
    bool foreign = rc->loader == RUNCHECK_FOREIGN;

    if (size)
        buf[0] = '\0';
    if (rc->loader != RUNCHECK_STATIC && !foreign && !rc->secure)
        return 0;

    add(&t, "ulog run: warning: ");
    add_subject(&t, rc);
    if (rc->loader == RUNCHECK_STATIC) {
        add(&t, " is statically linked (no dynamic loader; most Go programs are built so):"
                " libulog.so cannot be loaded into it, so nothing it writes will reach"
                " all.log. Its output still goes to its stdout and stderr unchanged, and"
                " the dynamically linked programs it starts are captured.\n");
    } else if (foreign) {
        add(&t, " is built for another machine or word size (%s) than libulog.so: the shim"
                " cannot be loaded into it, so nothing it writes will reach all.log%s. Its"
                " output still goes to its stdout and stderr unchanged.\n",
            rc->elf_class == ELFCLASS32 ? "32-bit" : "another ELF class or architecture",
            rc->interp[0] ? ", and its loader may print a notice on stderr that it ignored"
                            " libulog.so"
                          : "");
    } else {
        const char *sep = " is";
        bool known = stat(rc->runs, &st) == 0;
        if (rc->secure & RUNCHECK_SETUID) {
            add(&t, "%s set-user-ID", sep);
            if (known)
                add(&t, " (it runs as uid %u)", (unsigned)st.st_uid);
            sep = " and";
        }
        if (rc->secure & RUNCHECK_SETGID) {
            add(&t, "%s set-group-ID", sep);
            if (known)
                add(&t, " (it runs as gid %u)", (unsigned)st.st_gid);
            sep = " and";
        }
        if (rc->secure & RUNCHECK_FILECAPS)
            add(&t, "%s file capabilities", strcmp(sep, " is") == 0 ? " has" : " and has");
        add(&t, ": the dynamic loader ignores LD_PRELOAD for it and removes it from the"
                " programs it starts, so nothing they write will reach all.log. Their output"
                " still goes to stdout and stderr unchanged.\n");
    }

    add(&t, "ulog run: to capture it, ");
    if (rc->loader != RUNCHECK_STATIC && !foreign)
        add(&t, "remove %s where that is safe (%s %s), or ",
            rc->secure & (RUNCHECK_SETUID | RUNCHECK_SETGID) ? "the bit" : "its capabilities",
            (rc->secure & (RUNCHECK_SETUID | RUNCHECK_SETGID)) ==
                    (RUNCHECK_SETUID | RUNCHECK_SETGID)
                ? "chmod ug-s"
            : rc->secure & RUNCHECK_SETUID ? "chmod u-s"
            : rc->secure & RUNCHECK_SETGID ? "chmod g-s"
                                           : "setcap -r",
            rc->runs);
    /* The relay of docs/LOGGING.md (Compatibility): bash execs the program,
     * which keeps its pid and exit status, and two captured cats copy its
     * streams. The command goes after the script as $0, so it needs no
     * quoting inside it. */
    add(&t, "relay its output through captured processes: ulog run -- bash -c 'exec \"$0\""
            " \"$@\" > >(exec cat) 2> >(exec cat >&2)' %s [ARG]... (it keeps its pid and exit"
            " status; its lines then carry the pid of a cat). Process events through eBPF"
            " (start, exit, signals) come in a later version of ulog. -q silences this"
            " warning.\n",
        quotable(cmd));
    return t.len;
}
