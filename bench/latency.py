"""latency.py - three sections of `make bench` (bench/run_shim_cost.py):

  lttng    the reference for "close to the limit": what one LTTng-UST event
           costs a program while a session records it, next to a bare
           write() of the same line, measured in the same process;
  latency  at a fixed rate (10 000 lines/s), the time from a program's
           write() to the line being readable in all.log: p50, p99, max;
  memory   ulogd's resident memory idle and under 1, 8 and 64 writers, and
           what the shim adds to the memory of each process it is loaded in.

Python 3 standard library only; the programs it runs are built by `make
bench` into build/bench/ from bench/lttng_event.c (+ lttng_tp.h, linked with
-llttng-ust -ldl), bench/paced_writer.c, bench/latency_reader.c, and the
aggregation benchmark's bench/writer.c. What cannot run here (LTTng not
installed, say) is reported in its section as missing, with the reason,
never replaced by another figure.
"""

import json
import os
import pwd
import re
import shutil
import signal
import statistics
import subprocess
import time

from benchlib import (BUILD, ULOGD, BenchError, Ulogd, clean_env, fmt, need_file, positive,
                      spread, table)

LIBULOG = os.path.join(BUILD, "libulog.so")
LTTNG_EVENT = os.path.join(BUILD, "bench", "lttng_event")
PACED_WRITER = os.path.join(BUILD, "bench", "paced_writer")
READER = os.path.join(BUILD, "bench", "latency_reader")
WRITER = os.path.join(BUILD, "bench", "writer")
SHIM_BUFFER_MIB = 8  # ULOG_SHIM_BUFFER_DEFAULT, preload/shim.h


def add_arguments(parser):
    add = parser.add_argument
    add("--lttng-runs", type=positive, default=15,
        help="lttng: process runs, each timing both cases (default 15)")
    add("--lttng-ops", type=positive, default=20000,
        help="lttng: events (and writes) per repetition (default 20000)")
    add("--lttng-reps", type=positive, default=3,
        help="lttng: timed repetitions per run, after one warm-up (default 3)")
    add("--latency-runs", type=positive, default=3,
        help="latency: runs of each configuration (default 3)")
    add("--latency-rate", type=positive, default=10000,
        help="latency: lines per second of the paced writer (default 10000)")
    add("--latency-lines", type=positive, default=20000,
        help="latency: lines per run at that rate (default 20000)")
    add("--latency-slow-lines", type=positive, default=3000,
        help="latency: lines per run of the 1 000 lines/s comparison (default 3000)")
    add("--memory-runs", type=positive, default=3,
        help="memory: runs of each load (default 3)")
    add("--memory-lines", type=positive, default=128000,
        help="memory: lines per load, shared among its writers (default 128000)")
    add("--memory-processes", type=positive, default=5,
        help="memory: processes measured per shim configuration (default 5)")


def _missing(path, how):
    """None when `path` is there, else why not (for a 'missing:' row)."""
    if os.access(path, os.X_OK if not path.endswith(".so") else os.R_OK):
        return None
    return f"`{os.path.relpath(path, os.path.dirname(BUILD))}` is not built ({how})"


def _run(argv, timeout=60, stdout=subprocess.PIPE, **kw):
    try:
        return subprocess.run(argv, stdout=stdout, stderr=subprocess.PIPE, text=True,
                              timeout=timeout, **kw)
    except subprocess.TimeoutExpired:
        raise BenchError(f"{' '.join(argv)} did not finish within {timeout} s") from None


def _percentile(sorted_values, p):
    """The nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, -(-len(sorted_values) * p // 100) - 1))
    return sorted_values[int(k)]


def _rng(values, digits=0, scale=1.0):
    return f"{fmt(min(values) / scale, digits)} – {fmt(max(values) / scale, digits)}"


# ==========================================================================================
# lttng: one LTTng-UST event, next to a bare write()
# ==========================================================================================

SESSION = "ulog-bench"


class _Lttng:
    """A session daemon of the benchmark's own, with LTTNG_HOME in the work
    directory, so that it never meets (or disturbs) a system one. As root,
    it and the traced program run as `nobody`: root's session daemon would
    use the system-wide /var/run/lttng whatever LTTNG_HOME says."""

    def __init__(self, work):
        self.dir = os.path.join(work, "lttng")
        self.home = os.path.join(self.dir, "home")
        self.trace = os.path.join(self.dir, "trace")
        os.makedirs(self.home)
        self.ids, self.user = {}, pwd.getpwuid(os.geteuid()).pw_name
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam("nobody")
            except KeyError:
                raise BenchError("running as root, and there is no user `nobody` to run "
                                 "LTTng as") from None
            self.ids, self.user = {"user": pw.pw_uid, "group": pw.pw_gid,
                                   "extra_groups": []}, "nobody"
            os.chmod(work, 0o711)
            for d in (self.dir, self.home):
                os.chown(d, pw.pw_uid, pw.pw_gid)
        self.env = clean_env({"LTTNG_HOME": self.home, "HOME": self.home})
        self.pid = None

    def run(self, argv, timeout=60, **kw):
        return _run(argv, timeout, env=self.env, cwd=self.dir, **self.ids, **kw)

    def lttng(self, *argv):
        out = self.run(["lttng", *argv])
        if out.returncode != 0:
            raise BenchError(f"lttng {' '.join(argv)} exited with {out.returncode}: "
                             f"{(out.stderr or out.stdout).strip()[-400:]}")
        return out.stdout

    def start(self):
        out = self.run(["lttng-sessiond", "--daemonize", "--no-kernel"])
        pid_file = os.path.join(self.home, ".lttng", "lttng-sessiond.pid")
        if out.returncode != 0 or not os.path.exists(pid_file):
            raise BenchError(f"lttng-sessiond --daemonize exited with {out.returncode}: "
                             f"{out.stderr.strip()[-400:]}")
        with open(pid_file, encoding="ascii") as f:
            self.pid = int(f.read().strip())
        self.lttng("create", SESSION, "--output", self.trace)
        self.lttng("enable-event", "--userspace", "ulog_bench:*")
        self.lttng("start")

    def stop(self):
        """Stop recording; the channels' discarded-event counts."""
        self.lttng("stop")
        listing = self.lttng("list", SESSION)
        discarded = sum(int(n) for n in re.findall(r"Discarded events:\s*(\d+)", listing))
        lost = sum(int(n) for n in re.findall(r"Lost packets:\s*(\d+)", listing))
        self.lttng("destroy", SESSION)
        return discarded, lost, listing

    def kill(self):
        """Stop the session daemon started here, by its pid, and only it."""
        if self.pid is None:
            return
        pid, self.pid = self.pid, None
        try:
            with open(f"/proc/{pid}/comm", encoding="ascii") as f:
                if f.read().strip() != "lttng-sessiond":
                    return  # gone, and the pid reused
            os.kill(pid, signal.SIGTERM)
        except (OSError, ValueError):
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with open(f"/proc/{pid}/stat", encoding="ascii") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                        return
            except OSError:
                return
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)


def _lttng_missing():
    for command, package in (("lttng-sessiond", "lttng-tools"), ("lttng", "lttng-tools")):
        if not shutil.which(command):
            return f"`{command}` is not installed (Debian package {package})"
    return _missing(LTTNG_EVENT, "`make bench` builds it when liblttng-ust-dev is installed")


def _read_pairs(path):
    out = {}
    with open(path, encoding="ascii") as f:
        for line in f:
            name, ns, _ops = line.split()
            out.setdefault(name, []).append(float(ns))
    return out


def _lttng_callgrind(session, program, ops):
    """User-space instructions per event and per write (callgrind, inside
    each case's loop): deterministic where the times are not. Returns
    (counts or None, events the runs emitted)."""
    valgrind = shutil.which("valgrind")
    if not valgrind:
        return None, 0
    counts, emitted = {}, 0
    for case in ("event", "write"):
        out = os.path.join(session.dir, f"callgrind.{case}")
        results = os.path.join(session.dir, f"callgrind.{case}.results")
        proc = session.run([valgrind, "--tool=callgrind", f"--callgrind-out-file={out}",
                            f"--toggle-collect=run_{case}", program, "-o", results,
                            "-n", str(ops), "-r", "1"],
                           timeout=120, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        if proc.returncode != 0:
            return None, emitted
        emitted += 2 * ops  # the warm-up and one repetition, both collected
        with open(out, encoding="utf-8", errors="replace") as f:
            m = re.search(r"^(?:summary|totals):\s*(\d+)", f.read(), re.M)
        if not m:
            return None, emitted
        counts[case] = int(m.group(1)) / (2 * ops)
    return counts, emitted


def _count_recorded(trace):
    """Events in the trace, read back with babeltrace2 (one line per event);
    None when babeltrace2 is not installed."""
    bt = shutil.which("babeltrace2")
    if not bt:
        return None
    proc = subprocess.Popen([bt, trace], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    lines = 0
    while chunk := proc.stdout.read(1 << 20):
        lines += chunk.count(b"\n")
    proc.wait()
    return lines if proc.returncode == 0 else None


def lttng(args, work):
    """One LTTng-UST event with an active session, next to a bare write()."""
    reproduce = (f"python3 bench/run_shim_cost.py --only lttng --lttng-runs {args.lttng_runs} "
                 f"--lttng-ops {args.lttng_ops} --lttng-reps {args.lttng_reps}")
    why = _lttng_missing()
    if why:
        return _lttng_missing_report(why, reproduce)
    started = time.monotonic()
    try:
        session = _Lttng(work)
        try:
            measured = _lttng_measure(args, session)
        finally:
            session.kill()
    except (BenchError, OSError) as e:
        return _lttng_missing_report(f"LTTng did not run here: {e}", reproduce)
    recorded = _count_recorded(session.trace)
    return _lttng_report(args, session.user, *measured, recorded, time.monotonic() - started,
                         reproduce)


def _lttng_measure(args, session):
    """The runs, in the session: (samples, instructions, emitted, discarded, lost)."""
    # A copy the traced user can run whatever the permissions on the way to build/.
    program = os.path.join(session.dir, "lttng_event")
    shutil.copy2(LTTNG_EVENT, program)
    samples = {"event": [], "write": []}
    session.start()
    for run in range(args.lttng_runs):
        results = os.path.join(session.dir, f"results.{run}")
        proc = session.run([program, "-o", results, "-n", str(args.lttng_ops),
                            "-r", str(args.lttng_reps)],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        if proc.returncode != 0:
            raise BenchError(f"`lttng_event` exited with {proc.returncode}: "
                             f"{proc.stderr.strip()}")
        for case, values in _read_pairs(results).items():
            samples[case].append(statistics.median(values))
    emitted = args.lttng_runs * (args.lttng_reps + 1) * args.lttng_ops
    instructions, under_callgrind = _lttng_callgrind(session, program, args.lttng_ops)
    emitted += under_callgrind
    discarded, lost, _ = session.stop()
    return samples, instructions, emitted, discarded, lost


def _lttng_missing_report(why, reproduce):
    return "\n".join([
        "The cost of one LTTng-UST event recorded by an active session, the reference for "
        "\"close to the limit\". It did not run here:",
        "",
        table(["case", "median ns/op"], [["LTTng-UST event", f"missing: {why}"]], numeric=False),
        "",
        "`make bench` installs the Debian packages `lttng-tools` and `liblttng-ust-dev` "
        "(and `babeltrace2`, which reads the trace back) and builds `build/bench/lttng_event`; "
        "then reproduce with:",
        "", "```sh", reproduce, "```"])


def _lttng_report(args, user, samples, instructions, emitted, discarded, lost, recorded,
                  seconds, reproduce):
    out = []
    w = out.append
    w("The reference for \"close to the limit\": what a program pays for one event of "
      "[LTTng-UST](https://lttng.org), a tracer built to cost as little as possible, while a "
      "session records it. `build/bench/lttng_event` "
      "([bench/lttng_event.c](../bench/lttng_event.c), provider "
      "[bench/lttng_tp.h](../bench/lttng_tp.h)) times two cases in one process, "
      "alternating them in each repetition:")
    w("")
    w("- **LTTng-UST event**: `lttng_ust_tracepoint(ulog_bench, line, LINE, i)`, the same "
      "33-byte line as shim_cost's and a sequence number, into the session's per-CPU ring "
      "buffer (LTTng adds the timestamp); the consumer daemon empties the ring into the trace "
      "on disk, in its own process;")
    w("- **bare `write(1, line, 33)`** to `/dev/null`, as in the shim_cost section: what the "
      "shim's figures there (*shim, ulogd draining* and *shim, no ulogd*) are to be read "
      "against.")
    w("")
    w(f"The bench starts a session daemon of its own (`lttng-sessiond --daemonize --no-kernel`, "
      f"with `LTTNG_HOME` in its work directory, run as `{user}`, so that it never meets a "
      "system one), creates a session writing into its work directory with the default "
      "channel (discard mode, 4 sub-buffers of 512 KiB per CPU), enables `ulog_bench:*`, starts "
      f"it, then runs the program {args.lttng_runs} times: {fmt(args.lttng_ops)} operations per "
      f"case and repetition, {args.lttng_reps} timed repetitions after a warm-up (a run's figure "
      "is the median of its repetitions), with a 20 ms pause between repetitions, outside the "
      "timing, so that the consumer daemon can empty the ring. Then it stops and destroys the "
      "session and stops the daemon (by its pid). The program refuses to run if the tracepoint "
      "is not enabled, so that a disabled tracepoint (a test and a branch) is never timed.")
    w("")
    w("Reproduce with `make bench`, or, once `make all build/bench/lttng_event` has run:")
    w("")
    w("```sh")
    w(reproduce)
    w("```")
    w("")
    bare = spread(samples["write"])[0]
    rows = []
    for case, label in (("event", "LTTng-UST event, session recording"),
                        ("write", "bare `write(1, line, 33)` to /dev/null")):
        med, lo, hi, iqr = spread(samples[case])
        rows.append([label, fmt(med, 1), f"{fmt(lo, 1)} – {fmt(hi, 1)}",
                     f"{fmt(iqr[0], 1)} – {fmt(iqr[1], 1)}" if iqr else "n/a",
                     f"{med / bare:.2f}"])
    w(table(["case", "median ns/op", "min – max", "IQR", "× bare write"], rows))
    w("")
    w(f"Nanoseconds per operation over {args.lttng_runs} runs: median, min – max and "
      "interquartile range of the runs' figures. liblttng-ust starts two threads of its own in "
      "the program (they wait for the session daemon's commands), so the bare write here is "
      "that of a multithreaded process, where glibc's `write()` also marks a cancellation "
      "point: compare it with shim_cost's bare write, not only with the event.")
    if instructions:
        w("")
        w("User-space instructions per operation, counted by `valgrind --tool=callgrind` inside "
          f"each case's loop ({fmt(2 * args.lttng_ops)} operations, recorded by the same "
          "session), comparable with shim_cost's: the event runs in user space, no system call "
          "(reserving a slot in the ring, the timestamp, the CPU number, copying the fields); "
          "the write's own work is in the kernel, which callgrind does not count.")
        w("")
        w(table(["case", "instructions/op"],
                [["LTTng-UST event", fmt(instructions["event"], 0)],
                 ["bare write", fmt(instructions["write"], 0)]]))
    w("")
    w("What the session recorded:")
    w("")
    recorded_text = ("not checked (babeltrace2 is not installed)" if recorded is None
                     else fmt(recorded))
    w(table(["", "events"],
            [["emitted (every run, warm-ups and callgrind runs included)", fmt(emitted)],
             ["in the trace (read back with babeltrace2)", recorded_text],
             ["discarded, as counted by LTTng (`lttng list`)", fmt(discarded)]]
            + ([["lost packets", fmt(lost)]] if lost else [])))
    w("")
    ev, wr = spread(samples["event"])[0], bare
    parts = ["### Reading", ""]
    parts.append(f"- An LTTng-UST event costs the program {ev:.0f} ns here, "
                 f"{ev / wr:.2f}× a bare `write()` of the same line ({wr:.0f} ns): the event "
                 "is a copy into shared memory with no system call, the write a system call "
                 "that does nothing with the bytes.")
    parts.append("- That is what \"close to the limit\" means for handing a line to another "
                 "process: a copy into memory the other process reads, no system call. The "
                 "shim's figures in the shim_cost section are to be read against both rows: a "
                 "`write()` under the shim still writes to the real stdout (the bare write), "
                 "then hands the message to ulogd with a `sendmsg`, or copies it into its own "
                 "ring when ulogd is away or behind.")
    if discarded or lost or (recorded is not None and recorded != emitted):
        parts.append("- Not every event was kept: LTTng counted "
                     f"{fmt(discarded)} discarded"
                     + (f", and the trace holds {fmt(recorded)} of the {fmt(emitted)} emitted"
                        if recorded is not None else "")
                     + ". A discarded event costs less than a recorded one, so the event "
                     "figure is somewhat low.")
    elif recorded is not None:
        parts.append(f"- The trace holds every one of the {fmt(emitted)} events and LTTng "
                     "discarded none: the times are those of recorded events.")
    else:
        parts.append("- LTTng discarded no event (the trace itself was not read back: "
                     "babeltrace2 is not installed).")
    out += [""] + parts
    out += ["", f"The section took {seconds:.0f} s."]
    return "\n".join(out)


# ==========================================================================================
# latency: from write() to the line in all.log, at a fixed rate
# ==========================================================================================

LATENCY_SERVICE = "latency"
LATENCY_CONFIGS = [
    ("production", "production", {"ULOG_ENV": "production"}),
    ("console", "production + console mirror", {"ULOG_ENV": "production",
                                                "ULOG_CONSOLE": "json"}),
]
SLOW_RATE = 1000


def _wait_for(path, timeout=10):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise BenchError(f"{path} did not appear within {timeout} s")
        time.sleep(0.01)


def _latency_run(work, name, env, rate, lines):
    directory = os.path.join(work, f"{name}-{rate}-{time.monotonic_ns()}")
    os.makedirs(directory)
    ulogd = Ulogd(directory, None, env)
    follow = [ulogd.log_path] + ([ulogd.stderr_path] if "ULOG_CONSOLE" in env else [])
    out = os.path.join(directory, "latencies")
    wrote = os.path.join(directory, "writer")
    seconds = lines / rate + 20
    reader = None
    try:
        _wait_for(ulogd.log_path)
        _settle(ulogd)
        size_before = os.path.getsize(ulogd.log_path)
        reader = subprocess.Popen([READER, "-n", str(lines), "-o", out, "-t", str(int(seconds)),
                                   *follow], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=clean_env())
        if reader.stdout.readline().strip() != "ready":
            raise BenchError(f"latency_reader did not start: {reader.stderr.read().strip()}")
        writer = _run([PACED_WRITER, "-n", str(lines), "-r", str(rate), "-o", wrote],
                      timeout=seconds, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                      env=clean_env({"LD_PRELOAD": LIBULOG, "ULOG_SOCKET": ulogd.socket,
                                     "ULOG_SERVICE": LATENCY_SERVICE}))
        if writer.returncode != 0:
            raise BenchError(f"paced_writer exited with {writer.returncode}: {writer.stderr}")
        try:
            reader.wait(seconds)
        except subprocess.TimeoutExpired:
            raise BenchError(f"latency_reader did not finish within {seconds:.0f} s") from None
        if reader.returncode != 0:
            raise BenchError(f"latency_reader exited with {reader.returncode}: "
                             f"{reader.stderr.read().strip()}")
        record_bytes = (os.path.getsize(ulogd.log_path) - size_before) / lines
        ulogd.stop()
    finally:
        if reader and reader.poll() is None:
            reader.kill()
            reader.wait()
        ulogd.kill()
    with open(wrote, encoding="ascii") as f:
        pace = {k: float(v) for k, v in (p.split("=") for p in f.read().split())}
    per_file = [[] for _ in follow]
    counts = [{} for _ in follow]
    with open(out, encoding="ascii") as f:
        for line in f:
            if line.startswith("#"):
                _, index, *pairs = line.split()
                counts[int(index)] = {k: int(v) for k, v in (p.split("=") for p in pairs)}
            else:
                index, _seq, ns = line.split()
                per_file[int(index)].append(int(ns))
    shutil.rmtree(directory, ignore_errors=True)
    return {"all.log": sorted(per_file[0]), "all.log counts": counts[0],
            "console": sorted(per_file[1]) if len(follow) > 1 else None,
            "console counts": counts[1] if len(follow) > 1 else None,
            "pace": pace, "lines": lines, "rate": rate, "record_bytes": record_bytes}


def latency(args, work):
    """Write-to-all.log latency at a fixed rate."""
    for path, how in ((PACED_WRITER, "run `make bench`"), (READER, "run `make bench`"),
                      (ULOGD, "run `make`"), (LIBULOG, "run `make`")):
        need_file(path, how)
    started = time.monotonic()
    runs = {name: [] for name, _, _ in LATENCY_CONFIGS}
    runs["slow"] = []
    plan = [(name, env, args.latency_rate, args.latency_lines) for name, _, env in LATENCY_CONFIGS]
    plan.append(("slow", LATENCY_CONFIGS[0][2], SLOW_RATE, args.latency_slow_lines))
    for run in range(args.latency_runs):
        turn = run % len(plan)
        for name, env, rate, lines in plan[turn:] + plan[:turn]:
            runs[name].append(_latency_run(work, name, env, rate, lines))
    return _latency_report(args, runs, time.monotonic() - started)


def _latency_row(label, runs, key):
    """p50 / p99 / p99.9 / max in ms over all lines of all runs, with the
    min – max of each over the runs."""
    pooled = sorted(v for r in runs for v in r[key])
    per_run = [r[key] for r in runs]
    row = [label, fmt(len(pooled))]
    for p in (50, 99, 99.9, 100):
        row.append(f"{_percentile(pooled, p) / 1e6:.2f} "
                   f"({_rng([_percentile(v, p) for v in per_run], 2, 1e6)})")
    return row


def _latency_report(args, runs, seconds):
    rate = args.latency_rate
    out = []
    w = out.append
    w(f"How long a line takes from the program's `write()` to all.log, at a steady "
      f"{fmt(rate)} lines/s. `build/bench/paced_writer` ([bench/paced_writer.c](../bench/"
      f"paced_writer.c)) runs under the shim (`LD_PRELOAD=build/libulog.so`) with a real "
      f"`build/ulogd` (`ULOG_ENV=production`, started afresh for each run) and writes "
      f"{fmt(args.latency_lines)} lines of 64 bytes, one `write()` each, on a fixed schedule "
      "(`clock_nanosleep` to absolute times); each line carries the writer's `CLOCK_REALTIME` "
      "just before its `write()`. `build/bench/latency_reader` ([bench/latency_reader.c](../"
      "bench/latency_reader.c)) follows all.log with inotify (`IN_MODIFY`: it wakes within "
      "microseconds of each write to the file), reads the clock before every `read()`, and "
      "takes *latency* = the time it read the line − the time in the line: end to end, what "
      "`tail -f` or a log shipper following all.log would see. It also checks that every line "
      "arrived, once.")
    w("")
    w("Configurations, alternated from round to round, "
      f"{args.latency_runs} runs each:")
    w("")
    w(f"- **production**: as above;")
    w("- **production + console mirror**: the same with `ULOG_CONSOLE=json`, ulogd's mirror of "
      "each record on its stdout (a file here, followed by the same reader). The mirror is "
      "written by a thread of its own as soon as the pipeline has finished a record, so the "
      "time to it is the time until ulogd has received and processed the line; all.log's "
      "figure in this configuration shows what the mirror costs the file;")
    w(f"- **{fmt(SLOW_RATE)} lines/s**: production, {fmt(args.latency_slow_lines)} lines at a "
      "tenth of the rate.")
    w("")
    w("Reproduce with `make bench`, or, once `make all build/bench/paced_writer "
      "build/bench/latency_reader` has run:")
    w("")
    w("```sh")
    w(f"python3 bench/run_shim_cost.py --only latency --latency-runs {args.latency_runs} "
      f"--latency-rate {rate} --latency-lines {args.latency_lines} "
      f"--latency-slow-lines {args.latency_slow_lines}")
    w("```")
    w("")
    w("Milliseconds, over every line of every run (in brackets: min – max of the same "
      "percentile over the runs).")
    w("")
    rows = [
        _latency_row(f"{fmt(rate)}/s, production: write → all.log", runs["production"],
                     "all.log"),
        _latency_row(f"{fmt(rate)}/s, + console mirror: write → all.log", runs["console"],
                     "all.log"),
        _latency_row(f"{fmt(rate)}/s, + console mirror: write → ulogd has processed it "
                     "(mirror)", runs["console"], "console"),
        _latency_row(f"{fmt(SLOW_RATE)}/s, production: write → all.log", runs["slow"],
                     "all.log"),
    ]
    w(table(["path", "lines", "p50 ms", "p99 ms", "p99.9 ms", "max ms"], rows))
    w("")
    w("### Delivery and pace")
    w("")
    rows = []
    for name, label, key in (("production", "production", "all.log"),
                             ("console", "+ console mirror", "all.log"),
                             ("console", "+ console mirror, the mirror", "console"),
                             ("slow", f"{fmt(SLOW_RATE)}/s", "all.log")):
        rs = runs[name]
        written = sum(r["lines"] for r in rs)
        seen = sum(r[key + " counts"].get("seen", 0) for r in rs)
        dup = sum(r[key + " counts"].get("duplicates", 0) for r in rs)
        achieved = [r["lines"] / max(r["pace"]["seconds"], 1e-9) for r in rs]
        late = max(r["pace"]["late_max_ns"] for r in rs) / 1e6
        over = sum(r["pace"]["late_over_1ms"] for r in rs)
        rows.append([label, fmt(written), f"{fmt(seen)}" + (f" ({fmt(dup)} twice)" if dup else ""),
                     _rng(achieved), f"{late:.1f}", fmt(over)])
    w(table(["configuration", "lines written", "lines read back", "writer's lines/s",
             "writer's worst lateness ms", "lines > 1 ms late"], rows))
    w("")
    w("*Lateness* is how far behind its schedule the writer was when it wrote a line (the "
      "machine's scheduling, and the writer's own cost); a late line is written later, and its "
      "latency is still measured from its actual `write()`.")
    w("")
    w(_latency_reading(args, runs))
    w("")
    w(f"The section took {seconds:.0f} s.")
    return "\n".join(out)


def _latency_reading(args, runs):
    def pct(name, key, p):
        return _percentile(sorted(v for r in runs[name] for v in r[key]), p) / 1e6
    prod = {p: pct("production", "all.log", p) for p in (50, 99, 100)}
    per_run_max = [max(r["all.log"]) / 1e6 for r in runs["production"] + runs["console"]]
    with_mirror = pct("console", "all.log", 50)
    mirror = {p: pct("console", "console", p) for p in (50, 99, 100)}
    slow = {p: pct("slow", "all.log", p) for p in (50, 100)}
    record = statistics.median(r["record_bytes"] for r in runs["production"])
    fill_ms = 64 * 1024 / (record * args.latency_rate) * 1e3
    slow_fill_ms = 64 * 1024 / (record * SLOW_RATE) * 1e3
    worst = max(prod[100], slow[100], pct("console", "all.log", 100))
    parts = ["### Reading", ""]
    parts.append(
        f"- At {fmt(args.latency_rate)} lines/s a line is in all.log {prod[50]:.1f} ms after the "
        f"program wrote it (median), {prod[99]:.1f} ms at p99, {prod[100]:.1f} ms at worst. "
        f"ulogd itself has the line far sooner: its console mirror shows it "
        f"{mirror[50]:.2f} ms after the `write()` (median; p99 {mirror[99]:.2f} ms, worst "
        f"{mirror[100]:.1f} ms), and turning the mirror on leaves all.log's median where it "
        f"was ({with_mirror:.1f} ms).")
    parts.append(
        "- The rest is ulogd's write batching (aggregator/logfile.h, aggregator/server.c): "
        "records are gathered in memory and written when 64 KiB are waiting "
        "(`LOGFILE_WRITE_THRESHOLD`), and by a timer at most 100 ms after records began to "
        "wait (`LOGFILE_FLUSH_INTERVAL_NS`), whichever comes first. At "
        f"{fmt(args.latency_rate)} lines/s, with {record:.0f} bytes per record in all.log, "
        f"64 KiB fill in {fill_ms:.0f} ms: a line waits up to that (the p99 above), half of "
        "it on average (the median). The lines written after the last full block wait for "
        "the timer's next expiry instead, anywhere from 0 to 100 ms depending on its phase: "
        f"they make each run's worst case ({_rng(per_run_max, 1)} ms over the runs at "
        f"{fmt(args.latency_rate)} lines/s). Any service whose logging pauses sees the same for "
        f"its last lines; at {fmt(SLOW_RATE)} lines/s, where 64 KiB would take "
        f"{slow_fill_ms:.0f} ms, the timer sets the pace for every line: median "
        f"{slow[50]:.0f} ms, worst {slow[100]:.0f} ms.")
    parts.append(
        f"- So ulog's latency to the file is bounded by design at about 100 ms (here "
        f"{worst:.1f} ms at worst; anything above 100 ms is the machine's scheduling, on two "
        "cores shared by the writer, ulogd, the reader and the kernel), not by the speed of "
        "the pipeline, which has each line within a fraction of a millisecond.")
    if any(r["all.log counts"].get("seen") != r["lines"] for n in runs for r in runs[n]):
        parts.append("- Some lines never reached all.log in some runs (see *Delivery*): those "
                     "runs' figures leave them out.")
    return "\n".join(parts)


# ==========================================================================================
# memory: ulogd idle and under load; the shim in each process
# ==========================================================================================

MEMORY_SERVICE = "memory"
LOADS = [1, 8, 64]
MEMORY_LINE_BYTES = 100


def _status(pid):
    """Fields of /proc/PID/status in KiB, and Pss from smaps_rollup."""
    fields = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "VmSize", "RssAnon", "RssFile", "RssShmem"):
                fields[key] = int(value.split()[0])
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as f:
            for line in f:
                if line.startswith("Pss:"):
                    fields["Pss"] = int(line.split()[1])
    except OSError:
        pass
    return fields


def _load_writers(ulogd, writers, lines_each, directory):
    """`writers` concurrent processes under the shim, as fast as they can;
    builds/bench/writer when it is there, else paced_writer at rate 0."""
    env = clean_env({"LD_PRELOAD": LIBULOG, "ULOG_SOCKET": ulogd.socket,
                     "ULOG_SERVICE": MEMORY_SERVICE,
                     "WRITER_REPORT": os.path.join(directory, "writer.report")})
    if os.access(WRITER, os.X_OK):
        argv = [WRITER, "stdout", str(writers), str(lines_each), str(MEMORY_LINE_BYTES)]
        return [subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, env=env)]
    return [subprocess.Popen([PACED_WRITER, "-n", str(lines_each), "-b",
                              str(MEMORY_LINE_BYTES + 1)],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, env=env)
            for _ in range(writers)]


def _settle(ulogd, quiet=0.3):
    while True:
        size = os.path.getsize(ulogd.log_path)
        ulogd.wait_idle(quiet)
        if os.path.getsize(ulogd.log_path) == size:
            return


# A line of the load in all.log: its writer's pid and the line's number in its
# writer (writer.c writes "w%03d %08d ...", paced_writer "ulog-latency seq=%d ...").
LOAD_LINE = re.compile(rb'"pid":(\d+),.*"message":"(?:w\d+ |ulog-latency seq=)(\d+)')


def _count_delivered(path, writers, lines_each):
    """The load's lines in all.log, what the shims counted as dropped, and
    the lines neither delivered nor counted that were their writer's last
    ones (written after the last line of that writer in all.log)."""
    lines = dropped = 0
    per_pid = {}  # pid: [lines delivered, highest line number, dropped]
    service = f'"service":"{MEMORY_SERVICE}"'.encode()
    with open(path, "rb") as f:
        for text in f:
            if service not in text:
                continue
            if b'"event_type"' in text:
                r = json.loads(text)
                if r.get("event_type") == "dropped":
                    n = r.get("metadata", {}).get("dropped_messages", 0)
                    dropped += n
                    per_pid.setdefault(r.get("pid"), [0, -1, 0])[2] += n
                continue
            lines += 1
            m = LOAD_LINE.search(text)
            if m:
                entry = per_pid.setdefault(int(m.group(1)), [0, -1, 0])
                entry[0] += 1
                entry[1] = max(entry[1], int(m.group(2)))
    tail = 0
    for delivered, highest, counted in per_pid.values():
        missing = lines_each - delivered - counted
        if missing > 0:
            tail += min(missing, lines_each - 1 - highest)
    # Writers of which nothing arrived at all lost everything, their tails included.
    tail += max(0, writers - len(per_pid)) * lines_each
    return lines, dropped, tail


def _memory_load(work, writers, total_lines):
    directory = os.path.join(work, f"load-{writers}-{time.monotonic_ns()}")
    os.makedirs(directory)
    ulogd = Ulogd(directory, None, {"ULOG_ENV": "production"})
    lines_each = max(1, total_lines // writers)
    try:
        _settle(ulogd)
        idle = _status(ulogd.proc.pid)
        procs = _load_writers(ulogd, writers, lines_each, directory)
        peak_rss = 0
        deadline = time.monotonic() + 300
        while any(p.poll() is None for p in procs):
            peak_rss = max(peak_rss, _status(ulogd.proc.pid)["VmRSS"])
            if time.monotonic() > deadline:
                for p in procs:
                    p.kill()
                raise BenchError(f"{writers} writers did not finish within 300 s")
            time.sleep(0.01)
        failed = [p.returncode for p in procs if p.returncode != 0]
        if failed:
            raise BenchError(f"a writer exited with {failed[0]}")
        _settle(ulogd)
        after = _status(ulogd.proc.pid)
        ulogd.stop()
    finally:
        ulogd.kill()
    delivered, dropped, tail = _count_delivered(ulogd.log_path, writers, lines_each)
    shutil.rmtree(directory, ignore_errors=True)
    return {"idle": idle, "after": after, "peak_sampled": peak_rss, "hwm": after["VmHWM"],
            "written": lines_each * writers, "delivered": delivered, "dropped": dropped,
            "tail": tail}


SHIM_CONFIGS = [
    ("bare", "without the shim", 10),
    ("ulogd", "shim, ulogd running", 10),
    ("absent", "shim, no ulogd", 10),
    ("full", "shim, no ulogd, after ~10 MB (its ring full)", 100000),
]


def _shim_process(config, lines, ulogd_socket, directory):
    """A program that writes `lines` lines then stops itself: its memory."""
    env = clean_env()
    if config != "bare":
        sock = ulogd_socket if config == "ulogd" else os.path.join(directory, "absent.sock")
        env.update({"LD_PRELOAD": LIBULOG, "ULOG_SOCKET": sock, "ULOG_SERVICE": "shim_rss"})
    proc = subprocess.Popen([PACED_WRITER, "-n", str(lines), "-b", "100", "-S"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)
    try:
        _, status = os.waitpid(proc.pid, os.WUNTRACED)
        if not os.WIFSTOPPED(status):
            raise BenchError(f"paced_writer ({config}) ended before its measurement: "
                             f"status {status}")
        fields = _status(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)  # its lines are not the point; no exit drain
        os.waitpid(proc.pid, 0)
        proc.returncode = -9
    finally:
        if proc.returncode is None:
            proc.kill()
            proc.wait()
    return fields


def memory(args, work):
    """ulogd's RSS idle and under 1, 8, 64 writers; the shim's RSS per process."""
    for path, how in ((PACED_WRITER, "run `make bench`"), (ULOGD, "run `make`"),
                      (LIBULOG, "run `make`")):
        need_file(path, how)
    started = time.monotonic()
    loads = {n: [] for n in LOADS}
    for run in range(args.memory_runs):
        turn = run % len(LOADS)
        for writers in LOADS[turn:] + LOADS[:turn]:
            loads[writers].append(_memory_load(work, writers, args.memory_lines))
    # The shim: processes of each configuration in turn, one ulogd for all.
    shim = {c: [] for c, _, _ in SHIM_CONFIGS}
    os.makedirs(os.path.join(work, "shim"))
    ulogd = Ulogd(os.path.join(work, "shim"), None, {"ULOG_ENV": "production"})
    try:
        for i in range(args.memory_processes):
            turn = i % len(SHIM_CONFIGS)
            for config, _, lines in SHIM_CONFIGS[turn:] + SHIM_CONFIGS[:turn]:
                shim[config].append(_shim_process(config, lines, ulogd.socket, work))
        ulogd.stop()
    finally:
        ulogd.kill()
    return _memory_report(args, loads, shim, time.monotonic() - started)


def _writers(n):
    return f"{n} writer{'s' if n > 1 else ''}"


def _signed(value):
    return ("+" if value >= 0 else "−") + fmt(abs(value))


def _mib(kib, digits=1):
    return f"{kib / 1024:.{digits}f}"


def _memory_report(args, loads, shim, seconds):
    writer_prog = ("`build/bench/writer` ([bench/writer.c](../bench/writer.c), the aggregation "
                   "benchmark's writers)" if os.access(WRITER, os.X_OK) else
                   "`build/bench/paced_writer` processes at full speed")
    out = []
    w = out.append
    w("How much memory ulog takes: ulogd's, idle and while writers flood it, and what the shim "
      "adds to every process it is loaded into. Figures from `/proc/PID/status` (`VmRSS`: "
      "resident now; `VmHWM`: the most it was ever resident; `RssAnon`: its own anonymous "
      "memory, heap and stacks, without the mapped files of its libraries; `VmSize`: address "
      "space reserved) and `/proc/PID/smaps_rollup` (`Pss`: resident memory with each shared "
      "page divided among the processes that map it).")
    w("")
    w("### ulogd")
    w("")
    w(f"A real `build/ulogd` (`ULOG_ENV=production`), started afresh for each run; *idle* is "
      "read once it has started and settled; then the load: "
      f"{writer_prog} under the shim, {fmt(args.memory_lines)} lines of {MEMORY_LINE_BYTES} "
      "bytes in all, shared among 1, 8 or 64 concurrent writers, one `write()` per line, as "
      "fast as they can. During the load ulogd's `VmRSS` is read every 10 ms (the largest "
      "reading is shown); once everything is written, its `VmRSS` and its `VmHWM`, the most "
      "it held at any moment of its life (start-up included, hence the idle row's). "
      f"{args.memory_runs} runs of each load, alternated; MiB, median (min – max).")
    w("")
    w("Reproduce with `make bench`, or, once `make all build/bench/paced_writer "
      "build/bench/writer` has run:")
    w("")
    w("```sh")
    w(f"python3 bench/run_shim_cost.py --only memory --memory-runs {args.memory_runs} "
      f"--memory-lines {args.memory_lines} --memory-processes {args.memory_processes}")
    w("```")
    w("")

    def cell(values, digits=1):
        med = statistics.median(values)
        return f"{_mib(med, digits)} ({_mib(min(values), digits)} – {_mib(max(values), digits)})"

    idle_all = [r["idle"] for n in LOADS for r in loads[n]]
    rows = [["idle, started and settled (all runs)", cell([s["VmRSS"] for s in idle_all]), "",
             cell([s["VmHWM"] for s in idle_all]), cell([s["RssAnon"] for s in idle_all]),
             cell([s["Pss"] for s in idle_all])]]
    for n in LOADS:
        rs = loads[n]
        rows.append([f"{_writers(n)}, after the load", cell([r["after"]["VmRSS"] for r in rs]),
                     cell([r["peak_sampled"] for r in rs]), cell([r["hwm"] for r in rs]),
                     cell([r["after"]["RssAnon"] for r in rs]),
                     cell([r["after"]["Pss"] for r in rs])])
    w(table(["ulogd", "VmRSS", "largest VmRSS seen during the load", "peak (VmHWM)", "RssAnon",
             "Pss"], rows))
    w("")
    rows = []
    for n in LOADS:
        rs = loads[n]
        written = sum(r["written"] for r in rs)
        delivered = sum(r["delivered"] for r in rs)
        dropped = sum(r["dropped"] for r in rs)
        rows.append([_writers(n), fmt(written), fmt(delivered),
                     fmt(dropped), fmt(written - delivered - dropped),
                     fmt(sum(r["tail"] for r in rs))])
    w(table(["load", "lines written", "in all.log", "counted as dropped",
             "neither (unaccounted)", "of which the last lines of their writer"], rows))
    w("")
    w("### The shim, per process")
    w("")
    w("`build/bench/paced_writer` writes a few lines (10 lines of 100 bytes; in the last "
      "configuration 100 000, ~10 MB) to its stdout (`/dev/null`), then stops itself "
      "(`SIGSTOP`) so that its memory can be read while it still holds all it held; "
      f"{args.memory_processes} processes per configuration, alternated; one ulogd for all. "
      "KiB, median (min – max); *added* compares medians with the process without the shim.")
    w("")
    bare = {k: statistics.median(s[k] for s in shim["bare"]) for k in ("VmRSS", "Pss", "VmSize",
                                                                          "RssAnon")}
    rows = []
    for config, label, _ in SHIM_CONFIGS:
        row = [label]
        for key in ("VmRSS", "Pss", "RssAnon", "VmSize"):
            values = [s[key] for s in shim[config]]
            med = statistics.median(values)
            row += [f"{fmt(med)} ({fmt(min(values))} – {fmt(max(values))})",
                    "" if config == "bare" else _signed(med - bare[key])]
        rows.append(row)
    w(table(["configuration", "VmRSS", "added", "Pss", "added", "RssAnon", "added", "VmSize",
             "added"], rows))
    w("")
    w(_memory_reading(args, loads, shim, bare))
    w("")
    w(f"The section took {seconds:.0f} s.")
    return "\n".join(out)


def _memory_reading(args, loads, shim, bare):
    med = lambda xs: statistics.median(xs)  # noqa: E731
    idle = med([r["idle"]["VmRSS"] for n in LOADS for r in loads[n]])
    idle_peak = med([r["idle"]["VmHWM"] for n in LOADS for r in loads[n]])
    peaks = {n: med([r["hwm"] for r in loads[n]]) for n in LOADS}
    added = {c: {k: med([s[k] for s in shim[c]]) - bare[k] for k in bare} for c in shim}
    parts = ["### Reading", ""]
    parts.append(
        f"- ulogd holds {_mib(idle)} MiB idle (its peak, start-up included: "
        f"{_mib(idle_peak)} MiB) and at most {_mib(max(peaks.values()))} MiB under these loads "
        f"({', '.join(f'{_writers(n)}: {_mib(peaks[n])}' for n in LOADS)}): "
        "what it cannot take at once waits in the writers' shims and in the kernel's socket "
        "buffers, not in ulogd, which reads what it can handle and writes all.log in blocks "
        "of 64 KiB." + (" Its memory does not grow with the number of writers it serves."
                        if max(peaks.values()) - idle_peak < 512 else ""))
    dropped = {n: sum(r["dropped"] for r in loads[n]) for n in LOADS}
    lost = {n: sum(r["written"] - r["delivered"] - r["dropped"] for r in loads[n]) for n in LOADS}
    tails = sum(r["tail"] for n in LOADS for r in loads[n])
    if any(lost.values()):
        total = sum(lost.values())
        parts.append(
            "- **Lines lost without a count**: " + ", ".join(
                f"{_writers(n)}: {fmt(d)}" for n, d in lost.items() if d)
            + " lines are neither in all.log nor counted as dropped. "
            + ("All of them were " if tails == total else f"{fmt(tails)} of them were ")
            + "the last lines of their writer, after the last one that arrived: lines still in "
            "the writer's shim buffer when it exited. The shim's exit drain gives up after "
            "100 ms in which ulogd takes nothing, or after 2 s in all (`EXIT_STALL_MS`, "
            "`EXIT_DRAIN_MAX_NS` in preload/transport.c), and what it holds then is neither sent "
            "nor counted: a busy machine that keeps ulogd off the CPU while writers exit with "
            "full buffers loses their last lines silently.")
    if any(dropped.values()):
        parts.append(
            "- Writing flat out, " + ", ".join(f"{_writers(n)} ({fmt(d)} lines)"
                                               for n, d in dropped.items() if d)
            + " got ahead of ulogd by more than the shims' buffers hold in some runs; the shim "
            "counted those lines as dropped and ulogd recorded the counts (the table above), "
            "which is what a burst beyond the buffer costs. The aggregation section measures "
            "this.")
    parts.append(
        f"- The shim adds {added['ulogd']['VmRSS']:+.0f} KiB resident to a process that logs "
        f"a few lines with ulogd running ({added['ulogd']['Pss']:+.0f} KiB Pss, its library's "
        f"pages being shared by every process that loads it; {added['ulogd']['RssAnon']:+.0f} "
        "KiB of its own anonymous memory).")
    parts.append(
        f"- Its {SHIM_BUFFER_MIB} MiB ring (`ULOG_SHIM_BUFFER`) is reserved, not resident: "
        f"address space grows by {added['ulogd']['VmSize'] / 1024:+.1f} MiB, but a page of it "
        "becomes resident only when a message is held in it (ulogd away or behind): "
        f"{added['absent']['VmRSS']:+.0f} KiB resident with a few lines held, "
        f"{added['full']['VmRSS'] / 1024:+.1f} MiB once ~10 MB were written with no ulogd "
        "(the ring full, the rest counted as dropped). When the ring empties again after "
        "holding more than 256 KiB, the shim hands its pages back (`madvise(MADV_DONTNEED)`, "
        "preload/transport.c), so a process pays the 8 MiB only while ulogd is away or behind.")
    return "\n".join(parts)
