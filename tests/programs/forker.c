/*
 * forker.c - a parent and a child both print, through stdio and write(2).
 *
 * Every line names the pid that printed it, so the test can check that the
 * child's lines are tagged with the child's pid: the shim must reconnect as
 * the child rather than speak on the parent's connection. The parent waits
 * for the child before printing again, so the output order is fixed.
 */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    printf("parent %d before fork\n", (int)getpid());
    fflush(stdout);

    pid_t child = fork();
    if (child < 0)
        return 10;
    if (child == 0) {
        for (int i = 0; i < 30; i++)
            printf("child %d stdio line %02d\n", (int)getpid(), i);
        fflush(stdout);
        char line[64];
        int n = snprintf(line, sizeof line, "child %d write line\n", (int)getpid());
        if (write(1, line, (size_t)n) != n)
            _exit(11);
        fprintf(stderr, "child %d stderr line\n", (int)getpid());
        return 7; /* exit() flushes stdio in the child too */
    }

    int status;
    if (waitpid(child, &status, 0) != child)
        return 12;
    printf("parent %d saw child exit %d\n", (int)getpid(), WEXITSTATUS(status));
    fprintf(stderr, "parent %d stderr line\n", (int)getpid());
    return 0;
}
