/*
 * out_copy_file_range.c - copy_file_range from a file to stdout, the path
 * GNU cat takes when stdout is a regular file. To a pipe it fails (EINVAL);
 * the result is reported either way.
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
    snprintf(path, sizeof path, "%s/ulog-cfr-XXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0)
        return 20;
    unlink(path);
    for (int i = 0; i < 40; i++) {
        int n = snprintf(line, sizeof line, "copy_file_range line %02d\n", i);
        if (write(fd, line, (size_t)n) != n)
            return 21;
        size += (size_t)n;
    }

    loff_t offset = 0;
    size_t done = 0;
    while (done < size) {
        ssize_t n = copy_file_range(fd, &offset, 1, NULL, size - done, 0);
        if (n <= 0) {
            fprintf(stderr, "copy_file_range: %s after %zu bytes\n",
                    n < 0 ? strerrorname_np(errno) : "eof", done);
            return 0;
        }
        done += (size_t)n;
    }
    fprintf(stderr, "copy_file_range: %zu bytes\n", done);
    return 0;
}
