"""test_websocket.py - ulogd's live stream at /ws (issue 8), end to end with
wsclient.py against a real ulogd:

- hello, then the backlog (the last LOG_BUFFER_SIZE records, oldest first,
  all.log's objects), then live records as they are written;
- a filter (service, level, container, text, combined, cleared) answered
  with the normalised filter and a fresh backlog, and only matching live
  records after it;
- a bad client message gets an error and the connection stays; fragmented
  client messages count; ping both ways;
- analysis_request: counts per level and service equal to what was
  written, the repeated message first among top_messages, latest_errors
  with the records that came just before from the same process;
- a stalled client does not slow ingestion nor a second client (which gets
  every record, in order), and is told how many it missed when it reads;
- the token guards /ws too.

The expectations are computed from all.log. No timing assertions.
"""

import datetime
import json
import os
import threading

import wireclient as wire
from harness import wait_until
from http_util import metric, rfc3339, serve, without_id
from wsclient import TEXT, WsClient, WsRefused, WsTimeout

WAIT = 30
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
TOKEN = "ws-token-0123456789abcdef"


# --- helpers ---------------------------------------------------------------------------

def _connect(api, path="/ws", **kw):
    """A client past its hello and backlog: (client, hello, backlog records)."""
    client = WsClient(api.port, path, **kw)
    hello = client.recv_json(WAIT)
    assert hello.get("type") == "hello", hello
    backlog = client.recv_json(WAIT)
    assert backlog.get("type") == "backlog" and isinstance(backlog.get("records"), list), backlog
    return client, hello, backlog["records"]


def _plain(records):
    return [without_id(r) for r in records]


def _messages(records):
    return [r["message"] for r in records]


def _live_until(client, last_message, timeout=WAIT):
    """The records of every live frame up to the one holding `last_message`;
    any other message type on the way is a failure."""
    out = []
    while True:
        try:
            message = client.recv_json(timeout)
        except WsTimeout:
            raise AssertionError(f"no {last_message!r} among the live records; got "
                                 f"{_messages(out)[-10:]}") from None
        assert message.get("type") == "records", f"expected records, got {message}"
        assert 1 <= len(message["records"]) <= 256, len(message["records"])
        out += message["records"]
        if any(r.get("message") == last_message for r in message["records"]):
            return out


def _wait_in_log(ulogd, message):
    return ulogd.wait_for(lambda rs: any(r["message"] == message for r in rs), WAIT,
                          f"{message!r} in all.log")


def _reply(client):
    """The next message that is not live records (ulogd's own records may come
    at any time while nothing filters them out)."""
    return client.recv_until(lambda m: m.get("type") != "records", WAIT, "a reply")[-1]


def _set_filter(client, **fields):
    """Live records already on their way may come before the answer."""
    client.send_json({"type": "filter", **fields})
    answer, before = client.recv_type("filter", WAIT)
    assert all(m.get("type") == "records" for m in before), before
    assert isinstance(answer.get("filter"), dict), answer
    backlog = client.recv_json(WAIT)
    assert backlog.get("type") == "backlog", backlog
    return answer["filter"], backlog["records"]


def _same_value(normalised, given):
    """The normalised filter may turn "api" into ["api"]; null fields may be absent."""
    got = normalised.get
    return lambda key: (got(key) in (given, [given]) if given is not None
                        else got(key) in (None, [], ""))


# --- hello, backlog, live ----------------------------------------------------------------

def test_websocket_hello_backlog_and_live(t):
    ulogd, api = serve(t, env={"LOG_BUFFER_SIZE": "50"})
    api.post_logs([{"message": f"backlog {i:02d}", "service": "bk"} for i in range(80)])
    records = _wait_in_log(ulogd, "backlog 79")
    client, hello, backlog = _connect(api)
    with client:
        assert hello == {"type": "hello", "version": "0.1.0", "buffer_size": 50, "filter": {}}, \
            hello
        records = ulogd.settle()
        assert _plain(backlog) == records[-50:], \
            f"backlog {_messages(backlog)[:3]}...{_messages(backlog)[-3:]} (of " \
            f"{len(backlog)}), expected the last 50 records of all.log"
        api.post_logs([{"message": f"live {i}", "service": "bk", "level": "ERROR"}
                       for i in range(3)])
        live = _live_until(client, "live 2")
        after = ulogd.settle()
        assert _plain(live) == after[len(records):len(records) + len(live)], \
            f"live records {_messages(live)} are not all.log's next records"
        assert _messages(live)[-3:] == ["live 0", "live 1", "live 2"], _messages(live)


def test_websocket_filters(t):
    ulogd, api = serve(t)
    seed = [("api", "INFO", "api started"), ("db", "WARNING", "db slow query"),
            ("web", "ERROR", "web upstream TimeOut"), ("api", "ERROR", "api request failed"),
            ("db", "CRITICAL", "db disk gone"), ("web", "DEBUG", "web cache hit")]
    api.post_logs([{"service": s, "level": lv, "message": m} for s, lv, m in seed])
    boxed = wire.Client(t.socket)
    boxed.send(wire.hello(container="0123456789ab", service="boxed"))
    boxed.send(wire.data("boxed hello\nERROR boxed timeout while waiting\n"))
    _wait_in_log(ulogd, "ERROR boxed timeout while waiting")
    client, _, _ = _connect(api)
    rank = LEVELS.index
    cases = [
        ({"service": "api"}, lambda r: r.get("service") == "api",
         [("web", "INFO", "f1 web"), ("api", "INFO", "f1 api"), ("db", "ERROR", "f1 db"),
          ("api", "ERROR", "f1 end")]),
        ({"level": "WARNING"}, lambda r: rank(r["level"]) >= rank("WARNING"),
         [("api", "INFO", "f2 info"), ("api", "WARNING", "f2 warning"),
          ("db", "DEBUG", "f2 debug"), ("web", "CRITICAL", "f2 end")]),
        ({"container": "0123456"}, lambda r: r.get("container", "").startswith("0123456"),
         [("api", "ERROR", "f3 not boxed"), ("boxed", None, "f3 end")]),
        ({"text": "timeout"}, lambda r: "timeout" in r["message"].lower(),
         [("api", "INFO", "f4 no match"), ("db", "INFO", "f4 a TIMEOUT here"),
          ("boxed", None, "f4 boxed timeout"), ("web", "ERROR", "f4 end timeout")]),
        ({"service": ["api", "db"], "level": "ERROR"},
         lambda r: r.get("service") in ("api", "db") and rank(r["level"]) >= rank("ERROR"),
         [("api", "WARNING", "f5 api warning"), ("web", "ERROR", "f5 web error"),
          ("db", "ERROR", "f5 db error"), ("api", "CRITICAL", "f5 end")]),
        ({"service": None, "level": None, "container": None, "text": None}, lambda r: True,
         [("web", "DEBUG", "f6 anything"), ("api", "INFO", "f6 end")]),
    ]
    with client:
        for fields, keep, live in cases:
            normalised, backlog = _set_filter(client, **fields)
            for key in ("service", "level", "container", "text"):
                assert _same_value(normalised, fields.get(key))(key), \
                    f"filter {fields}: normalised {normalised}"
            records = ulogd.settle()
            assert _plain(backlog) == [r for r in records if keep(r)][-1000:], \
                f"filter {fields}: backlog {_messages(backlog)}"
            for s, lv, m in live:  # one at a time: all.log's order is the order here
                if s == "boxed":
                    boxed.send(wire.data(m + "\n"))
                    _wait_in_log(ulogd, m)
                else:
                    api.post_logs({"service": s, "level": lv, "message": m})
            end = live[-1][2]
            got = _live_until(client, end)
            after = ulogd.settle()
            expected = [r for r in after[len(records):] if keep(r)]
            assert _plain(got) == expected[:len(got)] and got, \
                f"filter {fields}: live {_messages(got)}, expected {_messages(expected)}"
            assert all(keep(r) for r in got), f"filter {fields}: {_messages(got)}"
    boxed.close()


# --- client messages -------------------------------------------------------------------

def test_websocket_bad_messages_keep_the_connection(t):
    ulogd, api = serve(t)
    client, _, _ = _connect(api)
    bad = ["not json at all", "[1, 2, 3]", '"a string"', "{}", '{"type": "nonsense"}',
           '{"type": 5}', '{"type": "filter", "level": "LOUD"}',
           '{"type": "filter", "service": 5}', '{"type": "filter", "colour": "red"}',
           '{"type": "analysis_request", "id": 1, "time_range": "forever"}',
           '{"type": "analysis_request", "id": 2, "level": "LOUD"}',
           '{"type": "filter", "service": "api"', "\u00e9" * 10]
    with client:
        for text in bad:
            client.send_text(text)
            answer = _reply(client)
            assert answer.get("type") == "error" and isinstance(answer.get("error"), str) \
                and answer["error"], f"{text!r}: {answer}"
            client.send_json({"type": "ping"})
            assert _reply(client) == {"type": "pong"}, f"after {text!r}"
        # A message in fragments, with a control frame between them (RFC 6455 5.4).
        client.send_frame(TEXT, '{"type": "fil', fin=False)
        client.ping(b"between")
        client.send_frame(0x0, 'ter", "service": "frag', fin=False)
        client.send_frame(0x0, 'mented"}', fin=True)
        kept = client.wait_pong(b"between")
        answer = _decode_kept(kept) or _reply(client)
        assert answer.get("type") == "filter", answer
        assert _same_value(answer["filter"], "fragmented")("service"), answer
        client.send_fragmented('{"type": "ping"}', pieces=4)
        pong = client.recv_until(lambda m: m.get("type") == "pong", WAIT, "a pong")
        assert pong[-1] == {"type": "pong"}


def _decode_kept(kept):
    for opcode, payload in kept:
        if opcode == TEXT:
            message = json.loads(payload)
            if message.get("type") == "filter":
                return message
    return None


def test_websocket_ping_pong(t):
    ulogd, api = serve(t)
    client, _, _ = _connect(api)
    with client:
        client.send_json({"type": "ping"})
        assert _reply(client) == {"type": "pong"}
        client.ping(b"control-ping-42")
        client.wait_pong(b"control-ping-42")
        assert b"control-ping-42" in client.pongs
        # Still a working connection after both.
        client.send_json({"type": "ping"})
        assert _reply(client) == {"type": "pong"}


# --- analysis --------------------------------------------------------------------------

def _counts(records):
    by_level, by_service = {}, {}
    for r in records:
        by_level[r["level"]] = by_level.get(r["level"], 0) + 1
        s = by_service.setdefault(r.get("service"), {"total": 0})
        s["total"] += 1
        s[r["level"]] = s.get(r["level"], 0) + 1
    return by_level, by_service


def _nonzero(counts):
    if isinstance(counts, dict):
        return {k: _nonzero(v) for k, v in counts.items() if v != 0}
    return counts


def _in_range(records, answer):
    start, end = answer["time_range"]["start"], answer["time_range"]["end"]
    norm = lambda ts: rfc3339(datetime.datetime.fromisoformat(ts.replace("Z", "+00:00")))  # noqa
    start, end = norm(start), norm(end)
    return [r for r in records if start <= r["timestamp"] <= end]


def test_websocket_analysis(t):
    ulogd, api = serve(t)
    now = datetime.datetime.now(datetime.timezone.utc)
    old = now - datetime.timedelta(hours=2)
    api.post_logs([{"service": "an-old", "level": "ERROR", "message": f"old {i}",
                    "timestamp": rfc3339(old + datetime.timedelta(seconds=i))}
                   for i in range(3)])
    entries = []
    for i in range(12):
        entries.append({"service": "an-api" if i < 8 else "an-db", "level": "ERROR",
                        "message": "connection reset by peer"})
        if i < 5:
            entries.append({"service": "an-db", "level": "INFO", "message": "cache miss"})
        entries.append({"service": "an-api", "level": "INFO", "message": f"request {i} served"})
    entries.append({"service": "an-db", "level": "CRITICAL", "message": "disk gone"})
    entries.append({"service": "an-api", "level": "WARNING", "message": "slow response"})
    # Distinct times, in order: "the 10 newest errors" must not depend on ties.
    base = now - datetime.timedelta(minutes=5)
    for i, e in enumerate(entries):
        e["timestamp"] = rfc3339(base + datetime.timedelta(milliseconds=10 * i))
    api.post_logs(entries)
    with wire.Client(t.socket) as c:
        c.send(wire.hello(service="an-wire"))
        c.send(wire.data("".join(f"INFO step {i}\n" for i in range(1, 8)) +
                         "ERROR step failed\nINFO after the failure\n"))
        _wait_in_log(ulogd, "INFO after the failure")
    records = ulogd.settle(1.0)
    wait_until(lambda: len(api.all_logs()) >= len(records), WAIT, "the store to catch up")
    records = ulogd.settle()
    steps = [r for r in records if r.get("service") == "an-wire" and r.get("stream") == "stdout"]
    assert _messages(steps)[:7] == [f"INFO step {i}" for i in range(1, 8)], _messages(steps)
    client, _, _ = _connect(api)
    with client:
        client.send_json({"type": "analysis_request", "id": "all", "time_range": "15m"})
        answer, _ = client.recv_type("analysis", WAIT)
        assert answer["id"] == "all", answer
        window = _in_range(records, answer)
        assert answer["total"] == len(window), (answer["total"], len(window))
        by_level, by_service = _counts(window)
        assert _nonzero(answer["by_level"]) == by_level, (answer["by_level"], by_level)
        assert _nonzero(answer["by_service"]) == by_service, \
            (answer["by_service"], by_service)
        assert "an-old" not in answer["by_service"]
        top = answer["top_messages"]
        assert 1 <= len(top) <= 10 and [m["count"] for m in top] == \
            sorted((m["count"] for m in top), reverse=True), top
        assert {**top[0], "services": sorted(top[0].get("services", []))} == {
            "message": "connection reset by peer", "count": 12, "services": ["an-api", "an-db"],
            "level": "ERROR"}, top[0]
        assert {"message": "cache miss", "count": 5} == \
            {k: v for k, v in top[1].items() if k in ("message", "count")}, top[:3]
        errors = [r for r in window if r["level"] in ("ERROR", "CRITICAL")]
        latest = answer["latest_errors"]
        assert len(latest) == min(10, len(errors)), len(latest)
        assert sorted(map(repr, _plain(e["record"] for e in latest))) == \
            sorted(map(repr, errors[-10:])), [e["record"]["message"] for e in latest]
        failed = next(e for e in latest if e["record"]["message"] == "ERROR step failed")
        assert _plain(failed["context"]) == steps[2:7], \
            f"context {_messages(failed['context'])}, expected INFO step 3..7"

        client.send_json({"type": "analysis_request", "id": 7, "service": "an-api",
                          "level": "ERROR"})
        scoped, _ = client.recv_type("analysis", WAIT)
        assert scoped["id"] == 7 and scoped["total"] == 8, scoped
        assert _nonzero(scoped["by_service"]) == {"an-api": {"total": 8, "ERROR": 8}}, scoped
        assert _nonzero(scoped["by_level"]) == {"ERROR": 8}, scoped
        assert scoped["top_messages"][0]["message"] == "connection reset by peer" and \
            scoped["top_messages"][0]["count"] == 8 and \
            scoped["top_messages"][0]["services"] == ["an-api"], scoped["top_messages"]

        start = rfc3339(old - datetime.timedelta(minutes=1))
        end = rfc3339(old + datetime.timedelta(minutes=1))
        client.send_json({"type": "analysis_request", "id": {"any": "json"},
                          "time_range": {"start": start, "end": end}})
        past, _ = client.recv_type("analysis", WAIT)
        assert past["id"] == {"any": "json"} and past["total"] == 3, past
        assert _nonzero(past["by_service"]) == {"an-old": {"total": 3, "ERROR": 3}}, past
        assert [e["record"]["message"] for e in past["latest_errors"]] in (
            ["old 2", "old 1", "old 0"], ["old 0", "old 1", "old 2"]), past["latest_errors"]


# --- a stalled client ------------------------------------------------------------------

class _Reader(threading.Thread):
    """Reads one client's messages as fast as they come, until `last`."""

    def __init__(self, client, last):
        super().__init__(daemon=True)
        self.client, self.last = client, last
        self.messages, self.error = [], None
        self.latest = -1  # the highest flood number read so far

    def run(self):
        try:
            while True:
                message = self.client.recv_json(120)
                self.messages.append(message)
                if message.get("type") != "records":
                    continue
                for r in message["records"]:
                    if _is_flood(r):
                        self.latest = max(self.latest, int(r["message"][6:11]))
                if message["records"][-1].get("message", "").startswith(self.last):
                    return
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.error = e


def _records_after(messages, marker):
    out, seen = [], False
    for m in messages:
        if m.get("type") != "records":
            continue
        for r in m["records"]:
            seen = seen or r["message"] == marker
            if seen:
                out.append(r)
    return out


def test_websocket_stalled_client(t):
    ulogd, api = serve(t, env={"LOG_BUFFER_SIZE": "10"})
    total, per_post = 20000, 500
    pad = "x" * 900
    stalled, _, _ = _connect(api, rcvbuf=4096)
    fast, _, _ = _connect(api)
    last = f"flood {total - 1:05d}"
    reader = _Reader(fast, last)
    reader.start()
    ulogd.records()  # all.log rotates during the flood: read it from the start, and along
    api.post_logs({"message": "flood begins", "service": "flood"})
    for start in range(0, total, per_post):
        answer = api.post_logs([{"message": f"flood {i:05d} {pad}", "service": "flood"}
                                for i in range(start, start + per_post)])
        assert None not in answer["ids"] and len(answer["ids"]) == per_post
        ulogd.records()
        # The reading client is this test's own thread: on a loaded machine it must not
        # fall a queue (4096 records) behind because of the test; the stalled one reads
        # nothing at all, so it overflows regardless.
        wait_until(lambda: reader.latest >= start - 1000 or not reader.is_alive(), 120,
                   f"the reading client to reach flood {start - 1000}")
    # Ingestion went on: all.log has everything while the stalled client reads nothing.
    ulogd.wait_for(lambda rs: any(r["message"].startswith(last) for r in rs[-50:]), 60,
                   "every flood record in all.log")
    flood = [r for r in ulogd.records() if r.get("service") == "flood"]
    assert len(flood) == total + 1, f"{len(flood)} flood records in all.log"
    reader.join(180)
    assert not reader.is_alive(), "the second client did not get every record in time " \
        f"({len(_records_after(reader.messages, 'flood begins'))} so far)"
    assert reader.error is None, f"the second client: {reader.error}"
    assert not [m for m in reader.messages if m.get("type") == "missed"], \
        "the client that reads was told it missed records"
    fast_records = _records_after(reader.messages, "flood begins")
    numbers = [int(r["message"][6:11]) for r in fast_records if _is_flood(r)]
    assert numbers == list(range(total)), \
        f"the second client got {len(numbers)} of {total} flood records (or out of order)"
    records = ulogd.records()
    begin = next(i for i, r in enumerate(records) if r["message"] == "flood begins")
    assert _plain(fast_records) == records[begin:begin + len(fast_records)], \
        "the second client's records are not all.log's"

    # The stalled client reads at last: what it kept, a "missed" count, the rest.
    messages = []
    with stalled:
        while True:
            m = stalled.recv_json(WAIT)
            messages.append(m)
            assert m.get("type") in ("records", "missed"), m
            if m["type"] == "records" and m["records"][-1]["message"].startswith(last):
                break
        stalled.send_json({"type": "ping"})
        assert stalled.recv_until(lambda m: m.get("type") == "pong", WAIT, "a pong")
    missed = [m["count"] for m in messages if m["type"] == "missed"]
    assert missed and all(isinstance(n, int) and n > 0 for n in missed), \
        f"the stalled client was not told it missed records: {[m['type'] for m in messages][:20]}"
    # Each record it got has its place in the whole stream (the second client's);
    # between two of them, the records it did not get are exactly the count of
    # the "missed" messages that came in between (the oldest of its queue went).
    place = {_key(r): i for i, r in enumerate(fast_records)}
    previous, pending, got, told = None, 0, 0, 0
    for m in messages:
        if m["type"] == "missed":
            pending += m["count"]
            continue
        for r in m["records"]:
            at = place.get(_key(r))
            if at is None:
                assert previous is None, f"a record the second client never got: {r}"
                continue
            if previous is not None:
                assert at > previous, "the stalled client got records out of order"
                after = fast_records[previous]["message"][:12]
                assert at - previous - 1 == pending, \
                    f"{at - previous - 1} records left out after {after!r}, " \
                    f"but the missed count says {pending}"
                told += pending
            previous, pending, got = at, 0, got + 1
    assert previous == len(fast_records) - 1, "the newest records did not reach the stalled client"
    assert told > 0, "no gap in what the stalled client got, yet it was told it missed some"
    assert metric(api.metrics(), "ulog_ws_missed_records_total") >= sum(missed)
    fast.close()


def _is_flood(record):
    return record["message"].startswith("flood ") and record["message"] != "flood begins"


def _key(record):
    return repr(sorted(without_id(record).items()))


test_websocket_stalled_client.timeout = 400


# --- the token -------------------------------------------------------------------------

def test_websocket_token(t):
    ulogd, api = serve(t, token=TOKEN)
    for path, headers in (("/ws", {}), ("/ws?token=wrong-token-0123456789ab", {}),
                          ("/ws", {"Authorization": "Bearer wrong-token-0123456789ab"}),
                          (f"/ws?token={TOKEN[:-1]}", {})):
        try:
            WsClient(api.port, path, headers=headers).sock.close()
        except WsRefused as e:
            assert e.status == 401, f"{path} {headers}: HTTP {e.status}"
        else:
            raise AssertionError(f"{path} {headers}: the handshake was accepted")
    client, hello, _ = _connect(api, f"/ws?token={TOKEN}")
    with client:
        assert hello.get("type") == "hello"
        api.post_logs({"message": "seen with the token"})
        assert "seen with the token" in _messages(_live_until(client, "seen with the token"))
    client, hello, _ = _connect(api, headers={"Authorization": f"Bearer {TOKEN}"})
    client.close()
    assert os.path.exists(ulogd.log_path)
