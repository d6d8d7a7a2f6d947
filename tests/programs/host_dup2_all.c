/*
 * host_dup2_all.c - dup2()s one file onto every fd number from 3 to 1023,
 * prints, then puts its own fds back, as a program that reuses fd numbers
 * blindly (or a shell saving and restoring its fds) would.
 *
 * Usage: host_dup2_all DIR [NOFILE]
 *
 * With NOFILE, it first lowers its fd limit to NOFILE and execs itself, so
 * that the shim starts afresh under that limit (1024: the table is then
 * full once the storm is over). Its own fds (a file and a pipe) are saved
 * above the range first and restored afterwards; the pipe must still carry
 * bytes, and the files must hold exactly what the program wrote to them:
 * nothing of the shim's may land in a file that took its number.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static const char *dir;

static void phase(const char *name)
{
    for (int i = 0; i < 5; i++)
        printf("%s stdio line %02d\n", name, i);
    fflush(stdout);
    char line[128];
    int n = snprintf(line, sizeof line, "%s write line\n", name);
    if (write(1, line, (size_t)n) != n)
        exit(10);
    fprintf(stderr, "%s stderr line\n", name);
}

static int open_file(const char *name, const char *first_line)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, first_line, strlen(first_line)) != (ssize_t)strlen(first_line))
        exit(11);
    return fd;
}

static void check_file(const char *name, const char *expected)
{
    char path[4096], buf[8192];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf) : -1;
    if (fd >= 0)
        close(fd);
    printf("%s holds %s\n", name,
           n == (ssize_t)strlen(expected) && memcmp(buf, expected, (size_t)n) == 0
               ? "exactly its own lines"
               : "something else");
}

int main(int argc, char **argv)
{
    struct rlimit lim;

    if (argc < 2)
        return 2;
    dir = argv[1];
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0)
        return 3;
    if (argc > 2 && lim.rlim_cur != (rlim_t)atol(argv[2])) {
        lim.rlim_cur = (rlim_t)atol(argv[2]);
        if (setrlimit(RLIMIT_NOFILE, &lim) != 0)
            return 4;
        execv("/proc/self/exe", argv);
        return 5;
    }
    int top = lim.rlim_cur < 1024 ? (int)lim.rlim_cur : 1024; /* numbers 3 .. top-1 */

    phase("start");
    int own = open_file("dup2-own", "own: first\n");
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0)
        return 6;
    /* Save its own fds where the storm will not reach: at 1024 and above,
     * or at the very top of a smaller table, which the storm then skips. */
    int originals[3] = {own, pipe_fds[0], pipe_fds[1]}, saved[3];
    int save_at = lim.rlim_cur > 1024 + 16 ? 1024 : top - 3;
    for (int i = 0; i < 3; i++)
        if ((saved[i] = fcntl(originals[i], F_DUPFD_CLOEXEC, save_at)) < 0)
            return 7;
    int storm_end = save_at < top ? save_at : top; /* exclusive */

    int target = open_file("dup2-target", "");
    int count = 0, failed = 0;
    for (int fd = 3; fd < storm_end; fd++) {
        if (fd == target)
            continue;
        if (dup2(target, fd) == fd)
            count++;
        else
            failed++;
    }
    printf("dup2 onto %d fd(s), %d failed\n", count, failed);
    phase("while every fd is the file");
    if (write(3, "target: via fd 3\n", 17) != 17 ||
        write(storm_end - 1, "target: via the last fd\n", 24) != 24)
        return 8;

    /* Put things back: close the whole range, then restore its own fds. */
    int closed = 0, ebadf = 0;
    for (int fd = 3; fd < storm_end; fd++) {
        if (close(fd) == 0)
            closed++;
        else if (errno == EBADF)
            ebadf++;
    }
    for (int i = 0; i < 3; i++)
        if (dup2(saved[i], originals[i]) != originals[i] || close(saved[i]) != 0)
            return 9;
    printf("restored: closed %d fd(s), %d answered EBADF\n", closed, ebadf);

    char buf[8];
    if (write(own, "own: after restore\n", 19) != 19 || write(pipe_fds[1], "ping", 4) != 4 ||
        read(pipe_fds[0], buf, sizeof buf) != 4)
        return 10;
    printf("the restored pipe carries %.4s\n", buf);
    phase("after restore");

    check_file("dup2-own", "own: first\nown: after restore\n");
    check_file("dup2-target", "target: via fd 3\ntarget: via the last fd\n");
    return 0;
}
