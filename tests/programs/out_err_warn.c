/*
 * out_err_warn.c - the BSD warn/warnx/err family and glibc's error().
 *
 * warn() alone makes three writes on stderr; err() ends the program with
 * the status it was given, which the test expects to pass through.
 */
#include <err.h>
#include <errno.h>
#include <error.h>
#include <stdio.h>

int main(void)
{
    printf("stdout before warnings\n");
    fflush(stdout);
    errno = ENOENT;
    warn("warn with errno %d", 1);
    warnx("warnx without errno %d", 2);
    error(0, EPERM, "error() with errno %d", 3);
    error(0, 0, "error() without errno %d", 4);
    errno = EINVAL;
    err(4, "err exits %d", 4);
}
