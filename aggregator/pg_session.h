/*
 * pg_session.h - pg_sink's connection to PostgreSQL, driven without ever
 * blocking for long.
 *
 * Only libpq's asynchronous calls are used; each wait is a poll() on the
 * connection's socket and on the sink's wake descriptor, bounded by a time
 * limit of its own and by `abort_at_ms`, which pg_sink_close sets (then
 * makes wake_fd readable): however the server misbehaves (gone, hung, slow
 * to accept), a wait ends by that deadline.
 */
#ifndef ULOGD_PG_SESSION_H
#define ULOGD_PG_SESSION_H

#include <libpq-fe.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* How a step with the server ended. */
enum pg_outcome {
    PG_OK,
    PG_LOST,    /* the connection is gone or unusable: keep the rows, connect again */
    PG_REFUSED, /* the server refused the rows as data: it would refuse them again */
    PG_ABORTED, /* abort_at_ms passed */
};

struct pg_session {
    PGconn *conn; /* NULL while not connected */
    int wake_fd;  /* readable once abort_at_ms is set */
    const _Atomic uint64_t *abort_at_ms; /* CLOCK_MONOTONIC ms; UINT64_MAX: none */
    char error[256]; /* why the last step failed, on one line ("connecting: ...") */
};

uint64_t pg_session_now_ms(void);

/* Connect with libpq's `conninfo` (a string or URI), then create the table,
 * its indexes and the staging table where missing. */
enum pg_outcome pg_session_open(struct pg_session *session, const char *conninfo);

/* One transaction: `rows` (COPY text, pg_table_row) into system_logs, each
 * row whose log_id is already there left as it is; `inserted` gets how many
 * were not. */
enum pg_outcome pg_session_write(struct pg_session *session, const char *rows, size_t len,
                                 uint64_t *inserted);

void pg_session_close(struct pg_session *session);

/* Set `error` (libpq's multi-line messages joined into one line). */
void pg_session_set_error(struct pg_session *session, const char *what, const char *detail);

#endif
