/*
 * out_splice.c - splice from a file to stdout. It works when stdout is a
 * pipe and fails with EINVAL when stdout is a regular file; either way the
 * result is reported, and must be the same with and without the shim.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char path[4096], line[64];
    size_t size = 0;
    snprintf(path, sizeof path, "%s/ulog-splice-XXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0)
        return 20;
    unlink(path);
    for (int i = 0; i < 40; i++) {
        int n = snprintf(line, sizeof line, "splice line %02d from a file\n", i);
        if (write(fd, line, (size_t)n) != n)
            return 21;
        size += (size_t)n;
    }

    loff_t offset = 0;
    size_t done = 0;
    while (done < size) {
        ssize_t n = splice(fd, &offset, 1, NULL, size - done, 0);
        if (n <= 0) {
            fprintf(stderr, "splice: %s after %zu bytes\n",
                    n < 0 ? strerrorname_np(errno) : "eof", done);
            return 0;
        }
        done += (size_t)n;
    }
    fprintf(stderr, "splice: %zu bytes\n", done);
    return 0;
}
