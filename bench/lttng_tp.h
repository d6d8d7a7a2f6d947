/*
 * lttng_tp.h - the LTTng-UST tracepoint provider of bench/lttng_event.c: one
 * event, ulog_bench:line, carrying what a log call carries (the message, a
 * sequence number); LTTng adds the timestamp itself.
 *
 * LTTng's macros include this header again by the name below, so it must be
 * found on the include path: build lttng_event with -Ibench (see the
 * Makefile's rule for it).
 */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER ulog_bench

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "lttng_tp.h"

#if !defined(ULOG_BENCH_LTTNG_TP_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define ULOG_BENCH_LTTNG_TP_H

#include <lttng/tracepoint.h>

LTTNG_UST_TRACEPOINT_EVENT(
    ulog_bench, line,
    LTTNG_UST_TP_ARGS(const char *, text, long, seq),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_string(message, text)
        lttng_ust_field_integer(long, seq, seq)))

#endif /* ULOG_BENCH_LTTNG_TP_H */

#include <lttng/tracepoint-event.h>
