/*
 * threads.c - N threads print M lines each, at the same time.
 *
 * Usage: threads [write|stdio] [THREADS] [LINES]. Every line names its
 * thread index, its number and the thread's gettid(), so the test can check
 * that each line arrived once, whole, tagged with the tid that wrote it.
 * Even threads write to stdout, odd ones to stderr. "write" makes one
 * write(2) per line; "stdio" uses printf on line-buffered streams, where
 * glibc holds the FILE lock across the format and the flush, so each flush
 * carries one line of the thread that wrote it.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int use_stdio;
static int lines_per_thread = 10000;
static pthread_barrier_t start_together;

static void *writer(void *arg)
{
    int index = (int)(long)arg;
    int fd = index % 2 ? 2 : 1;
    FILE *stream = index % 2 ? stderr : stdout;
    pid_t tid = gettid();
    char line[96];

    pthread_barrier_wait(&start_together);
    for (int i = 0; i < lines_per_thread; i++) {
        if (use_stdio) {
            fprintf(stream, "thread %d line %05d tid %d end\n", index, i, (int)tid);
        } else {
            int n = snprintf(line, sizeof line, "thread %d line %05d tid %d end\n", index, i,
                             (int)tid);
            if (write(fd, line, (size_t)n) != n)
                exit(10);
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = 8;
    use_stdio = argc > 1 && strcmp(argv[1], "stdio") == 0;
    if (argc > 2)
        threads = atoi(argv[2]);
    if (argc > 3)
        lines_per_thread = atoi(argv[3]);
    if (threads < 1 || threads > 64 || lines_per_thread < 0)
        return 2;
    if (use_stdio) {
        setvbuf(stdout, NULL, _IOLBF, 0);
        setvbuf(stderr, NULL, _IOLBF, 0);
    }

    pthread_t ids[64];
    pthread_barrier_init(&start_together, NULL, (unsigned)threads);
    for (int i = 0; i < threads; i++)
        if (pthread_create(&ids[i], NULL, writer, (void *)(long)i) != 0)
            return 3;
    for (int i = 0; i < threads; i++)
        pthread_join(ids[i], NULL);
    pthread_barrier_destroy(&start_together);
    return 0;
}
