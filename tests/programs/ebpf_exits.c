/*
 * ebpf_exits.c - a program that ends the way its first argument says, after
 * a few lines, for the eBPF process-event tests (test_ebpf.py):
 *
 *   ok        two lines on stdout, then exit 0
 *   fail      four lines, stdout and stderr alternately, then exit 3
 *   wait      two lines, then sleep until something kills it
 *   segv      three lines, then a store through a NULL pointer (SIGSEGV);
 *             RLIMIT_CORE is raised to 64 MB first, so the kernel dumps a
 *             core where its core_pattern says (bounded, never unlimited)
 *   oom DIR   joins the cgroup v1 directory DIR (writes its pid to
 *             DIR/cgroup.procs), two lines, then allocates and touches
 *             256 MB: the memory controller's limit has it OOM-killed
 *
 * Every line is written at once (stdio is flushed); then each mode but
 * `wait` reads its stdin to the end before it ends, so the test decides
 * when: it closes the pipe once the lines are in all.log, which tells that
 * ulogd has handled the shim's HELLO and watches the process with eBPF (a
 * process that ends before that gets its exit from the /proc fallback).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static void say(FILE *stream, const char *line)
{
    fprintf(stream, "%s\n", line);
    fflush(stream);
}

/* Until the test closes our stdin. */
static void wait_for_eof(void)
{
    char buf[256];
    ssize_t n;

    while ((n = read(0, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
        ;
}

static int join_cgroup(const char *dir)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof path, "%s/cgroup.procs", dir);
    f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "ebpf_exits: %s: %s\n", path, strerror(errno));
        return -1;
    }
    fprintf(f, "%d\n", (int)getpid());
    if (fclose(f) != 0) {
        fprintf(stderr, "ebpf_exits: joining %s: %s\n", dir, strerror(errno));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";

    if (strcmp(mode, "ok") == 0) {
        say(stdout, "ok line 1");
        say(stdout, "ok line 2");
        wait_for_eof();
        return 0;
    }
    if (strcmp(mode, "fail") == 0) {
        say(stdout, "fail: starting the work");
        say(stderr, "fail: warning: the disk is almost full");
        say(stdout, "fail: step 2 of 3");
        say(stderr, "fail: fatal: cannot write the result");
        wait_for_eof();
        return 3;
    }
    if (strcmp(mode, "wait") == 0) {
        say(stdout, "wait: ready");
        say(stderr, "wait: waiting to be killed");
        for (;;)
            pause();
    }
    if (strcmp(mode, "segv") == 0) {
        struct rlimit core = {64u << 20, 64u << 20};
        if (setrlimit(RLIMIT_CORE, &core) != 0)
            fprintf(stderr, "ebpf_exits: setrlimit: %s\n", strerror(errno));
        say(stdout, "segv: loading the table");
        say(stderr, "segv: the table has no header");
        say(stdout, "segv: reading row 1");
        wait_for_eof();
        volatile int *volatile nowhere = NULL;
        *nowhere = 42;
        return 20;
    }
    if (strcmp(mode, "oom") == 0 && argc > 2) {
        if (join_cgroup(argv[2]) != 0)
            return 21;
        say(stdout, "oom: loading everything into memory");
        say(stderr, "oom: this may take a while");
        wait_for_eof();
        size_t total = 256u << 20, chunk = 16u << 20;
        for (size_t done = 0; done < total; done += chunk) {
            char *p = malloc(chunk);
            if (!p)
                return 22;
            memset(p, 0x5a, chunk); /* touch every page */
        }
        say(stdout, "oom: all 256 MB allocated (no OOM kill)");
        return 23;
    }
    fprintf(stderr, "usage: ebpf_exits ok|fail|wait|segv|oom CGROUP_DIR\n");
    return 2;
}
