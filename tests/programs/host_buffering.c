/*
 * host_buffering.c - shows how its stdio streams are buffered, as seen from
 * outside, while it waits: ULOG_STDOUT_BUFFER and ULOG_STDERR_BUFFER must
 * set that at start, as coreutils' stdbuf does, and nothing else.
 *
 * It printf()s a whole line and then a line without its newline to stdout,
 * a whole line to stderr through stdio, then writes "ready" to stderr with
 * write(2) (unbuffered whatever happens): once "ready" is out, whatever the
 * buffering let through is in the pipes already. It then waits for its
 * stdin to end, finishes both lines, and exits 0.
 */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    char buf[256];

    printf("first line\n");
    printf("partial line");
    fprintf(stderr, "stderr stdio line\n");
    if (write(2, "ready\n", 6) != 6)
        return 10;
    while (read(0, buf, sizeof buf) > 0)
        ;
    printf(" finished after stdin ended\n");
    fprintf(stderr, "stderr at the end\n");
    return 0;
}
