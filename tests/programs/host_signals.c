/*
 * host_signals.c - write(2) from signal handlers on every thread, while the
 * threads themselves printf(): the shim's write path must be
 * async-signal-safe, and must capture a handler's write even when the
 * handler interrupted the shim in the middle of capturing something else.
 *
 * Usage: host_signals THREADS LINES USR1 ALARMS [die]
 *
 * THREADS workers each printf() LINES lines ("thread I tid T line N", stdout
 * line-buffered, so every line is one write of its own; every 8th to
 * stderr), while a storm thread pthread_kill()s them with SIGUSR1 until each
 * has written USR1 lines from its handler ("usr1 thread I tid T n N", to
 * stdout), and an interval timer rains SIGALRM on the process until its
 * handler has written ALARMS lines ("alarm tid T n N", to stderr). The main
 * thread printf()s too. Handlers stop writing at their count, so the set of
 * lines is the same on every run; only their order and the tids change.
 * With "die" it ends by SIGTERM instead of exit status 0.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 16

static int threads, lines, usr1_target, alarm_target;
static _Atomic int usr1_seen[MAX_THREADS], alarms_written, storm_over;
static pthread_t workers[MAX_THREADS];
static __thread int my_index = -1;

/* Lines are put together by hand, without stdio: a handler may only call
 * async-signal-safe functions. */
static size_t put_number(char *p, long v)
{
    char digits[24];
    size_t n = 0, len = 0;
    do
        digits[n++] = (char)('0' + v % 10);
    while ((v /= 10) > 0);
    while (n)
        p[len++] = digits[--n];
    return len;
}

static size_t put_text(char *p, const char *s)
{
    size_t len = strlen(s);
    memcpy(p, s, len);
    return len;
}

static void handler_write(int fd, char *buf, size_t len)
{
    if (write(fd, buf, len) != (ssize_t)len)
        _exit(20);
}

static void on_usr1(int sig)
{
    (void)sig;
    int index = my_index;
    if (index < 0)
        return; /* the main thread: not a worker */
    int n = atomic_load(&usr1_seen[index]);
    if (n >= usr1_target)
        return;
    atomic_store(&usr1_seen[index], n + 1);
    char buf[96];
    size_t len = put_text(buf, "usr1 thread ");
    len += put_number(buf + len, index);
    len += put_text(buf + len, " tid ");
    len += put_number(buf + len, gettid());
    len += put_text(buf + len, " n ");
    len += put_number(buf + len, n);
    buf[len++] = '\n';
    handler_write(1, buf, len);
}

static void on_alarm(int sig)
{
    (void)sig;
    int n = atomic_fetch_add(&alarms_written, 1);
    if (n >= alarm_target)
        return;
    char buf[96];
    size_t len = put_text(buf, "alarm tid ");
    len += put_number(buf + len, gettid());
    len += put_text(buf + len, " n ");
    len += put_number(buf + len, n);
    buf[len++] = '\n';
    handler_write(2, buf, len);
}

static void *worker(void *arg)
{
    my_index = (int)(long)arg;
    int tid = gettid();
    for (int i = 0; i < lines; i++) {
        if (i % 8 == 7)
            fprintf(stderr, "thread %d tid %d line %d\n", my_index, tid, i);
        else
            printf("thread %d tid %d line %d\n", my_index, tid, i);
    }
    /* Stay where the storm can reach us until it is over: a thread that
     * has ended (and been joined) must never be pthread_kill()ed. */
    while (!atomic_load(&storm_over))
        sched_yield();
    return NULL;
}

static void *storm(void *arg)
{
    (void)arg;
    for (int pending = threads; pending;) {
        pending = 0;
        for (int i = 0; i < threads; i++)
            if (atomic_load(&usr1_seen[i]) < usr1_target) {
                pthread_kill(workers[i], SIGUSR1);
                pending++;
            }
    }
    atomic_store(&storm_over, 1);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 5)
        return 2;
    threads = atoi(argv[1]);
    lines = atoi(argv[2]);
    usr1_target = atoi(argv[3]);
    alarm_target = atoi(argv[4]);
    int die = argc > 5 && strcmp(argv[5], "die") == 0;
    if (threads < 1 || threads > MAX_THREADS || lines < 0 || usr1_target < 0 || alarm_target < 0)
        return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);

    struct itimerval every = {{0, 300}, {0, 300}};
    setitimer(ITIMER_REAL, &every, NULL);
    for (int i = 0; i < threads; i++)
        if (pthread_create(&workers[i], NULL, worker, (void *)(long)i) != 0)
            return 3;
    pthread_t stormer;
    if (pthread_create(&stormer, NULL, storm, NULL) != 0)
        return 4;
    for (int i = 0; i < lines; i++)
        printf("main line %d\n", i);
    for (int i = 0; i < threads; i++)
        pthread_join(workers[i], NULL);
    pthread_join(stormer, NULL);
    while (atomic_load(&alarms_written) < alarm_target) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    struct itimerval stop = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &stop, NULL);
    signal(SIGALRM, SIG_IGN); /* one may still be pending */

    printf("done: %d threads, %d lines each, %d usr1 each, %d alarms\n", threads, lines,
           usr1_target, alarm_target);
    fflush(stdout);
    if (die) {
        signal(SIGTERM, SIG_DFL);
        raise(SIGTERM);
    }
    return 0;
}
