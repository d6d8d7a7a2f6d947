"""store_serving.py - the `store` section of `make bench`: what ulogd's store
(the SQLite database behind GET /logs) costs ingestion, how far it falls
behind and catches up, and how fast GET /logs answers next to jq and grep
over all.log, the tools a user had before.

A real build/ulogd (ULOG_ENV=production, HTTP on a free loopback port) is
started afresh for every run, in a directory of its own, and fed by
build/bench/pipeline_feed (bench/pipeline_feed.c), whose corpus is the
pipeline section's, here spread over four services and, for the flat-out
runs, stamped over the 24 hours before the run (-t) so that the store holds
what a day of logging puts in it. While it runs, GET /metrics is read every
100 ms on a kept-alive connection (the ulog_store_* gauges and counters).

  1. Flat out, store off and on, alternating: lines/s, ulogd's CPU per line
     until the store has caught up, the store's rows/s, its lag (records and
     seconds: peak and median), when it caught up after the feeder's last
     line, and what it dropped (past store.queue_bytes).
  2. Paced at rates the store sustains: the lag stays bounded.
  3. A store of a million records, filled flat out like the others but with
     a queue that holds the whole burst (nothing dropped, so that it holds
     what all.log holds), answers GET /logs: each query 50
     times over one kept-alive connection (http.client), median and p95;
     the same question answered by jq, and by grep/tail where that is
     meaningful, over the same all.log, fewer times; and whether both gave
     the same records.

The text and tables are store_report.py's. Nothing here asserts a timing.
"""

import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time

from benchlib import ULOGD, BenchError, Ulogd, clean_env, need_file, positive
from pipeline_throughput import FEED, _settle
from store_report import report

SERVICES = ["api", "billing", "worker", "web"]
DAY = 86400
SAMPLE_EVERY = 0.1
CATCH_UP_TIMEOUT = 240


def add_arguments(parser):
    add = parser.add_argument
    # 1 050 000 lines make ~1 020 000 records (a traceback is 7 lines, one record).
    add("--store-lines", type=positive, default=500000,
        help="store: lines of each flat-out run (default 500000)")
    # 1 050 000 lines make ~1 020 000 records (a traceback is 7 lines, one record).
    add("--store-fill-lines", type=positive, default=1050000,
        help="store: lines of the store GET /logs is timed on (default 1050000)")
    add("--store-runs", type=positive, default=2,
        help="store: flat-out runs with the store off and on, alternating (default 2)")
    add("--store-rates", default="10000,25000,50000",
        help="store: rates (lines/s) of the paced runs, comma-separated (default 10000,25000,50000)")
    add("--store-paced-seconds", type=positive, default=10,
        help="store: seconds of each paced run (default 10)")
    add("--store-requests", type=positive, default=50,
        help="store: timed GET /logs requests per query (default 50)")
    add("--store-peer-runs", type=positive, default=1,
        help="store: timed runs of each jq command; grep/tail get 5 or this (default 1)")


# --- ulogd with HTTP, and its /metrics --------------------------------------------------

def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A Ulogd with its HTTP server on a port of its own."""

    def __init__(self, work, name, store_on, queue=None):
        self.directory = tempfile.mkdtemp(prefix=f"{name}-", dir=work)
        self.port = _free_port()
        env = {"ULOG_ENV": "production", "LOG_SERVICE_HOST": "127.0.0.1",
               "LOG_SERVICE_PORT": str(self.port), "ULOG_STORE": "on" if store_on else "off"}
        if queue:
            env["ULOG_STORE_QUEUE"] = queue
        self.ulogd = Ulogd(self.directory, None, env)
        self.db_path = os.path.join(self.ulogd.log_dir, "ulog.db")
        deadline = time.monotonic() + 10
        while True:
            try:
                status, _ = self.get("/health")
                if status == 200:
                    break
            except OSError:
                pass
            if self.ulogd.proc.poll() is not None or time.monotonic() > deadline:
                self.ulogd.kill()
                raise BenchError(f"ulogd did not answer GET /health on port {self.port}: "
                                 f"{self.ulogd._stderr()}")
            time.sleep(0.05)

    def connect(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def get(self, path, conn=None):
        own = conn is None
        conn = conn or self.connect()
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            if own:
                conn.close()

    def metrics(self, conn=None):
        status, body = self.get("/metrics", conn)
        if status != 200:
            raise BenchError(f"GET /metrics answered {status}: {body[:200]!r}")
        return parse_metrics(body.decode("utf-8", "replace"))

    def db_bytes(self):
        return sum(os.path.getsize(self.db_path + suffix) for suffix in ("", "-wal")
                   if os.path.exists(self.db_path + suffix))

    def stop(self):
        try:
            self.ulogd.stop()
        finally:
            self.ulogd.kill()

    def remove(self):
        shutil.rmtree(self.directory, ignore_errors=True)


METRIC = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")


def parse_metrics(text):
    """Prometheus text: each name's value summed over its labels, plus
    'preload_written': the records of source "preload" written to all.log."""
    sums = {"preload_written": 0.0}
    for line in text.splitlines():
        m = METRIC.match(line)
        if not m:
            continue
        name, labels, value = m.groups()
        try:
            number = float(value)
        except ValueError:
            continue
        sums[name] = sums.get(name, 0.0) + number
        if name == "ulog_records_written_total" and 'source="preload"' in (labels or ""):
            sums["preload_written"] += number
    return sums


class Sampler(threading.Thread):
    """GET /metrics every SAMPLE_EVERY seconds: a list of (monotonic time, metrics)."""

    def __init__(self, server):
        super().__init__(daemon=True)
        self.server, self.samples, self.error = server, [], None
        self._halt = threading.Event()

    def run(self):
        conn, tick = self.server.connect(), time.monotonic()
        while not self._halt.is_set():
            try:
                self.samples.append((time.monotonic(), self.server.metrics(conn)))
            except (OSError, http.client.HTTPException, BenchError) as e:
                self.error = str(e)
                conn.close()
                conn = self.server.connect()
            tick += SAMPLE_EVERY
            self._halt.wait(max(0.0, tick - time.monotonic()))
        conn.close()

    def stop(self):
        self._halt.set()
        self.join()


# --- the feeder -----------------------------------------------------------------------------

def _feed(ulogd, lines, rate=None, span=None, timeout=600):
    argv = [FEED, "-s", ulogd.socket, "-n", str(lines), "-S", ",".join(SERVICES)]
    if rate:
        argv += ["-r", str(rate)]
    if span:
        argv += ["-t", str(span)]
    realtime = time.time()
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=clean_env())
    except subprocess.TimeoutExpired:
        raise BenchError(f"pipeline_feed did not finish within {timeout} s") from None
    if out.returncode != 0:
        raise BenchError(f"pipeline_feed exited with {out.returncode}: {out.stderr.strip()}")
    feed = {k: int(v) for k, v in (pair.split("=") for pair in out.stdout.split())}
    if "late_max_ns" not in feed:
        raise BenchError("build/bench/pipeline_feed predates -r/-t: run `make bench-programs`")
    feed["realtime_start"] = realtime
    return feed


# --- one run: feed, watch the store, wait until it has caught up ----------------------------

def _caught_up(samples, since, feed_records):
    """The first sample after `since` from which the store holds every record
    the feeder's lines became: lag 0, and committed + dropped since the start
    at least the records of source preload written (unchanged for 3 samples,
    longer than the 100 ms for which the event loop gathers records)."""
    base = samples[0][1]
    for i in range(2, len(samples)):
        t, m = samples[i]
        if t < since:
            continue
        written = m["preload_written"] - base["preload_written"]
        stable = all(samples[j][1]["preload_written"] == m["preload_written"] for j in (i - 1, i - 2))
        stored = _stored(m, base)
        if (m.get("ulog_store_lag_records", 1) == 0 and stable and written >= feed_records * 0.99
                and stored >= written):
            # The stable samples only confirm it: the store may have got there earlier.
            return next(j for j in range(i + 1) if samples[j][0] >= since
                        and _stored(samples[j][1], base) >= written
                        and samples[j][1].get("ulog_store_lag_records", 1) == 0)
    return None


def _stored(m, base):
    """Records the store has committed or dropped since `base`."""
    return sum(m.get(name, 0) - base.get(name, 0)
               for name in ("ulog_store_committed_total", "ulog_store_dropped_total"))


def _lag_figures(samples, start, drained, end):
    """Peak and median lag from the first line to `end` (caught up); the
    median lag of the first and second half of the feeding, whose comparison
    says whether the lag levels off or grows for as long as the rate lasts."""
    window = [m for t, m in samples if start <= t <= end] or [samples[-1][1]]
    feeding = [m.get("ulog_store_lag_records", 0.0) for t, m in samples if start <= t <= drained]
    half = len(feeding) // 2

    def column(name):
        return [m.get(name, 0.0) for m in window]
    records, seconds, queue = (column("ulog_store_lag_records"), column("ulog_store_lag_seconds"),
                               column("ulog_store_queue_bytes"))
    return {"lag_records_max": max(records), "lag_records_median": statistics.median(records),
            "lag_seconds_max": max(seconds), "lag_seconds_median": statistics.median(seconds),
            "queue_bytes_max": max(queue), "samples": len(window),
            "lag_first_half": statistics.median(feeding[:half]) if half else 0.0,
            "lag_second_half": statistics.median(feeding[half:]) if half else 0.0}


def run_once(work, name, store_on, lines, rate=None, span=None, keep=False, queue=None):
    """One ulogd, one feeder run. Returns (figures, the Server if keep)."""
    server = Server(work, name, store_on, queue)
    try:
        _settle(server.ulogd)
        cpu0 = server.ulogd.cpu_seconds()
        sampler = Sampler(server) if store_on else None
        if sampler:
            sampler.start()
            while not sampler.samples:
                time.sleep(0.01)
        feed = _feed(server.ulogd, lines, rate, span)
        start, drained = feed["start_ns"] / 1e9, feed["drained_ns"] / 1e9
        result = {"name": name, "store": store_on, "feed": feed,
                  "lines_per_s": feed["lines"] / (drained - start),
                  "feeder_seconds": drained - start}
        if sampler:
            deadline = time.monotonic() + CATCH_UP_TIMEOUT
            while (index := _caught_up(sampler.samples, drained, feed["messages"])) is None:
                if time.monotonic() > deadline or server.ulogd.proc.poll() is not None:
                    sampler.stop()
                    last = sampler.samples[-1][1] if sampler.samples else {}
                    raise BenchError(
                        f"{name}: the store had not caught up {CATCH_UP_TIMEOUT} s after the "
                        f"feeder's last line (last /metrics: lag {last.get('ulog_store_lag_records')}"
                        f" records, committed {last.get('ulog_store_committed_total')}, "
                        f"sampler error: {sampler.error})")
                time.sleep(0.1)
            cpu_caught = server.ulogd.cpu_seconds()
            sampler.stop()
            samples = sampler.samples
            first, (t_caught, m_caught) = samples[0][1], samples[index]
            committed = m_caught.get("ulog_store_committed_total", 0) - first.get(
                "ulog_store_committed_total", 0)
            result.update(_lag_figures(samples, start, drained, t_caught))
            result.update({
                "cpu_us_per_line": (cpu_caught - cpu0) / feed["lines"] * 1e6,
                "committed": committed,
                "store_rows_per_s": committed / (t_caught - start),
                "caught_up_after": t_caught - drained,
                "dropped": m_caught.get("ulog_store_dropped_total", 0)
                - first.get("ulog_store_dropped_total", 0),
                "errors": m_caught.get("ulog_store_errors_total", 0),
                "sampler_error": sampler.error,
            })
        _settle(server.ulogd)
        if not sampler:
            result["cpu_us_per_line"] = (server.ulogd.cpu_seconds() - cpu0) / feed["lines"] * 1e6
        if keep:
            return result, server
        server.stop()
    except BaseException:
        server.ulogd.kill()
        raise
    server.remove()
    return result, None


# --- GET /logs against jq and grep ----------------------------------------------------------

def _iso(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


def queries(window_start):
    """(label, GET /logs parameters, jq command, grep/tail command or None,
    predicate over an all.log record, whether the peers' records can be
    compared with the store's). Commands read $LOG; each prints its answer's
    records, oldest first, as JSON lines. The words were picked from the
    corpus: "redacted" (what redaction leaves) is in ~0.8 % of messages,
    "currency" (the card-number line) in ~0.1 %."""
    start, end = _iso(window_start), _iso(window_start + 300)

    def word(w):
        pattern = re.compile(rf"\b{w}\b", re.I)
        return lambda r: bool(pattern.search(r.get("message", "")))

    def level_error(r):
        return r.get("level") in ("ERROR", "CRITICAL")
    jq_error = '(.level=="ERROR" or .level=="CRITICAL")'
    grep_error = "grep -E '\"level\":\"(ERROR|CRITICAL)\"'"
    return [
        ("no filter", "", "tail -n 100 $LOG | jq -c .", "tail -n 100 $LOG",
         lambda r: True, True),
        ("service", "service=api", "jq -c 'select(.service==\"api\")' $LOG | tail -n 100",
         "grep -F '\"service\":\"api\"' $LOG | tail -n 100",
         lambda r: r.get("service") == "api", True),
        ("min_level=ERROR", "min_level=ERROR", f"jq -c 'select({jq_error})' $LOG | tail -n 100",
         f"{grep_error} $LOG | tail -n 100", level_error, True),
        ("5-minute window", f"start_time={start}Z&end_time={end}Z",
         f"jq -c 'select(.timestamp >= \"{start}\" and .timestamp < \"{end}\")' $LOG "
         "| tail -n 100", None,
         lambda r: f"{start}" <= r["timestamp"] < f"{end}", True),
        ("q, ~1 % of lines", "q=redacted",
         "jq -c 'select(.message|test(\"\\\\bredacted\\\\b\";\"i\"))' $LOG | tail -n 100",
         "grep -i redacted $LOG | tail -n 100", word("redacted"), True),
        ("q, rare word", "q=currency",
         "jq -c 'select(.message|test(\"\\\\bcurrency\\\\b\";\"i\"))' $LOG | tail -n 100",
         "grep -i currency $LOG | tail -n 100", word("currency"), True),
        ("service + level + q", "service=billing&min_level=ERROR&q=traceback",
         f"jq -c 'select(.service==\"billing\" and {jq_error} and "
         "(.message|test(\"\\\\btraceback\\\\b\";\"i\")))' $LOG | tail -n 100",
         f"grep -F '\"service\":\"billing\"' $LOG | {grep_error} | grep -i traceback "
         "| tail -n 100",
         lambda r: r.get("service") == "billing" and level_error(r) and word("traceback")(r),
         True),
        ("offset=10000", "offset=10000", "tail -n 10100 $LOG | head -n 100 | jq -c .",
         "tail -n 10100 $LOG | head -n 100", lambda r: True, True),
    ]


def _key(record):
    return (record.get("timestamp"), record.get("service"), record.get("level"),
            record.get("message"))


def _time_store(server, params, requests, problems, label):
    conn = server.connect()
    path = "/logs" + (f"?{params}" if params else "")
    try:
        status, body = server.get(path, conn)  # warm-up, and the answer to compare
        if status != 200:
            problems.append(f"GET {path} answered {status}: {body[:300].decode('utf-8', 'replace')}")
            return None, None
        answer = json.loads(body)
        times = []
        for _ in range(requests):
            t = time.perf_counter()
            status, body = server.get(path, conn)
            times.append((time.perf_counter() - t) * 1e3)
            if status != 200:
                problems.append(f"{label}: GET {path} answered {status} during the timing")
                return None, None
    finally:
        conn.close()
    return times, answer


def _time_peer(command, log_path, runs):
    env = clean_env({"LOG": log_path})
    times, output = [], b""
    for _ in range(runs):
        t = time.perf_counter()
        out = subprocess.run(["sh", "-c", command], capture_output=True, env=env, timeout=300)
        times.append((time.perf_counter() - t) * 1e3)
        if out.returncode != 0:
            raise BenchError(f"`{command}` exited with {out.returncode}: {out.stderr[-300:]!r}")
        output = out.stdout
    return times, output


def _count_matches(log_path, predicates):
    counts, lines = [0] * len(predicates), 0
    with open(log_path, "rb") as f:
        for text in f:
            r = json.loads(text)
            lines += 1
            for i, p in enumerate(predicates):
                counts[i] += p(r)
    return counts, lines


def query_latency(server, window_start, args, problems):
    log_path = server.ulogd.log_path
    qs = queries(window_start)
    counts, log_records = _count_matches(log_path, [q[4] for q in qs])
    rows = []
    have_jq = shutil.which("jq") is not None
    for (label, params, jq_cmd, grep_cmd, _, comparable), matches in zip(qs, counts):
        store_times, answer = _time_store(server, params, args.store_requests, problems, label)
        row = {"label": label, "params": params or "(none)", "matches": matches,
               "store": store_times, "jq": None, "grep": None, "jq_cmd": jq_cmd,
               "grep_cmd": grep_cmd, "same": None}
        if have_jq:
            row["jq"], output = _time_peer(jq_cmd, log_path, args.store_peer_runs)
            if comparable and answer is not None:
                mine = [_key(r) for r in reversed(answer.get("logs", []))]
                theirs = [_key(json.loads(line)) for line in output.splitlines()]
                row["same"] = mine == theirs
                if mine != theirs:
                    problems.append(
                        f"{label}: GET /logs?{params} gave {len(mine)} records, jq {len(theirs)}; "
                        f"first differing: store {next((a for a, b in zip(mine, theirs) if a != b), None)!r}")
        if grep_cmd:
            row["grep"], _ = _time_peer(grep_cmd, log_path, max(5, args.store_peer_runs))
        rows.append(row)
    return {"rows": rows, "log_records": log_records, "log_bytes": os.path.getsize(log_path),
            "db_bytes": server.db_bytes(), "have_jq": have_jq}


# --- the section ----------------------------------------------------------------------------

def store(args, work):
    """The store: its cost to ingestion, its lag, and GET /logs's latency."""
    need_file(FEED, "run `make bench` (it builds build/bench/pipeline_feed)")
    need_file(ULOGD, "run `make`")
    started = time.monotonic()
    try:
        rates = [int(r) for r in args.store_rates.split(",") if r.strip()]
    except ValueError:
        raise BenchError(f"--store-rates wants rates like 10000,50000, not {args.store_rates!r}") \
            from None
    flat, problems, kept = {True: [], False: []}, [], None
    try:
        for run in range(args.store_runs):
            for store_on in ([False, True] if run % 2 == 0 else [True, False]):
                result, _ = run_once(work, f"flat-{'on' if store_on else 'off'}-{run}", store_on,
                                     args.store_lines, span=DAY)
                flat[store_on].append(result)
        # The store queried must hold everything all.log has: a queue that
        # holds the whole burst, so that nothing is dropped.
        fill, kept = run_once(work, "fill", True, args.store_fill_lines, span=DAY, keep=True,
                              queue="1G")
        metrics = kept.metrics()
        window_start = int(fill["feed"]["realtime_start"]) - DAY // 2
        window_start -= window_start % 60
        query = query_latency(kept, window_start, args, problems)
        query.update({"rows_in_store": metrics.get("ulog_store_rows", 0),
                      "window_start": window_start})
        kept.stop()
        kept.remove()
        kept = None
        paced = []
        for rate in rates:
            result, _ = run_once(work, f"paced-{rate}", True, rate * args.store_paced_seconds,
                                 rate=rate)
            result["rate"] = rate
            paced.append(result)
    finally:
        if kept:
            kept.ulogd.kill()
    if fill["dropped"]:
        problems.append(f"the fill dropped {fill['dropped']:.0f} records from the store despite "
                        "ULOG_STORE_QUEUE=1G")
    for r in flat[True] + [fill] + paced:
        if r.get("errors"):
            problems.append(f"{r['name']}: ulog_store_errors_total rose by {r['errors']:.0f}")
        if r.get("sampler_error"):
            problems.append(f"{r['name']}: GET /metrics failed at least once: {r['sampler_error']}")
    return report(args, flat, fill, paced, query, problems, time.monotonic() - started)
