/*
 * out_writev.c - writev with several iovecs: a line spread over iovecs,
 * several lines in one call, empty iovecs, on stdout and stderr.
 */
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#define IOV(s) {(void *)(s), sizeof(s) - 1}

int main(void)
{
    struct iovec spread[] = {IOV("writev "), IOV(""), IOV("spread over "), IOV("four iovecs\n")};
    struct iovec many[] = {IOV("writev line one\nwritev line two\n"), IOV("writev line three\n")};
    struct iovec err[] = {IOV("writev "), IOV("to stderr\n")};

    for (int i = 0; i < 20; i++) {
        char number[16];
        int n = snprintf(number, sizeof number, "%02d\n", i);
        struct iovec line[] = {IOV("writev numbered line "), {number, (size_t)n}};
        if (writev(1, line, 2) != (ssize_t)(21 + n))
            return 10;
    }
    if (writev(1, spread, 4) < 0 || writev(1, many, 2) < 0 || writev(2, err, 2) < 0)
        return 11;
    return 0;
}
