/*
 * container.c - which container a process runs in (see container.h).
 *
 * Rather than one pattern per runtime, a path is searched for its last run
 * of exactly 64 hex digits bounded by separators: that covers
 * "/docker/<id>", "/system.slice/docker-<id>.scope", "crio-<id>",
 * "cri-containerd-<id>.scope", "libpod-<id>.scope", "/kubepods/.../<id>"
 * and "/k8s.io/<id>", while pod UIDs (with dashes) never match. The last run
 * wins, so with nested containers the innermost is reported.
 */
#include "container.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define FULL_ID_LEN 64

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_word(char c)
{
    return is_hex(c) || (c >= 'g' && c <= 'z') || (c >= 'G' && c <= 'Z') || c == '_';
}

static void short_id(const char *hex, char id[CONTAINER_ID_SIZE])
{
    for (size_t i = 0; i < CONTAINER_ID_LEN; i++) {
        char c = hex[i];
        id[i] = (c >= 'A' && c <= 'F') ? (char)(c - 'A' + 'a') : c;
    }
    id[CONTAINER_ID_LEN] = '\0';
}

/* The last 64-hex run in path[0..len) that is not part of a longer word. */
static const char *last_full_id(const char *path, size_t len)
{
    const char *found = NULL;
    size_t i = 0;

    while (i < len) {
        if (!is_hex(path[i]) || (i > 0 && is_word(path[i - 1]))) {
            i++;
            continue;
        }
        size_t run = 0;
        while (i + run < len && is_hex(path[i + run]))
            run++;
        if (run == FULL_ID_LEN && (i + run == len || !is_word(path[i + run])))
            found = path + i;
        i += run;
    }
    return found;
}

bool container_from_cgroup_text(const char *text, size_t len, char id[CONTAINER_ID_SIZE])
{
    const char *end = text + len;
    const char *found = NULL;

    /* Lines read "hierarchy-id:controllers:path"; only the path names containers. */
    for (const char *line = text; line < end;) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        const char *stop = eol ? eol : end;
        const char *colon1 = memchr(line, ':', (size_t)(stop - line));
        const char *colon2 = colon1 ? memchr(colon1 + 1, ':', (size_t)(stop - colon1 - 1)) : NULL;
        if (colon2) {
            const char *hit = last_full_id(colon2 + 1, (size_t)(stop - colon2 - 1));
            if (hit)
                found = hit;
        }
        line = eol ? eol + 1 : end;
    }
    if (!found)
        return false;
    short_id(found, id);
    return true;
}

bool container_of_pid(pid_t pid, char id[CONTAINER_ID_SIZE])
{
    char path[64], text[8192];
    size_t len = 0;
    ssize_t n;
    int fd;

    if (pid <= 0)
        return false;
    snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    while (len < sizeof text && (n = read(fd, text + len, sizeof text - len)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        len += (size_t)n;
    }
    close(fd);
    return container_from_cgroup_text(text, len, id);
}

bool container_from_guess(const char *guess, size_t len, char id[CONTAINER_ID_SIZE])
{
    if (len < CONTAINER_ID_LEN || len > FULL_ID_LEN)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!is_hex(guess[i]))
            return false;
    short_id(guess, id);
    return true;
}
