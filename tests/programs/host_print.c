/*
 * host_print.c - the child every host-safety test starts: it prints COUNT
 * numbered lines that name its own pid, then ends as it was told to.
 *
 * Usage: host_print LABEL COUNT [write|line|printf] [STATUS|-SIGNAL]
 *
 * stdout gets "LABEL pid P out NN", stderr "LABEL pid P err NN" after every
 * third line. write: one write(2) per line; line: stdio, line-buffered, so
 * one flush per line; printf (the default): stdio as a program uses it,
 * block-buffered into a pipe. Either way every line reaches the kernel
 * whole. It then exits with STATUS (default 0), or, after flushing, dies
 * of SIGNAL: a test can compare exit statuses and signals alike. The same
 * source is built statically by the tests, and copied set-user-ID.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int use_write;

static void line(FILE *stream, const char *fmt, const char *label, int pid, const char *what,
                 int n)
{
    char buf[256];
    int len = snprintf(buf, sizeof buf, fmt, label, pid, what, n);
    if (len < 0 || (size_t)len >= sizeof buf)
        exit(10);
    if (use_write) {
        if (write(fileno(stream), buf, (size_t)len) != len)
            exit(11);
    } else if (fputs(buf, stream) == EOF) {
        exit(12);
    }
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fputs("usage: host_print LABEL COUNT [write|line|printf] [STATUS|-SIGNAL]\n", stderr);
        return 2;
    }
    const char *label = argv[1];
    int count = atoi(argv[2]);
    const char *mode = argc > 3 ? argv[3] : "printf";
    int end = argc > 4 ? atoi(argv[4]) : 0;
    int pid = (int)getpid();

    use_write = strcmp(mode, "write") == 0;
    if (strcmp(mode, "line") == 0) {
        setvbuf(stdout, NULL, _IOLBF, 0);
        setvbuf(stderr, NULL, _IOLBF, 0);
    }
    for (int i = 0; i < count; i++) {
        line(stdout, "%s pid %d %s %02d\n", label, pid, "out", i);
        if (i % 3 == 2)
            line(stderr, "%s pid %d %s %02d\n", label, pid, "err", i);
    }
    if (fflush(NULL) != 0)
        return 13;
    if (end < 0) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, -end);
        signal(-end, SIG_DFL);
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        raise(-end);
        return 14; /* the signal was blocked or ignored by whoever started us */
    }
    return end;
}
