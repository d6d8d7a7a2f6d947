/*
 * raw_syscall.c - the same kind of line written two ways, alternately:
 * through libc's write(2), and through syscall(SYS_write, ...), the system
 * call made directly, as Go's runtime does.
 *
 * The shim interposes the C library's functions, so it sees the first kind
 * and cannot see the second: the test expects exactly the "libc write" lines
 * in all.log, while the program's output keeps both. Exits with status 3.
 */
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int put(int fd, int raw, const char *text)
{
    size_t len = strlen(text);
    long n = raw ? syscall(SYS_write, fd, text, len) : (long)write(fd, text, len);
    return n == (long)len ? 0 : -1;
}

int main(void)
{
    char line[64];
    for (int i = 0; i < 30; i++) {
        snprintf(line, sizeof line, "libc write line %d\n", i);
        if (put(1, 0, line) != 0)
            return 10;
        snprintf(line, sizeof line, "raw syscall line %d\n", i);
        if (put(1, 1, line) != 0)
            return 10;
    }
    if (put(2, 0, "libc write to stderr\n") != 0 || put(2, 1, "raw syscall to stderr\n") != 0)
        return 10;
    return 3;
}
