/*
 * host_dupfd.c - fcntl(F_DUPFD) and F_DUPFD_CLOEXEC, heavily: hundreds of
 * copies of stdout and of a file of its own, from low bases and from bases
 * around and above the numbers a preload library would pick for itself.
 *
 * Usage: host_dupfd DIR
 *
 * For every base it checks what POSIX promises (a number at or above the
 * base, a copy of the same open file, the close-on-exec flag as asked) and
 * writes through the copies: lines through a copy of stdout are stdout and
 * must be captured as such; lines through a copy of the file must land in
 * the file and nowhere else. Then it closes every copy, counting: the shim's
 * socket is never among them.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPIES 96

static const char *dir;

static void phase(const char *name)
{
    for (int i = 0; i < 5; i++)
        printf("%s stdio line %02d\n", name, i);
    fflush(stdout);
    char line[128];
    int n = snprintf(line, sizeof line, "%s write line\n", name);
    if (write(1, line, (size_t)n) != n)
        exit(10);
    fprintf(stderr, "%s stderr line\n", name);
}

static int same_file(int a, int b)
{
    struct stat sa, sb;
    return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

int main(int argc, char **argv)
{
    static const int bases[] = {3, 10, 100, 255, 256, 500, 510, 511, 512, 513,
                                600, 1000, 1023, 1024, 2000, 4096, 8000};
    char path[4096], expected[1 << 16], buf[1 << 16];
    size_t expected_len = 0;
    struct rlimit lim;

    if (argc < 2)
        return 2;
    dir = argv[1];
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0)
        return 3;
    snprintf(path, sizeof path, "%s/dupfd-file", dir);
    int file = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (file < 0)
        return 4;

    phase("start");
    for (size_t b = 0; b < sizeof bases / sizeof bases[0]; b++) {
        int base = bases[b], fds[COPIES], n = 0, right = 0, cloexec_ok = 0;
        int last_out = -1, last_file = -1;
        if ((rlim_t)base + COPIES > lim.rlim_cur) {
            printf("base %d: beyond the fd limit, skipped\n", base);
            continue;
        }
        for (int k = 0; k < COPIES; k++) {
            int from = k % 2 ? 1 : file, cloexec = k % 3 == 0;
            int fd = fcntl(from, cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, base);
            if (fd < 0)
                continue;
            fds[n++] = fd;
            *(from == 1 ? &last_out : &last_file) = fd;
            if (fd >= base && same_file(fd, from))
                right++;
            if (!!(fcntl(fd, F_GETFD) & FD_CLOEXEC) == cloexec)
                cloexec_ok++;
        }
        /* Through the last copy of each: stdout's line is stdout, the
         * file's line goes into the file. */
        char line[128];
        int len = snprintf(line, sizeof line, "through a copy of stdout at base %d\n", base);
        if (last_out < 0 || last_file < 0 || write(last_out, line, (size_t)len) != len)
            return 5;
        len = snprintf(line, sizeof line, "file: through a copy at base %d\n", base);
        if (write(last_file, line, (size_t)len) != len)
            return 6;
        memcpy(expected + expected_len, line, (size_t)len);
        expected_len += (size_t)len;
        int closed = 0;
        for (int k = 0; k < n; k++)
            closed += close(fds[k]) == 0;
        printf("base %d: %d copies, %d right, %d with the right FD_CLOEXEC, %d closed\n", base,
               n, right, cloexec_ok, closed);
    }
    phase("after the copies");

    /* Many at once from the lowest base: a long run of consecutive numbers. */
    int many = lim.rlim_cur > 3000 ? 2000 : (int)lim.rlim_cur / 2, got = 0, closed = 0;
    int *all = calloc((size_t)many, sizeof *all);
    if (!all)
        return 7;
    for (int k = 0; k < many; k++)
        if ((all[k] = fcntl(1, F_DUPFD, 3)) >= 3)
            got++;
    if (write(all[many - 1], "through the last of many copies\n", 32) != 32)
        return 8;
    for (int k = 0; k < many; k++)
        closed += all[k] >= 0 && close(all[k]) == 0;
    free(all);
    printf("%d copies of stdout at once: %d made, %d closed\n", many, got, closed);
    phase("after many");

    close(file);
    int in = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = in >= 0 ? read(in, buf, sizeof buf) : -1;
    printf("dupfd-file holds %s\n",
           n == (ssize_t)expected_len && memcmp(buf, expected, expected_len) == 0
               ? "exactly its own lines"
               : "something else");
    return 0;
}
