/*
 * level.h - the five record levels, their names and their order.
 *
 * ulogd writes them and filters on LOG_LEVEL; `ulog tail --level` filters on
 * them again when reading. One table keeps both ends spelling them alike.
 */
#ifndef ULOG_LEVEL_H
#define ULOG_LEVEL_H

#include <strings.h>

enum ulog_level {
    ULOG_DEBUG = 0,
    ULOG_INFO,
    ULOG_WARNING,
    ULOG_ERROR,
    ULOG_CRITICAL,
    ULOG_LEVEL_COUNT
};

static inline const char *ulog_level_name(enum ulog_level level)
{
    static const char *const names[ULOG_LEVEL_COUNT] = {"DEBUG", "INFO", "WARNING", "ERROR",
                                                        "CRITICAL"};
    return (unsigned)level < ULOG_LEVEL_COUNT ? names[level] : "INFO";
}

/* Accepts any case and the usual aliases (warn, err, fatal); -1 if unknown. */
static inline int ulog_level_parse(const char *name)
{
    static const struct {
        const char *name;
        enum ulog_level level;
    } table[] = {
        {"debug", ULOG_DEBUG},       {"info", ULOG_INFO},       {"warning", ULOG_WARNING},
        {"warn", ULOG_WARNING},      {"error", ULOG_ERROR},     {"err", ULOG_ERROR},
        {"critical", ULOG_CRITICAL}, {"crit", ULOG_CRITICAL},   {"fatal", ULOG_CRITICAL},
    };
    if (!name)
        return -1;
    for (unsigned i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcasecmp(name, table[i].name) == 0)
            return (int)table[i].level;
    return -1;
}

#endif /* ULOG_LEVEL_H */
