"""fake_docker.py - a fake Docker Engine for the collector's tests (standard
library only).

It serves HTTP/1.1 on a unix socket and answers exactly the requests ulogd's
collector makes (issue 7's contract): GET /v1.41/_ping, /events (streaming,
chunked, `since` and `filters`), /containers/json, /containers/{id}/json and
/containers/{id}/logs (follow, `since`; multiplexed frames of an 8-byte
header when Config.Tty is false, the raw bytes when it is true). Anything
else is a 404, recorded like every request (with the client's pid, from
SO_PEERCRED) so that a test can check what ulogd asked, and when.

Like the real engine it keeps what it told: every container's output
(with the engine's timestamp of each line) and every event, so a request
with `since` replays those at or after that time (`since` is inclusive, as
in the engine) before following live. Tests drive it from their own
thread: add containers, write lines (whole, or cut into frames and reads at
awkward places), send lifecycle events, inject malformed bytes (never kept,
never replayed), fail or hang requests, stop it (every stream closed, the
socket left behind refusing connections) and start it again on the same path.
"""

import json
import os
import re
import secrets
import socket
import socketserver
import struct
import threading
import time
from collections import namedtuple
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, unquote, urlsplit

API = "/v1.41"
STDOUT, STDERR = 1, 2
NEVER = "0001-01-01T00:00:00Z"  # the engine's zero time
Request = namedtuple("Request", "path query pid time_ns")
Entry = namedtuple("Entry", "ts pieces kind")  # kind: data (kept), raw (live only), end


def rfc3339_nano(ns):
    """The engine's timestamp of a line: RFC 3339, nine digits, UTC."""
    seconds, nanos = divmod(ns, 10**9)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{nanos:09d}Z"


def rfc3339_micro(ns):
    """What a record's timestamp says for an engine time (microseconds)."""
    return rfc3339_nano(ns)[:26] + "Z"


def parse_since(text):
    """"SECONDS[.NANOS]" -> nanoseconds (None when absent)."""
    if text is None or text == "":
        return None
    whole, _, frac = text.partition(".")
    return int(whole) * 10**9 + int((frac + "0" * 9)[:9])


class Container:
    def __init__(self, name, labels, env, tty, image, pid):
        self.id = secrets.token_hex(32)
        self.name, self.labels, self.env, self.tty = name, dict(labels), list(env), tty
        self.image, self.pid = image, pid
        self.running, self.started_ns, self.finished_ns, self.exit_code = False, 0, 0, 0
        self.created_ns = time.time_ns()
        self.log = []  # Entry, in the order written

    @property
    def short(self):
        return self.id[:12]


class FakeDocker:
    def __init__(self, path):
        self.path = path
        self.cond = threading.Condition()
        self.containers = []
        self.events = []  # (time_ns or None, bytes, type, action)
        self.requests = []
        self.failures = []  # [regex, status, remaining]
        self.hangs = []  # (regex, seconds or None): requests answered late or never
        self.generation = 0  # bumped by stop(): every open stream ends
        self.graceful, self.streams = False, 0
        self.replay_slack_ns = 0  # > 0: logs replay from that long before `since`
        self.connections = set()
        self.server = None
        self._last_ns = 0
        self.start()

    # --- running -------------------------------------------------------------
    def start(self):
        if os.path.exists(self.path):
            os.unlink(self.path)
        fake = self

        class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
            daemon_threads = True
            block_on_close = False

            def handle_error(self, request, client_address):
                pass  # a client gone mid-stream (ulogd dropped it, or stop())

        class Handler(_Handler):
            engine = fake

        self.server = Server(self.path, Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self, remove=False, graceful=False):
        """Close the listener and every connection: abruptly, as a crash
        does, or `graceful`: each stream first ends its chunked body, as a
        clean shutdown does. The socket file stays (connections are refused)
        unless `remove`."""
        if self.server is None:
            return
        with self.cond:
            self.generation += 1
            self.graceful = graceful
            self.cond.notify_all()
            if graceful:
                self.cond.wait_for(lambda: not self.streams, timeout=2)
            connections = list(self.connections)
        self.server.shutdown()
        self.server.server_close()
        self.server = None
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if remove and os.path.exists(self.path):
            os.unlink(self.path)

    restart = start

    def now(self):
        """The engine's clock: wall time, strictly increasing."""
        with self.cond:
            self._last_ns = max(time.time_ns(), self._last_ns + 1)
            return self._last_ns

    # --- containers and events -----------------------------------------------
    def add_container(self, name, labels=None, env=None, tty=False, image="demo/app:1.0",
                      running=True, announce=True):
        """A container; running ones get a start event unless `announce` is
        False (then only a list or an inspect reveals it)."""
        c = Container(name, labels or {}, env or [], tty, image, 4000000 + len(self.containers))
        with self.cond:
            self.containers.append(c)
        if announce:
            self.event(c, "create")
        if running:
            self.start_container(c, announce)
        return c

    def start_container(self, c, announce=True, early=()):
        """c runs (again): a start event, whose time is its start time. As
        with the real engine, the process may write (`early` lines) before
        the engine sends that event."""
        c.running, c.started_ns = True, self.now()
        for line in early:
            self.emit(c, line)
        if announce:
            self.event(c, "start")

    def stop_container(self, c, exit_code=0):
        """The container's process ended: a die event, its log streams end."""
        c.running, c.finished_ns, c.exit_code = False, self.now(), exit_code
        self._append(c, Entry(None, [], "end"))
        return self.event(c, "die", exitCode=exit_code)

    def event(self, c, action, type_="container", **attributes):
        """One engine event about c (Actor attributes are strings, as sent)."""
        ns = self.now()
        attrs = {"image": c.image, "name": c.name, **c.labels,
                 **{k: str(v) for k, v in attributes.items()}}
        message = {"status": action, "id": c.id, "from": c.image, "Type": type_,
                   "Action": action, "Actor": {"ID": c.id, "Attributes": attrs},
                   "scope": "local", "time": ns // 10**9, "timeNano": ns}
        with self.cond:
            self.events.append((ns, json.dumps(message).encode() + b"\n", type_, action))
            self.cond.notify_all()
        return message

    def inject_event_bytes(self, data):
        """Bytes for the open events streams only (never replayed)."""
        with self.cond:
            self.events.append((None, data, None, None))
            self.cond.notify_all()

    # --- output ------------------------------------------------------------------
    @staticmethod
    def stamp(ts):
        return rfc3339_nano(ts).encode() + b" "

    def frame(self, c, stream, payload):
        if c.tty:
            return payload
        return struct.pack(">BxxxL", stream, len(payload)) + payload

    def emit(self, c, text, stream=STDOUT):
        """One line on c's stdout or stderr, one frame; returns its timestamp."""
        ts = self.now()
        body = text.encode() if isinstance(text, str) else text
        self._append(c, Entry(ts, [self.frame(c, stream, self.stamp(ts) + body + b"\n")], "data"))
        return ts

    def emit_lines_cut(self, c, lines, stream=STDOUT, frame_cuts=(), wire_cuts=()):
        """Lines (each with its own timestamp) written as one payload cut into
        frames at `frame_cuts` (offsets in the payload), the bytes of those
        frames then sent in separate reads cut at `wire_cuts` (offsets in
        the whole body, headers included). Returns the timestamps."""
        stamps, payload = [], b""
        for line in lines:
            stamps.append(self.now())
            payload += self.stamp(stamps[-1]) + line.encode() + b"\n"
        bounds = [0, *frame_cuts, len(payload)]
        wire = b"".join(self.frame(c, stream, payload[a:b]) for a, b in zip(bounds, bounds[1:]))
        bounds = [0, *wire_cuts, len(wire)]
        self._append(c, Entry(stamps[0], [wire[a:b] for a, b in zip(bounds, bounds[1:])], "data"))
        return stamps

    def inject_log_bytes(self, c, data):
        """Bytes for c's open log streams only (never replayed)."""
        self._append(c, Entry(None, [data], "raw"))

    def _append(self, c, entry):
        with self.cond:
            c.log.append(entry)
            self.cond.notify_all()

    # --- misbehaving and watching ---------------------------------------------------
    def fail_next(self, pattern, status=500, count=1):
        """The next `count` requests whose path matches get `status`."""
        with self.cond:
            self.failures.append([re.compile(pattern), status, count])

    def hang(self, pattern, seconds=None):
        """Requests whose path matches are answered only after `seconds`
        (None: never; the connection ends at stop)."""
        with self.cond:
            self.hangs.append((re.compile(pattern), seconds))

    def requests_matching(self, pattern, pid=None):
        with self.cond:
            return [r for r in self.requests
                    if re.search(pattern, r.path) and (pid is None or r.pid == pid)]

    def wait_request(self, pattern, pid=None, timeout=10):
        """The first request matching `pattern` (from pid), waiting for it."""
        deadline = time.monotonic() + timeout
        while not self.requests_matching(pattern, pid):
            if time.monotonic() > deadline:
                raise AssertionError(f"no request matching {pattern!r} within {timeout} s; "
                                     f"requests so far: {[r.path for r in self.requests][-12:]}")
            time.sleep(0.02)
        return self.requests_matching(pattern, pid)[0]

    def requests_for(self, c, kind="logs", pid=None):
        """Requests for c's logs (kind "logs") or inspect (kind "json"), by
        whatever reference the client used (full id, short id, name)."""
        asked = self.requests_matching(f"^{re.escape(API)}/containers/[^/]+/{kind}$", pid)
        return [r for r in asked if self.lookup(r.path.split("/")[3]) is c]

    def lookup(self, ref):
        with self.cond:
            for c in self.containers:
                if ref in (c.id, c.name) or (len(ref) >= 4 and c.id.startswith(ref)):
                    return c
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    engine = None  # set per server

    def setup(self):
        super().setup()
        with self.engine.cond:
            self.engine.connections.add(self.connection)

    def finish(self):
        with self.engine.cond:
            self.engine.connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, *args):
        pass  # the test reads `requests`, not a log

    def do_GET(self):
        fake = self.engine
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        creds = self.connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                           struct.calcsize("3i"))
        path = unquote(url.path)
        with fake.cond:
            fake.requests.append(Request(path, query, struct.unpack("3i", creds)[0],
                                         time.time_ns()))
            # What a stream replays or follows is fixed when the request is
            # recorded: a test that saw the request knows what it will get.
            self.events_mark = len(fake.events)
            self.log_marks = {c.id: len(c.log) for c in fake.containers}
            generation = fake.generation
            failure = next((f for f in fake.failures if f[2] > 0 and f[0].search(path)), None)
            if failure:
                failure[2] -= 1
            hang = next((h for h in fake.hangs if h[0].search(path)), None)
        if hang:
            with fake.cond:
                fake.cond.wait_for(lambda: fake.generation != generation, timeout=hang[1])
            if hang[1] is None or fake.generation != generation:
                self.close_connection = True
                return
        if failure:
            return self._json({"message": "fake engine: injected failure"}, failure[1])
        try:
            self._route(path, query, generation)
        except ValueError as e:  # a `since` or `filters` the engine would refuse too
            self._json({"message": f"bad parameter: {e}"}, 400)

    def _route(self, path, query, generation):
        fake = self.engine
        m = re.fullmatch(re.escape(API) + r"/containers/([^/]+)/(json|logs)", path)
        if path == API + "/_ping":
            self._reply(200, b"OK", "text/plain; charset=utf-8")
        elif path == API + "/containers/json":
            self._json([_listing(c) for c in list(fake.containers) if c.running])
        elif path == API + "/events":
            self._events(query, generation)
        elif m and fake.lookup(m.group(1)) is None:
            self._json({"message": f"No such container: {m.group(1)}"}, 404)
        elif m and m.group(2) == "json":
            self._json(_inspect(fake.lookup(m.group(1))))
        elif m:
            self._logs(fake.lookup(m.group(1)), query, generation)
        else:
            self._json({"message": "page not found"}, 404)

    # --- plain answers ----------------------------------------------------------------
    def _reply(self, status, body, content_type):
        self.send_response(status)
        self.send_header("Api-Version", API[2:])
        self.send_header("Server", "Docker/fake (linux)")
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, value, status=200):
        self._reply(status, json.dumps(value).encode() + b"\n", "application/json")

    # --- streams ------------------------------------------------------------------------
    def _begin_stream(self, content_type):
        self.send_response(200)
        self.send_header("Api-Version", API[2:])
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()

    def _chunk(self, data):
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

    def _follow(self, entries, start, generation, send):
        """Send what is appended to `entries` after `start` until send()
        says the stream is over or the engine stops; False when it stopped."""
        fake, position = self.engine, start
        with fake.cond:
            fake.streams += 1
        try:
            while True:
                with fake.cond:
                    fake.cond.wait_for(lambda: len(entries) > position
                                       or fake.generation != generation, timeout=0.5)
                    if fake.generation != generation:
                        self.close_connection = True
                        if fake.graceful:
                            self.wfile.write(b"0\r\n\r\n")
                        return False
                    new, position = entries[position:], len(entries)
                for entry in new:
                    if not send(entry):
                        return True
        finally:
            with fake.cond:
                fake.streams -= 1
                fake.cond.notify_all()

    def _events(self, query, generation):
        fake = self.engine
        since = parse_since(query.get("since"))
        wanted = json.loads(query.get("filters") or "{}")

        def passes(type_, action):
            return all(value is None or not wanted.get(key) or value in wanted[key]
                       for key, value in (("type", type_), ("event", action)))
        with fake.cond:
            start = self.events_mark
            backlog = [e for e in fake.events[:start]
                       if since is not None and e[0] is not None and e[0] >= since]
        self._begin_stream("application/json")
        for ns, data, type_, action in backlog:
            if passes(type_, action):
                self._chunk(data)

        def send(event):
            if event[2] is None or passes(event[2], event[3]):
                self._chunk(event[1])
            return True
        self._follow(fake.events, start, generation, send)

    def _logs(self, c, query, generation):
        fake = self.engine
        since = parse_since(query.get("since"))
        if since is not None:
            since -= fake.replay_slack_ns
        with fake.cond:
            start, running = self.log_marks.get(c.id, 0), c.running
            backlog = [e for e in c.log[:start]
                       if e.kind == "data" and (since is None or e.ts >= since)]
        self._begin_stream("application/vnd.docker.raw-stream" if c.tty else
                           "application/vnd.docker.multiplexed-stream")

        def send(entry):
            if entry.kind == "end":
                return False
            for i, piece in enumerate(entry.pieces):
                if i:
                    time.sleep(0.02)  # separate reads for the client, not a timing test
                self._chunk(piece)
            return True
        for entry in backlog:
            send(entry)
        if query.get("follow") in ("1", "true") and running:
            if not self._follow(c.log, start, generation, send):
                return
        self.wfile.write(b"0\r\n\r\n")


def _listing(c):
    return {"Id": c.id, "Names": ["/" + c.name], "Image": c.image, "ImageID": "sha256:" + "0" * 64,
            "Command": "app", "Created": c.created_ns // 10**9, "Labels": c.labels,
            "State": "running", "Status": "Up 1 second"}


def _inspect(c):
    return {"Id": c.id, "Name": "/" + c.name, "Created": rfc3339_nano(c.created_ns),
            "Image": "sha256:" + "0" * 64,
            "State": {"Status": "running" if c.running else "exited", "Running": c.running,
                      "Pid": c.pid if c.running else 0, "ExitCode": c.exit_code,
                      "StartedAt": rfc3339_nano(c.started_ns) if c.started_ns else NEVER,
                      "FinishedAt": rfc3339_nano(c.finished_ns) if c.finished_ns else NEVER},
            "Config": {"Hostname": c.short, "Env": c.env, "Labels": c.labels,
                       "Image": c.image, "Tty": c.tty}}
