/*
 * run.h - the decisions `ulog run` makes before it execs, kept apart from
 * the exec so that they can be tested.
 */
#ifndef ULOG_CLI_RUN_H
#define ULOG_CLI_RUN_H

#include <stddef.h>

#define SHIM_FILE_NAME "libulog.so"

enum run_shim_search {
    RUN_SHIM_FOUND = 0,
    RUN_SHIM_OVERRIDE_MISSING, /* ULOG_PRELOAD_LIB names no regular file */
    RUN_SHIM_NOT_FOUND,        /* neither next to the program nor in the libdir */
};

/*
 * The absolute, resolved path of libulog.so into `out` (PATH_MAX bytes):
 * `override` when given (ULOG_PRELOAD_LIB), else next to `program` (the
 * real path of the running ulog: build/ulog finds build/libulog.so), else
 * in ../lib/ulog/ from there (an installed tree moved or installed under
 * another PREFIX than it was built for), else in `libdir` (ULOG_LIBDIR).
 */
enum run_shim_search run_find_shim(char *out, const char *override, const char *program,
                               const char *libdir);

/*
 * The LD_PRELOAD value that loads `shim` first and keeps every other entry
 * of `existing` (split, as ld.so does, on spaces and colons), leaving out
 * any libulog.so or libulog-musl.so already there: one process, one shim.
 * malloc'd; NULL when out of memory.
 */
char *run_preload_value(const char *shim, const char *existing);

/*
 * The socket the shim will connect to, into `out` (`size` bytes): `flag`
 * (--socket), else `env` ($ULOG_SOCKET), else `default_path` if a socket is
 * there, else `fallback_path` if a socket is there, else `default_path`.
 * A relative path is made absolute, so that it still holds after the
 * program changes directory. Returns 0, or -1 with errno set
 * (ENAMETOOLONG: too long for an AF_UNIX address).
 */
int run_pick_socket(char *out, size_t size, const char *flag, const char *env,
                    const char *default_path, const char *fallback_path);

#endif /* ULOG_CLI_RUN_H */
