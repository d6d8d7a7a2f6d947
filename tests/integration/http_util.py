"""http_util.py - ulogd's HTTP API seen from a test: one request at a time
over http.client, a free loopback port, raw bytes for requests no library
would send, and an Api object that knows the endpoints.

Everything answers a Response (status, headers, body, json) instead of
raising on 4xx/5xx: the tests assert on the status and on the reason the
server gives, so an error answer is data, not an exception. The connection
is closed after each request, so one test's half-read answer cannot leak
into the next request.
"""

import http.client
import json
import socket
import time
import urllib.parse

LOOPBACK = "127.0.0.1"
TIMEOUT = 30


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # name (lower case) -> value, the last one given
        self.body = body        # bytes

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    @property
    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            raise AssertionError(f"HTTP {self.status}: the body is not JSON: "
                                 f"{self.body[:300]!r}") from None

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    def __repr__(self):
        return f"<HTTP {self.status} {self.body[:300]!r}>"


def free_port():
    """A loopback TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def query_string(params):
    """`params` a dict or a list of (name, value) pairs (a name may repeat)."""
    if not params:
        return ""
    items = params.items() if isinstance(params, dict) else params
    return "?" + urllib.parse.urlencode([(k, str(v)) for k, v in items])


def request(method, port, path, body=None, headers=None, host=LOOPBACK, timeout=TIMEOUT):
    """One request. `body` a dict or list (sent as JSON with its content
    type unless headers say otherwise), bytes or str (sent as they are)."""
    headers = dict(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    elif isinstance(body, str):
        body = body.encode()
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
    finally:
        conn.close()


def request_big_body(port, path, body, content_type="application/json", chunk=65536,
                     host=LOOPBACK, timeout=TIMEOUT):
    """A POST of a body the server may refuse before it has read it all
    (413): sending stops at the first broken pipe, and the answer is read
    whatever happened to the rest of the body."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.putrequest("POST", path)
        conn.putheader("Content-Type", content_type)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        try:
            for at in range(0, len(body), chunk):
                conn.send(body[at:at + chunk])
        except (BrokenPipeError, ConnectionResetError):
            pass
        resp = conn.getresponse()
        data = resp.read()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
    finally:
        conn.close()


def raw_exchange(port, data, read=True, host=LOOPBACK, timeout=10):
    """Send `data` as it is on a fresh connection; the bytes the server
    answered before closing (or before `timeout`), b"" when it just closed."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            return b""
        if not read:
            return b""
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        chunks = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                piece = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not piece:
                break
            chunks.append(piece)
        return b"".join(chunks)


def status_of(raw):
    """The status code of a raw HTTP answer, None when there is none."""
    line = raw.split(b"\r\n", 1)[0].split()
    return int(line[1]) if len(line) >= 2 and line[0].startswith(b"HTTP/") and \
        line[1].isdigit() else None


class Api:
    """The endpoints of one ulogd, with or without its token."""

    def __init__(self, port, token=None, host=LOOPBACK):
        self.port, self.token, self.host = port, token, host

    def _headers(self, headers=None):
        out = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        out.update(headers or {})
        return out

    def get(self, path, params=None, headers=None):
        return request("GET", self.port, path + query_string(params),
                       headers=self._headers(headers), host=self.host)

    def post(self, path, body, headers=None):
        return request("POST", self.port, path, body=body, headers=self._headers(headers),
                       host=self.host)

    def logs(self, params=None):
        """GET /logs that must succeed: its JSON answer."""
        resp = self.get("/logs", params)
        assert resp.status == 200, f"GET /logs{query_string(params)}: {resp!r}"
        return resp.json

    def all_logs(self, params=None):
        """Every record the query matches, newest first, page by page."""
        params = dict(params or {})
        out, offset = [], 0
        while True:
            page = self.logs({**params, "limit": 1000, "offset": offset})
            out += page["logs"]
            if page["next_offset"] is None:
                return out
            offset = page["next_offset"]

    def post_logs(self, body, expect=201):
        """POST /logs that must answer `expect`: its JSON answer."""
        resp = self.post("/logs", body)
        assert resp.status == expect, f"POST /logs: expected {expect}, got {resp!r}"
        return resp.json

    def health(self):
        return self.get("/health")

    def metrics(self):
        """GET /metrics parsed: {(name, frozenset(labels.items())): value}."""
        resp = self.get("/metrics")
        assert resp.status == 200, f"GET /metrics: {resp!r}"
        return parse_metrics(resp.text)

    def wait_ready(self, timeout=30):
        """Until GET /health answers 200 (the server thread starts after the socket)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                resp = request("GET", self.port, "/health", host=self.host, timeout=5)
                if resp.status == 200:
                    return resp
                last = repr(resp)
            except OSError as e:
                last = str(e)
            time.sleep(0.05)
        raise AssertionError(f"ulogd's HTTP server on port {self.port} did not answer "
                             f"/health within {timeout} s (last: {last})")


def _unescape_label(value):
    return value.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")


class Metrics(dict):
    """{(name, frozenset(labels.items())): value}, and `declared`: the names
    that have both a # HELP and a # TYPE line (a labelled counter may have
    no sample yet)."""
    declared = frozenset()


def parse_metrics(text):
    """Prometheus text format 0.0.4 -> Metrics; it also checks that each
    sample's metric has its # HELP and # TYPE."""
    helped, typed, samples = set(), set(), Metrics()
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("# HELP "):
            helped.add(line.split()[2])
            continue
        if line.startswith("# TYPE "):
            typed.add(line.split()[2])
            continue
        if line.startswith("#"):
            continue
        if "{" in line:
            name, rest = line.split("{", 1)
            labels_text, value = rest.rsplit("}", 1)
            labels = {}
            i = 0
            while i < len(labels_text):
                eq = labels_text.index("=", i)
                key = labels_text[i:eq].strip().lstrip(",").strip()
                assert labels_text[eq + 1] == '"', f"bad label in {line!r}"
                j = eq + 2
                buf = []
                while labels_text[j] != '"':
                    if labels_text[j] == "\\":
                        buf.append(labels_text[j:j + 2])
                        j += 2
                    else:
                        buf.append(labels_text[j])
                        j += 1
                labels[key] = _unescape_label("".join(buf))
                i = j + 1
                while i < len(labels_text) and labels_text[i] in ", ":
                    i += 1
        else:
            name, value = line.split(None, 1)
            labels = {}
        value = value.split()[0]  # a timestamp may follow
        base = name
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and name[:-len(suffix)] in typed:
                base = name[:-len(suffix)]
        assert base in helped and base in typed, f"{name} has no # HELP or # TYPE line"
        samples[(name, frozenset(labels.items()))] = float(value)
    samples.declared = frozenset(helped & typed)
    return samples


def metric(samples, name, **labels):
    """The value of one sample (0 when it is absent: a counter not yet counted)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def metric_total(samples, name, **labels):
    """The sum over every sample of `name` whose labels include `labels`."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= set(ls))


# --- ulogd with its HTTP server ------------------------------------------------

def serve(t, env=None, args=(), token=None, port=None, **kw):
    """A ulogd of the test's own serving HTTP on a free loopback port; returns
    (ulogd, Api) once /health answers."""
    import harness  # the runner's module: imported late so this file stands alone
    port = port or getattr(harness, "free_port", free_port)()
    # eBPF off: the machine's other processes must not add records to compare.
    full = {"ULOG_EBPF": "off", "LOG_SERVICE_HOST": LOOPBACK, "LOG_SERVICE_PORT": str(port),
            **({"ULOG_TOKEN": token} if token else {}), **(env or {})}
    ulogd = t.start_ulogd(env=full, args=args, **kw)
    api = Api(port, token)
    api.wait_ready()
    # Its own start records first, so that they do not arrive in the middle of a test.
    ulogd.wait_for(lambda rs: {"http_start", "ulogd_start"} <= {
        r.get("event_type") for r in rs if r.get("pid") == ulogd.pid}, 30,
        "ulogd's http_start and ulogd_start records")
    return ulogd, api


def without_id(record):
    """A record read back from the API as all.log has it."""
    return {k: v for k, v in record.items() if k != "log_id"}


def rfc3339(dt):
    """A datetime (aware) as all.log writes timestamps: UTC, microseconds, Z."""
    import datetime
    return dt.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
