/*
 * out_send.c - send, sendto and sendmsg on a stdout that is a socket (the
 * test hands one end of a socketpair as fd 1), plus a private socketpair of
 * the program's own whose traffic must not be captured.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

int main(void)
{
    struct stat st;
    if (fstat(1, &st) != 0 || !S_ISSOCK(st.st_mode)) {
        fprintf(stderr, "stdout is not a socket\n");
        return 2;
    }
    for (int i = 0; i < 20; i++) {
        char line[32];
        int n = snprintf(line, sizeof line, "send line %02d\n", i);
        if (send(1, line, (size_t)n, 0) != n)
            return 10;
    }
    if (sendto(1, "sendto line\n", 12, 0, NULL, 0) != 12)
        return 11;
    struct iovec iov[] = {{(void *)"sendmsg ", 8}, {(void *)"line\n", 5}};
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
    if (sendmsg(1, &msg, 0) != 13)
        return 12;

    int pair[2];
    char buf[64];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0)
        return 13;
    if (send(pair[0], "private traffic\n", 16, 0) != 16 || recv(pair[1], buf, sizeof buf, 0) != 16)
        return 14;
    printf("private socket carried %.15s\n", buf);
    return 0;
}
