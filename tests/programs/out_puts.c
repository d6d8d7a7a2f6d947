/*
 * out_puts.c - puts, fputs and fputc; stdio buffering decides the chunks.
 */
#include <stdio.h>

int main(void)
{
    char line[64];
    for (int i = 0; i < 300; i++) {
        snprintf(line, sizeof line, "puts line %03d", i);
        puts(line);
    }
    fputs("fputs line to stdout\n", stdout);
    fputs("fputs line to stderr\n", stderr);
    fputc('c', stdout);
    fputc('\n', stdout);
    return 0;
}
