/*
 * crash_after_lines.c - a worker that prints a few lines and then aborts
 * (SIGABRT), for the `ulog context` test (test_context.py): the digest must
 * show the crash with these last lines.
 *
 *   crash_after_lines [N]   N numbered lines (default 5), stdout and stderr
 *                           alternately, then one last stderr line; then it
 *                           reads its stdin to the end and calls abort()
 *
 * Every line is written at once (stdio is flushed). Waiting for the end of
 * stdin lets the test decide when it crashes: once its lines are in all.log,
 * ulogd has handled the shim's HELLO and watches the process (with eBPF, or
 * from /proc while the test leaves it a zombie).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int lines = argc > 1 ? atoi(argv[1]) : 5;
    char buf[256];
    ssize_t n;

    for (int i = 1; i <= lines; i++) {
        FILE *stream = i % 2 ? stdout : stderr;
        fprintf(stream, "worker: processed batch %d of %d\n", i, lines);
        fflush(stream);
    }
    fprintf(stderr, "worker: queue header checksum mismatch, giving up\n");
    fflush(stderr);
    while ((n = read(0, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
        ;
    abort();
}
