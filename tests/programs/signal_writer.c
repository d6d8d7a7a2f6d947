/*
 * signal_writer.c - lines written by write(2) from inside signal handlers.
 *
 * First SIGUSR1 raised synchronously, its handler writing to stdout between
 * lines of the main program; then an interval timer whose SIGALRM handler
 * writes to stderr while the main program sleeps in sigsuspend. The number
 * of ticks is fixed, so the output is the same on every run.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#define TICKS 25

static volatile sig_atomic_t usr1_count, ticks;

/* snprintf is not async-signal-safe: format the two digits by hand. */
static void write_numbered(int fd, const char *prefix, int n)
{
    char line[64];
    size_t len = strlen(prefix);
    memcpy(line, prefix, len);
    line[len++] = (char)('0' + n / 10 % 10);
    line[len++] = (char)('0' + n % 10);
    line[len++] = '\n';
    if (write(fd, line, len) != (ssize_t)len)
        _exit(10);
}

static void on_usr1(int sig)
{
    (void)sig;
    write_numbered(1, "handler line ", usr1_count++);
}

static void on_alarm(int sig)
{
    (void)sig;
    if (ticks < TICKS) {
        write_numbered(2, "tick ", ticks);
        ticks++;
    }
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);

    for (int i = 0; i < 20; i++) {
        raise(SIGUSR1);
        write_numbered(1, "main line ", i);
    }

    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGALRM);
    sigprocmask(SIG_BLOCK, &block, &old);
    struct itimerval every_2ms = {{0, 2000}, {0, 2000}};
    setitimer(ITIMER_REAL, &every_2ms, NULL);
    while (ticks < TICKS)
        sigsuspend(&old);
    struct itimerval stop = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &stop, NULL);
    sigprocmask(SIG_SETMASK, &old, NULL);

    write_numbered(1, "main done after ticks ", ticks);
    return 0;
}
