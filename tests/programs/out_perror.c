/*
 * out_perror.c - perror and psignal (glibc prints them through an internal
 * stdio call on stderr), then a non-zero exit status.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    if (open("/nonexistent/ulog-test-file", O_RDONLY) < 0)
        perror("open /nonexistent/ulog-test-file");
    errno = EACCES;
    perror("second perror");
    errno = 0;
    perror(NULL);
    psignal(SIGTERM, "psignal");
    printf("stdout after perror\n");
    return 3;
}
