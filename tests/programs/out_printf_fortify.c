/*
 * out_printf_fortify.c - built with -O2 -D_FORTIFY_SOURCE=2 (see the
 * Makefile), so printf/fprintf/vprintf become __printf_chk & co, which an
 * interposer of the plain names never sees.
 */
#include <stdarg.h>
#include <stdio.h>

static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
}

int main(int argc, char **argv)
{
    (void)argv;
    for (int i = 0; i < 100; i++)
        printf("fortified printf line %03d %s\n", i, argc > 5 ? "many" : "few");
    fprintf(stderr, "fortified fprintf to stderr %d\n", argc);
    say("fortified vprintf line %d\n", 42);
    return 0;
}
