/*
 * paced_writer.c - a program that logs at a fixed rate, each line carrying
 * the moment it was written, for the latency and memory benchmarks of
 * bench/latency.py (docs/BENCHMARKS.md).
 *
 *   paced_writer -n LINES [-r RATE] [-b LINE_BYTES] [-o RESULTS] [-S]
 *
 * Writes LINES lines to its stdout, one write(2) per line, RATE lines per
 * second (0, the default: as fast as it can). Line i is due at start + i/RATE
 * on CLOCK_MONOTONIC and written as soon as it is due (clock_nanosleep to an
 * absolute time, so that a late wake-up never shifts the lines after it);
 * its text is
 *
 *     "ulog-latency seq=%d t=%lld" then '.' up to LINE_BYTES, then "\n"
 *
 * where t is CLOCK_REALTIME in nanoseconds read just before the write():
 * whoever finds the line later (latency_reader.c, in all.log) knows how long
 * it took to get there, both clocks being the same machine's.
 *
 * With -S the program stops itself (SIGSTOP) after its last line, before it
 * exits, so that its memory can be read from /proc while it still holds
 * everything it held as it logged; SIGCONT lets it exit.
 *
 * RESULTS (-o) gets one line of key=value figures: lines, seconds (from the
 * first line due to the last written) and how late the writes were against
 * their schedule (late_max_ns, late_over_1ms): a writer that cannot keep its
 * pace would hide latency in its own queue.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#define MAX_LINE 4096

static long long ns_of(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void fail(const char *what)
{
    /* stderr is captured too, but a failure is worth a captured line. */
    fprintf(stderr, "paced_writer: %s: %s\n", what, strerror(errno));
    exit(1);
}

static long parse_count(const char *opt, const char *s, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        fprintf(stderr, "paced_writer: %s wants a number from %ld to %ld, not '%s'\n", opt, min,
                max, s);
        exit(2);
    }
    return v;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: paced_writer -n LINES [-r RATE] [-b LINE_BYTES] [-o RESULTS] [-S]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    long lines = -1, rate = 0, line_bytes = 64;
    const char *results = NULL;
    int stop_at_end = 0, opt;

    while ((opt = getopt(argc, argv, "n:r:b:o:S")) != -1) {
        switch (opt) {
        case 'n': lines = parse_count("-n", optarg, 0, 100000000); break;
        case 'r': rate = parse_count("-r", optarg, 0, 10000000); break;
        case 'b': line_bytes = parse_count("-b", optarg, 64, MAX_LINE); break;
        case 'o': results = optarg; break;
        case 'S': stop_at_end = 1; break;
        default: usage();
        }
    }
    if (lines < 0 || optind != argc)
        usage();
    /* The default timer slack (50 us) is half the period at 10 000 lines/s. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);

    char line[MAX_LINE + 1];
    long long period = rate > 0 ? 1000000000LL / rate : 0;
    long long start = ns_of(CLOCK_MONOTONIC), late_max = 0, last = start;
    long late_over_1ms = 0;
    for (long i = 0; i < lines; i++) {
        long long due = start + i * period;
        if (period) {
            struct timespec ts = {(time_t)(due / 1000000000LL), (long)(due % 1000000000LL)};
            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
                ;
        }
        long long now = ns_of(CLOCK_MONOTONIC);
        if (now - due > late_max)
            late_max = now - due;
        late_over_1ms += now - due > 1000000;
        int n = snprintf(line, sizeof line, "ulog-latency seq=%ld t=%lld", i,
                         ns_of(CLOCK_REALTIME));
        if (n < line_bytes - 1)
            memset(line + n, '.', (size_t)(line_bytes - 1 - n));
        line[line_bytes - 1] = '\n';
        if (write(1, line, (size_t)line_bytes) != (ssize_t)line_bytes)
            fail("write to stdout");
        last = now;
    }
    if (results) {
        FILE *out = fopen(results, "w");
        if (!out)
            fail(results);
        fprintf(out, "lines=%ld seconds=%.6f late_max_ns=%lld late_over_1ms=%ld\n", lines,
                (double)(last - start) / 1e9, late_max, late_over_1ms);
        if (fclose(out) != 0)
            fail(results);
    }
    if (stop_at_end)
        raise(SIGSTOP);
    return 0;
}
