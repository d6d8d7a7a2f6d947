/*
 * regex_jit.h - whether ulogd's regexes are compiled to machine code.
 *
 * PCRE2's JIT makes every rule, redaction pattern and multiline format
 * several times faster, and it is on by default. ULOG_REGEX_JIT=off leaves
 * every regex to PCRE2's interpreter, which gives the same answers: for a
 * kernel that forbids executable memory (SELinux deny_execmem, PaX), where
 * JIT compilation fails anyway, and for valgrind's memcheck, which reports
 * the JIT's vector reads past the end of a subject (harmless: they stay in
 * the same page) as uses of uninitialised memory. The choice is read once,
 * so every regex of the process agrees.
 */
#ifndef ULOGD_REGEX_JIT_H
#define ULOGD_REGEX_JIT_H

#include <pcre2.h>

/* Compile `re` to machine code unless ULOG_REGEX_JIT says not to; without it, matching still works. */
void regex_jit_compile(pcre2_code *re);

#endif
