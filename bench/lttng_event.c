/*
 * lttng_event.c - what one LTTng-UST event costs a program while a tracing
 * session records it, next to a bare write() of the same line: the
 * reference for "close to the limit" in docs/BENCHMARKS.md (section lttng;
 * bench/latency.py starts the session daemon and the session around it).
 *
 *   lttng_event -o RESULTS [-n OPS] [-r REPS] [-p PAUSE_MS]
 *
 * Two cases, each OPS operations, measured REPS times after a warm-up:
 *   event   lttng_ust_tracepoint(ulog_bench, line, LINE, i): the message
 *           and a sequence number into the per-CPU ring buffer (LTTng adds
 *           the timestamp); the consumer daemon empties the ring to disk
 *   write   write(1, LINE, 33) with stdout on /dev/null, as in shim_cost.c
 * Each repetition runs both, in turn, so that drift hits them alike, then
 * pauses PAUSE_MS (default 20) outside the timing, so that the consumer
 * daemon can empty the ring: a full ring discards events, which would make
 * them look cheaper (lttng counts them; bench/latency.py reports the count).
 *
 * The tracepoint must be enabled when the program starts (liblttng-ust
 * registers with the session daemon before main): if it is not, the
 * program fails rather than time a disabled tracepoint (a branch, ~1 ns).
 * Output, to RESULTS: "CASE NS_PER_OP OPS" per reported repetition and case.
 *
 * Build: ... -Ibench -o build/bench/lttng_event bench/lttng_event.c -llttng-ust -ldl
 */
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#define LTTNG_UST_TRACEPOINT_DEFINE
#include "lttng_tp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE "shim cost benchmark: one line 42\n" /* 33 bytes, as shim_cost.c */
#define LINE_LEN (sizeof LINE - 1)

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void fail(const char *what)
{
    fprintf(stderr, "lttng_event: %s: %s\n", what, strerror(errno));
    exit(1);
}

__attribute__((noinline)) static void run_event(long ops)
{
    for (long i = 0; i < ops; i++)
        lttng_ust_tracepoint(ulog_bench, line, LINE, i);
}

__attribute__((noinline)) static void run_write(long ops)
{
    for (long i = 0; i < ops; i++)
        if (write(1, LINE, LINE_LEN) != (ssize_t)LINE_LEN)
            fail("write to stdout");
}

static const struct bench_case {
    const char *name;
    void (*run)(long ops);
} CASES[] = {
    {"event", run_event},
    {"write", run_write},
};

static void usage(void)
{
    fprintf(stderr, "usage: lttng_event -o RESULTS [-n OPS] [-r REPS] [-p PAUSE_MS]\n");
    exit(2);
}

static long parse_count(const char *opt, const char *s, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        fprintf(stderr, "lttng_event: %s wants a number from %ld to %ld, not '%s'\n", opt, min,
                max, s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    long ops = 20000, reps = 5, pause_ms = 20;
    const char *results = NULL;
    int opt;

    while ((opt = getopt(argc, argv, "o:n:r:p:")) != -1) {
        switch (opt) {
        case 'o': results = optarg; break;
        case 'n': ops = parse_count("-n", optarg, 1, 100000000); break;
        case 'r': reps = parse_count("-r", optarg, 1, 1000); break;
        case 'p': pause_ms = parse_count("-p", optarg, 0, 10000); break;
        default: usage();
        }
    }
    if (!results || optind != argc)
        usage();
    if (!lttng_ust_tracepoint_enabled(ulog_bench, line)) {
        fprintf(stderr, "lttng_event: ulog_bench:line is not enabled: no active session "
                        "recording it reached this process\n");
        return 3;
    }
    FILE *out = fopen(results, "w");
    if (!out)
        fail(results);

    struct timespec pause = {pause_ms / 1000, (pause_ms % 1000) * 1000000L};
    for (long rep = 0; rep <= reps; rep++) {
        for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
            double start = now_ns();
            CASES[i].run(ops);
            double elapsed = now_ns() - start;
            if (rep > 0) /* rep 0 is the warm-up */
                fprintf(out, "%s %.2f %ld\n", CASES[i].name, elapsed / (double)ops, ops);
        }
        nanosleep(&pause, NULL);
    }
    if (fclose(out) != 0)
        fail(results);
    return 0;
}
