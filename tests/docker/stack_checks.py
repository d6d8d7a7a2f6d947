"""stack_checks.py - what the end-to-end test asserts about all.log, once the
example stack of compose/docker-compose.yml has run against a real engine.

Each check is a function of a Run (the records, the containers as `docker
ps` names them, the log directory) that returns a short summary when it
holds and raises AssertionError, saying what was found instead, when it
does not. run_docker.py reports each as a test of its own
("docker/NAME"). The stack's programs print "pid=N" in some lines (N as
the process sees itself), and the stand-in database numbers its lines
"(seq NNNN)": that is what the checks compare with.
"""

import collections
import json
import os
import re
import stat
import subprocess

# The example services that run the shim, and how many processes each is
# expected to show at least (master and workers, parent and children...).
SHIM_SERVICES = {"python-web": 3, "node-api": 2, "c-worker": 3, "cron": 2, "musl-tick": 1}
ENGINE_SERVICE = "thirdparty-db"        # no shim: collected from the engine
EXITING_SERVICE, EXIT_STATUS = "c-worker", 3
DB_LINES = 40                           # compose/thirdparty-db/db.sh's LINES
PID_IN_LINE = re.compile(r"\bpid=(\d+)\b")
SEQ_IN_LINE = re.compile(r"\(seq (\d{4})\)")
HEX12 = re.compile(r"^[0-9a-f]{12}$")


def read_records(path):
    """all.log's records in order ([] before it exists); a line that is not
    JSON becomes a record saying so, which no check will take for a good one."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    records = []
    for line in data.split(b"\n"):
        if line.strip():
            try:
                records.append(json.loads(line))
            except ValueError:
                records.append({"message": f"(not JSON: {line[:200]!r})"})
    return records


class Run:
    """What one run of the stack left: records of all.log (in order) and
    the containers, {compose service: 12-hex id} as `docker ps -a` shows."""

    def __init__(self, records, containers, log_dir):
        self.records = records
        self.containers = containers
        self.log_dir = log_dir

    def of_service(self, service):
        return [r for r in self.records if r.get("service") == service]

    def container_of(self, service):
        cid = self.containers.get(service)
        if not cid:
            raise AssertionError(f"docker ps -a shows no container for {service}")
        return cid


def _show(record, width=240):
    text = " ".join(f"{k}={record.get(k)!r}" for k in
                    ("service", "container", "pid", "source", "stream", "event_type")
                    if k in record)
    return f"{text} message={record.get('message', '')[:width]!r}"


def _lines(records):
    return [r for r in records if r.get("stream") in ("stdout", "stderr")]


# --- each service's lines --------------------------------------------------------

def service_lines(run, service):
    """Lines from `service` under its compose name, from its container, from
    the shim, and every "pid=N" line with pid N."""
    cid = run.container_of(service)
    in_container = _lines(r for r in run.records if r.get("container") == cid)
    named = _lines(run.of_service(service))
    if not in_container:
        raise AssertionError(f"no line from container {cid} ({service}) in all.log")
    wrong_name = [r for r in in_container if r.get("service") != service]
    if wrong_name:
        names = collections.Counter(r.get("service") for r in wrong_name)
        raise AssertionError(f"{len(wrong_name)} of {len(in_container)} lines of container "
                             f"{cid} are not named {service!r} but {dict(names)}; e.g.\n"
                             + _show(wrong_name[0]))
    elsewhere = [r for r in named if r.get("container") != cid]
    if elsewhere:
        raise AssertionError(f"{len(elsewhere)} lines named {service!r} carry another container "
                             f"than {cid}; e.g.\n" + _show(elsewhere[0]))
    not_shim = [r for r in named if r.get("source") != "preload"]
    if not_shim:
        raise AssertionError(f"{len(not_shim)} lines of {service} did not come through the shim "
                             f"(it runs with LD_PRELOAD); e.g.\n" + _show(not_shim[0]))
    printed = [(r, int(m.group(1))) for r in named
               for m in [PID_IN_LINE.search(r.get("message", ""))] if m]
    if not printed:
        raise AssertionError(f"none of the {len(named)} lines of {service} names its pid (pid=N)")
    wrong_pid = [(r, n) for r, n in printed if r.get("pid") != n]
    if wrong_pid:
        r, n = wrong_pid[0]
        raise AssertionError(f"{len(wrong_pid)} of {len(printed)} lines of {service} have "
                             f"another pid than the one they print; e.g. printed {n}:\n"
                             + _show(r))
    pids = sorted({n for _, n in printed})
    if len(pids) < SHIM_SERVICES[service]:
        raise AssertionError(f"lines of only {len(pids)} process(es) of {service} (pids {pids}); "
                             f"expected at least {SHIM_SERVICES[service]}")
    return f"{len(named)} lines, container {cid}, pids {pids}"


def python_traceback(run):
    """The web service's tracebacks (logging.exception) are one record each."""
    records = _lines(run.of_service("python-web"))
    whole = [r for r in records if "Traceback (most recent call last):" in r.get("message", "")]
    pieces = [r for r in records if r.get("message", "").startswith(("  File ", "    "))
              or r.get("message", "").startswith("OrderNotFound")]
    if not whole:
        raise AssertionError(f"no traceback among {len(records)} lines of python-web")
    broken = [r for r in whole if "OrderNotFound: order" not in r.get("message", "")]
    if pieces or broken:
        r = (pieces or broken)[0]
        raise AssertionError(f"{len(pieces)} traceback lines on their own, {len(broken)} "
                             "tracebacks without their last line; e.g.\n" + _show(r, 400))
    return f"{len(whole)} tracebacks, each one record"


# --- the service that exits ---------------------------------------------------------

def process_exit(run):
    cid = run.container_of(EXITING_SERVICE)
    exits = [r for r in run.records if r.get("event_type") == "process_exit"
             and r.get("container") == cid]
    main = [r for r in exits if r.get("metadata", {}).get("exit_status") == EXIT_STATUS]
    if not main:
        raise AssertionError(f"no process_exit record with exit_status {EXIT_STATUS} from "
                             f"{EXITING_SERVICE} ({cid}); its exits: "
                             + ("; ".join(_show(r, 120) for r in exits) or "none"))
    r = main[0]
    problems = []
    if r.get("service") != EXITING_SERVICE:
        problems.append(f"service {r.get('service')!r}")
    if r.get("pid") != 1:
        problems.append(f"pid {r.get('pid')} (it is pid 1 in its container)")
    if r.get("level") != "ERROR":
        problems.append(f"level {r.get('level')}")
    last = [line.get("message", "") for line in r.get("metadata", {}).get("last_lines", [])]
    if not any("fatal: cannot open" in m for m in last):
        problems.append(f"its last lines lack the fatal error: {last[-3:]}")
    if problems:
        raise AssertionError("process_exit record of the worker has " + ", ".join(problems)
                             + "\n" + _show(r))
    return f"{r.get('message')} ({r.get('source')})"


def container_die(run):
    cid = run.container_of(EXITING_SERVICE)
    dies = [r for r in run.records if r.get("event_type") == "container_die"
            and r.get("container") == cid]
    if len(dies) != 1:
        raise AssertionError(f"{len(dies)} container_die records for {EXITING_SERVICE} ({cid}), "
                             "expected 1" + "".join("\n" + _show(r) for r in dies[:3]))
    r = dies[0]
    meta = r.get("metadata", {})
    problems = []
    if meta.get("exit_code") != EXIT_STATUS:
        problems.append(f"metadata.exit_code {meta.get('exit_code')!r}")
    if r.get("service") != EXITING_SERVICE or r.get("source") != "docker":
        problems.append(f"service {r.get('service')!r}, source {r.get('source')!r}")
    if r.get("level") != "ERROR" or r.get("stream") != "event":
        problems.append(f"level {r.get('level')}, stream {r.get('stream')}")
    if problems:
        raise AssertionError("container_die record has " + ", ".join(problems) + "\n" + _show(r))
    return r.get("message", "")


# --- the container without the shim -------------------------------------------------

def engine_lines_once(run):
    """Every numbered line of the stand-in database, source docker, once,
    on the stream it was written to, named and placed right."""
    cid = run.container_of(ENGINE_SERVICE)
    seen = collections.defaultdict(list)
    for r in _lines(r for r in run.records if r.get("container") == cid):
        m = SEQ_IN_LINE.search(r.get("message", ""))
        if m:
            seen[int(m.group(1))].append(r)
    missing = [n for n in range(1, DB_LINES + 1) if n not in seen]
    twice = {n: len(rs) for n, rs in seen.items() if len(rs) > 1}
    problems = []
    if missing:
        problems.append(f"{len(missing)} of {DB_LINES} numbered lines missing "
                        f"(first: {missing[:8]})")
    if twice:
        problems.append(f"lines seen more than once: {dict(list(twice.items())[:8])}")
    for n, rs in sorted(seen.items()):
        r = rs[0]
        want_stream = "stdout" if n % 4 == 0 else "stderr"
        wrong = []
        if r.get("source") != "docker":
            wrong.append(f"source {r.get('source')!r}")
        if r.get("service") != ENGINE_SERVICE:
            wrong.append(f"service {r.get('service')!r}")
        if r.get("stream") != want_stream:
            wrong.append(f"stream {r.get('stream')!r}, written to {want_stream}")
        if "pid" in r:
            wrong.append(f"a pid ({r['pid']}) the engine cannot know")
        if wrong:
            problems.append(f"line {n:04d}: " + ", ".join(wrong) + "\n" + _show(r))
            break
    if problems:
        raise AssertionError("\n".join(problems))
    return f"{DB_LINES} lines from container {cid}, each once"


def shim_containers_not_from_engine(run):
    """A container whose processes speak through the shim is not also read
    from the engine: its lines would be there twice."""
    shim_ids = {run.containers.get(s) for s in SHIM_SERVICES} - {None}
    twice = [r for r in _lines(run.records)
             if r.get("source") == "docker" and r.get("container") in shim_ids]
    if twice:
        counts = collections.Counter(r.get("service") for r in twice)
        raise AssertionError(f"{len(twice)} lines of shim services read from the engine too: "
                             f"{dict(counts)}; e.g.\n" + _show(twice[0]))
    return f"none of {len(shim_ids)} shim containers read from the engine"


# --- the whole file --------------------------------------------------------------------

def no_duplicates(run):
    broken = [r for r in run.records if r.get("message", "").startswith("(not JSON: ")]
    if broken:
        raise AssertionError(f"{len(broken)} lines of all.log are not JSON; e.g. "
                             + broken[0]["message"])
    keys = collections.Counter((r.get("container"), r.get("stream"), r.get("message"),
                                r.get("timestamp")) for r in run.records)
    dups = [(k, n) for k, n in keys.items() if n > 1]
    if dups:
        raise AssertionError(f"{len(dups)} records appear more than once; e.g.\n"
                             + "\n".join(f"{n}x {k}" for k, n in dups[:5]))
    return f"{len(run.records)} records, all JSON, none twice"


def one_exit_per_process(run):
    """Each process's end told once, whichever input saw it (eBPF or the
    shim's connection)."""
    ends = collections.defaultdict(list)
    for r in run.records:
        if r.get("event_type") == "process_exit" and r.get("container"):
            meta = r.get("metadata", {})
            ends[(r["container"], meta.get("host_pid", r.get("pid")))].append(r)
    twice = [rs for rs in ends.values() if len(rs) > 1]
    if twice:
        raise AssertionError(f"{len(twice)} of {len(ends)} processes have more than one "
                             "process_exit record; e.g.\n"
                             + "\n".join(_show(r, 100) for r in twice[0]))
    return f"{len(ends)} process ends, each told once"


def ebpf_active(run):
    """The compose file's capabilities are enough: eBPF loaded in ulogd."""
    refused = [r for r in run.records if r.get("event_type") == "ebpf_unavailable"]
    if refused:
        raise AssertionError("ulogd could not use eBPF with the compose file's privileges:\n"
                             + refused[0].get("message", ""))
    events = collections.Counter(r.get("event_type") for r in run.records
                                 if r.get("source") == "ebpf")
    if not events:
        raise AssertionError("no record from eBPF in all.log")
    return ", ".join(f"{k} x{n}" for k, n in sorted(events.items(), key=str))


def ulogd_lines(run):
    own = [r for r in run.records if r.get("source") == "ulogd"]
    kinds = collections.Counter(r.get("event_type") for r in own)
    if "ulogd_start" not in kinds:
        raise AssertionError(f"no ulogd_start record; ulogd's own records: {dict(kinds)}")
    if "ulogd_stop" not in kinds:
        raise AssertionError(f"no ulogd_stop record (ulogd stopped by docker-compose stop); "
                             f"ulogd's own records: {dict(kinds)}")
    return ", ".join(f"{k} x{n}" for k, n in sorted(kinds.items(), key=str))


def file_ownership(run):
    """Every file in the log directory belongs to the directory's owner,
    mode 0640, and that user can read all.log."""
    top = os.stat(run.log_dir)
    problems = []
    names = sorted(os.listdir(run.log_dir))
    if "all.log" not in names:
        raise AssertionError(f"no all.log in {run.log_dir}")
    for name in names:
        st = os.stat(os.path.join(run.log_dir, name))
        if (st.st_uid, st.st_gid) != (top.st_uid, top.st_gid):
            problems.append(f"{name} belongs to {st.st_uid}:{st.st_gid}, the directory to "
                            f"{top.st_uid}:{top.st_gid}")
        if stat.S_IMODE(st.st_mode) != 0o640:
            problems.append(f"{name} has mode {stat.S_IMODE(st.st_mode):04o}, not 0640")
    read = subprocess.run(["wc", "-l", os.path.join(run.log_dir, "all.log")],
                          capture_output=True, text=True, user=top.st_uid, group=top.st_gid,
                          extra_groups=[], timeout=30)
    if read.returncode != 0:
        problems.append(f"uid {top.st_uid} cannot read all.log: {read.stderr.strip()}")
    if problems:
        raise AssertionError("\n".join(problems))
    return f"{', '.join(names)}: {top.st_uid}:{top.st_gid} 0640, readable by uid {top.st_uid}"


def all_checks():
    """(name, function(run)) in the order they are reported."""
    checks = [(f"lines/{s}", lambda run, s=s: service_lines(run, s)) for s in SHIM_SERVICES]
    return checks + [
        ("traceback_one_record/python-web", python_traceback),
        (f"process_exit/{EXITING_SERVICE}", process_exit),
        (f"container_die/{EXITING_SERVICE}", container_die),
        (f"engine_lines/{ENGINE_SERVICE}", engine_lines_once),
        ("shim_containers_not_read_from_engine", shim_containers_not_from_engine),
        ("no_duplicate_records", no_duplicates),
        ("one_process_exit_per_process", one_exit_per_process),
        ("ebpf_active", ebpf_active),
        ("ulogd_own_lines", ulogd_lines),
        ("log_files_owned_by_log_dir_owner", file_ownership),
    ]
