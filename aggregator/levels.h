/*
 * levels.h - what level a line is, when the program did not say in a field.
 *
 * Structured lines name their level in a field, but in the words of their
 * library ("warn", "Information", 30, "dpanic"); plain-text lines announce it
 * in the shape of the line (`[error]`, `E1121 14:22:18`, `<3>`, a Python
 * traceback). Both are mapped here onto the five ulog levels, so the
 * pipeline, the rules' level conditions and the configuration all agree on
 * which words mean what. Detection runs on every captured line: it is a
 * hand-written scan of the head of the line, with no regex and no allocation.
 */
#ifndef ULOGD_LEVELS_H
#define ULOGD_LEVELS_H

#include <stddef.h>

#include "ulog/level.h"

/*
 * A level named by a log library, or a number; -1 when not recognised.
 * Names, any case, blanks around ignored: trace, verbose, debug, dbug, fine,
 * finer, finest, vrb, dbg -> DEBUG; info, information, informational, notice,
 * note, inf -> INFO; warn, warning, wrn -> WARNING; error, err, eror, fail,
 * severe -> ERROR; critical, crit, fatal, ftl, panic, pnc, dpanic, emerg,
 * emergency, alert -> CRITICAL. Single letters are not names.
 * Numbers: 0..7 are syslog severities (0-2 CRITICAL, 3 ERROR, 4 WARNING,
 * 5-6 INFO, 7 DEBUG); 10..99 are pino/bunyan steps (10 trace, 20 debug,
 * 30 info, 40 warn, 50 error, 60+ fatal), rounded down (35 -> INFO).
 */
int level_from_name(const char *text, size_t len);

/*
 * The level a plain-text line announces, -1 when it announces none: a level
 * word among its first tokens (uppercase, [bracketed] any case, or followed
 * by ':'), level=... anywhere, a glog/klog or syslog <N> prefix, or the
 * opening line of a crash (traceback, panic, sanitizer report, exception).
 * Looks at most at the first 256 bytes; never allocates.
 */
int level_detect_text(const char *line, size_t len);

#endif
