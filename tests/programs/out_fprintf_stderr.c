/*
 * out_fprintf_stderr.c - fprintf and vfprintf to stderr (unbuffered), with
 * a line built by several calls, and a little stdout between them.
 */
#include <stdarg.h>
#include <stdio.h>

static void report(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

int main(void)
{
    for (int i = 0; i < 50; i++)
        fprintf(stderr, "fprintf stderr line %02d: %s\n", i, "error text");
    fprintf(stderr, "stderr line ");
    fprintf(stderr, "in ");
    fprintf(stderr, "three calls\n");
    report("vfprintf stderr line %d\n", 7);
    fprintf(stdout, "one stdout line\n");
    return 0;
}
