/*
 * host_spawn.c - every way a process makes another, for the shim to survive:
 * fork, vfork then _exit, vfork then exec, posix_spawn, clone() without
 * CLONE_VM, daemon() keeping stdout or sending it to /dev/null, and exec.
 *
 * Usage: host_spawn MODE [TARGET]
 *   fork | vfork-exit | clone              a child of our own prints
 *   vfork-redirect                         a vfork child redirects its fds 1
 *                                          and 2 into a pipe and closes the
 *                                          rest, as CPython's subprocess does
 *                                          before exec, then _exits; the
 *                                          parent prints on, and must still
 *                                          be captured
 *   vfork-exec | posix_spawn | exec TARGET  TARGET (a host_print: plain,
 *                                          static or set-user-ID) prints
 *   daemon-keep | daemon-null DONE         the daemon prints, then writes
 *                                          its pid into the file DONE
 *
 * Every line names the pid that wrote it ("... pid P ..."), so the test can
 * check that each record carries the pid of the process that wrote it. The
 * parent waits for its child and says how it ended, so the output is the
 * same on every run but for the pids; the daemon cannot be waited for, and
 * says it is done through DONE instead.
 */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void report(const char *how, pid_t child)
{
    int status;
    if (waitpid(child, &status, 0) != child)
        exit(30);
    if (WIFEXITED(status))
        printf("parent pid %d: %s child exited %d\n", (int)getpid(), how, WEXITSTATUS(status));
    else
        printf("parent pid %d: %s child killed by signal %d\n", (int)getpid(), how,
               WTERMSIG(status));
}

/* "PREFIX<pid>SUFFIX\n" without stdio: a vfork child shares our memory,
 * and must not touch stdio's buffers or locks. */
static void raw_line(int fd, const char *prefix, long pid, const char *suffix)
{
    char buf[128], digits[24];
    size_t len = 0, n = 0;
    memcpy(buf, prefix, strlen(prefix));
    len += strlen(prefix);
    do
        digits[n++] = (char)('0' + pid % 10);
    while ((pid /= 10) > 0);
    while (n)
        buf[len++] = digits[--n];
    memcpy(buf + len, suffix, strlen(suffix));
    len += strlen(suffix);
    buf[len++] = '\n';
    if (write(fd, buf, len) != (ssize_t)len)
        _exit(31);
}

static int clone_child(void *arg)
{
    (void)arg;
    for (int i = 0; i < 5; i++)
        printf("child pid %d via clone line %02d\n", (int)getpid(), i);
    fflush(stdout);
    raw_line(2, "child pid ", (long)getpid(), " via clone on stderr");
    return 8;
}

static void write_done(const char *path)
{
    char tmp[4096];
    FILE *f;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (!(f = fopen(tmp, "w")))
        exit(40);
    fprintf(f, "%d\n", (int)getpid());
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        exit(41);
}

static void to_dev_null(void)
{
    int null = open("/dev/null", O_RDWR);
    if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
        exit(42);
    if (null > 2)
        close(null);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    const char *target = argc > 2 ? argv[2] : NULL;
    pid_t child;

    printf("parent pid %d before %s\n", (int)getpid(), mode);
    fflush(stdout);

    if (strcmp(mode, "fork") == 0) {
        if ((child = fork()) < 0)
            return 20;
        if (child == 0) {
            for (int i = 0; i < 5; i++)
                printf("child pid %d via fork line %02d\n", (int)getpid(), i);
            fprintf(stderr, "child pid %d via fork on stderr\n", (int)getpid());
            exit(3); /* exit() flushes the child's stdio */
        }
        report("fork", child);
    } else if (strcmp(mode, "vfork-exit") == 0) {
        if ((child = vfork()) < 0)
            return 20;
        if (child == 0) {
            long me = syscall(SYS_getpid);
            raw_line(1, "child pid ", me, " via vfork line 00");
            raw_line(1, "child pid ", me, " via vfork line 01");
            raw_line(2, "child pid ", me, " via vfork on stderr");
            _exit(4);
        }
        report("vfork", child);
    } else if (strcmp(mode, "vfork-redirect") == 0) {
        int pipe_fds[2];
        if (pipe(pipe_fds) != 0 || (child = vfork()) < 0)
            return 20;
        if (child == 0) {
            /* The child's own fd table, in the parent's memory. */
            dup2(pipe_fds[1], 1);
            dup2(pipe_fds[1], 2);
            syscall(SYS_close_range, 3, ~0U, 0);
            _exit(4);
        }
        report("vfork", child);
        close(pipe_fds[0]);
        close(pipe_fds[1]);
        for (int i = 0; i < 3; i++)
            printf("parent pid %d after the vfork child redirected %02d\n", (int)getpid(), i);
        fflush(stdout);
        fprintf(stderr, "parent pid %d on stderr after it\n", (int)getpid());
    } else if (strcmp(mode, "vfork-exec") == 0 && target) {
        if ((child = vfork()) < 0)
            return 20;
        if (child == 0) {
            execl(target, "host_print", "vforked", "4", "write", "5", (char *)NULL);
            _exit(127);
        }
        report("vfork+exec", child);
    } else if (strcmp(mode, "posix_spawn") == 0 && target) {
        char *args[] = {"host_print", "spawned", "4", "line", "6", NULL};
        if (posix_spawn(&child, target, NULL, NULL, args, environ) != 0)
            return 21;
        report("posix_spawn", child);
    } else if (strcmp(mode, "clone") == 0) {
        static char stack[256 * 1024] __attribute__((aligned(16)));
        /* No CLONE_VM: the child gets a copy of our memory, as with fork,
         * but no pthread_atfork handler runs. */
        if ((child = clone(clone_child, stack + sizeof stack, SIGCHLD, NULL)) < 0)
            return 22;
        report("clone", child);
    } else if (strcmp(mode, "daemon-keep") == 0 && target) {
        if (daemon(1, 1) != 0) /* keep stdout and stderr, for now */
            return 23;
        for (int i = 0; i < 5; i++)
            printf("daemon pid %d line %02d\n", (int)getpid(), i);
        fflush(stdout);
        fprintf(stderr, "daemon pid %d on stderr\n", (int)getpid());
        to_dev_null(); /* what a daemon does once it has said hello */
        for (int i = 0; i < 3; i++)
            printf("daemon pid %d after its redirect %02d\n", (int)getpid(), i);
        fflush(stdout);
        write_done(target);
    } else if (strcmp(mode, "daemon-null") == 0 && target) {
        if (daemon(1, 0) != 0) /* glibc sends 0, 1 and 2 to /dev/null */
            return 23;
        for (int i = 0; i < 3; i++)
            printf("daemon pid %d after daemon() %02d\n", (int)getpid(), i);
        fflush(stdout);
        write_done(target);
    } else if (strcmp(mode, "exec") == 0 && target) {
        execl(target, "host_print", "execed", "4", "printf", "-10", (char *)NULL);
        return 127;
    } else {
        fprintf(stderr, "host_spawn: unknown mode '%s' (or no TARGET)\n", mode);
        return 2;
    }
    return 0;
}
