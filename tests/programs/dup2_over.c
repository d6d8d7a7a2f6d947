/*
 * dup2_over.c - puts a regular file over every socket fd above 2 with
 * dup2, as a program that reuses fd numbers blindly would, then prints.
 *
 * The shim's socket is among them. Its lines must still be captured, and
 * the file must receive nothing but what the program itself wrote.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char payload[] = "only this line\n";

int main(void)
{
    printf("before dup2 over sockets\n");
    fflush(stdout);

    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char path[4096];
    snprintf(path, sizeof path, "%s/ulog-dup2-XXXXXX", dir);
    int file = mkstemp(path);
    if (file < 0 || write(file, payload, sizeof payload - 1) != (ssize_t)sizeof payload - 1)
        return 10;

    int sockets[256], count = 0;
    DIR *fds = opendir("/proc/self/fd");
    if (!fds)
        return 11;
    for (struct dirent *e; (e = readdir(fds)) && count < 256;) {
        int fd = atoi(e->d_name);
        struct stat st;
        if (fd > 2 && fd != dirfd(fds) && fd != file && fstat(fd, &st) == 0 &&
            S_ISSOCK(st.st_mode))
            sockets[count++] = fd;
    }
    closedir(fds);
    for (int i = 0; i < count; i++)
        if (dup2(file, sockets[i]) < 0)
            return 12;

    for (int i = 0; i < 20; i++)
        printf("after dup2 line %02d\n", i);
    fflush(stdout);
    if (write(2, "after dup2 on stderr\n", 21) != 21)
        return 13;

    char back[256] = {0};
    int again = open(path, O_RDONLY);
    ssize_t got = again >= 0 ? read(again, back, sizeof back - 1) : -1;
    unlink(path);
    printf("file holds %s\n",
           got == (ssize_t)sizeof payload - 1 && memcmp(back, payload, (size_t)got) == 0
               ? "exactly its payload"
               : "something else");
    return 0;
}
