/*
 * paths.h - where the shim's socket lives when nobody said.
 *
 * The default is /run/ulog/ulog.sock (DESIGN.md). A user who is not root
 * cannot create /run/ulog, so ulogd falls back to a private directory, and
 * `ulog run` must pick the same one: both ask this header.
 */
#ifndef ULOG_PATHS_H
#define ULOG_PATHS_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define ULOG_DEFAULT_SOCKET "/run/ulog/ulog.sock"

/* $XDG_RUNTIME_DIR/ulog/ulog.sock, else /tmp/ulog-<uid>/ulog.sock. */
static inline void ulog_fallback_socket(char *buf, size_t size)
{
    const char *runtime = getenv("XDG_RUNTIME_DIR");
    if (runtime && runtime[0] == '/')
        snprintf(buf, size, "%s/ulog/ulog.sock", runtime);
    else
        snprintf(buf, size, "/tmp/ulog-%u/ulog.sock", (unsigned)getuid());
}

#endif /* ULOG_PATHS_H */
