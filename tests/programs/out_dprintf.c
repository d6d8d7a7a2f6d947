/*
 * out_dprintf.c - dprintf/vdprintf, which glibc formats into a temporary
 * FILE of its own, flushed straight to the fd.
 */
#include <stdarg.h>
#include <stdio.h>

static void vd(int fd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vdprintf(fd, fmt, ap);
    va_end(ap);
}

int main(void)
{
    for (int i = 0; i < 50; i++)
        dprintf(1, "dprintf line %02d\n", i);
    dprintf(2, "dprintf to stderr %d\n", 2);
    vd(1, "vdprintf line %s\n", "ok");
    return 0;
}
