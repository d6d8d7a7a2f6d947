/*
 * out_pwrite.c - pwrite, pwrite64, pwritev and pwritev2 on stdout.
 *
 * On a pipe the positional ones fail with ESPIPE (and nothing may be
 * captured), while pwritev2 with offset -1 writes at the current position;
 * on a regular file they all write. Each result goes to stderr, so a run
 * with the shim must print exactly what a run without it prints.
 */
#define _FILE_OFFSET_BITS 64
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static void report(const char *what, ssize_t ret, int err)
{
    fprintf(stderr, "%s: ret=%zd errno=%s\n", what, ret, ret < 0 ? strerrorname_np(err) : "0");
}

/* Where stdout is now; 0 when it has no position (a pipe). */
static off_t here(void)
{
    off_t at = lseek(1, 0, SEEK_CUR);
    return at < 0 ? 0 : at;
}

/* Positional writes leave the offset alone: move it, as a log writer would. */
static void advance(ssize_t written)
{
    if (written > 0)
        lseek(1, written, SEEK_CUR);
}

int main(void)
{
    static const char a[] = "pwrite line\n", b[] = "pwrite64 line\n";
    struct iovec v[] = {{(void *)"pwritev ", 8}, {(void *)"line\n", 5}};
    struct iovec v2[] = {{(void *)"pwritev2 ", 9}, {(void *)"line\n", 5}};
    ssize_t ret;

    ret = pwrite(1, a, sizeof a - 1, here());
    report("pwrite", ret, errno);
    advance(ret);

    ret = pwrite64(1, b, sizeof b - 1, here());
    report("pwrite64", ret, errno);
    advance(ret);

    ret = pwritev(1, v, 2, here());
    report("pwritev", ret, errno);
    advance(ret);

    ret = pwritev2(1, v2, 2, -1, 0); /* -1: the current offset, which it moves */
    report("pwritev2 at -1", ret, errno);

    if (write(1, "plain write after pwrite\n", 25) != 25)
        return 10;
    return 0;
}
