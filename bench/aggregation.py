"""aggregation.py - the `aggregation` section of `make bench`: many processes
logging flat out into one file, through ulog and through the collectors its
users have today.

The workload is the same for every contender: build/bench/writer
(bench/writer.c) forks 1, 8 or 64 writers, releases them at once, and each
writes its share of a fixed number of lines as fast as it can, one system
call per line; every line is unique ("w{writer:03d} {seq:08d} " then padding,
short = 100 bytes, long = 1000 bytes, plus "\\n"), so that the collector's file
can be checked line by line. The contenders:

  ulog              writers under the shim (LD_PRELOAD=build/libulog.so, stdout on
                    /dev/null), a real build/ulogd (ULOG_ENV=production, the
                    default pipeline) writing all.log        -- this module
  rsyslog           writers send RFC 3164 datagrams to imuxsock on a socket of its
                    own, omfile writes the message           -- syslog_peers.py
  syslog-ng         the same datagrams into a unix-dgram source, a file
                    destination                              -- syslog_peers.py
  docker json-file  the writer in a container, its stdout through containerd-shim
                    to a real dockerd's json-file driver     -- docker_peer.py

Every contender follows one interface, so that this module can run them in
turn and never needs to know how each works:

    class Contender:
        name: str                       # "ulog", "rsyslog", "syslog-ng", "docker json-file"
        def setup(self, work_dir): ...  # install check / start the collector; raise
                                        # PeerMissing(reason) if it cannot run here
        def run(self, writers, line_bytes, lines_per_writer) -> dict:
            # start `writers` concurrent writer processes, each writing
            # `lines_per_writer` lines of exactly `line_bytes` bytes (plus "\\n"),
            # each line unique: "w{writer:03d} {seq:08d} " + padding; wait until
            # the collector's file holds every line or the collector reported drops
            # for the rest (or a timeout: then the run is marked incomplete).
            # Returns {"wall_s", "collector_cpu_s", "writers_cpu_s",
            #   "collector_peak_rss_kib", "delivered", "dropped",
            #   "bytes_written" (file growth), "complete": bool, "note": str}
        def teardown(self): ...         # stop what setup started (only processes
                                        # it started, by pid)
    class PeerMissing(Exception): ...

A peer that cannot run here (not installed, no engine) is reported as
"missing: <why>", never faked, and the others run all the same. The section
runs rounds; in each round every contender runs every (writers, length)
cell once, the contenders' order rotating from cell to cell and round to
round so that drift on the machine hits them alike. Only a complete run (every
line in the file, or counted as dropped by whoever dropped it) gives a speed.
Python 3 standard library only.
"""

import importlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from benchlib import (BUILD, ULOGD, BenchError, Ulogd, clean_env, fmt, need_file, positive,
                      spread, table)

WRITER = os.path.join(BUILD, "bench", "writer")
LIBULOG = os.path.join(BUILD, "libulog.so")
SERVICE = "agg_writer"
LENGTHS = [("short", 100), ("long", 1000)]
# How long a run may go without a new line, once the writers have exited,
# before it is given up as incomplete.
STALL_S = 5.0


class PeerMissing(Exception):
    """This contender cannot run here; the message says why."""


# --- what every contender measures the same way ---------------------------------------

def cpu_split(pid):
    """(user, system) CPU seconds of the whole process so far, every thread,
    those that have exited too (/proc/PID/stat, in clock ticks)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def cpu_seconds(pid):
    return sum(cpu_split(pid))


def write_calls(pid):
    """How many write system calls the process has made so far (syscw of
    /proc/PID/io: write, writev and their kin, not sendmsg); None where the
    kernel keeps no such count."""
    try:
        with open(f"/proc/{pid}/io", encoding="ascii") as f:
            for line in f:
                if line.startswith("syscw:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def snapshot(pid):
    """What result() compares before and after a run."""
    return cpu_split(pid), write_calls(pid)


def peak_rss_kib(pid):
    """VmHWM: the most memory the process has held at once."""
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


class Follower:
    """Reads a file as it grows and counts, in its complete lines, those that
    `scan(bytes) -> (lines, dropped)` recognises; t_last is when the last
    counted line was read."""

    def __init__(self, path, scan, offset=0):
        self.path, self.scan, self.offset = path, scan, offset
        self.f, self.rest = None, b""
        self.lines = self.dropped = 0
        self.done_bytes = 0  # bytes of complete lines read so far
        self.t_last, self.t_read = None, time.monotonic()

    def poll(self):
        """Reads what is new; True if there was anything."""
        if self.f is None:
            try:
                self.f = open(self.path, "rb")
            except FileNotFoundError:
                return False
            self.f.seek(self.offset)
        chunk = self.f.read(8 << 20)
        if not chunk:
            return False
        self.t_read = time.monotonic()
        data = self.rest + chunk
        cut = data.rfind(b"\n") + 1
        self.rest = data[cut:]
        self.done_bytes += cut
        lines, dropped = self.scan(data[:cut])
        if lines or dropped:
            self.lines += lines
            self.dropped += dropped
            self.t_last = self.t_read
        return True

    def close(self):
        if self.f:
            self.f.close()


def read_report(path):
    """The writer's key=value line, as numbers; {} if there is none."""
    try:
        with open(path, encoding="ascii") as f:
            text = f.read().strip()
    except OSError:
        return {}
    return {k: float(v) if "." in v else int(v)
            for k, v in (pair.split("=", 1) for pair in text.split())}


def drive(argv, env, follower, expected, directory):
    """Runs the writer program (its report goes to $WRITER_REPORT) and
    follows the collector's file until every line is accounted for: in the
    file, counted as dropped in it, or counted by the writer as a failed
    send. Gives up when the writers are done and the file has not grown for
    STALL_S. The wall time runs from the writer program's start until the
    file held the last line."""
    report_path = env["WRITER_REPORT"]
    limit = 60 + expected / 5000
    report = None
    t0 = time.monotonic()
    with open(os.path.join(directory, "writer.stderr"), "wb") as err:
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
    try:
        while True:
            grew = follower.poll()
            if report is None and proc.poll() is not None:
                t_exit, report = time.monotonic(), read_report(report_path)
            writer_dropped = (report or {}).get("dropped", 0)
            if follower.lines + follower.dropped + writer_dropped >= expected:
                complete = True
                break
            now = time.monotonic()
            if (report is not None and now - follower.t_read > STALL_S) or now - t0 > limit:
                complete = False
                break
            if not grew:
                time.sleep(0.005)
        t_done = follower.t_last or time.monotonic()
        if writer_dropped:
            t_done = max(t_done, t_exit)
        if report is None:
            proc.wait(60)
            report = read_report(report_path)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return {"wall_s": t_done - t0, "complete": complete, "report": report,
            "status": proc.returncode}


def check_lines(found, writers, lines_per_writer, line_bytes):
    """`found`: (writer, seq, line length) of every line recognised in the
    file. Distinct intact lines, and what was wrong with the rest."""
    seen, duplicate, bad = set(), 0, 0
    for writer, seq, length in found:
        key = (int(writer), int(seq))
        if length != line_bytes or key[0] >= writers or key[1] >= lines_per_writer:
            bad += 1
        elif key in seen:
            duplicate += 1
        else:
            seen.add(key)
    return len(seen), duplicate, bad


def describe_problems(delivered, duplicate, bad, expected, dropped, report, status):
    notes = []
    if delivered + dropped != expected:
        notes.append(f"{expected - delivered - dropped} lines neither in the file nor counted "
                     "as dropped")
    if duplicate:
        notes.append(f"{duplicate} lines twice")
    if bad:
        notes.append(f"{bad} lines cut or altered")
    if not report:
        notes.append("no report from the writer")
    elif report.get("failed"):
        notes.append(f"the writer could not write {report['failed']} lines")
    if status not in (0, None):
        notes.append(f"the writer exited with {status}")
    return notes


def result(run, before, after, peak, delivered, dropped, grown, notes):
    """The interface's dict, from what a contender of this module measured
    (`before` and `after` are snapshot()s of the collector)."""
    report = run["report"] or {}
    (cpu0, writes0), (cpu1, writes1) = before, after
    user, system = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
    return {
        "wall_s": run["wall_s"], "collector_cpu_s": user + system,
        "writers_cpu_s": (report["user_s"] + report["sys_s"]) if "user_s" in report else None,
        "collector_peak_rss_kib": peak, "delivered": delivered, "dropped": dropped,
        "bytes_written": grown, "complete": run["complete"] and not notes,
        "note": "; ".join(notes),
        # extras for the reading
        "collector_system_share": system / (user + system) if user + system else None,
        "writers_wall_s": report.get("wall_s"),
        "collector_write_calls": (writes1 - writes0) if writes0 is not None and writes1 is not None
        else None,
    }


# --- ulog: the shim and a real ulogd ---------------------------------------------------

MESSAGE = re.compile(rb'"message":"w(\d{3}) (\d{8}) (x*)"')


def _scan_all_log(data):
    """Writer lines in a piece of all.log, and the messages `dropped` records
    of the writers count (one message per write here)."""
    lines = data.count(b'"message":"w')
    dropped = 0
    if b'"event_type":"dropped"' in data:
        for text in data.split(b"\n"):
            if b'"event_type":"dropped"' in text:
                r = json.loads(text)
                if r.get("service") == SERVICE and r.get("source") == "preload":
                    dropped += r.get("metadata", {}).get("dropped_messages", 0)
    return lines, dropped


class UlogContender:
    """The writers under the shim, a real build/ulogd started afresh for
    every run (so that its peak RSS and all.log are the run's own)."""

    name = "ulog"

    def setup(self, work_dir):
        need_file(ULOGD, "run `make`")
        need_file(LIBULOG, "run `make`")
        self.work = work_dir
        self.ulogd = None

    def run(self, writers, line_bytes, lines_per_writer):
        expected = writers * lines_per_writer
        directory = tempfile.mkdtemp(prefix="ulog-", dir=self.work)
        self.ulogd = ulogd = Ulogd(directory, None, {"ULOG_ENV": "production"})
        try:
            ulogd.wait_idle(quiet=0.1)
            size0, before = os.path.getsize(ulogd.log_path), snapshot(ulogd.proc.pid)
            follower = Follower(ulogd.log_path, _scan_all_log, size0)
            env = clean_env({"LD_PRELOAD": LIBULOG, "ULOG_SOCKET": ulogd.socket,
                             "ULOG_SERVICE": SERVICE,
                             "WRITER_REPORT": os.path.join(directory, "writer.report")})
            run = drive([WRITER, "stdout", str(writers), str(lines_per_writer), str(line_bytes)],
                        env, follower, expected, directory)
            after, peak = snapshot(ulogd.proc.pid), peak_rss_kib(ulogd.proc.pid)
            follower.close()
            ulogd.stop()
        finally:
            ulogd.kill()
            self.ulogd = None
        found, dropped = [], 0
        with open(ulogd.log_path, "rb") as f:
            f.seek(size0)
            for text in f:
                m = MESSAGE.search(text)
                if m:
                    found.append((m.group(1), m.group(2), len(m.group(3)) + 14))
                elif b'"event_type":"dropped"' in text:
                    dropped += _scan_all_log(text)[1]
        shutil.rmtree(directory, ignore_errors=True)
        delivered, duplicate, bad = check_lines(found, writers, lines_per_writer, line_bytes)
        notes = describe_problems(delivered, duplicate, bad, expected, dropped, run["report"],
                                  run["status"])
        return result(run, before, after, peak, delivered, dropped, follower.done_bytes, notes)

    def teardown(self):
        if self.ulogd is not None:
            self.ulogd.kill()


# --- the section -------------------------------------------------------------------------

def add_arguments(parser):
    parser.add_argument("--aggregation-rounds", type=positive, default=3,
                        help="rounds of every contender and cell (default 3)")
    parser.add_argument("--aggregation-short-lines", type=positive, default=200000,
                        help="lines of 100 bytes per run, shared by the writers (default 200000)")
    parser.add_argument("--aggregation-long-lines", type=positive, default=100000,
                        help="lines of 1000 bytes per run (default 100000)")
    parser.add_argument("--aggregation-writers", default="1,8,64",
                        help="writer counts, comma-separated (default 1,8,64)")
    parser.add_argument("--aggregation-share", default=DEFAULT_SHARE,
                        help="NAME=FRACTION,...: contenders whose runs write only that share of "
                             f"the lines, to fit the time budget (default {DEFAULT_SHARE})")
    parser.add_argument("--aggregation-contenders", default=",".join(CONTENDERS),
                        help=f"which contenders run (default {','.join(CONTENDERS)})")


CONTENDERS = ["ulog", "rsyslog", "syslog-ng", "docker"]
# syslog-ng takes ~30 us of CPU per line: half the lines still make runs of
# seconds, and keep the section within its budget.
DEFAULT_SHARE = "syslog-ng=0.5"


class Missing:
    """A contender that cannot run here, and why."""

    def __init__(self, name, reason):
        self.name, self.reason = name, reason


def _docker_contender():
    module = importlib.import_module("docker_peer")
    cls = getattr(module, "DockerJsonFile", None)
    if cls is None:
        cls = next(c for c in vars(module).values()
                   if isinstance(c, type) and isinstance(getattr(c, "name", None), str)
                   and all(hasattr(c, m) for m in ("setup", "run", "teardown")))
    return cls()


def _contenders(wanted):
    made = []
    for name in wanted:
        if name not in CONTENDERS:
            raise BenchError(f"--aggregation-contenders: no contender {name!r} "
                             f"(there are {', '.join(CONTENDERS)})")
        try:
            if name == "ulog":
                made.append(UlogContender())
            elif name == "rsyslog":
                made.append(importlib.import_module("syslog_peers").Rsyslog())
            elif name == "syslog-ng":
                made.append(importlib.import_module("syslog_peers").SyslogNg())
            else:
                made.append(_docker_contender())
        except Exception as e:  # a peer's module that cannot even load is missing, not fatal
            made.append(Missing("docker json-file" if name == "docker" else name,
                                f"its module cannot be loaded: {type(e).__name__}: {e}"))
    return made


def _setup(contenders, work):
    """Sets each up; one that cannot run here becomes Missing."""
    for i, c in enumerate(contenders):
        if isinstance(c, Missing):
            continue
        directory = os.path.join(work, c.name.replace(" ", "-"))
        os.makedirs(directory, exist_ok=True)
        t = time.monotonic()
        try:
            c.setup(directory)
        except BenchError:
            raise
        except Exception as e:
            try:
                c.teardown()
            except Exception:
                pass
            contenders[i] = Missing(c.name, str(e) or type(e).__name__)
            continue
        c.setup_s = time.monotonic() - t
        if c.name == "ulog":
            c.version = subprocess.run([ULOGD, "--version"], capture_output=True, text=True,
                                       timeout=20).stdout.strip() + " (build/ulogd, this tree)"
        elif not getattr(c, "version", None) and getattr(c, "info", {}).get("server_version"):
            c.version = f"Docker Engine {c.info['server_version']} ({c.info.get('engine', '')})"


def _shares(text):
    shares = {}
    for item in filter(None, (t.strip() for t in text.split(","))):
        name, _, value = item.partition("=")
        try:
            shares[name.strip()] = float(value)
        except ValueError:
            raise BenchError(f"--aggregation-share: {item!r} is not NAME=FRACTION") from None
    return shares


def _failed_run(e):
    return {"wall_s": None, "collector_cpu_s": None, "writers_cpu_s": None,
            "collector_peak_rss_kib": None, "delivered": 0, "dropped": 0, "bytes_written": 0,
            "complete": False, "note": f"the run failed: {type(e).__name__}: {e}"}


def aggregation(args, work):
    """Aggregation throughput: ulog against rsyslog, syslog-ng and docker."""
    need_file(WRITER, "run `make bench` (it builds build/bench/writer)")
    writer_counts = [int(w) for w in args.aggregation_writers.split(",")]
    shares = _shares(args.aggregation_share)
    started = time.monotonic()
    contenders = _contenders([w.strip() for w in args.aggregation_contenders.split(",")
                              if w.strip()])
    cells = [(w, length, size) for length, size in LENGTHS for w in writer_counts]
    results = {(c.name, w, size): [] for c in contenders for w, _, size in cells}
    ready = []
    try:
        _setup(contenders, work)
        ready = [c for c in contenders if not isinstance(c, Missing)]
        for rnd in range(args.aggregation_rounds):
            print(f"aggregation: round {rnd + 1} of {args.aggregation_rounds} "
                  f"({time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True)
            for index, (writers, length, size) in enumerate(cells):
                total = (args.aggregation_short_lines if length == "short"
                         else args.aggregation_long_lines)
                turn = (rnd + index) % max(len(ready), 1)
                for c in ready[turn:] + ready[:turn]:
                    share = shares.get(c.name, shares.get(c.name.split()[0], 1.0))
                    per_writer = max(1, int(total * share) // writers)
                    try:
                        r = c.run(writers, size, per_writer)
                    except BenchError:
                        raise
                    except Exception as e:
                        r = _failed_run(e)
                    r["expected"] = writers * per_writer
                    results[(c.name, writers, size)].append(r)
    finally:
        for c in ready:
            try:
                c.teardown()
            except Exception as e:
                print(f"aggregation: {c.name} teardown: {e}", file=sys.stderr)
    return _report(args, contenders, cells, results, time.monotonic() - started)


# --- the report ----------------------------------------------------------------------------

def _good(runs):
    return [r for r in runs if r.get("complete") and r.get("wall_s") and r.get("delivered")]


def _figures(runs):
    """Medians over a cell's complete runs; None if there is none."""
    good = _good(runs)
    if not good:
        return None
    both = [r for r in good if r.get("collector_cpu_s") is not None
            and r.get("writers_cpu_s") is not None]
    series = {
        "lines_s": [r["delivered"] / r["wall_s"] for r in good],
        "mb_s": [r["bytes_written"] / r["wall_s"] / 1e6 for r in good],
        "bytes_line": [r["bytes_written"] / r["delivered"] for r in good],
        # the collector per line it delivered, the writers per line they wrote
        "collector": [r["collector_cpu_s"] / r["delivered"] * 1e6 for r in good
                      if r.get("collector_cpu_s") is not None],
        "writers": [r["writers_cpu_s"] / r["expected"] * 1e6 for r in good
                    if r.get("writers_cpu_s") is not None],
        "total": [r["collector_cpu_s"] / r["delivered"] * 1e6
                  + r["writers_cpu_s"] / r["expected"] * 1e6 for r in both],
        "busy": [r["collector_cpu_s"] / r["wall_s"] for r in good
                 if r.get("collector_cpu_s") is not None],
        "rss": [r["collector_peak_rss_kib"] / 1024 for r in good
                if r.get("collector_peak_rss_kib")],
        "system": [r["collector_system_share"] for r in good
                   if r.get("collector_system_share") is not None],
        "start": [r["start_s"] for r in good if r.get("start_s") is not None],
        "writes": [r["collector_write_calls"] / r["delivered"] * 1000 for r in good
                   if r.get("collector_write_calls") is not None],
    }
    f = {k: (spread(v)[0] if v else None) for k, v in series.items()}
    f["lines_range"] = (min(series["lines_s"]), max(series["lines_s"]))
    f["runs"], f["good"] = len(runs), len(good)
    written = sum(r["expected"] for r in runs)
    f["dropped"] = sum(r.get("dropped") or 0 for r in runs)
    f["drop_share"] = f["dropped"] / written if written else 0
    f["dropped_runs"] = sum(1 for r in runs if r.get("dropped"))
    return f


def _ratio(value, base):
    if value is None or not base:
        return "n/a"
    return f"{value / base:.2f}"


def _opt(value, digits):
    return "n/a" if value is None else fmt(value, digits)


def _cell_name(writers, length, size):
    return f"{writers} writer{'s' if writers > 1 else ''}, {length} lines"


INTRO = """\
Many processes logging flat out into one file: 1, 8 and 64 concurrent writers, each writing \
its share of a fixed number of lines as fast as it can, one system call per line, through ulog \
and through the collectors ulog's users have today. The same program writes for every \
contender: `build/bench/writer` ([bench/writer.c](../bench/writer.c)) forks the writers, \
releases them at once, and each writes unique lines (`w007 00001234 xxx…`: writer, number, \
padding) of exactly 100 bytes (short) or 1 000 bytes (long) plus a newline, then reports the \
writers' CPU time (`getrusage(RUSAGE_CHILDREN)`, which includes what the shim or the socket \
costs them).

- **ulog**: the writers under the shim (`LD_PRELOAD=build/libulog.so`, stdout on `/dev/null`, \
so the shim is its only reader) and a real `build/ulogd` (`ULOG_ENV=production`, the default \
pipeline) writing `all.log`, started afresh for every run; \
[bench/aggregation.py](../bench/aggregation.py). The shim never makes the program wait: what \
ulogd cannot take yet waits in the shim's 8 MiB buffer, and beyond that is dropped and counted \
(`dropped` records in all.log).
- **rsyslog** and **syslog-ng**: each writer sends every line as an RFC 3164 datagram \
(`<14>writer[PID]: line`) on a blocking `AF_UNIX` datagram socket, so that a busy collector \
makes the writers wait instead of losing lines. rsyslog (`rsyslogd -n`) reads it with \
`imuxsock` on a socket of its own, rate limit off; syslog-ng (`syslog-ng -F`) with a \
`unix-dgram` source, `flags(flow-control)` on its log path and otherwise its defaults, among \
them reading the sender's credentials and `/proc` entries for every datagram, as its \
`system()` source does with `/dev/log`. Each writes the message alone to a file, and each is \
started afresh for every run with a configuration of its own \
([bench/syslog_peers.py](../bench/syslog_peers.py)); neither touches `/dev/log` or the \
system's configuration. Both come from Debian, unpacked under `build/peers` rather than \
installed (the two packages conflict, and installing either sets up a system logger).
- **docker json-file**: the writer (built static) alone in a container (`--network none`), its \
stdout going through containerd-shim to a real `dockerd` and its json-file logging driver; \
dockerd runs for the whole section and a container is started for every run \
([bench/docker_peer.py](../bench/docker_peer.py)); its wall time includes the container's \
start.

**lines/s** is the lines that reached the file over the wall time from the start of the writer \
program until the file held the last of them (the harness follows the file as it grows; \
ulogd, which writes at least every 100 ms, may hold the last lines that long); **file MB/s** \
is what the file grew by over the same time, in each collector's own format (a ulog record is \
JSON with the line's time, service, host, pid and stream). **dropped** is the lines counted as \
dropped over the case's runs, and their share of the lines written. **collector CPU** is \
the collector's CPU time over the run (all its threads, `/proc/PID/stat`, 10 ms ticks; for \
docker, dockerd and the container's containerd-shim) per million lines it delivered; \
**busy** is that CPU time over the wall time, in cores; **writers CPU** is the writers' own \
per million lines written; **all CPU** adds the two. **peak RSS** is the collector's `VmHWM` \
in the run (for docker, dockerd's). `× ulog` compares medians with ulog's in the same table: \
above 1.00 is faster for lines/s, costlier for CPU. The machine has 2 CPUs, shared by the \
writers and the collector."""


def _report(args, contenders, cells, results, elapsed):
    out = [INTRO, ""]
    w = out.append
    shares = _shares(args.aggregation_share)
    w(f"A run gives a speed only if every line written is in the file, whole and exactly once, "
      f"or was counted as dropped (by the shim's `dropped` records, or by the writer for a send "
      f"that failed); otherwise it is listed as incomplete under *Delivery*. "
      f"{fmt(args.aggregation_short_lines)} short or {fmt(args.aggregation_long_lines)} long "
      f"lines per run, split evenly among the writers"
      + "".join(f"; {name}'s runs write {100 * share:.0f} % of that"
                for name, share in shares.items()
                if share != 1.0)
      + f". {args.aggregation_rounds} rounds: in each, every contender runs every table's case "
      "once, in an order that rotates from case to case and round to round, so that drift on "
      "the machine hits all alike.")
    w("")
    share_arg = args.aggregation_share or "''"
    w("Reproduce with `make bench`, or, once `make all build/bench/writer` has run:")
    w("")
    w("```sh")
    w(f"python3 bench/run_shim_cost.py --only aggregation --aggregation-rounds "
      f"{args.aggregation_rounds} --aggregation-short-lines {args.aggregation_short_lines} "
      f"--aggregation-long-lines {args.aggregation_long_lines} --aggregation-writers "
      f"{args.aggregation_writers} --aggregation-share {share_arg} "
      f"--aggregation-contenders {args.aggregation_contenders}")
    w("```")
    w("")
    present = [c for c in contenders if not isinstance(c, Missing)]
    for c in contenders:
        if isinstance(c, Missing):
            w(f"- **{c.name}**: missing: {c.reason}")
        else:
            w(f"- **{c.name}**: {getattr(c, 'version', None) or 'version unknown'}")
    w("")

    figures = {}
    for writers, length, size in cells:
        w(f"### {_cell_name(writers, length, size)} ({size} bytes)")
        w("")
        base = figures[("ulog", writers, size)] = _figures(results.get(("ulog", writers, size), []))
        rows = []
        for c in contenders:
            if isinstance(c, Missing):
                rows.append([c.name, "missing"] + [""] * 11)
                continue
            runs = results[(c.name, writers, size)]
            f = figures[(c.name, writers, size)] = _figures(runs)
            if f is None:
                rows.append([c.name, "incomplete"] + [""] * 10 + [f"0 of {len(runs)}"])
                continue
            lo, hi = f["lines_range"]
            rows.append([
                c.name, f"{fmt(f['lines_s'])} ({fmt(lo)} – {fmt(hi)})",
                _ratio(f["lines_s"], base and base["lines_s"]), _opt(f["mb_s"], 1),
                f"{fmt(f['dropped'])} ({100 * f['drop_share']:.1f} %)" if f["dropped"] else "0",
                _opt(f["collector"], 2), _ratio(f["collector"], base and base["collector"]),
                _opt(f["busy"], 2), _opt(f["writers"], 2), _opt(f["total"], 2),
                _ratio(f["total"], base and base["total"]), _opt(f["rss"], 1),
                f"{f['good']} of {f['runs']}",
            ])
        w(table(["contender", "lines/s (min – max)", "× ulog", "file MB/s", "dropped",
                 "collector CPU s / M lines", "× ulog", "busy", "writers CPU s / M lines",
                 "all CPU s / M lines", "× ulog", "peak RSS MiB", "complete runs"], rows))
        w("")

    w("### Delivery")
    w("")
    rows, problems = [], []
    for c in present:
        runs = [r for (name, _, _), rs in results.items() if name == c.name for r in rs]
        written = sum(r["expected"] for r in runs)
        delivered = sum(r.get("delivered") or 0 for r in runs)
        dropped = sum(r.get("dropped") or 0 for r in runs)
        rows.append([c.name, f"{len(_good(runs))} of {len(runs)}", fmt(written), fmt(delivered),
                     fmt(dropped), fmt(written - delivered - dropped)])
        for (name, writers, size), rs in results.items():
            for i, r in enumerate(rs):
                if name == c.name and r not in _good(rs):
                    problems.append(f"- {c.name}, {writers} writers, {size}-byte lines, round "
                                    f"{i + 1}: {r.get('note') or 'incomplete'}")
    w(table(["contender", "complete runs", "lines written", "in the file", "counted as dropped",
             "neither"], rows))
    w("")
    if problems:
        w("Incomplete runs (no speed is reported from them):")
        w("")
        out.extend(problems)
        w("")
    w(_reading([c.name for c in present], cells, figures))
    w("")
    w(f"The section took {elapsed:.0f} s"
      + "".join(f"; {c.name}'s set-up {c.setup_s:.0f} s" for c in present
                if getattr(c, "setup_s", 0) >= 1) + ".")
    return "\n".join(out)


def _span(values, digits=2, unit="×"):
    values = [v for v in values if v is not None]
    if not values:
        return None
    lo, hi = min(values), max(values)
    if f"{lo:.{digits}f}" == f"{hi:.{digits}f}":
        return f"{lo:.{digits}f}{unit}"
    return f"{lo:.{digits}f}–{hi:.{digits}f}{unit}"


def _reading(names, cells, figures):
    """The reading: every figure in it comes from this run's tables."""
    parts = ["### Reading", ""]
    w = parts.append
    ulog = {cell: figures.get(("ulog",) + cell[::2]) for cell in cells}
    if "ulog" not in names or not any(ulog.values()):
        w("- ulog has no complete run, so there is nothing to compare with.")
        return "\n".join(parts)
    peers = [n for n in names if n != "ulog"
             and any(f for (m, _, _), f in figures.items() if m == n)]
    if not peers:
        w("- No peer has a complete run here, so there is nothing to compare ulog with.")

    def ratios(name, key):
        """(cell, ulog's median / the peer's) over the cells both have."""
        found = []
        for cell in cells:
            u, p = ulog[cell], figures.get((name,) + cell[::2])
            if u and p and u.get(key) and p.get(key):
                found.append((cell, u[key] / p[key]))
        return found

    def listed(pairs):
        return "; ".join(f"{_cell_name(*cell)} ({r:.2f}×)" for cell, r in pairs)

    wins, losses = [], []
    for name in peers:
        speed, cpu, won = ratios(name, "lines_s"), ratios(name, "total"), []
        faster = [r for _, r in speed if r >= 1]
        if faster:
            won.append(f"{_span(faster)} the lines/s ({len(faster)} of {len(speed)} cases)")
        slower = [(cell, r) for cell, r in speed if r < 1]
        if slower:
            losses.append(f"fewer lines/s than {name} in: {listed(slower)}")
        cheaper = [r for _, r in cpu if r < 1]
        if cheaper:
            won.append(f"{_span(cheaper)} the CPU per line, collector and writers together "
                       f"({len(cheaper)} of {len(cpu)} cases)")
        if won:
            wins.append(f"against {name}: " + " and ".join(won))
        dearer = [(cell, r) for cell, r in cpu if r >= 1]
        if dearer:
            mine = [ulog[cell].get("writers") for cell, _ in dearer]
            theirs = [figures[(name,) + cell[::2]].get("writers") for cell, _ in dearer]
            losses.append(f"more CPU per line than {name} in: {listed(dearer)}"
                          + (f"; there ulog's writers spent {_span(mine, 1, ' s')} per million "
                             f"lines, {name}'s {_span(theirs, 1, ' s')}: the shim's `sendmsg` "
                             "per line costs the program more than a plain `write`"
                             if None not in mine + theirs else ""))
    rss = {n: [f["rss"] for (m, _, _), f in figures.items() if m == n and f and f.get("rss")]
           for n in names}
    if rss.get("ulog") and any(rss.get(n) for n in peers):
        smaller = [n for n in peers if rss.get(n) and max(rss["ulog"]) < min(rss[n])]
        memory = (f"memory: ulogd's peak RSS {_span(rss['ulog'], 1, ' MiB')} against "
                  + ", ".join(f"{n}'s {_span(rss[n], 1, ' MiB')}" for n in peers if rss.get(n)))
        (wins if len(smaller) == len([n for n in peers if rss.get(n)]) else losses).append(memory)
    drops = [(cell, f) for cell, f in ulog.items() if f and f["dropped"]]
    peer_drops = sorted({m for (m, _, _), f in figures.items() if m != "ulog" and f
                         and f["dropped"]})
    if drops:
        losses.append(
            "it drops lines, where the others make the writers wait: "
            + "; ".join(f"{_cell_name(*cell)}: {100 * f['drop_share']:.1f} % of the lines "
                        f"({f['dropped_runs']} of {f['runs']} runs)" for cell, f in drops)
            + ". There the writers produce lines faster than ulogd takes them; once the shim's "
            "8 MiB buffer is full the rest is dropped and counted, exactly (every line is in "
            "all.log or in a `dropped` record), because the shim never makes the program "
            "wait; ulog's lines/s there counts only the lines that reached all.log. The syslog "
            "daemons and docker block the writer instead (a full socket, a full pipe), so the "
            "program runs at the collector's pace"
            + (f" (and {', '.join(peer_drops)} dropped lines too, see the tables)"
               if peer_drops else ", and lose nothing"))
    for title, items in (("Where ulog wins", wins), ("Where ulog loses", losses)):
        if not peers and not items:
            continue
        w(f"- **{title}**:" + ("" if items else " nowhere in this run."))
        for item in items:
            w(f"  - {item[0].upper()}{item[1:]}.")
    w("")
    w("What limits each (CPU per million lines, the collector's then the writers'; **writes** "
      "are the collector's write system calls per 1 000 lines, from `/proc/PID/io`):")
    w("")
    per = {name: [f for (m, _, _), f in figures.items() if m == name and f] for name in names}

    def values(name, key, scale=1):
        return [f[key] * scale for f in per.get(name, []) if f.get(key) is not None]

    for name in names:
        if not per[name]:
            continue
        facts = [("collector", _span(values(name, "collector"), 1, " s")),
                 ("busy", _span(values(name, "busy"), 2, " cores")),
                 ("in the kernel", _span(values(name, "system", 100), 0, " %")),
                 ("writes", _span(values(name, "writes"), 0, "")),
                 ("writers", _span(values(name, "writers"), 1, " s"))]
        text = f"- **{name}**: " + "; ".join(f"{label} {value}" for label, value in facts
                                              if value) + ". "
        if name == "ulog":
            others = "; ".join(f"{n}'s {_span(values(n, 'writers'), 1, ' s')}" for n in names
                               if n != "ulog" and values(n, "writers"))
            bound = [f["lines_s"] * f["total"] / 2e6 for f in per[name] if f.get("total")]
            text += ("ulogd handles lines on one thread and batches its writes (at least every "
                     "100 ms). The writers pay for the shim: one `sendmsg` per line"
                     + (f" (writers' CPU elsewhere: {others})" if others else "")
                     + ". On 2 cores writers and ulogd share the machine: the measured lines/s "
                     f"is {_span([100 * b for b in bound], 0, ' %')} of what two fully busy "
                     "cores would give at ulog's CPU per line; the rest is time when one of "
                     "them waited: the writers' start and exit, ulogd's last flush (up to "
                     "100 ms), and, where lines were dropped, ulogd working alone through the "
                     "shim's buffer after the writers were done. Long lines cost ulogd more "
                     "per line (the default redaction's regexes and the JSON encoding go over "
                     "the whole line), which is where one or a few fast writers outrun it.")
        elif name == "rsyslog":
            text += ("imuxsock receives each datagram on its own thread and hands it to the "
                     "main queue's worker thread, which writes the file in small batches: the "
                     "threads wake each other (futex), and most of its time is system calls.")
        elif name == "syslog-ng":
            text += ("By default it reads the sender's credentials with every datagram and "
                     "looks the process up in `/proc` (strace: `/proc/PID/cmdline`, "
                     "`loginuid` and `sessionid` opened, read and closed, `exe` read, for "
                     "every message): most of its time, and one setting (`so-passcred(no)`) "
                     "away, which this benchmark leaves at its default.")
        elif name.startswith("docker"):
            start = _span(values(name, "start"), 2, " s")
            text += ("The writers' lines cross a pipe to containerd-shim, which copies them in "
                     "blocks to a FIFO, to dockerd, which splits them, wraps each in JSON with a "
                     "timestamp and writes it"
                     + (f"; the container's start ({start}) is part of each run's wall time"
                        if start else "") + ".")
        w(text)
    return "\n".join(parts)
