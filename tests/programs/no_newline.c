/*
 * no_newline.c - the last line on each stream has no newline; the stdout
 * one sits in the stdio buffer until exit() flushes it. The aggregator must
 * still produce those lines (at disconnect), not lose them.
 */
#include <stdio.h>

int main(void)
{
    printf("first line\nsecond line\n");
    fprintf(stderr, "stderr line without newline");
    printf("last line without newline");
    return 0;
}
