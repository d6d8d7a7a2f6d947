#!/usr/bin/env python3
"""run_shim_cost.py - the benchmarks behind `make bench`; writes docs/BENCHMARKS.md.

    python3 bench/run_shim_cost.py [--only NAME]... [--runs N] [--ops N] [--reps N]
                                   [--pipeline-runs N] [--pipeline-lines N]
                                   [--output PATH|-]

Python 3 standard library only, and it builds nothing: `make bench` builds
build/bench/* and the artefacts first, then runs this. Each benchmark is one
function in BENCHMARKS below that returns one section of the report (the
shim's cost here; ulogd's pipeline throughput in pipeline_throughput.py;
what they share in benchlib.py); the
report starts with the machine it ran on, so that figures are never read
without their context. With --only, the sections of the other benchmarks are
kept from the existing report (each section sits between markers), so
rerunning one benchmark does not throw the others' figures away.

Timing on a shared machine is noisy, so every figure is a median over
several whole-process runs with its spread, the configurations compared are
run alternately (drift hits them all alike), nothing here asserts a timing,
and where valgrind is present an instruction count (callgrind, deterministic)
comes next to the times.
"""

import argparse
import datetime
import importlib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import (BUILD, ROOT, ULOGD, BenchError, Ulogd, clean_env, fmt, need_file, positive,
                      spread, table)
from pipeline_throughput import pipeline

LIBULOG = os.path.join(BUILD, "libulog.so")
REPORT = os.path.join(ROOT, "docs", "BENCHMARKS.md")


# --- the machine ---------------------------------------------------------------

def _cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _first_line(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=20, cwd=ROOT)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if out.returncode == 0 and text else None


def _source_revision():
    commit = _first_line(["git", "rev-parse", "--short", "HEAD"])
    if not commit:
        return "not a git checkout"
    dirty = _first_line(["git", "status", "--porcelain", "--untracked-files=no"])
    return f"commit {commit}" + (" with uncommitted changes" if dirty else "")


def perf_instructions_status():
    """Whether `perf stat -e instructions:u` counts anything here: on many VMs
    the PMU is not exposed and perf says "<not supported>"."""
    perf = shutil.which("perf")
    if not perf:
        return "not installed"
    try:
        out = subprocess.run([perf, "stat", "-x", ",", "-e", "instructions:u", "true"],
                             capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"did not run ({e})"
    for line in out.stderr.splitlines():
        if "instructions" in line:
            value = line.split(",", 1)[0]
            if value.strip().isdigit():
                return "counts instructions here"
            return f"instructions counter {value.strip() or 'unavailable'} here"
    return f"gave no instruction count (exit status {out.returncode})"


def machine_info():
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count()
    uname = platform.uname()
    try:
        libc = os.confstr("CS_GNU_LIBC_VERSION")
    except (ValueError, OSError):
        libc = " ".join(platform.libc_ver()) or "unknown"
    valgrind = _first_line(["valgrind", "--version"]) if shutil.which("valgrind") else None
    return [
        ("date", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
        ("CPUs available (nproc)", str(cpus)),
        ("CPU model", _cpu_model()),
        ("kernel", f"{uname.system} {uname.release} {uname.machine}"),
        ("C library", libc or "unknown"),
        ("source", _source_revision()),
        ("valgrind", valgrind or "not installed"),
        ("perf stat", perf_instructions_status()),
    ]


# --- benchmark: the shim's cost per write and per stdio flush ------------------------

SHIM_COST = os.path.join(BUILD, "bench", "shim_cost")
LINE_BYTES = 33      # the length of every line shim_cost writes (see shim_cost.c)
STDOUT_BUFFER = 4096  # its stdout buffer in the printf case
CASES = [
    ("write", "`write(1, line, 33)`: the fd path, one message per call"),
    ("flush", "`fputs` + `fflush(stdout)`: one stdio flush per 33-byte line, as a "
              "line-buffered or unbuffered service does"),
    ("printf", "`printf` of a 33-byte line into a 4 KiB fully buffered stdout: one flush per "
               f"~{STDOUT_BUFFER // LINE_BYTES} lines, as a service writing into a pipe does "
               "(figures per line; twice as many operations)"),
]
CONFIGS = [
    ("bare", "without the shim"),
    ("ulogd", "shim, ulogd draining"),
    ("absent", "shim, no ulogd"),
]


def _shim_env(config, ulogd, directory):
    if config == "bare":
        return clean_env()
    sock = ulogd.socket if config == "ulogd" else os.path.join(directory, "absent.sock")
    return clean_env({"LD_PRELOAD": LIBULOG, "ULOG_SOCKET": sock, "ULOG_SERVICE": "shim_cost"})


def _run_shim_cost(argv, env, directory, results, wrapper=()):
    """One process; its stdout is /dev/null (what the shim captures), its
    figures go to `results`. Returns (pid, wall seconds)."""
    started = time.monotonic()
    with open(os.path.join(directory, "bench.stderr"), "wb") as err:
        proc = subprocess.Popen([*wrapper, SHIM_COST, "-o", results, *argv],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=err, env=env, start_new_session=True)
        try:
            status = proc.wait(300)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise BenchError(f"{' '.join(argv)} did not finish within 300 s") from None
    if status != 0:
        with open(os.path.join(directory, "bench.stderr"), "rb") as f:
            detail = f.read()[-800:].decode("utf-8", "replace").strip()
        raise BenchError(f"shim_cost exited with {status}: {detail}")
    return proc.pid, time.monotonic() - started


def _read_results(path):
    """{case: ([ns per op of each repetition], operations per repetition)}"""
    per_case = {}
    with open(path, encoding="ascii") as f:
        for line in f:
            name, ns, ops = line.split()
            per_case.setdefault(name, ([], int(ops)))[0].append(float(ns))
    return per_case


def _callgrind(config, ulogd, directory, ops):
    """User-space instructions per operation of each case, shim code
    included, kernel excluded: run once per case under callgrind, collecting
    only inside that case's loop (shim_cost's run_CASE function)."""
    valgrind = shutil.which("valgrind")
    counts = {}
    for case, _ in CASES:
        out = os.path.join(directory, f"callgrind.{config}.{case}")
        wrapper = [valgrind, "--tool=callgrind", f"--callgrind-out-file={out}",
                   f"--toggle-collect=run_{case}"]
        # -r 1: the warm-up repetition and one measured one, both collected.
        results = os.path.join(directory, "callgrind.results")
        _run_shim_cost(["-n", str(ops), "-r", "1", "-c", case], _shim_env(config, ulogd, directory),
                       directory, results, wrapper)
        with open(out, encoding="utf-8", errors="replace") as f:
            m = re.search(r"^(?:summary|totals):\s*(\d+)", f.read(), re.M)
        if not m:
            raise BenchError(f"no instruction total in {out}")
        counts[case] = int(m.group(1)) / (2 * _read_results(results)[case][1])
        if config == "ulogd":
            ulogd.wait_idle()
    return counts


def _delivery(log_path, pids, written):
    """What the runs with ulogd got into all.log: lines, and what the shim
    reported as dropped (messages and bytes)."""
    lines = dropped_messages = dropped_bytes = dropped_records = delivered_bytes = 0
    with open(log_path, encoding="utf-8", errors="replace") as f:
        for text in f:
            r = json.loads(text)
            if r.get("pid") not in pids or r.get("source") != "preload":
                continue
            if r.get("event_type") == "dropped":
                dropped_records += 1
                dropped_messages += r.get("metadata", {}).get("dropped_messages", 0)
                dropped_bytes += r.get("metadata", {}).get("dropped_bytes", 0)
            elif "event_type" not in r:
                lines += 1
                delivered_bytes += len(r.get("message", "").encode()) + 1
    return {"written": written, "lines": lines, "records": dropped_records,
            "messages": dropped_messages, "dropped_bytes": dropped_bytes,
            "delivered_bytes": delivered_bytes, "written_bytes": written * LINE_BYTES}


def shim_cost(args, work):
    """The shim's added cost per write(2) and per stdio flush."""
    need_file(SHIM_COST, "run `make bench` (it builds build/bench/shim_cost)")
    need_file(ULOGD, "run `make`")
    need_file(LIBULOG, "run `make`")
    ulogd = Ulogd(work)
    samples = {(config, case): [] for config, _ in CONFIGS for case, _ in CASES}
    ulogd_pids, wall = [], {config: 0.0 for config, _ in CONFIGS}
    lines_written = 0
    try:
        for run in range(args.runs):
            for index, (case, _) in enumerate(CASES):
                # One process per case, so that a backlog one case leaves in
                # the shim never spills into another case's figures; the
                # order of the configurations rotates, so that none always
                # follows the one that leaves ulogd busiest.
                turn = (run + index) % len(CONFIGS)
                for config, _ in CONFIGS[turn:] + CONFIGS[:turn]:
                    results = os.path.join(work, f"results.{config}.{case}.{run}")
                    pid, seconds = _run_shim_cost(
                        ["-n", str(args.ops), "-r", str(args.reps), "-c", case],
                        _shim_env(config, ulogd, work), work, results)
                    wall[config] += seconds
                    values, ops = _read_results(results)[case]
                    # One figure per process run: the median of its repetitions.
                    samples[(config, case)].append(statistics.median(values))
                    if config == "ulogd":
                        ulogd_pids.append(pid)
                        # One line per operation, the warm-up repetition included.
                        lines_written += ops * (args.reps + 1)
                        ulogd.wait_idle()
        instructions = None
        if shutil.which("valgrind"):
            instructions = {config: _callgrind(config, ulogd, work, args.callgrind_ops)
                            for config, _ in CONFIGS}
        ulogd.stop()
    finally:
        ulogd.kill()
    delivery = _delivery(ulogd.log_path, set(ulogd_pids), lines_written)
    return _shim_cost_report(args, samples, instructions, delivery, wall)


def _shim_cost_report(args, samples, instructions, delivery, wall):
    out = []
    w = out.append
    w("What the shim adds to the program's own cost of writing to its stdout. "
      "`build/bench/shim_cost` ([bench/shim_cost.c](../bench/shim_cost.c)) writes to its stdout, "
      "which is `/dev/null`, so that the bare figures are the cost of the call itself and "
      "everything added is the shim's. Each case runs in a process of its own, "
      f"{fmt(args.ops)} operations per repetition, {args.reps} repetitions after a warm-up "
      "(timed with `CLOCK_MONOTONIC`; a run's figure is the median of its repetitions). "
      f"The driver runs each case {args.runs} times in each of three configurations, "
      "alternating them (and rotating their order) so that drift on the machine hits all "
      "three alike:")
    w("")
    w("- **without the shim**;")
    w("- **shim, ulogd draining**: `LD_PRELOAD=build/libulog.so`, a real `build/ulogd` on a socket "
      "of its own, started before the runs and stopped after them. The benchmark writes flat out, "
      "far faster than any service logs, so ulogd falls behind: what it cannot take waits in the "
      "shim's buffer (`ULOG_SHIM_BUFFER`, 8 MiB), and beyond that would be counted as dropped "
      "(the delivery table below says whether anything was). After "
      "each such run the driver waits until ulogd is idle, so its backlog never runs into the "
      "next measurement. On a 2-core machine ulogd's work competes with the program's;")
    w("- **shim, no ulogd**: the shim loaded, its socket absent: messages fill the shim's buffer, "
      "then are only counted; reconnect attempts follow the shim's backoff (10 ms, doubling up "
      "to 500 ms).")
    w("")
    w("Reproduce with `make bench`, or, once `make all build/bench/shim_cost` has run:")
    w("")
    w("```sh")
    w(f"python3 bench/run_shim_cost.py --only shim_cost --runs {args.runs} --ops {args.ops} "
      f"--reps {args.reps} --callgrind-ops {args.callgrind_ops}")
    w("```")
    w("")
    w("Times are in nanoseconds per operation, over the runs: median, min–max, and the "
      "interquartile range; `× bare` and `added` compare medians with the run without the shim.")
    medians, ranges = {}, {}
    for case, description in CASES:
        w("")
        w(f"### {case}: {description}")
        w("")
        bare = spread(samples[("bare", case)])[0]
        rows = []
        for config, label in CONFIGS:
            med, lo, hi, iqr = spread(samples[(config, case)])
            medians[(config, case)] = med
            ranges[(config, case)] = iqr or (lo, hi)
            rows.append([label, fmt(med, 1), f"{fmt(lo, 1)} – {fmt(hi, 1)}",
                         f"{fmt(iqr[0], 1)} – {fmt(iqr[1], 1)}" if iqr else "n/a",
                         "1.00" if config == "bare" else f"{med / bare:.2f}",
                         "" if config == "bare" else f"{med - bare:+.1f}"])
        w(table(["configuration", "median ns/op", "min – max", "IQR", "× bare", "added ns/op"],
                rows))
    w("")
    w("### Instructions per operation")
    w("")
    if instructions is None:
        w("valgrind is not installed, so there is no instruction count (`make deps` installs it).")
    else:
        w("User-space instructions per operation counted by `valgrind --tool=callgrind`, "
          "collecting only inside each case's loop (`--toggle-collect=run_CASE`), shim code "
          f"included, over {fmt(2 * args.callgrind_ops)} operations (`printf`: twice as "
          "many). They leave out the kernel (the "
          "`write` itself and the shim's `sendmsg` to ulogd), and do not depend on the "
          "machine's speed: without the shim, and with the shim but no ulogd, they repeat from run "
          "to run to a few parts per million. "
          "With ulogd they still move a little with the machine's load: a message that finds "
          "ulogd's socket full is held and sent later, which takes more instructions. Under "
          "valgrind the program runs tens of times slower, so ulogd is rarely behind, and "
          "without ulogd every message fits in the shim's buffer: these are the paths of a "
          "program that logs at an ordinary rate. `perf stat -e instructions` would count the "
          "kernel too; the machine table says whether it works here.")
        w("")
        rows = []
        for case, _ in CASES:
            bare = instructions["bare"][case]
            rows.append([case, fmt(bare, 1)]
                        + [f"{fmt(instructions[c][case], 1)} ({instructions[c][case] - bare:+.1f})"
                           for c in ("ulogd", "absent")])
        w(table(["case", "without the shim", "shim, ulogd draining (added)",
                 "shim, no ulogd (added)"], rows))
    w("")
    w("### What reached all.log in the runs with ulogd")
    w("")
    d = delivery
    unaccounted = d["written_bytes"] - d["delivered_bytes"] - d["dropped_bytes"]
    w(table(["", "value"], [
        ["lines written (all cases, warm-up included)", fmt(d["written"])],
        ["lines in all.log", f"{fmt(d['lines'])} ({100 * d['lines'] / max(d['written'], 1):.1f} %)"],
        ["`dropped` records", fmt(d["records"])],
        ["messages counted as dropped (one per write or flush)", fmt(d["messages"])],
        ["bytes written / in all.log / counted as dropped",
         f"{fmt(d['written_bytes'])} / {fmt(d['delivered_bytes'])} / {fmt(d['dropped_bytes'])}"],
        ["bytes neither in all.log nor counted", fmt(unaccounted)],
    ]))
    w("")
    w("Bytes in all.log are counted as each line's message plus its newline, so a line cut "
      "short by a gap would count one byte it never had.")
    w("")
    w(f"Wall time: {fmt(wall['bare'], 1)} s without the shim, {fmt(wall['ulogd'], 1)} s with "
      f"ulogd (including the shim's delivery at exit), {fmt(wall['absent'], 1)} s without ulogd, "
      f"over {args.runs} runs of each case.")
    w("")
    w("### Reading")
    w("")
    w(_shim_cost_reading(medians, ranges, instructions, d))
    return "\n".join(out)


def _shim_cost_reading(m, ranges, instructions, delivery):
    """The figures above in sentences; every number is this run's."""
    def added(config, case):
        return m[(config, case)] - m[("bare", case)]

    def noise(config, case):
        """When the middle halves of the runs with and without the shim
        overlap, a difference of medians is not a cost this machine shows."""
        lo, hi = ranges[(config, case)]
        bare_lo, bare_hi = ranges[("bare", case)]
        if lo <= bare_hi and bare_lo <= hi:
            return " (within the noise: the interquartile ranges overlap)"
        return ""

    def times(config, case):
        return m[(config, case)] / m[("bare", case)]

    lines_per_flush = STDOUT_BUFFER // LINE_BYTES
    parts = [
        f"- A `write` to a captured stdout costs {fmt(m[('bare', 'write')])} ns here without the "
        f"shim and {fmt(m[('ulogd', 'write')])} ns with it while ulogd drains: "
        f"{added('ulogd', 'write'):+.0f} ns ({times('ulogd', 'write'):.1f}× the bare call). "
        f"A stdio flush of one line: {added('ulogd', 'flush'):+.0f} ns per flush "
        f"({times('ulogd', 'flush'):.1f}×).",
    ]
    if instructions:
        own = instructions["ulogd"]["write"] - instructions["bare"]["write"]
        parts.append(
            f"- Of that, the shim's own code is {own:.0f} user-space instructions per write "
            "(callgrind); the rest of the added time is spent outside it: in the `sendmsg` "
            "system call that hands the message to ulogd, and in ulogd's work, which on two "
            "cores competes with the program's.")
    parts.append(
        f"- A program whose stdout is block-buffered pays per flush, not per line: with a 4 KiB "
        f"buffer the shim adds {added('ulogd', 'printf'):+.1f} ns per line "
        f"({times('ulogd', 'printf'):.2f}× the bare `printf`), about "
        f"{added('ulogd', 'printf') * lines_per_flush:.0f} ns per flush of ~{lines_per_flush} lines"
        f"{noise('ulogd', 'printf')}; without ulogd, {added('absent', 'printf'):+.1f} ns per line"
        f"{noise('absent', 'printf')}.")
    parts.append(
        f"- Without ulogd, the shim adds {added('absent', 'write'):+.0f} ns per write"
        f"{noise('absent', 'write')} and {added('absent', 'flush'):+.0f} ns per flush"
        f"{noise('absent', 'flush')}: the message goes no further than the "
        "shim's buffer (and, once that holds 8 MiB, is only counted).")
    unaccounted = delivery["written_bytes"] - delivery["delivered_bytes"] - delivery["dropped_bytes"]
    if delivery["messages"] == 0 and delivery["lines"] == delivery["written"]:
        parts.append(
            f"- ulogd took every one of the {fmt(delivery['written'])} lines of these runs and "
            "nothing was dropped: the times with ulogd are those of full delivery, each message "
            "sent at once or held in the shim's buffer and sent later.")
    else:
        share = 100 * delivery["lines"] / max(delivery["written"], 1)
        parts.append(
            f"- ulogd took {share:.1f} % of the lines of these runs; the shim counted "
            f"{fmt(delivery['messages'])} messages as dropped in {fmt(delivery['records'])} "
            "`dropped` records. The times with ulogd therefore mix sends, copies into the "
            "buffer and drop counts.")
    if unaccounted:
        parts.append(
            f"- {fmt(unaccounted)} bytes written are neither in all.log nor counted as dropped.")
    return "\n".join(parts)


# --- the report -----------------------------------------------------------------------

def _section(module, function):
    """A benchmark kept in a module of its own, imported when it runs, so that
    one module's missing piece never stops the others."""
    def run(args, work):
        return getattr(importlib.import_module(module), function)(args, work)
    return run


# Modules with a section of their own may define add_arguments(parser) for
# their options; main() calls it.
SECTION_MODULES = ["aggregation", "latency", "procevents_rate", "store_serving"]

# name, title, function(args, work directory) -> markdown. Add benchmarks here.
BENCHMARKS = [
    ("shim_cost", "shim_cost: what the shim adds to a write and to a stdio flush", shim_cost),
    ("lttng", "lttng: the reference, an LTTng-UST event", _section("latency", "lttng")),
    ("aggregation", "aggregation: many writers into one file, ulog against rsyslog, syslog-ng "
     "and Docker's json-file", _section("aggregation", "aggregation")),
    ("latency", "latency: from write() to the line in all.log, at 10 000 lines/s",
     _section("latency", "latency")),
    ("memory", "memory: ulogd's resident set, idle and under load; the shim's per process",
     _section("latency", "memory")),
    ("pipeline", "pipeline: ulogd's throughput with its default pipeline, against raw ingestion",
     pipeline),
    ("procevents", "procevents: a fork-heavy workload through eBPF process events",
     _section("procevents_rate", "procevents")),
    ("store", "store: what the store costs ingestion, its lag, and GET /logs against jq and grep",
     _section("store_serving", "store")),
]

MARK_START = "<!-- bench:{} -->"
MARK_END = "<!-- /bench:{} -->"


def _sections_of(path):
    """The sections of an existing report, by benchmark name."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return {}
    found = {}
    for name, _, _ in BENCHMARKS:
        start, end = MARK_START.format(name), MARK_END.format(name)
        i, j = text.find(start), text.find(end)
        if 0 <= i < j:
            found[name] = text[i:j + len(end)]
    return found


def render(machine, sections):
    out = ["# Benchmarks", "",
           "Generated by [bench/run_shim_cost.py](../bench/run_shim_cost.py) (`make bench`); do "
           "not edit by hand: run `make bench` again. Every figure comes from a shared virtual "
           "machine and moves from run to run: read medians together with their spread, and "
           "compare figures only within one report.", "",
           "## Machine", "", table(["", ""], machine, numeric=False), ""]
    for name, _, _ in BENCHMARKS:
        if name in sections:
            out += [sections[name], ""]
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    names = [name for name, _, _ in BENCHMARKS]
    parser.add_argument("--only", action="append", choices=names, metavar="NAME",
                        help=f"run only this benchmark (repeatable): {', '.join(names)}")
    parser.add_argument("--runs", type=positive, default=15,
                        help="process runs per case and configuration (default 15)")
    # 20000: a run's messages fit in the shim's default buffer while ulogd
    # lags, so the times with ulogd are those of full delivery, not of drops.
    parser.add_argument("--ops", type=positive, default=20000,
                        help="operations per case and repetition (default 20000)")
    parser.add_argument("--reps", type=positive, default=3,
                        help="timed repetitions per run, after one warm-up (default 3)")
    parser.add_argument("--callgrind-ops", type=positive, default=20000,
                        help="operations per case and repetition under callgrind (default 20000)")
    # 300000 lines: a run lasts about a second here, long next to the noise
    # of start and stop; 7 rounds and callgrind take about 2 minutes.
    parser.add_argument("--pipeline-runs", type=positive, default=7,
                        help="runs of each pipeline configuration (default 7)")
    parser.add_argument("--pipeline-lines", type=positive, default=300000,
                        help="lines the feeder sends per pipeline run (default 300000)")
    parser.add_argument("--pipeline-callgrind-lines", type=positive, default=30000,
                        help="lines per pipeline configuration under callgrind (default 30000)")
    for module in SECTION_MODULES:
        try:
            add = getattr(importlib.import_module(module), "add_arguments", None)
        except ImportError:
            continue  # its section will say so when it runs
        if add:
            add(parser)
    parser.add_argument("--output", default=REPORT,
                        help="where the report goes, '-' for stdout (default docs/BENCHMARKS.md)")
    args = parser.parse_args()
    selected = args.only or names

    sections = _sections_of(args.output) if args.output != "-" else {}
    machine = machine_info()
    for name, title, func in BENCHMARKS:
        if name not in selected:
            continue
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        started = time.monotonic()
        work = tempfile.mkdtemp(prefix=f"ulog-bench-{name}-", dir="/tmp")
        try:
            body = func(args, work)
        except BenchError as e:
            print(f"bench: {name}: {e} (kept {work})", file=sys.stderr)
            return 1
        shutil.rmtree(work, ignore_errors=True)
        sections[name] = "\n".join([MARK_START.format(name), f"## {title}", "", body,
                                    MARK_END.format(name)])
        print(f"bench: {name} done in {time.monotonic() - started:.0f} s", file=sys.stderr)
    report = render(machine, sections)
    if args.output == "-":
        sys.stdout.write(report)
    else:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(report)
        print(f"bench: wrote {os.path.relpath(args.output, ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
