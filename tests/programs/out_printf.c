/*
 * out_printf.c - printf in its common forms, stdout and stderr.
 *
 * Enough lines to overflow a pipe's stdio buffer several times, so lines
 * reach the shim split across flushes; one call prints two lines at once.
 */
#include <stdio.h>

int main(void)
{
    for (int i = 0; i < 400; i++)
        printf("printf line %03d: %s %5.2f %x\n", i, "text", i / 3.0, (unsigned)i * 7919u);
    printf("two lines in one call: first\n%s\n", "two lines in one call: second");
    fprintf(stderr, "printf to stderr %d\n", 1);
    printf("last printf line\n");
    return 0;
}
