/*
 * timestamp.h - reading the time a structured line says it was written.
 *
 * Libraries write it as RFC 3339 text ("2026-11-21T14:22:18.214Z") or as a
 * number of seconds, milliseconds, microseconds or nanoseconds since the
 * epoch, as a JSON number or as text. Both come out as nanoseconds since
 * 1970-01-01 UTC, 0 meaning "no usable time": the caller keeps the text
 * either way, so a time that cannot be read is never lost, only not parsed.
 * Kept apart from lift.c because date arithmetic has nothing to do with
 * choosing fields, and apart from any libc time function because those
 * depend on the locale and the time zone of the machine.
 */
#ifndef ULOGD_TIMESTAMP_H
#define ULOGD_TIMESTAMP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Nanoseconds since the epoch of `len` bytes of text, 0 when unparsable:
 * RFC 3339 with "T", "t" or " " between date and time, any fraction ('.' or
 * ','), and a zone (Z or +hh:mm / +hhmm) - without one it is the local time
 * of an unknown place, so 0; years before 1970 give 0. Otherwise a decimal
 * epoch number (strtod syntax, at most 40 bytes), read as below.
 */
uint64_t timestamp_parse_text(const char *s, size_t len);

/*
 * Nanoseconds since the epoch of a JSON integer or real, 0 when it is not a
 * number or not positive. Its magnitude says the unit: above 1e17 ns, above
 * 1e14 us, above 1e11 ms, otherwise seconds (a fraction keeps to the ns).
 */
uint64_t timestamp_from_json_number(const json_t *value);

#endif
