/*
 * partial_wait.c - writes a line without its newline, then stays alive
 * until its stdin reaches end of file, then ends the line.
 *
 * The aggregator must flush the partial line after its timeout while the
 * writer still lives, not hold it until the writer goes away.
 */
#include <unistd.h>

int main(void)
{
    static const char partial[] = "partial line still open";
    static const char rest[] = " and closed later\n";
    char buf[256];

    if (write(1, partial, sizeof partial - 1) != (ssize_t)sizeof partial - 1)
        return 10;
    while (read(0, buf, sizeof buf) > 0)
        ;
    if (write(1, rest, sizeof rest - 1) != (ssize_t)sizeof rest - 1)
        return 11;
    return 0;
}
