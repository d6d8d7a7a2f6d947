"""test_mcp.py - `ulog mcp` end to end: the real process, driven over its
stdin and stdout by a small MCP client (McpClient below, standard library
only), one JSON-RPC message per line.

- The protocol (no ulogd needed): initialize and version negotiation, ping,
  notifications (never answered), a request before initialize, unknown
  methods and tools, lines that are not JSON or too long (answered -32700,
  the session goes on), batches refused, ids echoed as given, EOF (exit 0),
  nothing on stdout but protocol; tools/list with an input schema per tool;
  every tool with arguments that break its schema (isError and a text
  naming the argument); the store missing (isError saying where and why).
- The tools on a real run: a ulogd (store on, eBPF off) and real programs
  under the shim - "api" (Python: ordinary lines, JSON lines carrying a
  trace_id, errors), "web" (shell), "worker" (Python, aborts: a crash) and
  "batch" (shell, exits 3). Every tool's answer is checked against all.log
  (log_id N is all.log's Nth line); a query that would exceed 64 KiB is cut,
  and says so.
"""

import json
import os
import queue
import shutil
import subprocess
import threading

from harness import PYTHON, ULOG, clean_env, wait_until

VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18")
TOOLS = {"query_logs", "tail_logs", "log_context", "list_services", "process_events", "trace"}
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
EVENT_TYPES = {"process_exit", "oom_kill", "container_die", "container_kill", "container_oom",
               "container_restart"}
LIMIT = 64 * 1024
WAIT = 60


class McpClient:
    """`ulog mcp` as a child; requests answered in order, read with a timeout."""

    def __init__(self, t, *args, env=None):
        self.proc = subprocess.Popen([ULOG, "mcp", *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=clean_env(env), cwd=t.dir, start_new_session=True)
        t.track(self.proc)
        self.lines = queue.Queue()
        self.next_id = 1
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def send_raw(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send(self, message):
        self.send_raw(json.dumps(message).encode() + b"\n")

    def receive(self, timeout=30):
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no answer from ulog mcp within {timeout} s") from None
        assert line is not None, f"ulog mcp closed stdout: {self.stderr()}"
        assert line.endswith(b"\n") and line.count(b"\n") == 1
        message = json.loads(line)
        assert message.get("jsonrpc") == "2.0", message
        return message

    def request(self, method, params=None, id=None):
        if id is None:
            id, self.next_id = self.next_id, self.next_id + 1
        message = {"jsonrpc": "2.0", "id": id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        answer = self.receive()
        assert answer.get("id") == id and type(answer["id"]) is type(id), \
            f"answer to id {id!r}: {answer}"
        return answer

    def result(self, method, params=None):
        answer = self.request(method, params)
        assert "result" in answer and "error" not in answer, answer
        return answer["result"]

    def error(self, method, params=None, code=None):
        answer = self.request(method, params)
        assert "error" in answer and "result" not in answer, answer
        assert code is None or answer["error"]["code"] == code, answer
        return answer["error"]

    def initialize(self, version="2025-06-18"):
        result = self.result("initialize", {"protocolVersion": version, "capabilities": {},
                                            "clientInfo": {"name": "test_mcp", "version": "1"}})
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return result

    def call(self, name, arguments=None):
        params = {"name": name}
        if arguments is not None:
            params["arguments"] = arguments
        return self.result("tools/call", params)

    def close(self):
        """EOF on stdin: it must exit 0 with nothing more on stdout."""
        self.proc.stdin.close()
        assert self.proc.wait(30) == 0, f"ulog mcp exited {self.proc.returncode}: {self.stderr()}"
        assert self.lines.get(timeout=5) is None, "output after EOF"

    def stderr(self):
        return self.proc.stderr.read().decode("utf-8", "replace") if self.proc.poll() is not None \
            else "(still running)"


def _tool_error(result, *words):
    assert result.get("isError") is True, result
    text = result["content"][0]["text"]
    for word in words:
        assert word in text, f"{word!r} not in the tool error {text!r}"
    return text


def _ok(result):
    assert result.get("isError") is False, result
    assert len(result["content"]) == 1 and result["content"][0]["type"] == "text", result
    text = result["content"][0]["text"]
    assert len(text.encode()) <= LIMIT, f"a text of {len(text.encode())} bytes"
    return text


def _structured(result):
    """The JSON text, which must be the structuredContent."""
    data = json.loads(_ok(result))
    assert result.get("structuredContent") == data, "structuredContent differs from the text"
    return data


# --- the protocol -----------------------------------------------------------------------

def test_mcp_protocol(t):
    c = McpClient(t, "--log-dir", os.path.join(t.dir, "nothing-here"))
    # Before initialize: ping only.
    assert c.result("ping") == {}
    c.error("tools/list", code=-32600)
    c.error("initialize", {"capabilities": {}}, code=-32602)  # no protocolVersion
    init = c.initialize("2099-01-01")
    assert init["protocolVersion"] == "2025-06-18", init
    assert init["serverInfo"]["name"] == "ulog" and init["serverInfo"]["version"], init
    assert init["capabilities"] == {"tools": {"listChanged": False}}, init
    assert "log_context" in init["instructions"], init
    c.error("initialize", {"protocolVersion": "2025-06-18"}, code=-32600)  # twice

    # A notification is never answered: the next line is the ping's.
    c.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}})
    c.send({"jsonrpc": "2.0", "method": "tools/list"})  # a request without id is a notification
    assert c.request("ping", id="str-id")["result"] == {}
    assert c.request("ping", id=0)["result"] == {}

    # Errors of the protocol itself.
    c.error("resources/list", code=-32601)
    c.error("tools/call", {"name": "no_such_tool", "arguments": {}}, code=-32602)
    c.error("tools/call", {"arguments": {}}, code=-32602)
    c.error("tools/call", {"name": "trace", "arguments": [1]}, code=-32602)
    c.error("tools/list", [1], code=-32602)
    for bad in (b"not json\n", b'{"jsonrpc": "2.0", "id": 1, "method": \n'):
        c.send_raw(bad)
        answer = c.receive()
        assert answer["error"]["code"] == -32700 and answer["id"] is None, answer
    c.send_raw(b'[{"jsonrpc": "2.0", "id": 1, "method": "ping"}]\n')
    answer = c.receive()
    assert answer["error"]["code"] == -32600 and "batch" in answer["error"]["message"], answer
    c.send_raw(b'{"jsonrpc": "1.0", "id": 7, "method": "ping"}\n')
    answer = c.receive()
    assert answer["id"] == 7 and answer["error"]["code"] == -32600, answer
    assert "jsonrpc" in answer["error"]["message"], answer
    c.send_raw(b'{"jsonrpc": "2.0", "id": {"a": 1}, "method": "ping"}\n')
    assert c.receive()["error"]["code"] == -32600
    c.send_raw(b"\n\r\n")  # empty lines are no messages
    # A line over 16 MiB is skipped, and the session goes on.
    c.send_raw(b'{"jsonrpc": "2.0", "id": 99, "method": "ping", "params": {"pad": "' +
               b"x" * (17 << 20) + b'"}}\n')
    answer = c.receive(timeout=60)
    assert answer["error"]["code"] == -32700 and "16 MiB" in answer["error"]["message"], answer
    # A large line under the limit is read whole.
    big = c.request("ping", {"_meta": {"pad": "y" * (3 << 20)}})
    assert big["result"] == {}, big

    # tools/list: every tool, each with an object schema closed to other arguments.
    tools = {tool["name"]: tool for tool in c.result("tools/list")["tools"]}
    assert set(tools) == TOOLS, set(tools)
    for name, tool in tools.items():
        schema = tool["inputSchema"]
        assert tool["description"] and tool["title"], tool
        assert schema["type"] == "object" and schema["additionalProperties"] is False, name
        for prop, spec in schema["properties"].items():
            assert spec.get("type") in ("string", "integer", "boolean"), (name, prop)
            assert spec.get("description"), (name, prop)
            if spec["type"] == "integer":
                assert spec["minimum"] <= spec["maximum"], (name, prop)
    assert tools["trace"]["inputSchema"]["required"] == ["trace_id"]
    assert tools["tail_logs"]["inputSchema"]["properties"]["limit"]["maximum"] == 500
    assert tools["query_logs"]["inputSchema"]["properties"]["min_level"]["enum"] == \
        ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

    # Arguments that break the schema: a result with isError naming the argument.
    _tool_error(c.call("query_logs", {"sevrice": "api"}), '"sevrice"', "service")
    _tool_error(c.call("query_logs", {"limit": "10"}), '"limit"', "integer")
    _tool_error(c.call("query_logs", {"limit": 0}), '"limit"', "between 1 and 1000")
    _tool_error(c.call("query_logs", {"limit": 10000}), '"limit"', "10000")
    _tool_error(c.call("query_logs", {"min_level": "LOUD"}), '"min_level"', "LOUD")
    _tool_error(c.call("query_logs", {"level": "ERROR,LOUD"}), '"level"', "LOUD")
    _tool_error(c.call("query_logs", {"start_time": "yesterday"}), '"start_time"', "yesterday")
    _tool_error(c.call("query_logs", {"service": None}), '"service"', "null")
    _tool_error(c.call("tail_logs", {"limit": 501}), '"limit"', "500")
    _tool_error(c.call("tail_logs", {"limit": 2.5}), '"limit"', "integer")
    _tool_error(c.call("log_context", {"since": "soon"}), '"since"', "soon")
    _tool_error(c.call("log_context", {"budget": 10}), '"budget"')
    _tool_error(c.call("log_context", {"level": "verbose"}), '"level"', "verbose")
    _tool_error(c.call("list_services", {"until": "12:00"}), '"until"')
    _tool_error(c.call("process_events", {"since": "1h", "until": "2h"}), '"until"', "after")
    _tool_error(c.call("list_services", {"service": "api"}), '"service"', "since")
    _tool_error(c.call("process_events", {"only_abnormal": "yes"}), '"only_abnormal"', "boolean")
    _tool_error(c.call("process_events", {"limit": -1}), '"limit"')
    _tool_error(c.call("trace"), '"trace_id"', "required")
    _tool_error(c.call("trace", {"trace_id": ""}), '"trace_id"', "empty")
    _tool_error(c.call("trace", {"trace_id": 42}), '"trace_id"', "string")

    # No store: the tools that need it say where they looked and what makes it.
    where = os.path.join(t.dir, "nothing-here", "ulog.db")
    for name, args in (("query_logs", {}), ("list_services", {}),
                       ("process_events", {}), ("trace", {"trace_id": TRACE})):
        _tool_error(c.call(name, args), where, "ulogd")
    # log_context and tail_logs read all.log instead: with none there either,
    # the directory is wrong, and they say where they looked.
    _tool_error(c.call("log_context"), "nothing-here", "all.log")
    _tool_error(c.call("tail_logs"), "nothing-here", "all.log")
    c.close()
    assert c.stderr() == "", c.stderr()


def test_mcp_old_protocol_versions(t):
    for version in VERSIONS:
        c = McpClient(t, "--db", os.path.join(t.dir, "missing.db"))
        assert c.initialize(version)["protocolVersion"] == version
        result = c.call("tail_logs", {"limit": 1})
        _tool_error(result, "missing.db")
        c.close()


# --- the tools on a real run --------------------------------------------------------------

API = r'''
import json, sys
for i in range(1500):
    print(f"INFO handled GET /orders/{1000 + i} in {i % 97} ms for customer {i * 7919 % 100000} "
          f"from 10.1.{i % 250}.{i % 200} via the public gateway " + "." * 80)
    if i % 100 == 0:
        print(json.dumps({"level": "info", "message": f"checkout step {i // 100}",
                          "trace_id": "''' + TRACE + r'''", "span_id": f"{i:016x}"}))
print(json.dumps({"level": "error", "message": "payment declined for order 4711",
                  "trace_id": "''' + TRACE + r'''"}))
print("ERROR inventory sync refused by upstream", file=sys.stderr)
print("api done")
'''

WORKER = r'''
import os, sys
print("worker: loading batch 17", flush=True)
print("worker: checksum mismatch in batch 17", file=sys.stderr, flush=True)
sys.stdin.read()
os.abort()
'''


def _scenario(t):
    ulogd = t.start_ulogd(env={"ULOG_EBPF": "off", "LOG_ROTATION_SIZE": str(1 << 30)})
    paths = {}
    for name, text in (("api.py", API), ("worker.py", WORKER)):
        paths[name] = os.path.join(t.dir, name)
        with open(paths[name], "w") as f:
            f.write(text)
    env = {"PYTHONUNBUFFERED": "1"}
    worker = t.spawn([PYTHON, paths["worker.py"]], service="worker", env=env)
    batch = t.spawn(["sh", "-c", "echo batch: starting; read x; echo 'fatal: no config' >&2; "
                     "exit 3"], service="batch")
    api = t.run([PYTHON, paths["api.py"]], service="api", env=env, timeout=120)
    assert api.returncode == 0, api.stderr[-500:]
    web = t.run(["sh", "-c", "for i in 1 2 3 4 5 6 7; do echo web: served page $i; done"],
                service="web")
    assert web.returncode == 0
    ulogd.wait_for(lambda rs: any(r.get("service") == "worker" and "checksum" in r["message"]
                                  for r in rs), WAIT, "the worker's lines")
    ulogd.wait_for(lambda rs: any(r.get("service") == "batch" for r in rs), WAIT, "batch")
    # They end now; they stay zombies (unreaped) until their process_exit is written.
    worker.proc.stdin.close()
    batch.proc.stdin.close()

    def exited(rs, service):
        return any(r.get("event_type") == "process_exit" and r.get("service") == service
                   for r in rs)
    ulogd.wait_for(lambda rs: exited(rs, "worker") and exited(rs, "batch"), WAIT,
                   "the process_exit records of worker and batch")
    worker.wait(10)
    batch.wait(10)
    ulogd.wait_for(lambda rs: any(r["message"] == "api done" for r in rs), WAIT, "api done")
    records = ulogd.settle(0.5)
    return ulogd, records


def _in_store(c, count):
    """Until the store holds all.log's first `count` records."""
    def ready():
        res = c.call("query_logs", {"limit": 1})
        return not res["isError"] and json.loads(_ok(res))["logs"] and \
            json.loads(_ok(res))["logs"][0]["log_id"] >= count
    wait_until(ready, WAIT, f"{count} records in the store")


def _same(got, expected, records, what):
    """Tool records (with log_id) against all.log's: the same objects, and
    log_id N being all.log's Nth line."""
    plain = [{k: v for k, v in r.items() if k != "log_id"} for r in got]
    assert plain == expected, f"{what}: got {[r['message'] for r in plain][:6]} " \
                              f"({len(plain)}), expected {[r['message'] for r in expected][:6]} " \
                              f"({len(expected)})"
    for r in got:
        assert records[r["log_id"] - 1] == {k: v for k, v in r.items() if k != "log_id"}, r


def test_mcp_tools(t):
    ulogd, records = _scenario(t)
    c = McpClient(t, "--log-dir", ulogd.log_dir)
    assert c.initialize()["protocolVersion"] == "2025-06-18"
    _in_store(c, len(records))
    of = lambda service: [r for r in records if r.get("service") == service]  # noqa: E731

    # query_logs: filters, newest first.
    errors = [r for r in of("api") if r["level"] in ("ERROR", "CRITICAL")]
    got = _structured(c.call("query_logs", {"service": "api", "min_level": "ERROR",
                                            "limit": 1000}))
    assert len(errors) == 2, errors
    _same(got["logs"], errors[::-1], records, "api errors")
    assert got["next_offset"] is None and "truncated" not in got
    got = _structured(c.call("query_logs", {"q": "declined", "level": "ERROR,CRITICAL"}))
    assert [r["message"] for r in got["logs"]] == ["payment declined for order 4711"], got
    got = _structured(c.call("query_logs", {"service": "web", "limit": 3, "offset": 2}))
    _same(got["logs"], of("web")[::-1][2:5], records, "web page 2")

    # tail_logs: the newest, oldest first; 50 by default.
    got = _structured(c.call("tail_logs", {"service": "api"}))
    _same(got["logs"], of("api")[-50:], records, "tail of api")
    got = _structured(c.call("tail_logs", {"service": "web", "limit": 4, "min_level": "INFO"}))
    _same(got["logs"], [r for r in of("web") if r["level"] != "DEBUG"][-4:], records, "tail web")

    # trace: every record of the trace, oldest first.
    traced = sorted((r for r in records if r.get("trace_id") == TRACE),
                    key=lambda r: r["timestamp"])
    assert len(traced) == 16, len(traced)
    got = _structured(c.call("trace", {"trace_id": TRACE}))
    _same(got["logs"], traced, records, "the trace")
    assert got["services"] == ["api"] and got["count"] == 16, got
    assert _structured(c.call("trace", {"trace_id": "0" * 32}))["logs"] == []

    # list_services: counts per service and level, as all.log has them.
    got = _structured(c.call("list_services", {"since": "1h"}))
    services = {s["service"]: s for s in got["services"]}
    for name in ("api", "web", "worker", "batch"):
        mine = of(name)
        s = services[name]
        assert s["records"] == len(mine), (name, s, len(mine))
        for level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            assert s["levels"][level] == sum(r["level"] == level for r in mine), (name, level, s)
        assert s["errors"] == sum(r["level"] in ("ERROR", "CRITICAL") for r in mine), s
        assert s["first_seen"] == min(r["timestamp"] for r in mine), s
        assert s["last_seen"] == max(r["timestamp"] for r in mine), s
        assert s["containers"] == [], s
    assert services["api"]["errors"] == 2
    counts = [s["records"] for s in got["services"]]
    assert counts == sorted(counts, reverse=True), "busiest first"
    assert _structured(c.call("list_services", {"since": "2001-01-01T00:00:00Z",
                                                "until": "2001-01-02T00:00:00Z"}))["services"] == []

    # process_events: exits, newest first; the crash and the failure are abnormal.
    events = [r for r in records if r.get("event_type") in EVENT_TYPES]
    got = _structured(c.call("process_events", {"limit": 500}))
    _same(got["events"], events[::-1], records, "process events")
    crash = [r for r in events if r.get("service") == "worker"]
    assert len(crash) == 1 and crash[0]["level"] in ("CRITICAL", "WARNING"), crash
    meta = crash[0].get("metadata", {})
    assert meta.get("signal_name") == "SIGABRT" or meta.get("status_known") is False, crash
    assert any("checksum mismatch" in line["message"] for line in meta.get("last_lines", [])), meta
    got = _structured(c.call("process_events", {"only_abnormal": True, "service": "worker"}))
    _same(got["events"], crash, records, "the worker's crash")
    got = _structured(c.call("process_events", {"only_abnormal": True}))
    for r in got["events"]:
        m = r.get("metadata", {})
        assert m.get("exit_status", -1) != 0 or r["event_type"] != "process_exit", r
    failed = [r for r in events if r.get("service") == "batch"]
    assert len(failed) == 1 and [r for r in got["events"] if r.get("service") == "batch"], failed
    if failed[0]["metadata"].get("exit_status") is not None:
        assert failed[0]["metadata"]["exit_status"] == 3 and failed[0]["level"] == "ERROR"
    got = _structured(c.call("process_events", {"limit": 1}))
    assert len(got["events"]) == 1 and got["more_events_exist"] is True, got

    # log_context: Markdown within its budget, JSON alongside.
    res = c.call("log_context", {"since": "1h"})
    text = _ok(res)
    assert len(text.encode()) <= 8000 and "payment declined for order 4711" in text, text[:2000]
    assert isinstance(res.get("structuredContent"), dict), res.keys()
    text = _ok(c.call("log_context", {"since": "1h", "budget": 1500, "service": "worker",
                                      "level": "WARNING"}))
    assert len(text.encode()) <= 1500 and "worker" in text, text
    assert crash[0]["message"] in text and "checksum mismatch" in text, text

    # The bound: 1000 records of ~400 bytes do not fit in 64 KiB.
    res = c.call("query_logs", {"service": "api", "limit": 1000})
    got = _structured(res)
    cut = got["truncated"]
    assert cut["total"] == 1000 and 0 < cut["shown"] < 1000 and len(got["logs"]) == cut["shown"]
    assert "narrow the query" in cut["note"] and "narrow the query" in _ok(res), cut
    assert len(_ok(res).encode()) > LIMIT - 2048, "cut far below the bound"
    _same(got["logs"], of("api")[::-1][:cut["shown"]], records, "the newest that fit")
    got = _structured(c.call("tail_logs", {"service": "api", "limit": 500}))
    cut = got["truncated"]
    _same(got["logs"], of("api")[-cut["shown"]:], records, "the tail keeps the newest")
    c.close()

    # Without the store (a copy of all.log alone), tail_logs reads all.log.
    bare = os.path.join(t.dir, "bare")
    os.makedirs(bare)
    shutil.copy(os.path.join(ulogd.log_dir, "all.log"), bare)
    c = McpClient(t, env={"LOG_DIR": bare})
    c.initialize("2025-03-26")
    res = c.call("tail_logs", {"service": "web", "limit": 4})
    assert "structuredContent" not in res, "structuredContent is 2025-06-18's"
    got = json.loads(_ok(res))
    assert got["origin"] == "all.log" and got["logs"] == of("web")[-4:], got
    assert got["older_records_exist"] is True
    _tool_error(c.call("query_logs"), os.path.join(bare, "ulog.db"))
    c.close()


test_mcp_tools.timeout = 180
