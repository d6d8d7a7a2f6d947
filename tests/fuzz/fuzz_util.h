/*
 * fuzz_util.h - what the fuzz targets in tests/fuzz/ share.
 *
 * A target proves more than "it did not crash" only if it checks what the
 * code promises, so a broken promise must stop the run like a crash does:
 * FUZZ_CHECK aborts, and libFuzzer keeps the input that broke it. Inputs
 * are handed to the code under test in heap copies of their exact size,
 * and whatever it hands back is read byte by byte, so ASan reports one byte
 * read past either end, which a lenient caller would never notice.
 */
#ifndef ULOG_FUZZ_UTIL_H
#define ULOG_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond)                                                                    \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "%s:%d: broken promise: %s\n", __FILE__, __LINE__, #cond);      \
            abort();                                                                        \
        }                                                                                   \
    } while (0)

/* Never NULL, even for 0 bytes: the code under test gets a real pointer. */
static inline char *fuzz_copy(const void *bytes, size_t len)
{
    char *copy = malloc(len ? len : 1);
    FUZZ_CHECK(copy != NULL);
    if (len)
        memcpy(copy, bytes, len);
    return copy;
}

/* Read every byte, where the compiler cannot drop the reads. */
static inline void fuzz_touch(const void *bytes, size_t len)
{
    const volatile unsigned char *p = bytes;
    unsigned char sum = 0;

    FUZZ_CHECK(len == 0 || p != NULL);
    for (size_t i = 0; i < len; i++)
        sum ^= p[i];
    __asm__ volatile("" : : "r"(sum));
}

#endif
