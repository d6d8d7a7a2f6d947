/*
 * loader_probe.c - lines through stdio and write(2) on stdout and stderr,
 * for the cases where the dynamic loader decides whether the shim is in the
 * process at all: this program built static (the test builds it so), or
 * installed setuid.
 *
 * With $PROBE_MAPS set, it first writes into that file the lines of
 * /proc/self/maps, whether LD_PRELOAD is still in its environment, its pid
 * and its real and effective ids, so a test can tell "the shim was not loaded" from "the shim was loaded and saw
 * nothing", and see what its children inherit. With arguments, it then
 * executes them (same pid), to show whether a program it starts is
 * captured. Otherwise it exits with status 4.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void report(const char *path)
{
    FILE *out = fopen(path, "w"), *maps = fopen("/proc/self/maps", "r");
    if (!out || !maps) {
        perror("loader_probe: PROBE_MAPS");
        exit(1);
    }
    char line[4096];
    while (fgets(line, sizeof line, maps))
        fputs(line, out);
    fprintf(out, "LD_PRELOAD=%s\n", getenv("LD_PRELOAD") ? getenv("LD_PRELOAD") : "(unset)");
    fprintf(out, "PID=%ld\n", (long)getpid());
    fprintf(out, "IDS=%ld %ld %ld %ld\n", (long)getuid(), (long)geteuid(), (long)getgid(),
            (long)getegid());
    fclose(maps);
    if (fclose(out) != 0) {
        perror("loader_probe: PROBE_MAPS");
        exit(1);
    }
}

int main(int argc, char **argv)
{
    const char *path = getenv("PROBE_MAPS");
    if (path && *path)
        report(path);
    for (int i = 0; i < 20; i++)
        printf("loader_probe printf line %d\n", i);
    fflush(stdout);
    static const char w[] = "loader_probe write line\n";
    if (write(1, w, sizeof w - 1) < 0)
        return 10;
    fprintf(stderr, "loader_probe stderr line\n");
    if (argc > 1) {
        execv(argv[1], argv + 1);
        perror("loader_probe: execv");
        return 127;
    }
    return 4;
}
