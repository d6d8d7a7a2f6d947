/*
 * escapes.c - bytes that are not plain text: invalid UTF-8 of every kind,
 * control characters, NUL bytes, CRLF, a bare CR, and a 100 KiB line.
 *
 * Every line must still become valid JSON, keep its valid characters, and
 * the long line must come out split into marked parts.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LONG_LINE (100 * 1024)

static void put(int fd, const void *bytes, size_t len)
{
    const char *p = bytes;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0)
            exit(10);
        p += n;
        len -= (size_t)n;
    }
}

#define PUT(fd, literal) put(fd, literal, sizeof(literal) - 1)

int main(void)
{
    PUT(1, "valid utf-8: caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xc3\xbc\n");
    PUT(1, "invalid: ff \xff fe \xfe lone continuation \x80 overlong \xc0\xaf"
           " surrogate \xed\xa0\x80 beyond U+10FFFF \xf4\x90\x80\x80"
           " truncated \xe2\x82 end\n");
    PUT(1, "truncated at the end \xc3\n");
    PUT(1, "controls: \x01\x02\x07\x08\t\x0b\x0c\x1b[31mred\x1b[0m \x7f end\n");
    PUT(1, "nul: a\0b\0\0c\n");
    PUT(1, "crlf line\r\n");
    PUT(1, "bare cr\rin the middle\n");
    PUT(1, "quote \" and backslash \\ stay\n");

    char *line = malloc(LONG_LINE + 1);
    if (!line)
        return 11;
    for (size_t i = 0; i < LONG_LINE; i++)
        line[i] = "0123456789abcdefghijklmnopqrstuvwxyz"[i % 36];
    line[LONG_LINE] = '\n';
    put(1, line, LONG_LINE + 1);
    free(line);

    PUT(1, "after the long line\n");
    PUT(2, "stderr invalid \xff and nul \0 end\n");
    return 0;
}
