/*
 * shim_cost.c - what one write and one stdio flush cost a program, so that
 * bench/run_shim_cost.py can run it with and without libulog.so preloaded
 * and report the difference (docs/BENCHMARKS.md).
 *
 *   shim_cost -o RESULTS [-n OPS] [-r REPS] [-c CASE]...
 *
 * Three cases, each OPS operations on stdout (printf: 2 x OPS, its
 * operations being so much cheaper), measured REPS times:
 *   write   write(1, line, 33): the fd path, one capture per call
 *   flush   fputs(line, stdout) + fflush(stdout): one stdio flush per line,
 *           what a line-buffered or unbuffered service pays
 *   printf  printf of a 33-byte line into a 4 KiB fully buffered stdout:
 *           one flush per ~124 lines, what a service writing to a pipe pays
 *
 * The program's stdout is where the shim captures (run it with stdout on
 * /dev/null), so the results go to the file named by -o, never to stdout or
 * stderr: writes to any other file are not captured and cost nothing extra.
 * Each repetition runs every case once, in turn, so that drift (frequency,
 * a neighbour on the machine) hits all cases alike; the first repetition is
 * a warm-up (page faults, the shim's first connection) and is not reported.
 * Output: one line per reported repetition and case, "CASE NS_PER_OP OPS".
 *
 * The measured loops live in functions of their own, never inlined, so that
 * `valgrind --tool=callgrind --toggle-collect=run_CASE` can count exactly
 * the instructions one case executes, shim included.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE "shim cost benchmark: one line 42\n" /* 33 bytes */
#define LINE_LEN (sizeof LINE - 1)
#define STDOUT_BUFFER 4096

static char stdout_buffer[STDOUT_BUFFER];

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void fail(const char *what)
{
    /* stderr, not stdout: a failure is worth a captured line. */
    fprintf(stderr, "shim_cost: %s: %s\n", what, strerror(errno));
    exit(1);
}

__attribute__((noinline)) static void run_write(long ops)
{
    for (long i = 0; i < ops; i++)
        if (write(1, LINE, LINE_LEN) != (ssize_t)LINE_LEN)
            fail("write to stdout");
}

__attribute__((noinline)) static void run_flush(long ops)
{
    for (long i = 0; i < ops; i++)
        if (fputs(LINE, stdout) == EOF || fflush(stdout) == EOF)
            fail("fputs/fflush to stdout");
}

__attribute__((noinline)) static void run_printf(long ops)
{
    for (long i = 0; i < ops; i++)
        if (printf("shim cost benchmark: line %06ld\n", i % 1000000) < 0)
            fail("printf to stdout");
    /* The tail of the buffer belongs to this case, not to the next one. */
    if (fflush(stdout) == EOF)
        fail("fflush stdout");
}

static const struct bench_case {
    const char *name;
    void (*run)(long ops);
    long scale; /* operations per OPS: enough for a repetition to last milliseconds */
} CASES[] = {
    {"write", run_write, 1},
    {"flush", run_flush, 1},
    {"printf", run_printf, 2},
};
#define NCASES (sizeof CASES / sizeof CASES[0])

static long parse_count(const char *opt, const char *s, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > max) {
        fprintf(stderr, "shim_cost: %s wants a number from 1 to %ld, not '%s'\n", opt, max, s);
        exit(2);
    }
    return v;
}

static void usage(void)
{
    fprintf(stderr, "usage: shim_cost -o RESULTS [-n OPS] [-r REPS] [-c write|flush|printf]...\n");
    exit(2);
}

int main(int argc, char **argv)
{
    long ops = 100000, reps = 5;
    const char *results = NULL;
    int selected[NCASES] = {0}, any_selected = 0, opt;

    while ((opt = getopt(argc, argv, "o:n:r:c:")) != -1) {
        switch (opt) {
        case 'o': results = optarg; break;
        case 'n': ops = parse_count("-n", optarg, 100000000); break;
        case 'r': reps = parse_count("-r", optarg, 1000); break;
        case 'c': {
            size_t i = 0;
            while (i < NCASES && strcmp(CASES[i].name, optarg) != 0)
                i++;
            if (i == NCASES) {
                fprintf(stderr, "shim_cost: unknown case '%s' (write, flush, printf)\n", optarg);
                exit(2);
            }
            selected[i] = any_selected = 1;
            break;
        }
        default: usage();
        }
    }
    if (!results || optind != argc)
        usage();
    FILE *out = fopen(results, "w");
    if (!out)
        fail(results);
    /* Before any output: a fixed 4 KiB full buffer, whatever stdout is (a
     * terminal would otherwise be line-buffered). */
    if (setvbuf(stdout, stdout_buffer, _IOFBF, sizeof stdout_buffer) != 0)
        fail("setvbuf stdout");

    for (long rep = 0; rep <= reps; rep++) {
        for (size_t i = 0; i < NCASES; i++) {
            if (any_selected && !selected[i])
                continue;
            long n = ops * CASES[i].scale;
            double start = now_ns();
            CASES[i].run(n);
            double elapsed = now_ns() - start;
            if (rep > 0) /* rep 0 is the warm-up */
                fprintf(out, "%s %.2f %ld\n", CASES[i].name, elapsed / (double)n, n);
        }
    }
    if (fclose(out) != 0)
        fail(results);
    return 0;
}
