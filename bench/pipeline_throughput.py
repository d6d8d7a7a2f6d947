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

from benchlib import BUILD, ULOGD, BenchError, Ulogd, clean_env, need_file
from pipeline_report import report

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
        "dropped": stop.get("dropped_by_rule") or 0, "wall": wall, "lines_per_s": feed["lines"] / wall,
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
    argv = ["callgrind_annotate", "--auto=no", f"--inclusive={'yes' if inclusive else 'no'}",
            path]
    text = subprocess.run(argv, capture_output=True, text=True, timeout=120).stdout
    rows, started = [], False
    for line in text.splitlines():
        if line.strip().endswith("file:function"):
            started = True
            continue
        if started and rows and not line.strip():
            break  # the end of the list
        head, _, rest = line.partition(")  ")
        count = head.split("(")[0].strip().replace(",", "")
        if not started or not rest or not count.isdigit():
            continue
        # "  1,234 (5.6%)  file.c:function [/path/object]"; without the object
        # for the part of a function that came from a header it inlined
        where, bracket, obj = rest.strip().partition(" [")
        if not bracket:
            continue
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
    return report(args, CONFIGS, results, instructions, profile, measured,
                  time.monotonic() - started)
