"""test_http_api.py - ulogd's HTTP API end to end (issue 8), against a real
ulogd on a free loopback port:

- GET /logs: every filter alone and combined, newest first, limit and
  offset, the reasons of a 400; what it answers is all.log's records plus
  log_id, key for key (the expectation is computed from all.log itself).
- A real program under the shim reaches GET /logs with its service, pid and
  stream.
- POST /logs: 201 with the id(s), read-your-writes, the pipeline applied
  (redaction, rules, minimum levels), every way to be refused (400, 413,
  415) with its reason, and nothing of a refused request written.
- Malformed HTTP loses nothing else; the token guards everything but
  /health; a bind beyond loopback needs the token; a port in use is one
  http_unavailable record, not a dead ulogd.
- /health and /metrics; the page's headers; the store off, its retention
  (age and size) and its survival across a restart (ids never reused).

No timing assertions: waits are bounded generously and the checks are on
content.
"""

import datetime
import json
import os
import socket
import subprocess

import wireclient as wire
from harness import HOST, ULOGD, clean_env, wait_until
from http_util import (Api, free_port, metric, metric_total, raw_exchange, request_big_body,
                       rfc3339, serve, status_of, without_id)

WAIT = 30
TOKEN = "test-token-0123456789abcdef"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
UTC = datetime.timezone.utc


# --- helpers ---------------------------------------------------------------------------

def _now():
    return datetime.datetime.now(UTC)


def _messages(records):
    return [r["message"] for r in records]


def _wait_in_log(ulogd, message, timeout=WAIT):
    return ulogd.wait_for(lambda rs: any(r["message"] == message for r in rs), timeout,
                          f"{message!r} in all.log")


def _wait_store_has(api, all_log_count):
    """Until the store holds as many records as all.log did (commits are
    asynchronous for what does not come through POST)."""
    wait_until(lambda: api.logs({"limit": 1})["logs"] and
               _store_count(api) >= all_log_count, WAIT, f"{all_log_count} records in the store")


def _store_count(api):
    return len(api.all_logs())


def _assert_same_as_all_log(got, expected, what):
    """API records (with log_id) against all.log records: same objects, same
    key order with log_id first."""
    plain = [without_id(r) for r in got]
    if plain != expected:
        gm, em = _messages(plain), _messages(expected)
        raise AssertionError(f"{what}: got {len(plain)} records {gm[:8]}, expected "
                             f"{len(expected)} {em[:8]}" if gm != em else
                             f"{what}: same messages, different records: "
                             f"{next((g, e) for g, e in zip(plain, expected) if g != e)}")
    for r, e in zip(got, expected):
        assert list(r) == ["log_id", *e], f"{what}: keys {list(r)}, expected log_id + {list(e)}"


def _check_error(resp, status, *words):
    assert resp.status == status, f"expected {status}, got {resp!r}"
    assert resp.header("content-type", "").startswith("application/json"), \
        f"content type {resp.header('content-type')!r} for {resp!r}"
    error = resp.json.get("error")
    assert isinstance(error, str) and error, f"no reason in {resp!r}"
    for word in words:
        assert word.lower() in error.lower(), f"the reason {error!r} does not name {word!r}"
    return error


# --- GET /logs -------------------------------------------------------------------------

def _seed(t, ulogd, api):
    """Posted entries of known fields and times, and shim records with a
    container; returns the base time of the posted ones (30 min ago)."""
    base = (_now() - datetime.timedelta(minutes=30)).replace(microsecond=0)
    rows = [
        ("DEBUG", "api", "boot", "start", "trace-a", "agent-1", "task-1",
         "zebrafish alpha started"),
        ("WARNING", "db", "disk", "disk_full", "trace-b", "agent-2", "task-2",
         "zebrafish disk nearly full on sda1"),
        ("ERROR", "api", "http", "request_failed", "trace-a", "agent-1", "task-3",
         "zebrafish request req-42 failed with timeout"),
        ("INFO", "web", "deploy", "deploy", "trace-c", "agent-2", "task-1",
         "zebrafish upgraded to v1.2.3"),
        ("CRITICAL", "db", "disk", "panic", "trace-b", "agent-3", "task-2",
         "zebrafish kernel panic imminent"),
        ("INFO", "web", "cache", "warm", "trace-c", "agent-3", "task-3", "zebrafish cache warmed"),
        ("WARNING", "api", "http", "retry", "trace-a", "agent-1", "task-3",
         "zebrafish retrying request req-43"),
        ("INFO", "api", "misc", "misc", "trace-d", "agent-4", "task-4", "zebrafish alphabet soup"),
        ("ERROR", "web", "http", "request_failed", "trace-c", "agent-2", "task-1",
         "zebrafish timeout talking to db"),
    ]
    entries = [{"timestamp": rfc3339(base + datetime.timedelta(seconds=i)), "level": lv,
                "service": svc, "component": comp, "event_type": ev, "trace_id": tr,
                "agent_id": ag, "task_id": tk, "message": msg}
               for i, (lv, svc, comp, ev, tr, ag, tk, msg) in enumerate(rows)]
    answer = api.post_logs(entries)
    assert len(answer["ids"]) == len(entries) and None not in answer["ids"], answer
    with wire.Client(t.socket) as c:
        c.send(wire.hello(container="0123456789ab", service="boxed"))
        c.send(wire.data("zebrafish boxed line one\nERROR zebrafish boxed failure\n"))
        _wait_in_log(ulogd, "ERROR zebrafish boxed failure")
    records = ulogd.settle()
    _wait_store_has(api, len(records))
    return base


def test_http_get_logs_filters(t):
    ulogd, api = serve(t)
    base = _seed(t, ulogd, api)
    at = lambda s: rfc3339(base + datetime.timedelta(seconds=s))  # noqa: E731
    plus2 = (base + datetime.timedelta(seconds=2)).astimezone(
        datetime.timezone(datetime.timedelta(hours=2))).isoformat()
    ten_min_ago = rfc3339(_now() - datetime.timedelta(minutes=10))
    boxed = [r for r in ulogd.records() if r.get("service") == "boxed"]
    assert boxed and all(r.get("container") == "0123456789ab" for r in boxed), \
        f"the shim records do not carry the container of their HELLO: {boxed}"
    rank = LEVELS.index
    cases = [
        ({"start_time": at(2)}, lambda r: r["timestamp"] >= at(2)),
        ({"start_time": plus2}, lambda r: r["timestamp"] >= at(2)),
        ({"end_time": at(5)}, lambda r: r["timestamp"] < at(5)),
        ({"start_time": at(2), "end_time": at(5)}, lambda r: at(2) <= r["timestamp"] < at(5)),
        ({"start_time": "10m"}, lambda r: r["timestamp"] >= ten_min_ago),
        ({"end_time": "10m"}, lambda r: r["timestamp"] < ten_min_ago),
        ({"level": "ERROR"}, lambda r: r["level"] == "ERROR"),
        ({"level": "ERROR,CRITICAL"}, lambda r: r["level"] in ("ERROR", "CRITICAL")),
        ({"min_level": "WARNING"}, lambda r: rank(r["level"]) >= rank("WARNING")),
        ({"service": "api"}, lambda r: r.get("service") == "api"),
        ({"container": "0123456789ab"}, lambda r: r.get("container") == "0123456789ab"),
        ({"container": "0123456"}, lambda r: r.get("container", "").startswith("0123456")),
        ({"component": "disk"}, lambda r: r.get("component") == "disk"),
        ({"event_type": "request_failed"}, lambda r: r.get("event_type") == "request_failed"),
        ({"trace_id": "trace-a"}, lambda r: r.get("trace_id") == "trace-a"),
        ({"agent_id": "agent-2"}, lambda r: r.get("agent_id") == "agent-2"),
        ({"task_id": "task-3"}, lambda r: r.get("task_id") == "task-3"),
        ({"source": "http"}, lambda r: r.get("source") == "http"),
        ({"source": "preload"}, lambda r: r.get("source") == "preload"),
        ({"source": "ulogd"}, lambda r: r.get("source") == "ulogd"),
        ({"host": HOST}, lambda r: r.get("host") == HOST),
        ({"service": "nobody"}, lambda r: False),
        # combined
        ({"service": "api", "min_level": "WARNING", "q": "request"},
         lambda r: r.get("service") == "api" and rank(r["level"]) >= 2 and
         "request" in r["message"].split()),
        ({"service": "db", "component": "disk", "level": "CRITICAL"},
         lambda r: r.get("service") == "db" and r.get("component") == "disk" and
         r["level"] == "CRITICAL"),
        ({"start_time": at(1), "end_time": at(7), "trace_id": "trace-a", "agent_id": "agent-1"},
         lambda r: at(1) <= r["timestamp"] < at(7) and r.get("trace_id") == "trace-a"),
        ({"source": "preload", "container": "0123456789ab", "level": "ERROR"},
         lambda r: r.get("container") == "0123456789ab" and r["level"] == "ERROR"),
    ]
    for params, keep in cases:
        def matches_all_log():
            got = api.logs({**params, "limit": 1000})
            expected = [r for r in reversed(ulogd.records()) if keep(r)]
            return (got, expected) if [without_id(r) for r in got["logs"]] == expected else None
        try:
            got, expected = wait_until(matches_all_log, 5, str(params))
        except AssertionError:
            got = api.logs({**params, "limit": 1000})
            expected = [r for r in reversed(ulogd.records()) if keep(r)]
        _assert_same_as_all_log(got["logs"], expected, f"GET /logs {params}")
        ids = [r["log_id"] for r in got["logs"]]
        assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids), \
            f"{params}: not newest first: {ids}"
        assert got["count"] == len(got["logs"]) and got["offset"] == 0 and \
            got["limit"] == 1000 and got["next_offset"] is None, \
            {k: v for k, v in got.items() if k != "logs"}
    # Checks above that match nothing would prove little: most must match something.
    assert api.logs({"service": "api", "min_level": "WARNING", "q": "request"})["count"] == 2


def test_http_get_logs_full_text(t):
    ulogd, api = serve(t)
    _seed(t, ulogd, api)
    cases = [
        ("zebrafish", None),  # every seeded record
        ("zebrafish timeout", ["zebrafish timeout talking to db",
                               "zebrafish request req-42 failed with timeout"]),
        ("TIMEOUT", ["zebrafish timeout talking to db",
                     "zebrafish request req-42 failed with timeout"]),
        ('"disk nearly full"', ["zebrafish disk nearly full on sda1"]),
        ('"nearly disk full"', []),
        ("alpha*", ["zebrafish alphabet soup", "zebrafish alpha started"]),
        ("alpha", ["zebrafish alpha started"]),
        ("req-42", ["zebrafish request req-42 failed with timeout"]),
        ("v1.2.3", ["zebrafish upgraded to v1.2.3"]),
        ("sda1", ["zebrafish disk nearly full on sda1"]),
        ("panic OR warmed", ["zebrafish cache warmed", "zebrafish kernel panic imminent"]),
        ("zebrafish NOT request", "NOT request"),
        ("nomatchxyzzy", []),
    ]
    seeded = [r["message"] for r in reversed(ulogd.records()) if "zebrafish" in r["message"]]
    for q, expected in cases:
        if expected is None:
            expected = seeded
        elif expected == "NOT request":
            expected = [m for m in seeded if "request" not in m.split()]
        got = api.logs({"q": q, "limit": 1000})
        assert _messages(got["logs"]) == expected, \
            f"q={q!r}: got {_messages(got['logs'])}, expected {expected}"


def test_http_get_logs_limit_and_offset(t):
    ulogd, api = serve(t)
    ids = api.post_logs([{"message": f"page {i:03d}", "service": "pager"} for i in range(250)])
    ids = ids["ids"]
    assert ids == sorted(ids) and len(set(ids)) == 250, ids[:5]
    first = api.logs({"service": "pager"})
    assert first["limit"] == 100 and first["count"] == 100 and first["offset"] == 0 \
        and first["next_offset"] == 100, {k: v for k, v in first.items() if k != "logs"}
    assert _messages(first["logs"]) == [f"page {i:03d}" for i in range(249, 149, -1)]
    assert [r["log_id"] for r in first["logs"]] == ids[::-1][:100]
    everything = api.logs({"service": "pager", "limit": 1000})
    assert everything["count"] == 250 and everything["next_offset"] is None
    assert api.logs({"limit": 1000})["limit"] == 1000
    for size in (40, 50, 1):
        pages, offset = [], 0
        while True:
            page = api.logs({"service": "pager", "limit": size, "offset": offset})
            assert page["offset"] == offset and page["limit"] == size and \
                page["count"] == len(page["logs"]) <= size, page
            pages += page["logs"]
            more = offset + page["count"] < 250
            assert page["next_offset"] == (offset + page["count"] if more else None), \
                f"limit {size} offset {offset}: next_offset {page['next_offset']}"
            if page["next_offset"] is None:
                break
            offset = page["next_offset"]
        assert pages == everything["logs"], f"pages of {size} do not join into the whole list"
    beyond = api.logs({"service": "pager", "offset": 250})
    assert beyond["count"] == 0 and beyond["logs"] == [] and beyond["next_offset"] is None
    for bad in ("0", "1001", "-1", "ten", "", "1.5"):
        _check_error(api.get("/logs", {"limit": bad}), 400, "limit")
    for bad in ("-1", "x", ""):
        _check_error(api.get("/logs", {"offset": bad}), 400, "offset")


def test_http_get_logs_bad_parameters(t):
    ulogd, api = serve(t)
    cases = [
        ([("colour", "red")], "colour"),
        ([("level", "LOUD")], "level"),
        ([("level", "ERROR,LOUD")], "level"),
        ([("min_level", "LOUD")], "min_level"),
        ([("start_time", "yesterday")], "start_time"),
        ([("start_time", "2026-13-45T00:00:00Z")], "start_time"),
        ([("end_time", "12 o'clock")], "end_time"),
        ([("end_time", "-5m")], "end_time"),
        ([("service", "a"), ("service", "b")], "service"),
        ([("limit", "5"), ("limit", "5")], "limit"),
        ([("q", '"unclosed phrase')], "q"),
    ]
    for params, name in cases:
        _check_error(api.get("/logs", params), 400, name)
    # The store still answers after each refusal.
    assert api.logs()["count"] >= 1


def test_http_store_matches_all_log(t):
    """The whole store, oldest first, is all.log plus consecutive log_ids."""
    ulogd, api = serve(t)
    _seed(t, ulogd, api)
    api.post_logs({"message": "with metadata", "metadata": {"n": 1, "nested": {"a": [1, 2]}}})
    records = ulogd.settle()
    wait_until(lambda: _store_count(api) >= len(records), WAIT, "the store to catch up")
    stored = list(reversed(api.all_logs()))
    _assert_same_as_all_log(stored, ulogd.settle(), "the whole store")
    ids = [r["log_id"] for r in stored]
    assert ids == list(range(ids[0], ids[0] + len(ids))), f"ids not consecutive: {ids}"


def test_http_records_from_a_program_under_the_shim(t):
    ulogd, api = serve(t)
    result = t.run(["sh", "-c", "echo shim out line; echo shim err line >&2"], service="shimmed")
    assert result.returncode == 0, result.stderr
    # Its lines, not the process_exit record ulogd adds (stream "event").
    lines = {"service": "shimmed", "source": "preload"}
    got = wait_until(lambda: (lambda p: p if p["count"] >= 2 else None)(
        api.logs(lines)), WAIT, "the program's lines in GET /logs")["logs"]
    got = [r for r in got if r.get("stream") != "event"]
    by_stream = {r["stream"]: r for r in got}
    assert set(by_stream) == {"stdout", "stderr"} and len(got) == 2, got
    assert by_stream["stdout"]["message"] == "shim out line", got
    assert by_stream["stderr"]["message"] == "shim err line", got
    for r in got:
        assert r["pid"] == result.pid and r["source"] == "preload" and r["service"] == "shimmed", r
    mine = [r for r in _wait_in_log(ulogd, "shim err line") if r.get("service") == "shimmed"
            and r.get("stream") != "event"]
    _assert_same_as_all_log(got, list(reversed(mine)), "the program's records")


# --- POST /logs ------------------------------------------------------------------------

def test_http_post_one_and_many(t):
    ulogd, api = serve(t)
    entry = {"message": "posted one", "level": "warning", "service": "poster",
             "component": "comp", "event_type": "evt", "trace_id": "tr-1", "span_id": "sp-1",
             "agent_id": "ag-1", "task_id": "tk-1", "metadata": {"k": "v", "n": 1}}
    resp = api.post("/logs", entry)
    assert resp.status == 201, resp
    assert resp.header("content-type", "").startswith("application/json"), resp.headers
    one = resp.json
    assert set(one) == {"id"} and isinstance(one["id"], int), one
    # Read-your-writes: in the store as soon as the answer came.
    got = api.logs({"trace_id": "tr-1"})["logs"]
    assert [r["log_id"] for r in got] == [one["id"]], got
    record = next(r for r in _wait_in_log(ulogd, "posted one") if r["message"] == "posted one")
    assert got[0] == {"log_id": one["id"], **record}, (got[0], record)
    expect = {"level": "WARNING", "service": "poster", "host": HOST, "stream": "http",
              "source": "http", "component": "comp", "event_type": "evt", "trace_id": "tr-1",
              "span_id": "sp-1", "agent_id": "ag-1", "task_id": "tk-1"}
    assert {k: record.get(k) for k in expect} == expect, record
    meta = record.get("metadata", {})
    assert meta.get("k") == "v" and meta.get("n") == 1, record
    assert "127.0.0.1" in str(meta.get("client")), f"metadata.client: {record}"
    assert "pid" not in record and "container" not in record, record

    levels = [(None, "INFO"), ("err", "ERROR"), ("FATAL", "CRITICAL"), ("crit", "CRITICAL"),
              ("Info", "INFO"), ("WARN", "WARNING"), ("debug", "DEBUG"), ("error", "ERROR"),
              ("Critical", "CRITICAL")]
    batch = [{"message": f"many {i}", **({"level": lv} if lv else {})}
             for i, (lv, _) in enumerate(levels)]
    many = api.post_logs(batch)
    assert set(many) == {"ids"} and len(many["ids"]) == len(batch), many
    assert all(isinstance(i, int) for i in many["ids"]) and many["ids"] == sorted(many["ids"]) \
        and len(set(many["ids"])) == len(batch) and many["ids"][0] > one["id"], many
    stored = {r["log_id"]: r for r in api.logs({"q": "many"})["logs"]}
    for i, ((_, level), log_id) in enumerate(zip(levels, many["ids"])):
        r = stored.get(log_id)
        assert r and r["message"] == f"many {i}" and r["level"] == level and \
            r["service"] == "http", (i, level, r)

    when = _now() - datetime.timedelta(minutes=5)
    given = when.astimezone(datetime.timezone(datetime.timedelta(hours=1))).isoformat()
    stamped = api.post("/logs", json.dumps({"message": "stamped"}).encode(),
                       headers={"Content-Type": "application/json; charset=utf-8"})
    assert stamped.status == 201, stamped
    stamped = api.post_logs({"message": "stamped in the past", "timestamp": given})
    r = api.logs({"q": '"stamped in the past"'})["logs"][0]
    assert r["log_id"] == stamped["id"] and r["timestamp"] == rfc3339(when), (r, given)


def test_http_post_refusals(t):
    ulogd, api = serve(t)
    known = ("message", "level", "service", "trace_id", "metadata")
    cases = [
        ("missing message", {"level": "INFO", "service": "refused-1"}, 400, ("message",)),
        ("message not a string", {"message": 5}, 400, ("message",)),
        ("message null", {"message": None}, 400, ("message",)),
        ("bad level", {"message": "refused-bad-level", "level": "LOUD"}, 400, ("level",)),
        ("level not a string", {"message": "refused-level-type", "level": 3}, 400, ("level",)),
        ("unknown field", {"message": "refused-unknown", "colour": "red"}, 400,
         ("colour", *known)),
        ("service not a string", {"message": "refused-svc", "service": ["a"]}, 400,
         ("service",)),
        ("trace_id not a string", {"message": "refused-trace", "trace_id": 7}, 400,
         ("trace_id",)),
        ("trace_id too long", {"message": "refused-trace-long", "trace_id": "t" * 300}, 400,
         ("trace_id",)),
        ("metadata not an object", {"message": "refused-meta", "metadata": "k=v"}, 400,
         ("metadata",)),
        ("metadata an array", {"message": "refused-meta-array", "metadata": [1]}, 400,
         ("metadata",)),
        ("bad timestamp", {"message": "refused-ts", "timestamp": "yesterday"}, 400,
         ("timestamp",)),
        ("invalid JSON", b'{"message": "refused-json",\n "level": }', 400, ("line", "column")),
        ("a JSON string", b'"refused-string"', 400, ()),
        ("a JSON number", b"42", 400, ()),
        ("empty body", b"", 400, ()),
        ("empty array", [], 400, ()),
        ("array with a non-object", [{"message": "refused-in-array-1"}, 5], 400, ()),
        ("array with a bad entry", [{"message": "refused-in-array-2"}, {"level": "INFO"}], 400,
         ("message",)),
        ("1001 entries", [{"message": f"refused-many {i}"} for i in range(1001)], 400,
         ("1000",)),
    ]
    for name, body, status, words in cases:
        resp = api.post("/logs", body, headers={"Content-Type": "application/json"})
        try:
            _check_error(resp, status, *words)
        except AssertionError as e:
            raise AssertionError(f"{name}: {e}") from None
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"Content-Type": content_type} if content_type else {}
        resp = api.post("/logs", json.dumps({"message": "refused-type"}).encode(), headers)
        try:
            _check_error(resp, 415)
        except AssertionError as e:
            raise AssertionError(f"content type {content_type}: {e}") from None
    big_message = {"message": "refused-big " + "x" * (1024 * 1024 + 100)}
    big_array = [{"message": "refused-big-array " + "y" * 2000} for _ in range(600)]
    for body in (big_message, big_array):
        resp = request_big_body(api.port, "/logs", json.dumps(body).encode())
        _check_error(resp, 413)
    # Exactly 1000 entries is allowed.
    thousand = api.post_logs([{"message": f"accepted {i}"} for i in range(1000)])
    assert len(thousand["ids"]) == 1000 and None not in thousand["ids"]
    done = api.post_logs({"message": "refusals done"})
    records = _wait_in_log(ulogd, "refusals done")
    leaked = [r["message"][:60] for r in records if r["message"].startswith("refused")]
    assert not leaked, f"entries of refused requests were written: {leaked[:5]}"
    assert sum(1 for r in records if r["message"].startswith("accepted ")) == 1000
    assert done["id"] > thousand["ids"][-1]


def test_http_post_is_redacted(t):
    ulogd, api = serve(t)
    ids = api.post_logs([{"message": "login password=hunter2 user=bob"},
                         {"message": "calling the api with Bearer abcdef123456xyz done"}])["ids"]
    want = ["login password=[REDACTED] user=bob", "calling the api with Bearer [REDACTED] done"]
    records = ulogd.wait_for(lambda rs: all(m in _messages(rs) for m in want), WAIT,
                             "the redacted entries in all.log")
    with open(ulogd.log_path, encoding="utf-8") as f:
        text = f.read()
    assert "hunter2" not in text and "abcdef123456xyz" not in text, "a secret reached all.log"
    for log_id, message in zip(ids, want):
        got = [r for r in api.logs({"source": "http"})["logs"] if r["log_id"] == log_id]
        assert got and got[0]["message"] == message, (log_id, got)
        assert without_id(got[0]) == next(r for r in records if r["message"] == message)


RULES = """min_levels:
  services:
    quiet: ERROR
rules:
  - match: {message: '~drop-me'}
    drop: true
"""


def test_http_post_dropped_by_rules(t):
    path = os.path.join(t.dir, "rules.yaml")
    with open(path, "w") as f:
        f.write(RULES)
    ulogd, api = serve(t, args=("--config", path))
    answer = api.post_logs([{"message": "keep one"}, {"message": "please drop-me"},
                            {"message": "too quiet", "service": "quiet"},
                            {"message": "loud enough", "service": "quiet", "level": "ERROR"},
                            {"message": "keep two"}])
    ids = answer["ids"]
    assert ids[1] is None and ids[2] is None and None not in (ids[0], ids[3], ids[4]), answer
    assert ids[0] < ids[3] < ids[4], answer
    assert answer.get("dropped") == [{"index": 1, "reason": "rule"},
                                     {"index": 2, "reason": "level"}], answer
    alone = api.post_logs({"message": "drop-me alone"})
    assert alone == {"id": None, "dropped": [{"index": 0, "reason": "rule"}]}, alone
    records = _wait_in_log(ulogd, "keep two")
    messages = _messages(records)
    assert "please drop-me" not in messages and "too quiet" not in messages and \
        "drop-me alone" not in messages, "a dropped entry was written"
    assert "loud enough" in messages and "keep one" in messages
    stored = _messages(api.logs({"source": "http"})["logs"])
    assert stored == ["keep two", "loud enough", "keep one"], stored
    samples = api.metrics()
    assert metric(samples, "ulog_records_dropped_total", reason="rule") >= 2, \
        {k: v for k, v in samples.items() if k[0] == "ulog_records_dropped_total"}
    assert metric(samples, "ulog_records_dropped_total", reason="level") >= 1


# --- robustness ------------------------------------------------------------------------

def test_http_bad_input_loses_nothing(t):
    ulogd, api = serve(t)
    before = api.post_logs([{"message": f"survivor {i}", "service": "survivor"}
                            for i in range(5)])["ids"]
    # A client that sends half a body and then waits, through all of what follows.
    hanging = socket.create_connection(("127.0.0.1", api.port), timeout=10)
    hanging.sendall(b"POST /logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 1000\r\n\r\n{\"message\": \"half")
    # (bytes, whether any answer must be an error): the others only must not hurt.
    garbage = [
        (b"\x00\xff\x13\x37garbage\r\n\r\n", True),
        (b"HELLO\r\n\r\n", True),
        (os.urandom(4096), True),
        (b"POST /logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
         b"Content-Length: -5\r\n\r\n{}", True),
        (b"GET /logs HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200000 + b"\r\n\r\n", False),
        (b"GET /" + b"l" * 100000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", False),
        (b"GET /logs?service=%zz%00 HTTP/1.1\r\nHost: x\r\n\r\n", False),
        (b"BREW /logs HTTP/1.1\r\nHost: x\r\n\r\n", False),
        (b"POST /logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
         b"Content-Length: 100\r\n\r\n{\"message\": \"truncated", False),
        (b"POST /logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
         b"Transfer-Encoding: chunked\r\n\r\nzzz\r\n{}\r\n0\r\n\r\n", False),
        (b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         b"Sec-WebSocket-Version: 13\r\n\r\n", False),  # no key
        (b"GET /logs HTTP/1.1\r\n" + b"X-Many: 1\r\n" * 5000 + b"\r\n", False),
    ]
    for data, must_fail in garbage:
        answer = raw_exchange(api.port, data)
        status = status_of(answer)
        assert not must_fail or status is None or status >= 400, \
            f"{data[:60]!r}... answered {answer[:200]!r}"
        assert ulogd.proc.poll() is None, f"ulogd died after {data[:60]!r}: {ulogd.stderr()}"
    # Truncated: the connection closes in the middle of the body.
    with socket.create_connection(("127.0.0.1", api.port), timeout=10) as s:
        s.sendall(b"POST /logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 500\r\n\r\n[{\"message\": \"cut")
    assert api.health().status == 200
    after = api.post_logs({"message": "after the garbage", "service": "survivor"})
    got = api.logs({"service": "survivor"})["logs"]
    assert [r["log_id"] for r in got] == [after["id"], *before[::-1]], got
    result = t.run(["sh", "-c", "echo still capturing"], service="survivor-shim")
    assert result.returncode == 0
    _wait_in_log(ulogd, "still capturing")
    messages = _messages(ulogd.records())
    assert not any(m.startswith(("half", "truncated", "cut")) for m in messages), \
        "a partial body became a record"
    hanging.close()
    assert api.health().status == 200


# --- the token -------------------------------------------------------------------------

def _unauthorized(resp, what):
    assert resp.status == 401, f"{what}: expected 401, got {resp!r}"
    assert resp.header("www-authenticate", "").lower().startswith("bearer"), \
        f"{what}: WWW-Authenticate {resp.header('www-authenticate')!r}"
    assert isinstance(resp.json.get("error"), str), f"{what}: {resp!r}"


def test_http_token(t):
    ulogd, api = serve(t, token=TOKEN)
    anonymous = Api(api.port)
    wrong_tokens = ("wrong-token-0123456789abcdef", TOKEN[:-1], TOKEN + "x", "")
    for path in ("/logs", "/metrics", "/", "/logs?service=x"):
        _unauthorized(anonymous.get(path), f"GET {path} without a token")
        for wrong in wrong_tokens:
            _unauthorized(anonymous.get(path, headers={"Authorization": f"Bearer {wrong}"}),
                          f"GET {path} with Bearer {wrong!r}")
            sep = "&" if "?" in path else "?"
            _unauthorized(anonymous.get(f"{path}{sep}token={wrong}"),
                          f"GET {path} with ?token={wrong!r}")
        _unauthorized(anonymous.get(path, headers={"Authorization": f"Basic {TOKEN}"}),
                      f"GET {path} with Basic")
        ok = anonymous.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status == 200, f"GET {path} with the Bearer token: {ok!r}"
        sep = "&" if "?" in path else "?"
        ok = anonymous.get(f"{path}{sep}token={TOKEN}")
        assert ok.status == 200, f"GET {path} with ?token=: {ok!r}"
    _unauthorized(anonymous.post("/logs", {"message": "no token post"}), "POST without")
    _unauthorized(anonymous.post("/logs?token=nope-nope-nope-nope", {"message": "no token post"}),
                  "POST with a wrong ?token=")
    assert api.post_logs({"message": "token post"})["id"]
    via_query = anonymous.post(f"/logs?token={TOKEN}", {"message": "token post 2"})
    assert via_query.status == 201, via_query
    health = anonymous.get("/health")
    assert health.status == 200 and health.json["status"] == "ok", health
    got = api.logs({"q": "token post"})["logs"]
    assert sorted(_messages(got)) == ["token post", "token post 2"], got
    assert "no token post" not in _messages(ulogd.settle())
    # /ws is refused the same way (the WebSocket tests check the accepted side).
    for suffix, headers in (("", {}), ("?token=wrong-token-0123456789abcdef", {}),
                            ("", {"Authorization": "Bearer wrong-token-0123456789ab"})):
        answer = raw_exchange(api.port, (
            f"GET /ws{suffix} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n" +
            "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode(), timeout=5)
        assert status_of(answer) == 401, f"/ws{suffix} {headers}: {answer[:200]!r}"


def test_http_open_bind_needs_a_token(t):
    sock = os.path.join(t.dir, "refused.sock")
    proc = subprocess.Popen([ULOGD, "--log-dir", os.path.join(t.dir, "refused"), "--socket", sock],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE,
                            env=clean_env({"ULOG_ENV": "testing", "ULOG_DOCKER": "off",
                                           "LOG_SERVICE_HOST": "0.0.0.0",
                                           "LOG_SERVICE_PORT": str(free_port())}),
                            cwd=t.dir, start_new_session=True)
    t.track(proc)
    try:
        out, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError("ulogd bound 0.0.0.0 without ULOG_TOKEN and kept running") from None
    text = (out + err).decode("utf-8", "replace")
    assert proc.returncode == 2, f"exit status {proc.returncode}: {text[-500:]}"
    assert "ULOG_TOKEN" in text, f"the refusal does not name ULOG_TOKEN: {text[-500:]}"


def test_http_port_in_use(t):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        ulogd = t.start_ulogd(env={"ULOG_EBPF": "off", "LOG_SERVICE_HOST": "127.0.0.1",
                                   "LOG_SERVICE_PORT": str(port)})
        records = ulogd.wait_for(
            lambda rs: any(r.get("event_type") == "http_unavailable" for r in rs), WAIT,
            "an http_unavailable record")
        bad = [r for r in records if r.get("event_type") == "http_unavailable"]
        assert len(bad) == 1, bad
        assert bad[0]["level"] == "ERROR" and bad[0].get("source") == "ulogd", bad[0]
        assert str(port) in json.dumps(bad[0]), f"the record does not name the port: {bad[0]}"
        result = t.run(["sh", "-c", "echo captured without http"], service="no-http")
        assert result.returncode == 0
        _wait_in_log(ulogd, "captured without http")
        ulogd.stop()


# --- /health, /metrics, the page --------------------------------------------------------

CONTRACT_METRICS = (
    "ulog_records_written_total", "ulog_records_received_total", "ulog_records_dropped_total",
    "ulog_shim_connections", "ulog_shim_connections_total", "ulog_connection_errors_total",
    "ulog_ebpf_events_total", "ulog_docker_lines_total", "ulog_http_entries_total",
    "ulog_store_lag_records", "ulog_store_lag_seconds", "ulog_store_queue_bytes",
    "ulog_store_committed_total", "ulog_store_dropped_total", "ulog_store_rows",
    "ulog_store_bytes", "ulog_store_errors_total", "ulog_store_retention_deleted_total",
    "ulog_ws_clients", "ulog_ws_missed_records_total", "ulog_http_requests_total",
    "ulog_uptime_seconds")


def test_http_health_and_metrics(t):
    ulogd, api = serve(t)
    health = api.health()
    assert health.header("content-type", "").startswith("application/json"), health.headers
    h = health.json
    assert h.get("status") == "ok" and h.get("version") == "0.1.0" and h.get("store") == "ok" \
        and h.get("clients") == 0, h
    assert isinstance(h.get("uptime_seconds"), (int, float)) and h["uptime_seconds"] >= 0, h

    resp = api.get("/metrics")
    assert resp.status == 200, resp
    ctype = resp.header("content-type", "")
    assert ctype.startswith("text/plain") and "version=0.0.4" in ctype, ctype
    before = api.metrics()
    missing = [n for n in CONTRACT_METRICS if n not in before.declared]
    assert not missing, f"/metrics lacks {missing}"
    assert not any(n.startswith("ulog_pg_") for n in before.declared), \
        "ulog_pg_* metrics without PostgreSQL configured"

    api.post_logs([{"message": f"metered {i}", "service": "metered", "level": "WARNING"}
                   for i in range(7)])
    api.post_logs([{"message": f"metered error {i}", "service": "metered", "level": "ERROR"}
                   for i in range(3)])
    _check_error(api.get("/logs", {"limit": "0"}), 400, "limit")
    result = t.run(["sh", "-c", "echo one; echo two; echo three"], service="metered-shim")
    assert result.returncode == 0
    _wait_in_log(ulogd, "three")

    def grown():
        now = api.metrics()
        delta = lambda name, **ls: metric(now, name, **ls) - metric(before, name, **ls)  # noqa
        ok = (delta("ulog_records_written_total", source="http", level="WARNING",
                    service="metered") == 7
              and delta("ulog_records_written_total", source="http", level="ERROR",
                        service="metered") == 3
              and metric_total(now, "ulog_records_written_total", source="preload",
                               service="metered-shim") == len(
                  [r for r in ulogd.records() if r.get("source") == "preload"
                   and r.get("service") == "metered-shim"])
              and metric_total(now, "ulog_records_written_total") == len(ulogd.records())
              and delta("ulog_http_entries_total") == 10
              and metric(now, "ulog_store_lag_records") == 0)
        return now if ok else None
    try:
        now = wait_until(grown, WAIT, "the metrics to count what was posted")
    except AssertionError:
        now = api.metrics()
        raise AssertionError("metrics after 10 posted + 3 captured records: " + json.dumps(
            {f"{n}{dict(ls)}": v for (n, ls), v in now.items()
             if n in ("ulog_records_written_total", "ulog_http_entries_total",
                      "ulog_store_lag_records")})) from None
    assert metric(now, "ulog_records_received_total") - \
        metric(before, "ulog_records_received_total") >= 13
    assert metric(now, "ulog_shim_connections_total") - \
        metric(before, "ulog_shim_connections_total") >= 1
    assert metric(now, "ulog_http_requests_total", code="201") - \
        metric(before, "ulog_http_requests_total", code="201") >= 2
    assert metric(now, "ulog_http_requests_total", code="400") >= 1
    assert metric(now, "ulog_store_committed_total") - \
        metric(before, "ulog_store_committed_total") >= 13
    assert metric(now, "ulog_store_rows") >= 13 and metric(now, "ulog_store_bytes") > 0
    assert metric(now, "ulog_store_lag_seconds") >= 0 and metric(now, "ulog_ws_clients") == 0
    assert metric(now, "ulog_uptime_seconds") >= 0
    assert metric(now, "ulog_store_errors_total") == 0 and \
        metric(now, "ulog_store_dropped_total") == 0

    # The service label is capped at 256 distinct values; the rest count as "other".
    api.post_logs([{"message": f"wide {i}", "service": f"wide-{i:03d}"} for i in range(300)])

    def capped():
        now = api.metrics()
        written = [(dict(ls), v) for (n, ls), v in now.items()
                   if n == "ulog_records_written_total"]
        services = {ls.get("service") for ls, _ in written}
        wide = sum(v for ls, v in written if ls.get("service", "").startswith("wide-")
                   or (ls.get("service") == "other" and ls.get("source") == "http"))
        return (services, wide) if wide >= 300 else None
    services, wide = wait_until(capped, WAIT, "the 300 services to be counted")
    assert len(services - {"other"}) <= 256 and "other" in services, \
        f"{len(services)} distinct service labels"
    assert wide == 300, f"{wide} records counted for 300 written"


def test_http_page_and_unknown_path(t):
    ulogd, api = serve(t)
    page = api.get("/")
    assert page.status == 200 and page.header("content-type", "").startswith("text/html"), page
    assert page.header("content-security-policy") == (
        "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; "
        "script-src 'self'"), page.headers
    assert page.header("x-content-type-options") == "nosniff", page.headers
    assert page.header("cache-control") == "no-cache", page.headers
    missing = api.get("/no/such/path")
    _check_error(missing, 404)


def test_http_store_off(t):
    ulogd, api = serve(t, env={"ULOG_STORE": "off"})
    _check_error(api.get("/logs"), 503, "store")
    assert api.get("/logs").json == {"error": "the store is off (store.mode: off)"}
    answer = api.post_logs({"message": "no store, still written"})
    assert isinstance(answer["id"], int), answer
    _wait_in_log(ulogd, "no store, still written")
    assert api.health().json.get("store") == "off"
    assert not os.path.exists(os.path.join(ulogd.log_dir, "ulog.db")), "a store file was made"


# --- retention and restarts -------------------------------------------------------------

def test_http_store_max_age(t):
    ulogd, api = serve(t, env={"ULOG_STORE_MAX_AGE": "2s"})
    old = rfc3339(_now() - datetime.timedelta(hours=1))
    api.post_logs([{"message": f"aging old {i}", "service": "aging", "timestamp": old}
                   for i in range(20)])
    api.post_logs([{"message": f"aging new {i}", "service": "aging"} for i in range(20)])
    wait_until(lambda: api.logs({"service": "aging"})["count"] == 0, WAIT,
               "records older than 2 s to leave the store")
    records = ulogd.records()
    assert sum(1 for r in records if r.get("service") == "aging") == 40, \
        "retention removed records from all.log"
    assert metric(api.metrics(), "ulog_store_retention_deleted_total") >= 40


test_http_store_max_age.timeout = 90


def test_http_store_max_size(t):
    bound = 1024 * 1024
    ulogd, api = serve(t, env={"ULOG_STORE_MAX_SIZE": "1M"})
    total, batch = 8000, 500
    pad = "p" * 500
    for start in range(0, total, batch):
        api.post_logs([{"message": f"bulk {i:05d} {pad}", "service": "bulk"}
                       for i in range(start, start + batch)])
    # The oldest go (by rows: what the store itself counts) ...
    wait_until(lambda: metric(api.metrics(), "ulog_store_rows") < total, WAIT,
               "retention to remove the oldest records")
    newest = api.logs({"service": "bulk"})["logs"]
    assert [r["message"][:10] for r in newest] == [f"bulk {i:05d}" for i in
                                                   range(total - 1, total - 101, -1)], \
        "the newest records are not all in the store"
    stored = len(api.all_logs({"service": "bulk"}))
    assert 100 <= stored < total, f"{stored} of {total} records kept under a 1M bound"
    assert sum(1 for r in ulogd.records() if r.get("service") == "bulk") == total
    # ... and the files on disk come back near the bound.
    db = os.path.join(ulogd.log_dir, "ulog.db")

    def size():
        return sum(os.path.getsize(p) for p in (db, db + "-wal") if os.path.exists(p))
    try:
        wait_until(lambda: size() <= 2 * bound, WAIT, "the store to come back near its bound")
    except AssertionError:
        samples = api.metrics()
        raise AssertionError(
            f"ulog.db + WAL is {size()} bytes {WAIT} s after the last post with max_size 1M "
            f"(ulog.db {os.path.getsize(db)}; ulog_store_bytes "
            f"{metric(samples, 'ulog_store_bytes'):.0f}, ulog_store_rows "
            f"{metric(samples, 'ulog_store_rows'):.0f})") from None


test_http_store_max_size.timeout = 180


def test_http_store_survives_a_restart(t):
    first, api = serve(t)
    ids = api.post_logs([{"message": f"persist {i}", "service": "persist"}
                         for i in range(10)])["ids"]
    before = api.logs({"service": "persist"})["logs"]
    first.stop()
    second, api = serve(t)
    assert api.logs({"service": "persist"})["logs"] == before, "records lost in a restart"
    later = api.post_logs({"message": "after the restart", "service": "persist"})["id"]
    assert later > max(ids), f"id {later} after ids up to {max(ids)}"
    records = second.settle()
    wait_until(lambda: _store_count(api) >= len(records), WAIT, "the store to catch up")
    stored = list(reversed(api.all_logs()))
    log_ids = [r["log_id"] for r in stored]
    assert log_ids == list(range(log_ids[0], log_ids[0] + len(log_ids))), \
        f"ids reused or skipped across the restart: {log_ids}"
    # The second ulogd's reader read all.log from its start: both runs.
    _assert_same_as_all_log(stored, second.settle(), "the store after a restart")
