"""test_postgresql.py - the records in a real PostgreSQL (store.postgresql,
ULOG_POSTGRESQL), each test with a private server of its own (pg_server.py):

- what all.log holds, PostgreSQL holds: the same records, field by field, in
  the same order (log_id), from programs under the shim and from POST /logs,
  a captured NUL byte as U+FFFD (PostgreSQL's text cannot hold NUL);
- PostgreSQL stopped in the middle of a run: ulogd carries on, all.log is
  complete, and once the server is back every record arrives exactly once;
- a batch committed whose answer was lost with the connection is written
  again on the next one, and stored once;
- rows already in the table under ids ulogd writes are kept, never doubled,
  and ulogd's records under those ids are counted as dropped;
- the table's schema: the level CHECK, the store's indexes, full-text search
  through the GIN index;
- a connection string libpq cannot parse stops ulogd at start with a clear
  reason; a server that is not there does not stop it.
"""

import os
import subprocess
import time

from harness import ULOGD, clean_env, program, wait_until
from http_util import metric, serve
from pg_server import PgServer
from records import captured, read_log

# Rows as all.log has them: timestamps in its spelling, NULL as absent.
ROWS_SQL = """SELECT log_id,
    to_char(timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS timestamp,
    level, service, container, host, pid, tid, stream, source, component, event_type,
    message, trace_id, span_id, agent_id, task_id, context, metadata
  FROM system_logs ORDER BY log_id"""

INDEXED = {("timestamp",), ("level", "timestamp"), ("service", "timestamp"), ("container",),
           ("component",), ("event_type",), ("trace_id",), ("agent_id",), ("task_id",)}


def _stored(value):
    """A value of all.log as PostgreSQL stores it: NUL as U+FFFD."""
    if isinstance(value, str):
        return value.replace("\0", "\ufffd")
    if isinstance(value, dict):
        return {k: _stored(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stored(v) for v in value]
    return value


def _rows(pg):
    return pg.query(ROWS_SQL)


def _check_same(records, rows, except_ids=()):
    """PostgreSQL holds exactly all.log: one row per record, ids consecutive
    in the file's order, every field equal (bar the rows in except_ids)."""
    ids = [row["log_id"] for row in rows]
    assert len(rows) == len(records), \
        f"PostgreSQL has {len(rows)} rows, all.log {len(records)} records"
    assert ids == list(range(ids[0], ids[0] + len(ids))), \
        f"log_ids are not consecutive and unique: {ids[:5]}...{ids[-5:]}"
    for record, row in zip(records, rows):
        if row["log_id"] in except_ids:
            continue
        got = {k: v for k, v in row.items() if k != "log_id" and v is not None}
        want = _stored(record)
        if got != want:
            keys = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
            raise AssertionError(f"log_id {row['log_id']} differs from all.log in {keys}: "
                                 f"{ {k: (want.get(k), got.get(k)) for k in keys} }")


def _caught_up(pg, ulogd):
    """Until PostgreSQL has a row for every record all.log has (one at
    least: all.log is written behind, and may still be empty)."""
    def check():
        return pg.count() >= max(len(ulogd.records()), 1)
    wait_until(check, 30, "PostgreSQL to have every record of all.log")


def test_postgresql_holds_what_all_log_holds(t):
    with PgServer(t) as pg:
        ulogd, api = serve(t, env={"ULOG_POSTGRESQL": pg.conninfo})
        # NUL bytes, control characters, invalid UTF-8, CR, a line split in parts.
        for name in ("escapes", "out_printf"):
            result = t.run([program(name)], via="preload")
            assert result.returncode == 0, result.stderr
        answer = api.post_logs([
            {"message": "posted with every field", "level": "warn", "component": "billing",
             "event_type": "charge_failed", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
             "span_id": "00f067aa0ba902b7", "agent_id": "agent-7", "task_id": "task-42",
             "metadata": {"amount": 12.5, "tags": ["a", "b"],
                          "nested": {"quote": "\"\\", "text": "caf\u00e9 \t\n"}}},
            {"message": "tab\there, newline\nthere, backslash \\N and \\. end",
             "service": "api", "level": "critical"},
        ])
        ulogd.stop()  # writes what PostgreSQL has not got yet
        records = read_log(ulogd.log_path, require_complete=True)
        rows = _rows(pg)
        _check_same(records, rows)
        # Not vacuous: the program's lines and the posted entries are there.
        sources = {r.get("source") for r in records}
        assert {"preload", "http"} <= sources, sources
        by_id = {row["log_id"]: row for row in rows}
        first, second = (by_id[i] for i in answer["ids"])
        assert first["level"] == "WARNING" and first["span_id"] == "00f067aa0ba902b7", first
        assert first["metadata"]["nested"] == {"quote": "\"\\", "text": "caf\u00e9 \t\n"}, first
        assert second["message"] == "tab\there, newline\nthere, backslash \\N and \\. end"
        nul_line = [r for r in rows if r["message"].startswith("nul: ")]
        assert [r["message"] for r in nul_line] == ["nul: a\ufffdb\ufffd\ufffdc"], nul_line


def test_postgresql_outage_loses_nothing_and_doubles_nothing(t):
    with PgServer(t) as pg:
        ulogd, api = serve(t, env={"ULOG_POSTGRESQL": pg.conninfo})
        writer = t.spawn([program("paced_writer"), "3000", "1000"], via="preload")
        wait_until(lambda: pg.count() >= 300, 20, "the first rows in PostgreSQL")
        pg.stop()  # in the middle of the writer's run, transactions in flight
        down_at = len(ulogd.records())
        # ulogd carries on: all.log keeps growing while the server is away.
        ulogd.wait_for(lambda rs: len(rs) >= down_at + 500, 20,
                       "records in all.log while PostgreSQL is down")
        pg.start()
        assert writer.wait(30) == 0
        ulogd.wait_for(lambda rs: len(captured(rs, pid=writer.pid)) == 3000, 20,
                       "the writer's 3000 lines in all.log")
        _caught_up(pg, ulogd)
        metrics = api.metrics()
        assert metric(metrics, "ulog_pg_reconnects_total") >= 1, "no reconnection counted"
        assert metric(metrics, "ulog_pg_errors_total") >= 1, "the outage counted no error"
        assert metric(metrics, "ulog_pg_dropped_total") == 0, "records were dropped"
        ulogd.stop()
        records = read_log(ulogd.log_path, require_complete=True)
        assert len(captured(records, pid=writer.pid)) == 3000
        _check_same(records, _rows(pg))



def test_postgresql_commit_whose_answer_is_lost_is_not_doubled(t):
    """The connection drops after the server committed a batch but before
    ulogd heard so: ulogd writes that batch again on its next connection,
    and every record is still there exactly once. (The COMMIT is held by a
    synchronous standby that does not exist, and ulogd's session is ended
    while it waits: PostgreSQL has committed it locally by then.)"""
    with PgServer(t) as pg:
        ulogd, api = serve(t, env={"ULOG_POSTGRESQL": pg.conninfo})
        _caught_up(pg, ulogd)
        pg.psql("ALTER SYSTEM SET synchronous_standby_names = 'nobody'")
        pg.psql("SELECT pg_reload_conf()")
        before = pg.count()
        result = t.run([program("paced_writer"), "200", "0"], via="preload")
        assert result.returncode == 0, result.stderr
        held = wait_until(lambda: pg.query(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'ulogd' "
            "AND wait_event = 'SyncRep'"), 10, "ulogd's COMMIT to wait for the standby")
        pg.psql(f"SELECT pg_terminate_backend({held[0]['pid']})")
        # Released once the session has given up waiting (not before: the
        # COMMIT would be answered), before ulogd connects again (the ending
        # session's own clean-up commits too, and waits meanwhile).
        wait_until(lambda: "canceling the wait for synchronous replication" in pg.log_tail(),
                   10, "the session to give up its wait")
        pg.psql("ALTER SYSTEM RESET synchronous_standby_names")
        pg.psql("SELECT pg_reload_conf()")
        # Committed, though ulogd never got the answer.
        wait_until(lambda: pg.count() > before, 10, "the held transaction's rows")
        ulogd.wait_for(lambda rs: len(captured(rs, pid=result.pid)) == 200, 10,
                       "the writer's lines")
        wait_until(lambda: metric(api.metrics(), "ulog_pg_reconnects_total") >= 1, 10,
                   "ulogd to connect again")
        _caught_up(pg, ulogd)
        metrics = api.metrics()
        assert metric(metrics, "ulog_pg_errors_total") >= 1, "the lost answer counted no error"
        assert metric(metrics, "ulog_pg_dropped_total") == 0, "records were dropped"
        ulogd.stop()
        _check_same(read_log(ulogd.log_path, require_complete=True), _rows(pg))


def test_postgresql_ids_taken_by_other_rows_are_counted(t):
    """Rows already in the table under ids ulogd has not written yet (ids
    that started again at 1, another ulogd on the same table): they are kept,
    never doubled, and ulogd's records under those ids count as dropped."""
    with PgServer(t) as pg:
        ulogd, api = serve(t, env={"ULOG_POSTGRESQL": pg.conninfo})
        _caught_up(pg, ulogd)
        base = int(pg.scalar("SELECT max(log_id) FROM system_logs"))
        taken = [base + 40, base + 41, base + 42]  # ids of records not yet written
        pg.psql("INSERT INTO system_logs (log_id, timestamp, level, message) VALUES "
                + ", ".join(f"({i}, now(), 'INFO', 'already there')" for i in taken))
        result = t.run([program("paced_writer"), "200", "0"], via="preload")
        assert result.returncode == 0, result.stderr
        ulogd.wait_for(lambda rs: len(captured(rs, pid=result.pid)) == 200, 10,
                       "the writer's lines")
        _caught_up(pg, ulogd)
        metrics = api.metrics()
        assert metric(metrics, "ulog_pg_dropped_total") == 3, metrics
        assert metric(metrics, "ulog_pg_connected") == 1
        ulogd.stop()
        rows = _rows(pg)
        _check_same(read_log(ulogd.log_path, require_complete=True), rows, except_ids=taken)
        kept = [row["message"] for row in rows if row["log_id"] in taken]
        assert kept == ["already there"] * 3, kept


def test_postgresql_schema(t):
    with PgServer(t) as pg:
        ulogd = t.start_ulogd(env={"ULOG_POSTGRESQL": pg.conninfo})
        assert t.run([program("out_printf")], via="preload").returncode == 0
        ulogd.wait_for(lambda rs: any(r["message"] == "last printf line" for r in rs),
                       what="the program's lines")
        _caught_up(pg, ulogd)

        # The level is one of the five.
        rc, _, err = pg.psql("INSERT INTO system_logs (log_id, timestamp, level, message) "
                             "VALUES (-1, now(), 'NOTICE', 'x')", check=False)
        assert rc != 0 and "violates check constraint" in err, err
        checks = [c["def"] for c in pg.query(
            "SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint "
            "WHERE conrelid = 'system_logs'::regclass AND contype = 'c'")]
        assert any(all(f"'{lv}'" in c for lv in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))
                   for c in checks), checks

        # The SQLite store's indexes, and full text on the message.
        indexes = [i["indexdef"] for i in pg.query(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'system_logs'")]
        btree = {tuple(c.strip().strip('"') for c in d.split("USING btree (", 1)[1]
                       .rstrip(")").split(","))
                 for d in indexes if "USING btree (" in d}
        assert INDEXED <= btree, f"missing: {INDEXED - btree}"
        gin = [d for d in indexes if "USING gin" in d]
        assert len(gin) == 1 and "to_tsvector('simple'::regconfig, message)" in gin[0], indexes

        # A full-text query, answered through that index.
        fts = ("SELECT message FROM system_logs WHERE to_tsvector('simple', message) "
               "@@ plainto_tsquery('simple', 'printf stderr')")
        _, plan, _ = pg.psql(f"SET enable_seqscan = off; EXPLAIN {fts}")
        assert "system_logs_message_fts" in plan, plan
        assert [r["message"] for r in pg.query(fts)] == ["printf to stderr 1"]
        ulogd.stop()


def test_postgresql_bad_connection_string_is_refused(t):
    """libpq cannot parse it: ulogd does not start, and says why."""
    env = clean_env({"ULOG_ENV": "testing", "ULOG_DOCKER": "off", "LOG_SERVICE_PORT": "0",
                     "ULOG_POSTGRESQL": "hots=/tmp dbname=postgres"})
    proc = subprocess.run([ULOGD, "--log-dir", t.log_dir, "--socket", t.socket],
                          stdin=subprocess.DEVNULL, capture_output=True, env=env, timeout=20,
                          cwd=t.dir)
    err = proc.stderr.decode(errors="replace")
    assert proc.returncode != 0, f"ulogd started with a bad connection string: {err}"
    assert "postgresql" in err.lower() and 'invalid connection option "hots"' in err, err


def test_postgresql_away_at_start_does_not_stop_ulogd(t):
    """A string that parses, a server that is not there: ulogd runs, all.log
    gets every record, and a stop is not held up by the unreachable server."""
    nowhere = os.path.join(t.dir, "no-server")
    os.mkdir(nowhere)
    ulogd = t.start_ulogd(env={"ULOG_POSTGRESQL": f"host={nowhere} dbname=postgres"})
    result = t.run([program("out_printf")], via="preload")
    assert result.returncode == 0, result.stderr
    ulogd.wait_for(lambda rs: len(captured(rs, pid=result.pid)) == 404, what="the lines")
    started = time.monotonic()
    ulogd.stop()
    assert time.monotonic() - started < 4, "the stop waited for a server that is not there"
