/*
 * paced_writer.c - writes COUNT numbered lines at RATE lines per second,
 * one write(2) each (RATE 0: as fast as it can).
 *
 * Usage: paced_writer COUNT RATE [PAD]. PAD adds that many filler bytes to
 * each line. The pace is kept against absolute times, so a slow write never
 * makes the whole run longer than COUNT/RATE seconds by more than one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    long count = atol(argv[1]), rate = atol(argv[2]);
    int pad = argc > 3 ? atoi(argv[3]) : 0;
    if (count < 0 || rate < 0 || pad < 0 || pad > 4000)
        return 2;

    char line[4096 + 64], filler[4001];
    memset(filler, '.', (size_t)pad);
    filler[pad] = '\0';
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);

    for (long i = 0; i < count; i++) {
        int n = snprintf(line, sizeof line, "seq %06ld %s\n", i, filler);
        if (write(1, line, (size_t)n) != n)
            return 10;
        if (rate) {
            next.tv_nsec += 1000000000L / rate;
            while (next.tv_nsec >= 1000000000L) {
                next.tv_nsec -= 1000000000L;
                next.tv_sec++;
            }
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
        }
    }
    return 0;
}
