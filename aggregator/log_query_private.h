/*
 * log_query_private.h - what log_query.c (the parameters) and
 * log_query_run.c (the SQL) share, and nothing else may use.
 */
#ifndef ULOGD_LOG_QUERY_PRIVATE_H
#define ULOGD_LOG_QUERY_PRIVATE_H

#include <stddef.h>

#include "ulog/level.h"

#define LOG_QUERY_ALL_LEVELS ((1u << ULOG_LEVEL_COUNT) - 1)
/* level and min_level together may leave no level: a mask of no real level. */
#define LOG_QUERY_NO_LEVEL (1u << 31)

/* snprintf into `err`; returns -1. */
int log_query_fail(char *err, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
