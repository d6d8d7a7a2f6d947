/*
 * tick.c - a "legacy" program of the example stack built against musl, the
 * libc of Alpine-style images, and shipped in an image holding nothing but
 * itself and musl's loader (FROM scratch). Once a second it reports a
 * sensor reading through stdio on stdout, and every fifth one a warning on
 * stderr, each naming its pid. Its Dockerfile adopts ulog (way a) with the
 * musl build of the shim, libulog-musl.so: the glibc one cannot load here.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static volatile sig_atomic_t stopping;

static void on_term(int sig)
{
    (void)sig;
    stopping = 1;
}

int main(void)
{
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("sensor-poller pid=%d: polling 3 sensors every 1 s (musl libc)\n", (int)getpid());
    for (unsigned tick = 1; !stopping; tick++) {
        int celsius = 21 + (int)(tick * 7 % 9);
        printf("sensor-poller pid=%d: tick %u: temp=%dC humidity=%u%%\n", (int)getpid(), tick,
               celsius, 40 + tick % 17);
        if (tick % 5 == 0)
            fprintf(stderr, "sensor-poller pid=%d: warning: sensor 2 answered late (tick %u)\n",
                    (int)getpid(), tick);
        sleep(1);
    }
    printf("sensor-poller pid=%d: stopped\n", (int)getpid());
    return 0;
}
