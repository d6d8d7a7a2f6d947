/*
 * regex_jit.c - whether ulogd's regexes are compiled to machine code (see regex_jit.h).
 */
#include "regex_jit.h"

#include <stdbool.h>
#include <stdlib.h>
#include <strings.h>

static bool jit_wanted(void)
{
    static int wanted = -1;

    if (wanted < 0) {
        const char *value = getenv("ULOG_REGEX_JIT");
        wanted = !(value && (strcasecmp(value, "off") == 0 || strcasecmp(value, "0") == 0 ||
                             strcasecmp(value, "no") == 0 || strcasecmp(value, "false") == 0));
    }
    return wanted;
}

void regex_jit_compile(pcre2_code *re)
{
    if (jit_wanted())
        (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
}
