/*
 * ebpf_writer.c - output the shim cannot see, for the eBPF write capture
 * test (test_ebpf.py), which builds it static (gcc -static) at test time:
 * no dynamic loader, so LD_PRELOAD never applies.
 *
 *   stdio   printf/fputs through a static libc, stdout and stderr
 *   raw     system calls made directly (syscall(SYS_write), SYS_writev with
 *           a line split over three iovecs), as Go's runtime makes them
 *
 * It reads its stdin to the end before its first write: ulogd starts
 * capturing a program at its exec event, and what is written before it has
 * read that event is missed (a documented limit), so the test closes the
 * pipe once the exec record is in all.log. Exits 0.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static int raw_write(int fd, const char *text)
{
    size_t len = strlen(text);
    return syscall(SYS_write, fd, text, len) == (long)len ? 0 : -1;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    char buf[256];
    ssize_t n;

    while ((n = read(0, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
        ;
    if (strcmp(mode, "stdio") == 0) {
        printf("static stdio line %d\n", 1);
        fflush(stdout);
        fputs("static stdio to stderr\n", stderr);
        printf("static stdio line %d\n", 2);
        fflush(stdout);
        return 0;
    }
    if (strcmp(mode, "raw") == 0) {
        char part1[] = "raw writev ", part2[] = "in three ", part3[] = "pieces\n";
        struct iovec iov[3] = {{part1, strlen(part1)}, {part2, strlen(part2)},
                               {part3, strlen(part3)}};
        if (raw_write(1, "raw syscall line 1\n") != 0 ||
            raw_write(2, "raw syscall to stderr\n") != 0 ||
            syscall(SYS_writev, 1, iov, 3) != (long)(strlen(part1) + strlen(part2) +
                                                     strlen(part3)) ||
            raw_write(1, "raw syscall line 2\n") != 0)
            return 10;
        return 0;
    }
    fprintf(stderr, "usage: ebpf_writer stdio|raw\n");
    return 2;
}
