/*
 * out_putc_unlocked.c - putc_unlocked in a loop.
 *
 * putc_unlocked is an inline macro that stores into the FILE buffer and
 * calls nothing until the buffer is full, so only a hook on the stdio flush
 * can see these bytes.
 */
#include <stdio.h>

static void put_line(FILE *f, const char *prefix, int n)
{
    char number[16];
    int len = snprintf(number, sizeof number, "%04d", n);
    for (const char *p = prefix; *p; p++)
        putc_unlocked(*p, f);
    for (int i = 0; i < len; i++)
        putc_unlocked(number[i], f);
    putc_unlocked('\n', f);
}

int main(void)
{
    for (int i = 0; i < 1000; i++)
        put_line(stdout, "putc_unlocked line ", i);
    put_line(stderr, "putc_unlocked to stderr ", 1);
    return 0;
}
