/*
 * alloc.h - allocation that either succeeds or ends ulogd.
 *
 * ulogd cannot do anything useful without memory, and checking every
 * allocation would bury the pipeline under error paths that could never be
 * tested. Like Redis' zmalloc, these report the failure and exit; jansson is
 * pointed at the same functions at start-up, so a NULL from it means bad
 * input, never "out of memory".
 */
#ifndef ULOGD_ALLOC_H
#define ULOGD_ALLOC_H

#include <stddef.h>

void *must_malloc(size_t size);
void *must_calloc(size_t count, size_t size);
void *must_realloc(void *ptr, size_t size);
char *must_strdup(const char *s);
char *must_strndup(const char *s, size_t n);

#endif
