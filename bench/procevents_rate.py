"""procevents_rate.py - the `procevents` section of `make bench`
(bench/run_shim_cost.py): a fork-heavy workload through ulogd's eBPF process
events.

The question (issue 6): is the event rate of many short processes handled
without loss, or with exact drop counts? And what do the probes cost the
processes? `build/bench/forker` (bench/forker.c) starts N short processes as
fast as it can, as many at once as there are CPUs, in two workloads:

  exit  fork + _exit(0): the cheapest process there is, so the highest event
        rate (one process_exit event each);
  exec  fork + execve(/bin/true): one process_exec and one process_exit each,
        the exec event the big one (file name and argument head).

Each runs in two configurations, alternated (and their order rotated) so
that drift on the machine hits both alike:

  bare  no ulogd: the machine's own rate;
  ebpf  a real build/ulogd as root, `ebpf: {mode: on, scope: containers}`,
        ULOG_ENV=production, started afresh for the run in a directory of its
        own, and stopped after it; its all.log is then read back.

The workload runs in a pid namespace of its own (`unshare --pid --fork`, in
both configurations), which puts it in the default scope, `containers`: the
same path a containerised service's processes take, and a clean count, since
on this machine only containers (other benchmarks' Docker runs, if any) share
that scope, where `scope: all` would add every process of the host. The
probes themselves run on every fork, exec and exit of the machine whatever
the scope: scope decides only which events go into the ring buffer.

The workload's records are those whose metadata.ppid is the forker's pid (it
prints the pid the root namespace gives it). A run's delivery is checked
against what the kernel and ulogd say they lost: `ebpf_lost` records (the
ring buffer's drop count, emitted at least at stop) and ulogd_stop's
records_lost / rate_limited / dropped_by_rule. Two more runs follow the
alternated ones: the exit workload with ulogd stopped (SIGSTOP) until it is
done, so that the ring buffer overflows and the drop count itself is checked
(recorded + counted as lost must equal what happened, exactly); and one under
`perf record`, to say where ulogd's time goes. Nothing here is faked: not
root, no `unshare`, or eBPF refused, and the section says "missing: <why>".

Python 3 standard library only.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import time

from benchlib import BUILD, ULOGD, BenchError, Ulogd, fmt, positive, spread, table

FORKER = os.path.join(BUILD, "bench", "forker")
CONFIG_YAML = "ebpf:\n  mode: on\n  scope: containers\n"
WORKLOADS = [
    ("exit", "fork + `_exit(0)`", "events: 1 `process_exit` per process"),
    ("exec", "fork + `execve(\"/bin/true\")`",
     "events: 1 `process_exec` + 1 `process_exit` per process"),
]
CONFIGS = [("bare", "no ulogd"), ("ebpf", "ulogd, eBPF on (scope containers)")]


def add_arguments(parser):
    add = parser.add_argument
    add("--procevents-runs", type=positive, default=3,
        help="procevents: runs of each workload and configuration (default 3)")
    add("--procevents-processes", type=positive, default=20000,
        help="procevents: processes per run of the fork + _exit workload (default 20000)")
    add("--procevents-exec-processes", type=positive, default=5000,
        help="procevents: processes per run of the fork + exec workload (default 5000)")
    add("--procevents-profile-processes", type=positive, default=5000,
        help="procevents: processes of the exit workload profiled with perf (default 5000)")


def _cpus():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _reproduce(args):
    return (f"python3 bench/run_shim_cost.py --only procevents "
            f"--procevents-runs {args.procevents_runs} "
            f"--procevents-processes {args.procevents_processes} "
            f"--procevents-exec-processes {args.procevents_exec_processes} "
            f"--procevents-profile-processes {args.procevents_profile_processes}")


def _processes(args, workload):
    return args.procevents_processes if workload == "exit" else args.procevents_exec_processes


# --- one run -------------------------------------------------------------------------

def _forker(directory, workload, n, jobs):
    """The workload in a pid namespace of its own: (forker's root-namespace pid,
    its wall seconds, processes that failed)."""
    results = os.path.join(directory, f"forker.{workload}.results")
    argv = ["unshare", "--pid", "--fork", "--kill-child", FORKER, "-n", str(n), "-j", str(jobs),
            "-m", workload, "-o", results]
    try:
        out = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                             timeout=300)
    except subprocess.TimeoutExpired:
        raise BenchError(f"{' '.join(argv)} did not finish within 300 s") from None
    if out.returncode != 0:
        raise BenchError(f"forker exited with {out.returncode}: {out.stderr.strip()[-400:]}")
    pid = int(out.stdout.split()[1])
    with open(results, encoding="ascii") as f:
        fields = f.read().split()
    return pid, float(fields[5]), int(fields[3])


def _start_ulogd(directory):
    """ulogd with eBPF required; returns once its probes are attached (its
    ulogd_start record is written after the eBPF input opened)."""
    config = os.path.join(directory, "ulog.yaml")
    with open(config, "w", encoding="utf-8") as f:
        f.write(CONFIG_YAML)
    ulogd = Ulogd(directory, config, {"ULOG_ENV": "production"})
    deadline = time.monotonic() + 20
    while True:
        if ulogd.proc.poll() is not None:
            raise BenchError(f"ulogd exited with {ulogd.proc.returncode} at start: "
                             f"{ulogd._stderr()}")
        try:
            with open(ulogd.log_path, "rb") as f:
                if b'"ulogd_start"' in f.read(65536):
                    return ulogd
        except OSError:
            pass
        if time.monotonic() > deadline:
            ulogd.kill()
            raise BenchError("ulogd wrote no ulogd_start record within 20 s")
        time.sleep(0.02)


def _drain(ulogd, quiet=0.3, timeout=60):
    """Waits until ulogd has used under 2 ms of CPU in `quiet` seconds; returns
    the monotonic time its CPU use last grew (the end of its work)."""
    deadline = time.monotonic() + timeout
    last_cpu, last_change = ulogd.cpu_seconds(), time.monotonic()
    window_cpu, window_start = last_cpu, last_change
    while True:
        time.sleep(0.01)
        now, cpu = time.monotonic(), ulogd.cpu_seconds()
        if cpu > last_cpu:
            last_cpu, last_change = cpu, now
        if cpu - window_cpu > 0.002:
            window_cpu, window_start = cpu, now
        elif now - window_start >= quiet:
            return last_change
        if now > deadline:
            raise BenchError(f"ulogd was still busy {timeout} s after the workload")


def _count(log_path, forker_pid):
    """What all.log holds of the run."""
    c = {"exec": 0, "exit": 0, "exit_bad": 0, "other_ebpf": 0, "forker_exit": 0, "lost": 0,
         "lost_records": 0, "records_lost": 0, "rate_limited": 0, "dropped_by_rule": 0,
         "stopped": False}
    with open(log_path, encoding="utf-8", errors="replace") as f:
        for text in f:
            r = json.loads(text)
            kind, meta = r.get("event_type"), r.get("metadata") or {}
            if r.get("source") == "ebpf" and kind in ("process_exec", "process_exit"):
                if meta.get("ppid") != forker_pid:
                    c["other_ebpf"] += 1
                    if kind == "process_exit" and forker_pid in (r.get("pid"),
                                                                 meta.get("host_pid")):
                        c["forker_exit"] += 1
                elif kind == "process_exec":
                    c["exec"] += 1
                else:
                    c["exit"] += 1
                    if meta.get("exit_status") != 0:
                        c["exit_bad"] += 1
            elif kind == "ebpf_lost":
                c["lost"] += meta.get("lost", 0)
                c["lost_records"] += 1
            elif kind == "ulogd_stop":
                c["stopped"] = True
                for key in ("records_lost", "rate_limited", "dropped_by_rule"):
                    c[key] += meta.get(key, 0)
    return c


def _one_run(work, index, workload, config, n, jobs):
    directory = os.path.join(work, f"{index:02d}.{workload}.{config}")
    os.makedirs(directory)
    if config == "bare":
        _, seconds, failed = _forker(directory, workload, n, jobs)
        return {"seconds": seconds, "failed": failed}
    ulogd = _start_ulogd(directory)
    try:
        time.sleep(0.2)  # its start-up work (the /proc scan, first writes) out of the way
        cpu0, t0 = ulogd.cpu_seconds(), time.monotonic()
        pid, seconds, failed = _forker(directory, workload, n, jobs)
        t1 = time.monotonic()
        done = _drain(ulogd)
        cpu = ulogd.cpu_seconds() - cpu0
        ulogd.stop()
    finally:
        ulogd.kill()
    counts = _count(ulogd.log_path, pid)
    events = counts["exit"] + counts["exec"]
    expected = n * (2 if workload == "exec" else 1)
    return {"seconds": seconds, "failed": failed, "expected": expected, "events": events,
            "cpu": cpu, "handled_seconds": max(done, t1) - t0, "lag": max(0.0, done - t1),
            **counts}


def _overload(work, n, jobs):
    """The drop count put to the test: ulogd is stopped (SIGSTOP) while the
    exit workload runs, so the ring buffer fills and the kernel must count
    what it cannot take; ulogd resumes (SIGCONT) when the workload is done."""
    directory = os.path.join(work, "overload")
    os.makedirs(directory)
    ulogd = _start_ulogd(directory)
    try:
        time.sleep(0.2)
        ulogd.proc.send_signal(signal.SIGSTOP)
        try:
            pid, _, _ = _forker(directory, "exit", n, jobs)
        finally:
            ulogd.proc.send_signal(signal.SIGCONT)
        _drain(ulogd)
        ulogd.stop()
    finally:
        ulogd.kill()
    return _count(ulogd.log_path, pid)


def _short_symbol(name):
    name = re.sub(r"@@?GLIBC[\w.]*$", "", name.strip())
    for prefix in ("__GI___libc_", "__GI___", "__libc_", "__"):
        if name.startswith(prefix) and len(name) > len(prefix):
            return name[len(prefix):]
    return name


def _profile(work, n, jobs):
    """Where ulogd's time goes while it handles the exit workload: a perf
    profile (software clock, call graphs), summed by the user-space function
    each sample falls under. ({"kernel share": .., "rows": [(%, name)]}, or
    None) and why not."""
    perf = shutil.which("perf")
    if not perf:
        return None, "perf is not installed (Debian package linux-perf)"
    directory = os.path.join(work, "profile")
    os.makedirs(directory)
    data = os.path.join(directory, "perf.data")
    ulogd = _start_ulogd(directory)
    record = None
    try:
        record = subprocess.Popen([perf, "record", "-q", "-e", "cpu-clock", "-g", "-o", data,
                                   "-p", str(ulogd.proc.pid)], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)  # perf attached
        _forker(directory, "exit", n, jobs)
        _drain(ulogd)
        record.send_signal(signal.SIGINT)
        record.wait(30)
        ulogd.stop()
    except subprocess.TimeoutExpired:
        return None, "perf record did not stop within 30 s"
    finally:
        if record and record.poll() is None:
            record.kill()
            record.wait()
        ulogd.kill()

    def report(*argv):
        try:
            return subprocess.run([perf, "report", "-i", data, "--stdio", *argv],
                                  capture_output=True, text=True, timeout=60).stdout
        except subprocess.TimeoutExpired:
            return ""
    kernel = None
    for line in report("--no-children", "--sort", "dso", "-g", "none").splitlines():
        m = re.match(r"\s*([\d.]+)%\s+\[kernel\.kallsyms\]", line)
        if m:
            kernel = float(m.group(1))
    rows = []
    for line in report("--children", "--sort", "sym", "-g", "none").splitlines():
        m = re.match(r"\s*([\d.]+)%\s+([\d.]+)%\s+\[\.\]\s+(\S+)", line)
        if m and not re.fullmatch(r"(0x)?[0-9a-f]+", m.group(3)):  # unresolved addresses
            rows.append((float(m.group(1)), _short_symbol(m.group(3))))
    if kernel is None or not rows:
        return None, "perf recorded no samples of ulogd here"
    rows.sort(reverse=True)
    return {"kernel": kernel, "rows": rows[:8]}, None


# --- the section ---------------------------------------------------------------------

def _missing_reason():
    if os.geteuid() != 0:
        return "not root: loading eBPF programs needs root (or CAP_BPF + CAP_PERFMON)"
    if not shutil.which("unshare"):
        return "`unshare` is not installed (Debian package util-linux)"
    for path, how in ((FORKER, "`make bench` builds it"), (ULOGD, "`make` builds it")):
        if not os.access(path, os.X_OK):
            return f"`{os.path.relpath(path, os.path.dirname(BUILD))}` is not built ({how})"
    return None


def procevents(args, work):
    """N short processes with and without ulogd's eBPF process events."""
    why = _missing_reason()
    if why:
        return _missing_report(args, why)
    jobs = _cpus()
    started = time.monotonic()
    # Can eBPF load here at all? If not, say why rather than measure nothing.
    probe_dir = os.path.join(work, "probe")
    os.makedirs(probe_dir)
    try:
        probe = _start_ulogd(probe_dir)
        probe.stop()
        probe.kill()
    except BenchError as e:
        return _missing_report(args, f"ulogd could not load eBPF here: {e}")
    results = {(w, c): [] for w, _, _ in WORKLOADS for c, _ in CONFIGS}
    index = 0
    for run in range(args.procevents_runs):
        for wi, (workload, _, _) in enumerate(WORKLOADS):
            turn = (run + wi) % len(CONFIGS)
            for config, _ in CONFIGS[turn:] + CONFIGS[:turn]:
                index += 1
                results[(workload, config)].append(
                    _one_run(work, index, workload, config, _processes(args, workload), jobs))
    overload = _overload(work, args.procevents_processes, jobs)
    profile = _profile(work, args.procevents_profile_processes, jobs)
    return _report(args, jobs, results, overload, profile, time.monotonic() - started)


def _missing_report(args, why):
    return "\n".join([
        "N short processes with and without ulogd's eBPF process events. It did not run here:",
        "",
        table(["workload", "result"],
              [[label, f"missing: {why}"] for _, label, _ in WORKLOADS], numeric=False),
        "",
        "It needs root (ulogd loads eBPF programs), `unshare` (util-linux), a kernel with BTF, "
        "and `make all build/bench/forker`; then reproduce with:",
        "", "```sh", _reproduce(args), "```"])


def _med_range(values, digits=0):
    med, lo, hi, _ = spread(values)
    return fmt(med, digits), f"{fmt(lo, digits)} – {fmt(hi, digits)}"


def _ms_per_1000(run):
    """ulogd's CPU milliseconds per 1 000 of the workload's events (= µs per event)."""
    return 1e6 * run["cpu"] / max(run["events"], 1)


def _report(args, jobs, results, overload, profile, elapsed):
    out = []
    w = out.append
    w("Does ulogd keep up with the process events of a fork-heavy workload, and what do its "
      "probes cost the processes? `build/bench/forker` ([bench/forker.c](../bench/forker.c)) "
      f"starts short processes as fast as it can, {jobs} at a time (one per CPU), and reaps "
      "each; two workloads:")
    w("")
    for workload, label, events in WORKLOADS:
        w(f"- **{workload}**: {label}, {fmt(_processes(args, workload))} processes per run; "
          f"{events}.")
    w("")
    w("Each runs in two configurations, alternated (the order rotates from run to run), "
      f"{args.procevents_runs} runs of each:")
    w("")
    w("- **no ulogd**: the machine's own rate;")
    w("- **ulogd, eBPF on**: a real `build/ulogd` as root with `ebpf: {mode: on, scope: "
      "containers}` and `ULOG_ENV=production`, started afresh for each run (the run begins once "
      "its probes are attached) and stopped after it.")
    w("")
    w("The workload runs in a pid namespace of its own (`unshare --pid --fork`, in both "
      "configurations), which puts it in the default scope, `containers`: the path a "
      "containerised service's processes take, and a clean count, since `scope: all` would add "
      "every other process of the machine to ulogd's work. The probes run on every fork, exec "
      "and exit of the machine whatever the scope; the scope decides only which events enter "
      "the ring buffer. The workload's records are those whose `metadata.ppid` is the "
      "forker's pid. **processes/s** is the forker's own count over its wall time (first fork "
      "to last reap). **events/s offered** is the workload's events over that time; **handled "
      "events/s** is the events in all.log over the time from the workload's start until ulogd "
      "stopped using CPU, and **lag** the part of that after the workload ended. **ulogd CPU "
      "per 1 000 events** is ulogd's CPU time (all threads, `schedstat`) over the same span. "
      "A run is checked after ulogd stops: the workload's records + the `ebpf_lost` counts "
      "(ring buffer full; ulogd reports them at least once at stop) + ulogd_stop's "
      "`records_lost`, `rate_limited` and `dropped_by_rule` must add up to the events the "
      "workload caused.")
    w("")
    w("Reproduce with `make bench`, or, once `make all build/bench/forker` has run (as root):")
    w("")
    w("```sh")
    w(_reproduce(args))
    w("```")

    w("")
    w("### Processes per second, and what the probes cost them")
    w("")
    rows, slowdown = [], {}
    for workload, label, _ in WORKLOADS:
        n = _processes(args, workload)
        rates = {c: [n / r["seconds"] for r in results[(workload, c)]] for c, _ in CONFIGS}
        base = spread(rates["bare"])[0]
        for config, clabel in CONFIGS:
            med, rng = _med_range(rates[config])
            us = [1e6 / x for x in rates[config]]
            rows.append([f"{workload}: {clabel}", med, rng, fmt(spread(us)[0], 1),
                         "1.00" if config == "bare" else f"{spread(rates[config])[0] / base:.2f}"])
        slowdown[workload] = (1e6 / spread(rates["ebpf"])[0] - 1e6 / base)
    w(table(["workload: configuration", "median processes/s", "min – max", "µs per process",
             "× no ulogd"], rows))

    w("")
    w("### Events through ulogd")
    w("")
    rows = []
    for workload, _, _ in WORKLOADS:
        runs = results[(workload, "ebpf")]
        offered = [r["expected"] / r["seconds"] for r in runs]
        handled = [r["events"] / r["handled_seconds"] for r in runs]
        cpu = [_ms_per_1000(r) for r in runs]
        share = [100 * r["cpu"] / r["handled_seconds"] for r in runs]
        lag = [1000 * r["lag"] for r in runs]
        rows.append([workload, *_med_range(offered), *_med_range(handled), *_med_range(cpu, 1),
                     fmt(spread(share)[0]), fmt(spread(lag)[0])])
    w(table(["workload", "events/s offered", "min – max", "events/s handled", "min – max",
             "ulogd CPU ms per 1 000 events", "min – max", "ulogd CPU % of one core",
             "lag ms"], rows))
    w("")
    w("Medians over the runs; *ulogd CPU % of one core* is its CPU time over the span from the "
      "workload's start until ulogd went idle; *lag* is how long after the workload's last "
      "process ulogd was still busy (median).")

    w("")
    w("### Delivery")
    w("")
    rows, all_exact, any_lost = [], True, False
    for workload, _, _ in WORKLOADS:
        runs = results[(workload, "ebpf")]
        expected = sum(r["expected"] for r in runs)
        execs = sum(r["exec"] for r in runs)
        exits = sum(r["exit"] for r in runs)
        lost = sum(r["lost"] for r in runs)
        by_ulogd = sum(r["records_lost"] + r["rate_limited"] + r["dropped_by_rule"] for r in runs)
        other = sum(r["other_ebpf"] for r in runs)
        exact = all(r["events"] == r["expected"] and r["stopped"] for r in runs)
        all_exact &= exact
        any_lost |= lost > 0
        rows.append([workload, fmt(expected), fmt(execs), fmt(exits), fmt(lost), fmt(by_ulogd),
                     fmt(expected - execs - exits - lost - by_ulogd), fmt(other),
                     "yes" if exact else "no"])
    w(table(["workload", "events caused", "process_exec recorded", "process_exit recorded",
             "lost (ebpf_lost)", "lost by ulogd (ulogd_stop)", "unaccounted",
             "other processes' events", "every event recorded"], rows))
    w("")
    w("Over the runs with ulogd. *events caused*: processes × events per process; "
      "*unaccounted* = caused − recorded − counted as lost; *other processes' events*: records "
      "of other processes in scope (the forker itself; containers elsewhere on the machine).")

    w("")
    w("### The drop count under overload")
    w("")
    n = args.procevents_processes
    missing = n - overload["exit"]
    forker_lost = 0 if overload["forker_exit"] else 1
    beyond = overload["lost"] - missing - forker_lost
    w("No run above overflowed the ring buffer, so one more run puts the count of what is lost "
      f"to the test: ulogd is stopped (`SIGSTOP`) while the exit workload ({fmt(n)} processes) "
      "runs, and resumed (`SIGCONT`) once it is done. The ring buffer fills, the kernel counts "
      "each event it cannot take, and ulogd must report exactly those.")
    w("")
    w(table(["", "events"], [
        ["workload's exits", fmt(n)],
        ["recorded in all.log", fmt(overload["exit"])],
        ["missing (exits − recorded)", fmt(missing)],
        ["the forker's own exit, also after the buffer filled",
         "lost" if forker_lost else "recorded"],
        [f"lost, as counted in `ebpf_lost` records ({overload['lost_records']} "
         f"record{'s' if overload['lost_records'] != 1 else ''})",
         fmt(overload["lost"])],
        ["lost − missing − the forker's lost exit", fmt(beyond)],
    ]))
    w("")
    if beyond == 0 and overload["stopped"]:
        w("The count is exact: every exit the log lacks is counted as lost, and nothing else "
          "was.")
    elif beyond > 0:
        w(f"{fmt(beyond)} more events were counted as lost than the workload and the forker "
          "account for: other processes in scope (containers elsewhere on the machine) lost "
          "events in the same window. Nothing is missing without being counted.")
    else:
        w(f"{fmt(-beyond)} of the workload's exits are neither in all.log nor counted as lost: "
          "a gap in the drop count, a defect to fix.")
    capacity = _ring_capacity()
    if capacity:
        w("")
        w(f"The ring buffer ({capacity['size'] // 1024} KiB) holds about "
          f"{fmt(capacity['exit'])} exit events ({capacity['exit_bytes']} bytes each with the "
          f"ring's header) or {fmt(capacity['exec'])} exec events ({capacity['exec_bytes']} "
          "bytes; layout from [ebpf/procevents.h](../ebpf/procevents.h)); "
          f"{fmt(overload['exit'])} exits were recorded here.")

    w("")
    w("### Where ulogd's time goes")
    w("")
    data, why = profile
    if data is None:
        w(f"No profile: {why}.")
    else:
        w(f"`perf record -e cpu-clock -g -p <ulogd>` during one more exit run "
          f"({fmt(args.procevents_profile_processes)} processes): "
          f"{data['kernel']:.0f} % of ulogd's samples are in the kernel. Share of the samples "
          "spent in each user-space function and what it called (system calls included), "
          "largest first:")
        w("")
        w(table(["function (with what it calls)", "% of samples"],
                [[f"`{name}`", f"{pct:.1f}"] for pct, name in data["rows"]]))

    w("")
    w("### Reading")
    w("")
    w(_reading(args, results, slowdown, all_exact, any_lost, beyond, data))
    w("")
    w(f"The section took {elapsed:.0f} s.")
    return "\n".join(out)


def _ring_capacity():
    """Events of each kind the ring buffer holds, from ebpf/procevents.h
    (struct procevent: 8 + 8 + 8 × 4 bytes + comm, then the type's part;
    every ring record has an 8-byte header and is padded to 8 bytes)."""
    try:
        with open(os.path.join(os.path.dirname(BUILD), "ebpf", "procevents.h"),
                  encoding="utf-8") as f:
            text = f.read()
        value = {name: int(re.search(rf"#define {name}\s+\(?(\d+)", text).group(1))
                 for name in ("PROCEVENTS_COMM_LEN", "PROCEVENTS_FILENAME_LEN",
                              "PROCEVENTS_ARGS_LEN")}
        size = 1 << int(re.search(r"#define PROCEVENTS_RINGBUF_SIZE\s+\(1u << (\d+)\)",
                                  text).group(1))
    except (OSError, AttributeError):
        return None
    header = 8 + 8 + 8 * 4 + value["PROCEVENTS_COMM_LEN"]
    record = lambda body: (8 + header + body + 7) // 8 * 8  # noqa: E731
    exit_bytes = record(8)
    exec_bytes = record(value["PROCEVENTS_FILENAME_LEN"] + value["PROCEVENTS_ARGS_LEN"] + 8)
    return {"size": size, "exit_bytes": exit_bytes, "exec_bytes": exec_bytes,
            "exit": size // exit_bytes, "exec": size // exec_bytes}


def _reading(args, results, slowdown, all_exact, any_lost, beyond, profile):
    parts = []
    total = sum(r["expected"] for w, _, _ in WORKLOADS for r in results[(w, "ebpf")])
    peak = max(r["expected"] / r["seconds"] for w, _, _ in WORKLOADS
               for r in results[(w, "ebpf")])
    if all_exact:
        parts.append(
            f"- Nothing was lost: all {fmt(total)} process events of the runs with ulogd are in "
            f"all.log, at up to {fmt(peak)} events/s offered, with no `ebpf_lost` record.")
    elif any_lost:
        parts.append(
            "- The ring buffer overflowed in some runs: the kernel counted the events it could "
            "not take and ulogd reported them in `ebpf_lost` records; *Delivery* says whether "
            "every event is either recorded or counted.")
    else:
        parts.append(
            "- Some events are neither in all.log nor counted as lost: see *Delivery*. "
            "That is a defect to fix, not a figure to trust.")
    if beyond >= 0:
        parts.append(
            "- When ulogd cannot keep up (stopped, in the overload run), the loss is counted "
            "exactly and reported in `ebpf_lost` records: a gap is never silent.")
    for workload, _, _ in WORKLOADS:
        n = _processes(args, workload)
        bare = spread([n / r["seconds"] for r in results[(workload, "bare")]])
        ebpf = spread([n / r["seconds"] for r in results[(workload, "ebpf")]])
        overlap = ebpf[1] <= bare[2] and bare[1] <= ebpf[2]
        parts.append(
            f"- {workload}: {fmt(ebpf[0])} processes/s with ulogd against {fmt(bare[0])} "
            f"without ({ebpf[0] / bare[0]:.2f}×, {slowdown[workload]:+.0f} µs per process)"
            + ("; the ranges overlap, so this is within the noise of the machine" if overlap
               else "") + ".")
    cpu = {w: spread([_ms_per_1000(r) for r in results[(w, "ebpf")]])[0]
           for w, _, _ in WORKLOADS}
    share = spread([100 * r["cpu"] / r["handled_seconds"] for w, _, _ in WORKLOADS
                    for r in results[(w, "ebpf")]])[0]
    lag = spread([1000 * r["lag"] for w, _, _ in WORKLOADS for r in results[(w, "ebpf")]])[0]
    one_core = float(f"{1e6 / cpu['exit']:.2g}")  # exit events/s one core of ulogd takes
    parts.append(
        f"- The difference is the probes and ulogd together: ulogd used about {share:.0f} % of "
        f"one core while the workload ran, on a machine of {_cpus()} CPUs that the workload "
        f"keeps busy. ulogd spends {cpu['exit']:.0f} µs of CPU per exit event and "
        f"{cpu['exec']:.0f} µs per event of the exec workload, so one core of it would take "
        f"about {fmt(one_core)} exit events/s before the ring buffer starts to fill"
        + (f", {one_core / peak:.1f}× the most these workloads offered" if one_core > peak
           else ", no more than these workloads offered") +
        f"; ulogd was idle again a median {fmt(lag)} ms after the last process.")
    if profile:
        top = ", ".join(f"`{name}` {pct:.0f} %" for pct, name in profile["rows"][:5])
        names = {name for _, name in profile["rows"][:5]}
        why = []
        if "epoll_wait" in names:
            why.append("waking up for every few events (`epoll_wait`)")
        if names & {"readlink", "open", "read", "access"}:
            why.append("finding out in /proc who each process was (ebpf_identity.c reads "
                       "`/proc/PID/exe` and `/proc/PID/cgroup`), for processes that have "
                       "mostly exited by the time their event is read")
        where = "the kernel" if profile["kernel"] >= 50 else "its own code"
        parts.append(
            f"- ulogd's time goes mostly to {where}: {profile['kernel']:.0f} % of its samples "
            f"are in the kernel (largest: {top})"
            + (f"; that is {' and '.join(why)}" if why else "") + ".")
    return "\n".join(parts)
