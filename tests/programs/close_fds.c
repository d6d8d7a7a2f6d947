/*
 * close_fds.c - closes every fd above 2, twice, and keeps printing.
 *
 * First close_range(3, ~0U, 0), then a closefrom-style loop up to the fd
 * limit, as daemons and process supervisors do. Whatever the shim held is
 * gone; the lines printed afterwards must still be captured. A file the
 * program opens in between (it lands on a low fd) must hold exactly what
 * the program wrote to it.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static const char payload[] = "file payload\n";

static void print_lines(const char *phase)
{
    for (int i = 0; i < 20; i++)
        printf("%s line %02d\n", phase, i);
    fflush(stdout);
    char line[64];
    int n = snprintf(line, sizeof line, "%s write line\n", phase);
    if (write(1, line, (size_t)n) != n)
        exit(10);
}

int main(void)
{
    print_lines("before close_range");
    if (close_range(3, ~0U, 0) != 0)
        return 11;
    print_lines("after close_range");

    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char path[4096];
    snprintf(path, sizeof path, "%s/ulog-closefds-XXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, payload, sizeof payload - 1) != (ssize_t)sizeof payload - 1)
        return 12;
    printf("opened a file on fd %s\n", fd < 10 ? "below 10" : "10 or above");

    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0)
        return 13;
    for (rlim_t i = 3; i < lim.rlim_cur; i++)
        close((int)i);
    print_lines("after closefrom");

    char back[64] = {0};
    int again = open(path, O_RDONLY);
    ssize_t got = again >= 0 ? read(again, back, sizeof back - 1) : -1;
    unlink(path);
    printf("file holds %s\n",
           got == (ssize_t)sizeof payload - 1 && memcmp(back, payload, (size_t)got) == 0
               ? "exactly its payload"
               : "something else");
    return 0;
}
