/*
 * forker.c - a fork-heavy workload for the procevents benchmark
 * (bench/procevents_rate.py): N short processes, started as fast as the
 * machine allows, each reaped by this program.
 *
 *     forker -n N [-j JOBS] [-m exec|exit] [-o RESULTS]
 *
 *   -m exec  each child execs /bin/true (one exec and one exit event each);
 *   -m exit  each child calls _exit(0) at once (one exit event each, no exec):
 *            fork and exit alone, the cheapest process there is.
 *   -j JOBS  children alive at once (default 4): the rate of a shell script
 *            or a build spawning in parallel, not of one-at-a-time.
 *
 * It prints its own pid as the machine's root pid namespace numbers it
 * (read from /proc/self, which names the pid in /proc's namespace), so that
 * the harness can tell its children's records from every other process's
 * even when it runs as pid 1 of a pid namespace of its own. Into RESULTS
 * (or stdout): "processes N failed F seconds S". Exit status 1 if a fork,
 * exec or child failed.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long number(const char *text, const char *what)
{
    char *end;
    long value = strtol(text, &end, 10);

    if (*text == '\0' || *end || value < 1 || value > 100000000) {
        fprintf(stderr, "forker: %s: expected a whole number of at least 1, not %s\n", what, text);
        exit(2);
    }
    return value;
}

/* Reaps one child; counts it as failed unless it exited with status 0. */
static int reap(long *failed)
{
    int status;
    pid_t pid;

    while ((pid = waitpid(-1, &status, 0)) < 0 && errno == EINTR)
        ;
    if (pid < 0)
        return -1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        (*failed)++;
    return 0;
}

int main(int argc, char **argv)
{
    long n = 20000, jobs = 4, running = 0, failed = 0;
    const char *results = NULL;
    int do_exec = 1, opt;
    char self[64] = "";
    char *const true_argv[] = {"true", NULL};
    char *const no_env[] = {NULL};

    while ((opt = getopt(argc, argv, "n:j:m:o:")) != -1) {
        switch (opt) {
        case 'n': n = number(optarg, "-n"); break;
        case 'j': jobs = number(optarg, "-j"); break;
        case 'm':
            if (strcmp(optarg, "exec") && strcmp(optarg, "exit")) {
                fprintf(stderr, "forker: -m: exec or exit, not %s\n", optarg);
                return 2;
            }
            do_exec = strcmp(optarg, "exec") == 0;
            break;
        case 'o': results = optarg; break;
        default:
            fprintf(stderr, "usage: forker -n N [-j JOBS] [-m exec|exit] [-o RESULTS]\n");
            return 2;
        }
    }
    ssize_t len = readlink("/proc/self", self, sizeof self - 1);
    self[len > 0 ? len : 0] = '\0';
    printf("pid %s\n", self[0] ? self : "unknown");
    fflush(stdout);

    double start = now();
    for (long i = 0; i < n; i++) {
        if (running == jobs) {
            if (reap(&failed) != 0)
                break;
            running--;
        }
        pid_t pid = fork();
        if (pid < 0) {
            fprintf(stderr, "forker: fork: %s\n", strerror(errno));
            failed += n - i;
            break;
        }
        if (pid == 0) {
            if (do_exec)
                execve("/bin/true", true_argv, no_env);
            _exit(do_exec ? 127 : 0);
        }
        running++;
    }
    while (running > 0 && reap(&failed) == 0)
        running--;
    double seconds = now() - start;

    FILE *out = results ? fopen(results, "w") : stdout;
    if (!out) {
        fprintf(stderr, "forker: %s: %s\n", results, strerror(errno));
        return 1;
    }
    fprintf(out, "processes %ld failed %ld seconds %.6f\n", n, failed, seconds);
    if (out != stdout)
        fclose(out);
    return failed ? 1 : 0;
}
