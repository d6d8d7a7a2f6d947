/*
 * out_sendfile.c - sendfile from a file to stdout (a pipe or a file: both
 * work), with and without an offset pointer. The source file is written
 * first; that write goes to another file and must not be captured.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <unistd.h>

static size_t first_line_size;

static int make_source(const char *tag, int lines, size_t *size)
{
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char path[4096], line[64];
    snprintf(path, sizeof path, "%s/ulog-source-XXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0)
        exit(20);
    unlink(path);
    *size = 0;
    for (int i = 0; i < lines; i++) {
        int n = snprintf(line, sizeof line, "%s line %02d from a file\n", tag, i);
        if (write(fd, line, (size_t)n) != n)
            exit(21);
        if (i == 0)
            first_line_size = (size_t)n;
        *size += (size_t)n;
    }
    return fd;
}

int main(void)
{
    size_t size, done = 0;
    int fd = make_source("sendfile", 60, &size);

    lseek(fd, 0, SEEK_SET);
    while (done < size) {
        ssize_t n = sendfile(1, fd, NULL, size - done);
        if (n <= 0) {
            fprintf(stderr, "sendfile: %s\n", n < 0 ? strerrorname_np(errno) : "0");
            return 3;
        }
        done += (size_t)n;
    }
    off_t offset = 0;
    ssize_t n = sendfile(1, fd, &offset, first_line_size); /* the first line again */
    fprintf(stderr, "sendfile: %zu then %zd bytes\n", done, n);
    close(fd);
    return 0;
}
