/*
 * out_fwrite.c - fwrite of whole lines, of several lines at once and of a
 * line in pieces, on stdout and stderr, plus fwrite_unlocked.
 */
#include <stdio.h>
#include <string.h>

static void put(FILE *f, const char *s)
{
    fwrite(s, 1, strlen(s), f);
}

int main(void)
{
    for (int i = 0; i < 200; i++) {
        char line[64];
        int n = snprintf(line, sizeof line, "fwrite line %03d\n", i);
        fwrite(line, 1, (size_t)n, stdout);
    }
    put(stdout, "several\nlines in\none fwrite\n");
    put(stdout, "a line ");
    put(stdout, "in three ");
    put(stdout, "fwrites\n");
    fwrite_unlocked("fwrite_unlocked line\n", 1, 21, stdout);
    put(stderr, "fwrite to stderr\n");
    put(stderr, "stderr line ");
    put(stderr, "in two fwrites\n");
    return 0;
}
