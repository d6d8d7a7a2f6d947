/*
 * worker.c - a "legacy" C batch worker of the example stack, written as if
 * ulog did not exist: it forks two children that work through a share of
 * the jobs each (every process prints its own pid), waits for them, then
 * fails the way such programs do, a message on stderr and exit status 3,
 * because the queue file it wants to archive to is not there. The
 * end-to-end test expects that status in a process_exit record and in the
 * container's die event. Its Dockerfile adopts ulog (way a).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHILDREN 2
#define JOBS_EACH 8
#define QUEUE_FILE "/var/spool/jobs/queue.db"

static void pause_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
}

static void work(int child)
{
    for (int job = 1; job <= JOBS_EACH; job++) {
        long ms = 150 + (job * 73 + child * 41) % 300;
        pause_ms(ms);
        printf("child %d pid=%d: job %d/%d done in %ld ms\n", child, (int)getpid(), job,
               JOBS_EACH, ms);
        if (job == 5 && child == 2)
            fprintf(stderr, "child %d pid=%d: warning: job %d retried (checksum mismatch)\n",
                    child, (int)getpid(), job);
    }
}

int main(void)
{
    /* A daemon's usual choice: whole lines, even into a pipe. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("batch worker starting pid=%d, %d children, %d jobs each\n", (int)getpid(),
           CHILDREN, JOBS_EACH);
    pid_t kids[CHILDREN];
    for (int i = 0; i < CHILDREN; i++) {
        kids[i] = fork();
        if (kids[i] < 0) {
            perror("fork");
            return 1;
        }
        if (kids[i] == 0) {
            work(i + 1);
            exit(0);
        }
        printf("started child %d as pid %d\n", i + 1, (int)kids[i]);
    }
    for (int i = 0; i < CHILDREN; i++) {
        int status;
        waitpid(kids[i], &status, 0);
        printf("child %d finished with status %d\n", i + 1,
               WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    FILE *queue = fopen(QUEUE_FILE, "r+");
    if (!queue) {
        fprintf(stderr, "worker pid=%d: fatal: cannot open %s: %s\n", (int)getpid(), QUEUE_FILE,
                strerror(errno));
        return 3;
    }
    fclose(queue);
    return 0;
}
