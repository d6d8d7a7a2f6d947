/*
 * alloc.c - allocation that either succeeds or ends ulogd (see alloc.h).
 */
#include "alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void out_of_memory(size_t size)
{
    /* stdio may itself need memory: write(2) a fixed message instead. */
    static const char msg[] = "ulogd: out of memory\n";
    ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)ignored;
    (void)size;
    abort();
}

void *must_malloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        out_of_memory(size);
    return p;
}

void *must_calloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        out_of_memory(count * size);
    return p;
}

void *must_realloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);
    if (!p)
        out_of_memory(size);
    return p;
}

char *must_strdup(const char *s)
{
    return must_strndup(s, strlen(s));
}

char *must_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = must_malloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}
