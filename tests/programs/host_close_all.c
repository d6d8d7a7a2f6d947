/*
 * host_close_all.c - closes every fd it may have, three ways, between
 * writes: a close() loop up to the fd limit, close_range(3, ~0U, 0), and
 * closefrom(3), as daemons, supervisors and shells do.
 *
 * Usage: host_close_all DIR
 *
 * Before each purge it opens a file of its own in DIR and writes a line;
 * afterwards it checks what each call answered (how many fds the loop
 * really closed, close_range's result, that its own file is gone) and
 * prints it: with the shim those answers must be the ones without it, since
 * the shim's socket is not the program's to close. At the end it reads its
 * files back: they must hold exactly its own lines. The test reads them too.
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

static int open_own(const char *name, const char *first_line)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, first_line, strlen(first_line)) != (ssize_t)strlen(first_line))
        exit(11);
    return fd;
}

static void append_own(const char *name, const char *line)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0 || write(fd, line, strlen(line)) != (ssize_t)strlen(line) || close(fd) != 0)
        exit(12);
}

static void check_own(const char *name, const char *expected)
{
    char path[4096], buf[4096];
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

static const char *state(int fd)
{
    return fcntl(fd, F_GETFD) == -1 && errno == EBADF ? "closed" : "open";
}

int main(int argc, char **argv)
{
    struct rlimit lim;
    int fd, closed = 0, rc;

    if (argc < 2)
        return 2;
    dir = argv[1];
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0)
        return 3;

    phase("start");
    fd = open_own("close-a", "a: before the close loop\n");
    for (rlim_t i = 3; i < lim.rlim_cur; i++)
        if (close((int)i) == 0)
            closed++;
    printf("the close loop closed %d fd(s); its own file is %s\n", closed, state(fd));
    phase("after the close loop");

    fd = open_own("close-b", "b: before close_range\n");
    rc = close_range(3, ~0U, 0);
    printf("close_range(3, ~0U, 0) returned %d; its own file is %s\n", rc, state(fd));
    phase("after close_range");

    fd = open_own("close-c", "c: before closefrom\n");
    closefrom(3);
    printf("after closefrom(3) its own file is %s\n", state(fd));
    phase("after closefrom");

    /* Once more, on an empty table: nothing left to close but what the
     * program never opened, which must answer EBADF. */
    closed = 0;
    int ebadf = 0;
    for (rlim_t i = 3; i < lim.rlim_cur; i++) {
        if (close((int)i) == 0)
            closed++;
        else if (errno == EBADF)
            ebadf++;
    }
    printf("a second close loop closed %d fd(s), %d answered EBADF\n", closed, ebadf);
    phase("after the second loop");

    append_own("close-a", "a: at the end\n");
    append_own("close-b", "b: at the end\n");
    append_own("close-c", "c: at the end\n");
    check_own("close-a", "a: before the close loop\na: at the end\n");
    check_own("close-b", "b: before close_range\nb: at the end\n");
    check_own("close-c", "c: before closefrom\nc: at the end\n");
    return 0;
}
