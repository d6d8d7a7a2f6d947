"""pipeline_throughput.py - the `pipeline` section of `make bench`: what ulogd's
pipeline with its default configuration costs per line, as a fraction of
raw ingestion, and what a typical set of rules adds.

A real build/ulogd (ULOG_ENV=production: INFO and up, no console mirror)
is started afresh for every run, in a directory of its own, and
build/bench/pipeline_feed (bench/pipeline_feed.c) sends it a realistic mix
of log lines as fast as it takes them. Three configurations run in turn,
their order rotating from round to round so that drift on the machine hits
them alike:

  raw      lifting, redaction and multiline off: assembly, the level scan,
           encoding and the write, the least ulogd does with a line;
  default  no configuration file at all;
  rules    the default plus six rules of the kinds users write.

Per run: ulogd's CPU time (all threads) from just before the first line to
when all.log holds the last one, the wall time from the first send until
ulogd has received the last message, the bytes all.log grew by and ulogd's
peak RSS. A run counts only if every line sent is in all.log or was dropped
by the drop rule (whose matches the feeder counts); otherwise it is
reported as failed, never as a speed. Then, once per configuration, ulogd
runs under callgrind on fewer lines: instructions per line (deterministic)
and, for the default, the functions that take them.
"""

import json
import os
import shutil
import subprocess
import tempfile
import time

from benchlib import BUILD, ULOGD, BenchError, Ulogd, clean_env, fmt, need_file, spread, table

FEED = os.path.join(BUILD, "bench", "pipeline_feed")
SERVICE = "pipeline_feed"
PROFILE = {"ULOG_ENV": "production"}

RAW_YAML = """\
# The least the pipeline can do: assemble lines, scan each for a level word,
# encode the record, write it.
lift: false
redaction: {enabled: false}
multiline: {enabled: false}
"""

# The feeder's "/healthz" lines are what the drop rule matches, and only
# those; the limit is far above any rate reached here, so it never drops.
RULES_YAML = r"""# The default pipeline plus six rules of the kinds users write.
min_levels:
  services: {pipeline_feed: INFO, billing: WARNING}
  components: {sqlalchemy.engine: WARNING}
rules:
  - name: health checks are noise
    match: {message: '~GET /healthz'}
    drop: true
  - name: errors page the team on call
    match: {level: '>=ERROR'}
    set: {metadata.oncall: team-orders}
  - name: each service also gets a file of its own
    match: {service: [pipeline_feed, billing]}
    route: 'svc-{service}'
  - name: a flood guard
    match: {service: pipeline_feed}
    rate_limit: {per_second: 10000000, burst: 10000000}
  - name: no e-mail addresses
    redact: '[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+'
"""

CONFIGS = [
    ("raw", "raw ingestion", RAW_YAML),
    ("default", "default pipeline", None),
    ("rules", "default + 6 rules", RULES_YAML),
]


def _start(directory, name, yaml_text, wrapper=()):
    config = None
    if yaml_text:
        config = os.path.join(directory, f"{name}.yaml")
        with open(config, "w", encoding="utf-8") as f:
            f.write(yaml_text)
    return Ulogd(directory, config, PROFILE, wrapper)


def _feed(ulogd, lines, timeout=300):
    """Run the feeder; its counts and times as a dict of ints."""
    try:
        out = subprocess.run([FEED, "-s", ulogd.socket, "-n", str(lines), "-S", SERVICE],
                             capture_output=True, text=True, timeout=timeout, env=clean_env())
    except subprocess.TimeoutExpired:
        raise BenchError(f"pipeline_feed did not finish within {timeout} s") from None
    if out.returncode != 0:
        raise BenchError(f"pipeline_feed exited with {out.returncode}: {out.stderr.strip()}")
    return {k: int(v) for k, v in (pair.split("=") for pair in out.stdout.split())}


def _settle(ulogd, quiet=0.3):
    """Until ulogd is idle and all.log has stopped growing: longer than the
    100 ms after which ulogd writes what it holds."""
    while True:
        size = os.path.getsize(ulogd.log_path)
        ulogd.wait_idle(quiet)
        if os.path.getsize(ulogd.log_path) == size:
            return


def _read_log(path):
    """Lines of the feeder in all.log (a joined traceback counts all its
    lines), and the counts in ulogd's own ulogd_stop record."""
    lines, stop = 0, {}
    with open(path, "rb") as f:
        for text in f:
            r = json.loads(text)
            if r.get("service") == SERVICE and r.get("source") == "preload":
                lines += r.get("message", "").count("\n") + 1
            elif r.get("event_type") == "ulogd_stop":
                stop = r.get("metadata", {})
    return lines, stop


def _cpu_split(ulogd):
    """(user, system) clock ticks of the whole process."""
    with open(f"/proc/{ulogd.proc.pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])


def _one_run(work, name, yaml_text, lines):
    directory = tempfile.mkdtemp(prefix=f"{name}-", dir=work)
    ulogd = _start(directory, name, yaml_text)
    try:
        _settle(ulogd)
        size0, cpu0, split0 = os.path.getsize(ulogd.log_path), ulogd.cpu_seconds(), _cpu_split(ulogd)
        feed = _feed(ulogd, lines)
        _settle(ulogd)
        cpu1, split1 = ulogd.cpu_seconds(), _cpu_split(ulogd)
        size1, peak = os.path.getsize(ulogd.log_path), ulogd.peak_rss_kib()
        ulogd.stop()
    finally:
        ulogd.kill()
    delivered, stop = _read_log(ulogd.log_path)
    expect_dropped = feed["healthz"] if name == "rules" else 0
    problems = []
    if delivered + expect_dropped != feed["lines"]:
        problems.append(f"{delivered} lines in all.log + {expect_dropped} dropped by rule "
                        f"!= {feed['lines']} sent")
    if stop.get("dropped_by_rule") != expect_dropped or stop.get("rate_limited") != 0:
        problems.append(f"ulogd counted {stop.get('dropped_by_rule')} dropped by rule, "
                        f"{stop.get('rate_limited')} rate-limited")
    wall = (feed["drained_ns"] - feed["start_ns"]) / 1e9
    user, system = split1[0] - split0[0], split1[1] - split0[1]
    shutil.rmtree(directory, ignore_errors=True)
    return {
        "ok": not problems, "problems": problems, "feed": feed, "delivered": delivered,
        "dropped": expect_dropped, "wall": wall, "lines_per_s": feed["lines"] / wall,
        "cpu_us": (cpu1 - cpu0) / feed["lines"] * 1e6, "mb_per_s": (size1 - size0) / wall / 1e6,
        "bytes_per_line": (size1 - size0) / feed["lines"], "peak_mib": peak / 1024,
        "system_share": system / max(user + system, 1), "ulogd_busy": (cpu1 - cpu0) / wall,
    }


# --- callgrind: instructions per line, and where they go ---------------------------------

def _callgrind(work, name, yaml_text, lines, want_profile):
    """Instructions per line inside ulogd's event loop (server_run: the
    start-up, which compiles every regex, is left out); for the default
    configuration also callgrind_annotate's lists."""
    directory = tempfile.mkdtemp(prefix=f"callgrind-{name}-", dir=work)
    out = os.path.join(directory, "callgrind.out")
    wrapper = [shutil.which("valgrind"), "--tool=callgrind", f"--callgrind-out-file={out}",
               "--collect-atstart=no", "--toggle-collect=server_run"]
    ulogd = _start(directory, name, yaml_text, wrapper)
    try:
        _settle(ulogd, quiet=0.5)
        feed = _feed(ulogd, lines, timeout=600)
        _settle(ulogd, quiet=0.5)
        ulogd.stop(timeout=120)  # SIGTERM: callgrind writes its file as ulogd exits
    finally:
        ulogd.kill()
    with open(out, encoding="utf-8", errors="replace") as f:
        total = next((int(line.split()[1]) for line in f
                      if line.startswith(("summary:", "totals:"))), None)
    if total is None:
        raise BenchError(f"no instruction total in {out}")
    profile = None
    if want_profile:
        profile = {"self": _annotate(out, False), "inclusive": _annotate(out, True),
                   "lines": feed["lines"], "total": total}
    return total / feed["lines"], profile


def _annotate(path, inclusive):
    """Every function callgrind_annotate lists: (instructions, function, object)."""
    argv = ["callgrind_annotate", f"--inclusive={'yes' if inclusive else 'no'}", path]
    text = subprocess.run(argv, capture_output=True, text=True, timeout=120).stdout
    rows, started = [], False
    for line in text.splitlines():
        if line.strip().endswith("file:function"):
            started = True
            continue
        head, _, rest = line.partition(")  ")
        count = head.split("(")[0].strip().replace(",", "")
        if not started or not rest or not count.isdigit():
            continue
        where, _, obj = rest.strip().rpartition(" [")
        function = where.split(":", 1)[1] if ":" in where else where
        rows.append((int(count), function, os.path.basename(obj.rstrip("]"))))
    return rows


# --- the section -------------------------------------------------------------------------

def pipeline(args, work):
    """Pipeline throughput: the default configuration against raw ingestion."""
    need_file(FEED, "run `make bench` (it builds build/bench/pipeline_feed)")
    need_file(ULOGD, "run `make`")
    started = time.monotonic()
    results = {name: [] for name, _, _ in CONFIGS}
    for run in range(args.pipeline_runs):
        turn = run % len(CONFIGS)
        for name, _, yaml_text in CONFIGS[turn:] + CONFIGS[:turn]:
            results[name].append(_one_run(work, name, yaml_text, args.pipeline_lines))
    measured = time.monotonic() - started
    instructions, profile = None, None
    if shutil.which("valgrind") and shutil.which("callgrind_annotate"):
        instructions = {}
        for name, _, yaml_text in CONFIGS:
            instructions[name], p = _callgrind(work, name, yaml_text, args.pipeline_callgrind_lines,
                                               name == "default")
            profile = p or profile
    return _report(args, results, instructions, profile, measured, time.monotonic() - started)


# --- the report ----------------------------------------------------------------------------

def _median_range(values, digits):
    med, lo, hi, _ = spread(values)
    return fmt(med, digits), f"{fmt(lo, digits)} – {fmt(hi, digits)}"


def _paired_ratios(results, name, key):
    """Per round, the configuration's figure over raw's: rounds share the machine's mood."""
    return [run[key] / raw[key] for run, raw in zip(results[name], results["raw"])
            if run["ok"] and raw["ok"]]


def _report(args, results, instructions, profile, measured, elapsed):
    out = []
    w = out.append
    w("How much of raw ingestion speed ulogd keeps with its default pipeline (lifting JSON and "
      "logfmt, multiline joining, default redaction), and what a typical rule set adds. "
      "`build/bench/pipeline_feed` ([bench/pipeline_feed.c](../bench/pipeline_feed.c)) speaks "
      "the shim's protocol to a real `build/ulogd` and sends it one message per log call as "
      "fast as ulogd takes them (it waits in `poll()` whenever ulogd's socket is full), from a "
      "corpus of what services print: plain text with and without a level word, Python "
      "logging, nginx, Apache, glog, logback, JSON from pino, zap and structlog, logfmt; a "
      "secret every ~100 lines, a Python traceback (7 lines in one write) every ~200, a card "
      "number every ~1000. No line is below INFO, so every line goes the whole way to "
      "all.log. ulogd runs with `ULOG_ENV=production`, a directory of its own and a fresh "
      f"start for every run; {fmt(args.pipeline_lines)} lines per run, {args.pipeline_runs} "
      "runs of each configuration, alternating (the order rotates from round to round):")
    w("")
    w("- **raw ingestion**: the least ulogd does with a line: receive, assemble, scan for a "
      "level word, encode the record, write it:")
    w("")
    w("  ```yaml")
    w("\n".join("  " + line for line in RAW_YAML.strip().splitlines()))
    w("  ```")
    w("- **default pipeline**: no configuration file at all;")
    w("- **default + 6 rules**: a drop by regex on the message (it matches the feeder's "
      "kube-probe `/healthz` lines, which the feeder counts), a set, a route by service (a "
      "second file, `svc-pipeline_feed.log`, gets every line), a rate limit that never "
      "triggers, minimum levels per service and component, and a redact rule:")
    w("")
    w("  ```yaml")
    w("\n".join("  " + line for line in RULES_YAML.strip().splitlines()))
    w("  ```")
    w("")
    w("Per run: **lines/s** is the lines sent over the wall time from the first send until "
      "ulogd has taken the last message off its socket (the feeder polls `SIOCOUTQ`), which "
      "leaves out the up to 100 ms for which ulogd holds written records before its write(2); "
      "**CPU µs per line** is ulogd's CPU time (all threads, from the kernel's per-thread "
      "`schedstat`) from before the first line until all.log holds the last, over the lines "
      "sent; **all.log MB/s** is what all.log grew by over the same wall time; **peak RSS** is "
      "ulogd's `VmHWM`. ulogd is single-threaded, so its CPU per line is what bounds its "
      "throughput on any machine; lines/s also depends on the feeder sharing the 2 cores. "
      "A run counts only if every line sent is in all.log (a joined traceback counts all its "
      "lines) or was dropped by the drop rule, and ulogd's own counts at exit agree (dropped "
      "by rule = the feeder's `/healthz` lines, rate-limited = 0); otherwise it is reported "
      "as failed below, not as a speed.")
    w("")
    w("Reproduce with `make bench`, or, once `make all build/bench/pipeline_feed` has run:")
    w("")
    w("```sh")
    w(f"python3 bench/run_shim_cost.py --only pipeline --pipeline-runs {args.pipeline_runs} "
      f"--pipeline-lines {args.pipeline_lines} "
      f"--pipeline-callgrind-lines {args.pipeline_callgrind_lines}")
    w("```")

    failed = {name: [r for r in results[name] if not r["ok"]] for name, _, _ in CONFIGS}
    good = {name: [r for r in results[name] if r["ok"]] for name, _, _ in CONFIGS}
    if not good["raw"]:
        w("")
        w("**No run of raw ingestion delivered every line, so there is nothing to compare "
          "against:**")
        w("")
        for r in failed["raw"]:
            w(f"- {'; '.join(r['problems'])}")
        return "\n".join(out)

    w("")
    w("### Throughput")
    w("")
    w("Over the runs that delivered every line: median and min – max. `× raw` compares "
      "each configuration with raw ingestion of the same round (median and min – max of "
      "those ratios); **capacity** is raw's CPU per line over the configuration's: the share "
      "of raw ingestion's rate that ulogd keeps when it alone is the limit.")
    w("")
    rows, capacity = [], {}
    for name, label, _ in CONFIGS:
        runs = good[name]
        if not runs:
            rows.append([label, "all runs failed", "", "", "", "", ""])
            continue
        lps = _median_range([r["lines_per_s"] for r in runs], 0)
        cpu = _median_range([r["cpu_us"] for r in runs], 2)
        if name == "raw":
            ratio, cap = "1.00", "100 %"
        else:
            ratios = _paired_ratios(results, name, "cpu_us")
            med, lo, hi, _ = spread(ratios)
            capacity[name] = (1 / med, 1 / hi)
            ratio = f"{med:.2f} ({lo:.2f} – {hi:.2f})"
            cap = f"{100 / med:.0f} % ({100 / hi:.0f} – {100 / lo:.0f} %)"
        rows.append([label, lps[0], lps[1], cpu[0], cpu[1], ratio, cap])
    w(table(["configuration", "lines/s", "min – max", "ulogd CPU µs/line", "min – max",
             "CPU/line × raw", "capacity vs raw"], rows))
    w("")
    rows = []
    for name, label, _ in CONFIGS:
        runs = good[name]
        if not runs:
            continue
        med = lambda key, d=1: fmt(spread([r[key] for r in runs])[0], d)
        rows.append([label, med("mb_per_s"), med("bytes_per_line", 0),
                     f"{med('peak_mib')} ({fmt(max(r['peak_mib'] for r in runs), 1)})",
                     f"{100 * spread([r['system_share'] for r in runs])[0]:.0f} %",
                     f"{100 * spread([r['ulogd_busy'] for r in runs])[0]:.0f} %",
                     fmt(spread([r['feed']['waits'] for r in runs])[0])])
    w(table(["configuration", "all.log MB/s", "all.log bytes/line", "peak RSS MiB (max)",
             "ulogd CPU in the kernel", "ulogd busy (CPU / wall)", "feeder sends that waited"],
            rows))
    w("")
    w("Medians. *ulogd CPU in the kernel* is system time over user + system time "
      "(`/proc/PID/stat`): receiving messages and writing files. *Feeder sends that waited* "
      "found ulogd's socket full: in the thousands, ulogd, not the feeder, set the pace.")

    w("")
    w("### Delivery")
    w("")
    rows = []
    for name, label, _ in CONFIGS:
        runs = results[name]
        sent = sum(r["feed"]["lines"] for r in runs)
        rows.append([label, f"{len(good[name])} of {len(runs)}", fmt(sent),
                     fmt(sum(r["delivered"] for r in runs)), fmt(sum(r["dropped"] for r in runs))])
    w(table(["configuration", "runs complete", "lines sent", "lines in all.log",
             "dropped by the drop rule"], rows))
    for name, label, _ in CONFIGS:
        for r in failed[name]:
            w(f"- failed run of {label}: {'; '.join(r['problems'])}")

    if instructions:
        w("")
        w("### Instructions per line")
        w("")
        w(f"User-space instructions per line counted by `valgrind --tool=callgrind` inside "
          f"ulogd's event loop (`--toggle-collect=server_run`: start-up, where every regex is "
          f"compiled, is left out), one run of {fmt(args.pipeline_callgrind_lines)} lines per "
          "configuration. Deterministic where the times are not; the kernel's share "
          "(receiving, writing) is not in them.")
        w("")
        raw = instructions["raw"]
        w(table(["configuration", "instructions/line", "× raw"],
                [[label, fmt(instructions[name]), f"{instructions[name] / raw:.2f}"]
                 for name, label, _ in CONFIGS]))
    if profile:
        w("")
        w(_what_limits_it(profile))

    w("")
    w("### The stated fraction")
    w("")
    w(_stated_fraction(capacity, good, instructions))
    w("")
    w(f"The measured runs took {fmt(measured)} s; the whole section, callgrind included, "
      f"{fmt(elapsed)} s.")
    return "\n".join(out)


def _label(function, obj):
    if obj == "???":
        return "regex code compiled by PCRE2's JIT (callgrind cannot name it)"
    if obj.startswith("libjansson") and function.startswith("0x"):
        return "a jansson function (the library has no symbols)"
    return f"`{function}`"


def _what_limits_it(profile):
    lines, total = profile["lines"], profile["total"]
    inclusive = {f: n for n, f, _ in profile["inclusive"]}
    out = ["### What limits it", "",
           f"ulogd's default pipeline under callgrind, {fmt(lines)} lines: the functions "
           "taking the most instructions themselves (*self*), and the functions below "
           "`pipeline_line` (which every line passes through) with everything they call "
           "(*inclusive*), per line and as a share of the event loop's instructions.", ""]
    rows = [[_label(f, o), o, fmt(n / lines), f"{100 * n / total:.1f} %"]
            for n, f, o in profile["self"][:8]]
    out += [table(["self", "object", "instructions/line", "share"], rows), ""]
    below = inclusive.get("pipeline_line", total)
    rows = [[f"`{f}`", o, fmt(n / lines), f"{100 * n / total:.1f} %"]
            for n, f, o in profile["inclusive"]
            if n < below and o != "???" and not f.startswith("0x")][:8]
    out += [table(["inclusive", "object", "instructions/line", "share"], rows), ""]

    def share(test):
        return 100 * sum(n for n, f, o in profile["self"] if test(f, o)) / total
    jit = share(lambda f, o: o == "???")
    jansson = share(lambda f, o: o.startswith("libjansson"))
    alloc = share(lambda f, o: o.startswith("libc") and any(
        k in f for k in ("malloc", "free", "calloc", "realloc", "consolidate")))
    parts = [f"Of the event loop's instructions, {jit:.0f} % run in JIT-compiled regex code, "
             f"{jansson:.0f} % in jansson (parsing lifted JSON lines, building and dumping "
             f"records' metadata) and {alloc:.0f} % in malloc and free."]
    known = [("multiline_formats_start", "the multiline start test (one combined regex per "
              "line)"),
             ("lift_line", "lifting JSON and logfmt"),
             ("redactor_apply_text", "default redaction of the message"),
             ("outputs_write", "encoding and queueing the record")]
    found = [f"{what} {fmt(inclusive[f] / lines)} (`{f}`)" for f, what in known if f in inclusive]
    if found:
        parts.append("Per line, inclusive: " + "; ".join(found) + ".")
    return "\n".join(out + [" ".join(parts)])


def _stated_fraction(capacity, good, instructions):
    if not capacity:
        return "No configuration besides raw ingestion completed a run: no fraction to state."
    parts = []
    for name, label in (("default", "default pipeline"), ("rules", "default + 6 rules")):
        if name not in capacity:
            continue
        median, worst = capacity[name]
        floor = int(worst * 20) / 20  # rounded down to 5 %
        lps = spread([r["lines_per_s"] for r in good[name]])[0] / \
            spread([r["lines_per_s"] for r in good["raw"]])[0]
        text = (f"- **{label}: at least {100 * floor:.0f} % of raw ingestion's throughput** "
                f"on this machine: ulogd keeps {100 * median:.0f} % of raw's capacity per CPU "
                f"second (median of the rounds; {100 * worst:.0f} % in the worst round), and "
                f"{100 * lps:.0f} % of its measured lines/s")
        if instructions:
            text += (f"; {100 * instructions['raw'] / instructions[name]:.0f} % by "
                     "instruction count")
        parts.append(text + ".")
    return "\n".join(parts)
