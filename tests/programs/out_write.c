/*
 * out_write.c - the write(2) syscall directly: whole lines, a line in
 * pieces, several lines in one call, on fd 1 and fd 2, and on fds that are
 * dups of stdout (captured too: same file).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void put(int fd, const char *s)
{
    size_t len = strlen(s);
    while (len) {
        ssize_t n = write(fd, s, len);
        if (n < 0)
            exit(10);
        s += n;
        len -= (size_t)n;
    }
}

int main(void)
{
    char line[64];
    for (int i = 0; i < 100; i++) {
        snprintf(line, sizeof line, "write line %03d\n", i);
        put(1, line);
    }
    put(1, "a line ");
    put(1, "in three ");
    put(1, "writes\n");
    put(1, "several\nlines in\none write\n");
    put(2, "write to stderr\n");
    int copy = dup(1);
    if (copy < 0)
        return 11;
    put(copy, "written through a dup of stdout\n");
    close(copy);
    return 0;
}
