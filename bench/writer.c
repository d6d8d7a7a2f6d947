/* writer.c - the log writers of the `aggregation` benchmark, the same
 * program for every collector it is compared with.
 *
 *     writer MODE WRITERS LINES LINE_BYTES [TARGET]
 *
 * Forks WRITERS processes; once all of them exist they are released at the
 * same moment, and each writes LINES lines as fast as it can, one system
 * call per line. Every line is exactly LINE_BYTES bytes plus "\n", and unique:
 *
 *     "w%03d %08d " (the writer, the line's number from 0), then 'x' up to LINE_BYTES
 *
 * so that whoever reads the collector's file can tell each line apart and
 * check that none is missing, doubled or cut. MODE says where lines go:
 *
 *   stdout       write(1, line) per line: a program logging to its stdout. Under
 *                the ulog shim (LD_PRELOAD=build/libulog.so) with stdout on
 *                /dev/null, the shim is the only consumer; in a container, the
 *                line goes to the container's log driver.
 *   syslog-unix  one RFC 3164 datagram per line, "<14>writer[PID]: " + the line
 *                without its "\n" (what syslog(3) sends, less the timestamp, which
 *                the collector then takes from the time it received the line), on
 *                a blocking AF_UNIX SOCK_DGRAM socket connected to TARGET: a full
 *                receiver makes the writer wait rather than lose the line. A send
 *                that fails anyway (ENOBUFS, EAGAIN, or the collector gone) is
 *                counted as dropped, never retried.
 *
 * When every writer has exited, one line of key=value figures goes to the file
 * named by $WRITER_REPORT (else to stderr, which a shim or a container would
 * capture as log output):
 *
 *     lines=  lines written in all     dropped=  lines counted as dropped
 *     bytes=  bytes of those lines     user_s= sys_s=  the writers' CPU time
 *     wall_s= from their release until the last one exited
 *
 * The CPU time is getrusage(RUSAGE_CHILDREN): every writer's, including what a
 * preloaded shim does in them, up to and including their exit. Exit status: 0,
 * or 1 if a line could not be written for another reason than the above.
 *
 * Only libc and POSIX: it is also built with `gcc -static` to run alone in a
 * container image.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_WRITERS 999
#define MAX_LINE 65536
#define HEAD 14 /* strlen("w000 00000000 ") */

enum mode { MODE_STDOUT, MODE_SYSLOG };

/* One slot per writer in memory shared with the parent. */
struct tally {
    unsigned long lines, dropped, bytes, failed;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long number(const char *text, const char *what, long min, long max)
{
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno || *end || end == text || value < min || value > max) {
        fprintf(stderr, "writer: %s must be a number from %ld to %ld, not %s\n", what, min,
                max, text);
        exit(2);
    }
    return value;
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static int open_syslog(const char *target)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(target) >= sizeof addr.sun_path) {
        fprintf(stderr, "writer: socket path too long: %s\n", target);
        return -1;
    }
    strcpy(addr.sun_path, target);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        fprintf(stderr, "writer: %s: %s\n", target, strerror(errno));
        return -1;
    }
    return fd;
}

/* "w%03d %08ld " into line[0..HEAD): the line's unique head. */
static void head(char *line, int index, long seq)
{
    line[0] = 'w';
    for (int i = 3; i >= 1; i--, index /= 10)
        line[i] = (char)('0' + index % 10);
    line[4] = ' ';
    for (int i = 12; i >= 5; i--, seq /= 10)
        line[i] = (char)('0' + seq % 10);
    line[13] = ' ';
}

/* One writer: `lines` lines, then exit() (not _exit), so that whatever a
 * preloaded shim still holds is delivered as by any program that ends. */
static void run_writer(enum mode mode, int index, long lines, long line_bytes,
                       const char *target, int release, struct tally *t)
{
    char c;
    while (read(release, &c, 1) < 0 && errno == EINTR)
        ; /* wait until every writer exists: EOF when the parent lets go */
    close(release);

    int fd = 1;
    if (mode == MODE_SYSLOG && (fd = open_syslog(target)) < 0) {
        t->failed = (unsigned long)lines;
        exit(1);
    }
    char *buf = malloc((size_t)line_bytes + 64);
    if (!buf)
        exit(1);
    /* The prefix: "<14>writer[PID]: " for syslog, nothing for stdout. */
    size_t prefix = 0;
    if (mode == MODE_SYSLOG)
        prefix = (size_t)sprintf(buf, "<14>writer[%ld]: ", (long)getpid());
    char *line = buf + prefix;
    memset(line, 'x', (size_t)line_bytes);
    line[line_bytes] = '\n';

    for (long seq = 0; seq < lines; seq++) {
        head(line, index, seq);
        if (mode == MODE_STDOUT) {
            if (write_all(fd, line, (size_t)line_bytes + 1) < 0) {
                t->failed++;
                continue;
            }
        } else {
            ssize_t n;
            do
                n = send(fd, buf, prefix + (size_t)line_bytes, 0);
            while (n < 0 && errno == EINTR);
            if (n < 0) {
                if (errno == ENOBUFS || errno == EAGAIN || errno == ECONNREFUSED ||
                    errno == ENOTCONN)
                    t->dropped++;
                else
                    t->failed++;
                continue;
            }
        }
        t->lines++;
        t->bytes += (unsigned long)line_bytes + 1;
    }
    free(buf);
    exit(t->failed ? 1 : 0);
}

int main(int argc, char **argv)
{
    if (argc < 5 || argc > 6) {
        fprintf(stderr, "usage: writer stdout|syslog-unix WRITERS LINES LINE_BYTES [TARGET]\n");
        return 2;
    }
    enum mode mode;
    if (strcmp(argv[1], "stdout") == 0)
        mode = MODE_STDOUT;
    else if (strcmp(argv[1], "syslog-unix") == 0)
        mode = MODE_SYSLOG;
    else {
        fprintf(stderr, "writer: MODE is stdout or syslog-unix, not %s\n", argv[1]);
        return 2;
    }
    int writers = (int)number(argv[2], "WRITERS", 1, MAX_WRITERS);
    long lines = number(argv[3], "LINES", 0, 99999999);
    long line_bytes = number(argv[4], "LINE_BYTES", HEAD, MAX_LINE);
    const char *target = argc > 5 ? argv[5] : NULL;
    if (mode == MODE_SYSLOG && !target) {
        fprintf(stderr, "writer: syslog-unix needs TARGET, the collector's socket\n");
        return 2;
    }

    struct tally *tallies = mmap(NULL, sizeof *tallies * (size_t)writers,
                                 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int release[2];
    if (tallies == MAP_FAILED || pipe(release) < 0) {
        perror("writer");
        return 1;
    }
    for (int i = 0; i < writers; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("writer: fork");
            return 1;
        }
        if (pid == 0) {
            close(release[1]);
            run_writer(mode, i, lines, line_bytes, target, release[0], &tallies[i]);
        }
    }
    close(release[0]);
    double started = now();
    close(release[1]); /* go */

    int status, failed = 0;
    while (wait(&status) > 0)
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            failed = 1;
    double wall = now() - started;

    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    struct tally sum = {0};
    for (int i = 0; i < writers; i++) {
        sum.lines += tallies[i].lines;
        sum.dropped += tallies[i].dropped;
        sum.bytes += tallies[i].bytes;
        sum.failed += tallies[i].failed;
    }
    char report[512];
    int len = snprintf(report, sizeof report,
                       "lines=%lu dropped=%lu bytes=%lu failed=%lu user_s=%.6f sys_s=%.6f "
                       "wall_s=%.6f\n",
                       sum.lines, sum.dropped, sum.bytes, sum.failed,
                       (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
                       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6, wall);
    const char *path = getenv("WRITER_REPORT");
    int out = 2;
    if (path && *path && (out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
        fprintf(stderr, "writer: %s: %s\n", path, strerror(errno));
        return 1;
    }
    if (write_all(out, report, (size_t)len) < 0)
        return 1;
    if (out != 2)
        close(out);
    return failed || sum.failed ? 1 : 0;
}
