/*
 * latency_reader.c - when does each line of paced_writer.c appear in a
 * file? The reading side of the latency benchmark (bench/latency.py,
 * docs/BENCHMARKS.md).
 *
 *   latency_reader -n LINES -o OUT [-t SECONDS] FILE...
 *
 * Follows each FILE from its start (all.log; ulogd's console mirror) and
 * looks in every line for paced_writer's "ulog-latency seq=N t=T", T being
 * the writer's CLOCK_REALTIME at its write(). Latency = CLOCK_REALTIME when
 * the reader got the line - T: the time from the program's write() until the
 * line could be read from the file, as `tail -f` or a log shipper would read
 * it.
 *
 * The reader sleeps in poll() on an inotify descriptor (IN_MODIFY on every
 * FILE), so it wakes within microseconds of each write to a file, and reads
 * until the end of the file; the clock is read before every read(), so that
 * a line is never given a time before it could have been read (and at most
 * that read's own duration after). A 10 ms poll timeout re-reads anyway, in
 * case an event was missed. A FILE that does not exist yet is waited for.
 *
 * It prints "ready" on stdout once it watches every FILE, and stops when it
 * has seen seq 0 .. LINES-1 in every FILE, or SECONDS (default 60) after it
 * started. OUT gets, per FILE, "# FILE_INDEX seen=N duplicates=N", then one
 * line "FILE_INDEX SEQ LATENCY_NS" per line seen (the first time it is seen).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#define MAX_FILES 4
#define BUFFER_BYTES (1 << 20) /* longer lines than this are skipped */
#define MARK "ulog-latency seq="
#define UNSEEN LLONG_MIN

struct followed {
    const char *path;
    int fd;
    char *buf;
    size_t len;             /* bytes of an incomplete line kept from the last read */
    long long *latency;     /* per seq; UNSEEN until seen */
    long seen, duplicates;
};

static long long realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void fail(const char *what)
{
    fprintf(stderr, "latency_reader: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void take_line(struct followed *f, const char *line, const char *end, long lines,
                      long long now)
{
    const char *p = memmem(line, (size_t)(end - line), MARK, sizeof MARK - 1);
    if (!p)
        return;
    char *q;
    long seq = strtol(p + sizeof MARK - 1, &q, 10);
    if (strncmp(q, " t=", 3) != 0 || seq < 0 || seq >= lines)
        return;
    long long t = strtoll(q + 3, NULL, 10);
    if (f->latency[seq] != UNSEEN) {
        f->duplicates++;
        return;
    }
    f->latency[seq] = now - t;
    f->seen++;
}

/* Read what the file holds beyond what was read; false at the end of it. */
static int read_more(struct followed *f, long lines)
{
    if (f->len == BUFFER_BYTES)
        f->len = 0; /* a line longer than the buffer: not ours, drop its start */
    long long now = realtime_ns();
    ssize_t n = read(f->fd, f->buf + f->len, BUFFER_BYTES - f->len);
    if (n < 0)
        fail(f->path);
    if (n == 0)
        return 0;
    f->len += (size_t)n;
    char *line = f->buf, *nl;
    while ((nl = memchr(line, '\n', f->len - (size_t)(line - f->buf)))) {
        take_line(f, line, nl, lines, now);
        line = nl + 1;
    }
    f->len -= (size_t)(line - f->buf);
    memmove(f->buf, line, f->len);
    return 1;
}

static void usage(void)
{
    fprintf(stderr, "usage: latency_reader -n LINES -o OUT [-t SECONDS] FILE...\n");
    exit(2);
}

int main(int argc, char **argv)
{
    long lines = 0, seconds = 60;
    const char *out_path = NULL;
    int opt;

    while ((opt = getopt(argc, argv, "n:o:t:")) != -1) {
        switch (opt) {
        case 'n': lines = strtol(optarg, NULL, 10); break;
        case 'o': out_path = optarg; break;
        case 't': seconds = strtol(optarg, NULL, 10); break;
        default: usage();
        }
    }
    int nfiles = argc - optind;
    if (lines < 1 || lines > 100000000 || seconds < 1 || !out_path || nfiles < 1 ||
        nfiles > MAX_FILES)
        usage();

    struct timespec started;
    clock_gettime(CLOCK_MONOTONIC, &started);
    int inotify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (inotify < 0)
        fail("inotify_init1");
    struct followed files[MAX_FILES];
    for (int i = 0; i < nfiles; i++) {
        struct followed *f = &files[i];
        f->path = argv[optind + i];
        f->len = 0;
        f->seen = f->duplicates = 0;
        f->buf = malloc(BUFFER_BYTES);
        f->latency = malloc((size_t)lines * sizeof *f->latency);
        if (!f->buf || !f->latency)
            fail("malloc");
        for (long s = 0; s < lines; s++)
            f->latency[s] = UNSEEN;
        for (int tries = 0; (f->fd = open(f->path, O_RDONLY | O_CLOEXEC)) < 0; tries++) {
            if (errno != ENOENT || tries == 1000)
                fail(f->path);
            usleep(10000);
        }
        if (inotify_add_watch(inotify, f->path, IN_MODIFY) < 0)
            fail(f->path);
    }
    printf("ready\n");
    fflush(stdout);

    for (;;) {
        int complete = 1;
        for (int i = 0; i < nfiles; i++) {
            while (read_more(&files[i], lines))
                ;
            complete &= files[i].seen == lines;
        }
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (complete || now.tv_sec - started.tv_sec >= seconds)
            break;
        struct pollfd p = {.fd = inotify, .events = POLLIN};
        if (poll(&p, 1, 10) > 0) {
            char events[4096];
            while (read(inotify, events, sizeof events) > 0)
                ;
        }
    }

    FILE *out = fopen(out_path, "w");
    if (!out)
        fail(out_path);
    for (int i = 0; i < nfiles; i++) {
        fprintf(out, "# %d seen=%ld duplicates=%ld\n", i, files[i].seen, files[i].duplicates);
        for (long s = 0; s < lines; s++)
            if (files[i].latency[s] != UNSEEN)
                fprintf(out, "%d %ld %lld\n", i, s, files[i].latency[s]);
    }
    if (fclose(out) != 0)
        fail(out_path);
    return 0;
}
