/*
 * pg_session.c - one connection to PostgreSQL for pg_sink (see pg_session.h).
 *
 * A transaction is two query strings:
 *     BEGIN; COPY system_logs_staging (...) FROM STDIN      + the rows
 *     INSERT INTO system_logs SELECT ... FROM system_logs_staging
 *         ON CONFLICT (log_id) DO NOTHING; COMMIT
 * The staging table is temporary (one per connection) and emptied by each
 * commit. When a connection drops, nobody knows whether its COMMIT was done,
 * so pg_sink writes the rows again on the next one; ON CONFLICT makes that
 * harmless for the rows the first write stored.
 *
 * libpq's notices (CREATE ... IF NOT EXISTS says "skipping") are dropped:
 * ulogd's threads do not print.
 */
#include "pg_session.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pg_table.h"

#define CONNECT_TIMEOUT_MS 10000u
/* The longest a step waits for a silent server before the connection is given up. */
#define IO_TIMEOUT_MS 60000u
#define COPY_CHUNK (256u << 10)

static const char copy_sql[] = "BEGIN; COPY system_logs_staging (" PG_TABLE_COLUMNS ") FROM STDIN";
static const char insert_sql[] = "INSERT INTO system_logs (" PG_TABLE_COLUMNS ") SELECT "
                                 PG_TABLE_COLUMNS " FROM system_logs_staging"
                                 " ON CONFLICT (log_id) DO NOTHING; COMMIT";

uint64_t pg_session_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void pg_session_set_error(struct pg_session *s, const char *what, const char *detail)
{
    size_t n = 0;

    snprintf(s->error, sizeof s->error, "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
    /* libpq's messages span lines ("...\n\tIs the server running"): one line, single spaces. */
    for (char *c = s->error; *c; c++) {
        bool space = *c == '\n' || *c == '\t' || *c == ' ';
        if (space && (n == 0 || s->error[n - 1] == ' '))
            continue;
        s->error[n++] = space ? ' ' : *c;
    }
    while (n && s->error[n - 1] == ' ')
        n--;
    s->error[n] = '\0';
}

static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/*
 * Wait for the socket (POLLIN and/or POLLOUT) until `deadline_ms` or
 * abort_at_ms. PG_OK with `revents` set when it is ready.
 */
static enum pg_outcome wait_socket(struct pg_session *s, int fd, short events,
                                   uint64_t deadline_ms, short *revents)
{
    for (;;) {
        struct pollfd fds[2] = {{.fd = fd, .events = events}, {.fd = s->wake_fd, .events = POLLIN}};
        uint64_t now = pg_session_now_ms(), abort_at = atomic_load(s->abort_at_ms);
        uint64_t end = abort_at < deadline_ms ? abort_at : deadline_ms;

        if (now >= abort_at)
            return PG_ABORTED;
        if (now >= end) {
            pg_session_set_error(s, "no answer from the server", NULL);
            return PG_LOST;
        }
        /* Once the deadline is set, the wake descriptor (left readable) has said its piece. */
        int n = poll(fds, abort_at == UINT64_MAX ? 2 : 1, (int)(end - now));
        if (n < 0 && errno != EINTR) {
            pg_session_set_error(s, "poll", strerror(errno));
            return PG_LOST;
        }
        if (n > 0 && fds[0].revents) {
            *revents = fds[0].revents;
            return PG_OK;
        }
    }
}

/* A wait in the middle of a conversation: the server has IO_TIMEOUT_MS to move. */
static enum pg_outcome wait_io(struct pg_session *s, short events, short *revents)
{
    return wait_socket(s, PQsocket(s->conn), events, pg_session_now_ms() + IO_TIMEOUT_MS, revents);
}

static enum pg_outcome lost(struct pg_session *s, const char *what)
{
    pg_session_set_error(s, what, PQerrorMessage(s->conn));
    return PG_LOST;
}

/* Send what libpq has buffered. */
static enum pg_outcome flush_output(struct pg_session *s)
{
    int pending;

    while ((pending = PQflush(s->conn)) == 1) {
        short revents;
        enum pg_outcome o = wait_io(s, POLLIN | POLLOUT, &revents);
        if (o != PG_OK)
            return o;
        /* The server may be waiting for us to read before it reads more. */
        if ((revents & POLLIN) && !PQconsumeInput(s->conn))
            return lost(s, "reading");
    }
    return pending == 0 ? PG_OK : lost(s, "sending");
}

static enum pg_outcome send_query(struct pg_session *s, const char *sql)
{
    if (!PQsendQuery(s->conn, sql))
        return lost(s, "sending a query");
    return flush_output(s);
}

/* The next result (NULL: the query string is done). */
static enum pg_outcome next_result(struct pg_session *s, PGresult **result)
{
    while (PQisBusy(s->conn)) {
        short revents;
        enum pg_outcome o = wait_io(s, POLLIN, &revents);
        if (o != PG_OK)
            return o;
        if (!PQconsumeInput(s->conn))
            return lost(s, "reading");
    }
    *result = PQgetResult(s->conn);
    return PG_OK;
}

/*
 * SQLSTATE classes that blame the rows themselves: data exception (22),
 * integrity constraint (23), program limit (54: a message too long for a
 * tsvector). Anything else is about the server or the schema (a dropped
 * table, a lost privilege, a shutdown): the connection is made again, which
 * creates what is missing, and the rows wait.
 */
static bool refused_sqlstate(const char *state)
{
    static const char *const classes[] = {"22", "23", "54"};

    for (size_t i = 0; state && i < sizeof classes / sizeof *classes; i++)
        if (strncmp(state, classes[i], 2) == 0)
            return true;
    return false;
}

/* The next result must have status `want` (PGRES_COMMAND_OK, PGRES_COPY_IN);
 * `rows`, when not NULL, gets the number of rows its command affected. */
static enum pg_outcome expect_rows(struct pg_session *s, ExecStatusType want, const char *what,
                                   uint64_t *rows)
{
    PGresult *result = NULL;
    enum pg_outcome o = next_result(s, &result);

    if (o != PG_OK)
        return o;
    if (!result) {
        pg_session_set_error(s, what, "the server sent no result");
        return PG_LOST;
    }
    if (PQresultStatus(result) == want) {
        if (rows)
            *rows = strtoull(PQcmdTuples(result), NULL, 10);
        PQclear(result);
        return PG_OK;
    }
    pg_session_set_error(s, what, PQresultErrorMessage(result));
    o = PQstatus(s->conn) != CONNECTION_BAD &&
                refused_sqlstate(PQresultErrorField(result, PG_DIAG_SQLSTATE))
            ? PG_REFUSED
            : PG_LOST;
    PQclear(result);
    return o;
}

static enum pg_outcome expect(struct pg_session *s, ExecStatusType want, const char *what)
{
    return expect_rows(s, want, what, NULL);
}

/* The end of the current query string. */
static enum pg_outcome expect_end(struct pg_session *s)
{
    PGresult *result = NULL;
    enum pg_outcome o;

    while ((o = next_result(s, &result)) == PG_OK && result) {
        ExecStatusType status = PQresultStatus(result);
        PQclear(result);
        /* A COPY the server still expects data for cannot be ended politely. */
        if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH)
            return PG_LOST;
    }
    return o;
}

/* After a refusal: finish the query string, roll the transaction back. */
static enum pg_outcome recover(struct pg_session *s)
{
    enum pg_outcome o = expect_end(s);

    if (o == PG_OK && PQtransactionStatus(s->conn) != PQTRANS_IDLE) {
        o = send_query(s, "ROLLBACK");
        if (o == PG_OK)
            o = expect(s, PGRES_COMMAND_OK, "ROLLBACK");
        if (o == PG_OK)
            o = expect_end(s);
    }
    return o == PG_REFUSED ? PG_LOST : o;
}

enum pg_outcome pg_session_open(struct pg_session *s, const char *conninfo)
{
    /* Later keywords win: the user's conninfo (expanded from dbname) may name
     * an application, never the encoding, which the COPY text is in. */
    const char *const keys[] = {"fallback_application_name", "dbname", "client_encoding", NULL};
    const char *const values[] = {"ulogd", conninfo, "UTF8", NULL};
    uint64_t deadline = pg_session_now_ms() + CONNECT_TIMEOUT_MS;
    PostgresPollingStatusType poll_status = PGRES_POLLING_WRITING;
    bool failed = false;
    enum pg_outcome o;

    s->conn = PQconnectStartParams(keys, values, 1);
    if (!s->conn) {
        pg_session_set_error(s, "connecting", "out of memory");
        return PG_LOST;
    }
    PQsetNoticeProcessor(s->conn, ignore_notice, NULL);
    if (PQstatus(s->conn) == CONNECTION_BAD)
        return lost(s, "connecting");
    while (poll_status != PGRES_POLLING_OK) {
        short revents;
        if (poll_status == PGRES_POLLING_FAILED)
            return lost(s, "connecting");
        o = wait_socket(s, PQsocket(s->conn),
                        poll_status == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline,
                        &revents);
        if (o != PG_OK)
            return o;
        poll_status = PQconnectPoll(s->conn);
    }
    if (PQsetnonblocking(s->conn, 1) != 0)
        return lost(s, "connecting");
    o = send_query(s, pg_table_schema_sql);
    while (o == PG_OK) {
        PGresult *result = NULL;
        if ((o = next_result(s, &result)) != PG_OK || !result)
            break;
        if (PQresultStatus(result) != PGRES_COMMAND_OK && !failed) {
            pg_session_set_error(s, "creating the table", PQresultErrorMessage(result));
            failed = true; /* read to the end, then give this connection up */
        }
        PQclear(result);
    }
    return o == PG_OK && failed ? PG_LOST : o;
}

static enum pg_outcome put_copy_data(struct pg_session *s, const char *rows, size_t len)
{
    size_t sent = 0;

    while (sent < len) {
        size_t n = len - sent < COPY_CHUNK ? len - sent : COPY_CHUNK;
        int r = PQputCopyData(s->conn, rows + sent, (int)n);
        short revents;
        enum pg_outcome o;

        if (r < 0)
            return lost(s, "sending rows");
        if (r == 1) {
            sent += n;
            continue;
        }
        /* libpq's buffer is full: wait until the socket takes more. */
        o = wait_io(s, POLLIN | POLLOUT, &revents);
        if (o != PG_OK)
            return o;
        if ((revents & POLLIN) && !PQconsumeInput(s->conn))
            return lost(s, "reading");
        if (PQflush(s->conn) < 0)
            return lost(s, "sending rows");
    }
    for (;;) {
        int r = PQputCopyEnd(s->conn, NULL);
        short revents;
        enum pg_outcome o;

        if (r < 0)
            return lost(s, "ending COPY");
        if (r == 1)
            return flush_output(s);
        o = wait_io(s, POLLOUT, &revents);
        if (o != PG_OK)
            return o;
    }
}

enum pg_outcome pg_session_write(struct pg_session *s, const char *rows, size_t len,
                                 uint64_t *inserted)
{
    enum pg_outcome o = send_query(s, copy_sql);

    if (o == PG_OK)
        o = expect(s, PGRES_COMMAND_OK, "BEGIN");
    if (o == PG_OK)
        o = expect(s, PGRES_COPY_IN, "COPY");
    if (o == PG_OK)
        o = put_copy_data(s, rows, len);
    if (o == PG_OK)
        o = expect(s, PGRES_COMMAND_OK, "COPY");
    if (o == PG_OK)
        o = expect_end(s);
    if (o == PG_OK)
        o = send_query(s, insert_sql);
    if (o == PG_OK)
        o = expect_rows(s, PGRES_COMMAND_OK, "INSERT", inserted);
    if (o == PG_OK)
        o = expect(s, PGRES_COMMAND_OK, "COMMIT");
    if (o == PG_OK)
        o = expect_end(s);
    if (o == PG_REFUSED && recover(s) != PG_OK)
        o = PG_LOST;
    return o;
}

void pg_session_close(struct pg_session *s)
{
    if (s->conn)
        PQfinish(s->conn);
    s->conn = NULL;
}
