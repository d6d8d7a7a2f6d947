"""docker_peer.py - Docker's json-file logging driver as a contender in the
aggregation section of `make bench`: the path ulog's users have today, a
container writing to stdout and a real dockerd writing each line into the
container's JSON log file.

What one run measures: a container (`--network none`) runs the bench's
writer (bench/writer.c, built static and imported as the only file of an
image), which forks WRITERS processes that each write LINES unique lines to
stdout. The lines go writer -> pipe -> containerd-shim -> FIFO -> dockerd ->
json-file, one JSON object per line ({"log":"<line>\\n","stream":"stdout",
"time":...}). We follow the log file until it holds every line, then parse
it and check that each line arrived exactly once and intact, before any
speed is believed.

  wall_s                  from just before `docker start` to the moment the
                          file held the last line (so it includes the
                          container start, reported apart as start_s)
  log_span_s              dockerd's own timestamps: first line to last line
                          received (the logging path without container start)
  collector_cpu_s         dockerd (all threads) from just before `docker
                          start` to the last line in the file, plus the
                          container's containerd-shim over its whole life
                          (it copies the container's stdout pipe to dockerd's
                          FIFO); both also reported apart, with containerd's
  writers_cpu_s           the writer's own report (getrusage of its children,
                          the line it writes on stderr, which lands in the same
                          file), as for every contender; the container's cgroup
                          CPU (under a parent cgroup of ours, which keeps the
                          count after the container is gone) is given apart
                          and stands in if the report is missing
  collector_peak_rss_kib  dockerd's VmHWM, reset (clear_refs) just before
                          the run: its peak RSS during the run
  delivered, dropped      distinct intact lines in the file, and the rest;
                          json-file blocks rather than drop, so dropped
                          should be 0, and it is counted, not assumed

The engine: a dockerd already answering on the default socket is used as it
is and never stopped. Otherwise we start our own on a private socket, exec
root and data root (never /var/lib/docker, which another daemon may own),
without networking (--bridge=none --iptables=false), and stop it by its pid
in teardown(); it starts and stops its own containerd.

Run alone (`python3 bench/docker_peer.py`) it is a self-test: setup, one run
each with 1, 8 and 64 writers of ~50 000 short lines in all, teardown.
Python 3 standard library only.
"""

import atexit
import io
import json
import os
import re
import signal
import subprocess
import sys
import tarfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WRITER_SRC = os.path.join(ROOT, "bench", "writer.c")

DOCKER = "/usr/bin/docker"        # Debian's docker.io CLI, matching its engine
DOCKERD = "/usr/sbin/dockerd"
IMAGE = "ulog-bench-writer:latest"
DEFAULT_SOCKET = "/var/run/docker.sock"
DEFAULT_PIDFILE = "/var/run/docker.pid"
OWN_SOCKET = "/run/ulog-bench-docker.sock"
OWN_PIDFILE = "/run/ulog-bench-docker.pid"
OWN_EXEC_ROOT = "/run/ulog-bench-docker"
OWN_DATA_ROOT = "/var/lib/ulog-bench-docker"
CGROUP_PARENT = "ulog-bench-docker"   # every container of ours runs under it
LINE_RE = re.compile(r"w(\d{3}) (\d{8}) ")


class PeerMissing(Exception):
    """Docker cannot run here; the message says why."""


# --- /proc readings -------------------------------------------------------------------

def cpu_seconds(pid):
    """CPU time of all the threads of `pid` so far (schedstat, in ns), or
    None if it is gone."""
    total = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat", encoding="ascii") as f:
                    total += int(f.read().split()[0])
            except (FileNotFoundError, ProcessLookupError):
                pass                      # a thread that just ended
    except OSError:
        return None
    return total / 1e9


def status_kib(pid, key):
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def reset_peak_rss(pid):
    """Make VmHWM start again from the current RSS (Linux >= 4.0)."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        return True
    except OSError:
        return False


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm", encoding="ascii") as f:
            return f.read().strip()
    except OSError:
        return None


def find_shim(container_id):
    """The pid of the containerd-shim that serves `container_id`."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and b"containerd-shim" in argv[0] and container_id.encode() in argv:
            return int(entry)
    return None


def cgroup_cpu_reader(parent):
    """A function returning the CPU seconds charged so far to cgroup
    `parent` and all it held, or None where there is no such counter."""
    v1 = v2 = None
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            fstype, options = fields[sep + 1], fields[sep + 3].split(",")
            if fstype == "cgroup" and "cpuacct" in options:
                v1 = os.path.join(fields[4], parent, "cpuacct.usage")
            elif fstype == "cgroup2" and v2 is None:
                v2 = os.path.join(fields[4], parent, "cpu.stat")
    if v1:
        def read():
            try:
                with open(v1, encoding="ascii") as f:
                    return int(f.read()) / 1e9
            except OSError:
                return 0.0            # not created yet: nothing charged
        return read, v1
    if v2:
        def read():
            try:
                with open(v2, encoding="ascii") as f:
                    for line in f:
                        if line.startswith("usage_usec "):
                            return int(line.split()[1]) / 1e6
            except OSError:
                return 0.0
            return None
        return read, v2
    return None, None


def rfc3339_seconds(stamp):
    """Seconds of day of dockerd's "2026-11-21T18:17:34.019941821Z" (only
    differences within a run are used)."""
    clock = stamp.split("T", 1)[1].rstrip("Z")
    hms, _, frac = clock.partition(".")
    h, m, s = (int(x) for x in hms.split(":"))
    return h * 3600 + m * 60 + s + (int(frac) / 10 ** len(frac) if frac else 0.0)


# --- the contender -------------------------------------------------------------------

class DockerJsonFile:
    name = "docker json-file"

    def __init__(self):
        self.env = None
        self.cli_env = {"LC_ALL": "C"}
        self.dockerd = None            # our Popen, if we started the engine
        self.dockerd_pid = None        # the engine's pid, ours or not
        self.image_imported = False
        self.containers = set()
        self.info = {}                 # setup facts for the report

    # -- docker CLI --

    def _docker(self, *args, check=True, timeout=60, stdin_data=None):
        proc = subprocess.run([DOCKER, *args], input=stdin_data, capture_output=True,
                              env=self.env, timeout=timeout)
        if check and proc.returncode != 0:
            raise PeerMissing(f"docker {args[0]} failed: "
                              f"{proc.stderr.decode(errors='replace').strip()[-400:]}")
        return proc.stdout.decode(errors="replace").strip()

    def _answers(self, socket_path):
        env = dict(os.environ, DOCKER_HOST=f"unix://{socket_path}", **self.cli_env)
        try:
            return subprocess.run([DOCKER, "version", "--format", "{{.Server.Version}}"],
                                  capture_output=True, env=env, timeout=20).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    # -- setup --

    def setup(self, work_dir):
        """Raises PeerMissing (and leaves nothing running) if Docker cannot
        run here."""
        try:
            self._setup(work_dir)
        except Exception as e:
            self.teardown()
            if isinstance(e, PeerMissing):
                raise
            raise PeerMissing(f"docker setup failed: {e}") from e

    def _setup(self, work_dir):
        t0 = time.monotonic()
        if not (os.access(DOCKER, os.X_OK) and os.access(DOCKERD, os.X_OK)):
            raise PeerMissing("docker.io not installed")
        self.work_dir = os.path.join(work_dir, "docker")
        os.makedirs(self.work_dir, exist_ok=True)
        # the CLI's own settings (~/.docker) neither read nor written
        self.cli_env = {"DOCKER_CONFIG": os.path.join(self.work_dir, "cli"), "LC_ALL": "C"}
        self._build_writer()            # before the engine: nothing to stop if it fails
        t_built = time.monotonic()

        if os.path.exists(DEFAULT_SOCKET) and self._answers(DEFAULT_SOCKET):
            self._use_running(DEFAULT_SOCKET, DEFAULT_PIDFILE, "the running engine")
        elif os.path.exists(OWN_SOCKET) and self._answers(OWN_SOCKET):
            # left by an earlier bench that did not get to stop it: use it,
            # but leave it as we found it
            self._use_running(OWN_SOCKET, OWN_PIDFILE, "an earlier bench's engine (left running)")
        else:
            self._start_dockerd()
        t_engine = time.monotonic()

        driver = self._docker("info", "--format", "{{.Driver}} {{.CgroupDriver}} "
                              "{{.ServerVersion}} {{.LoggingDriver}}").split()
        self.info.update(storage_driver=driver[0], cgroup_driver=driver[1],
                         server_version=driver[2])
        # cgroupfs takes a path for --cgroup-parent, systemd a slice
        self.cgroup_parent = (f"/{CGROUP_PARENT}" if driver[1] == "cgroupfs"
                              else f"{CGROUP_PARENT}.slice")
        self.cgroup_cpu, self.cgroup_file = (cgroup_cpu_reader(CGROUP_PARENT)
                                             if driver[1] == "cgroupfs" else (None, None))

        # the image: the static writer alone, as /writer
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            ti = tar.gettarinfo(self.writer, arcname="writer")
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = "root"
            ti.mode = 0o755
            with open(self.writer, "rb") as f:
                tar.addfile(ti, f)
        self._docker("import", "-", IMAGE, stdin_data=buf.getvalue())
        self.image_imported = True
        t_image = time.monotonic()
        self.info.update(setup_s=t_image - t0, writer_build_s=t_built - t0,
                         engine_start_s=t_engine - t_built, image_import_s=t_image - t_engine)

    def _build_writer(self):
        if not os.path.exists(WRITER_SRC):
            raise PeerMissing(f"{os.path.relpath(WRITER_SRC, ROOT)} is missing")
        self.writer = os.path.join(self.work_dir, "writer")
        proc = subprocess.run(["gcc", "-static", "-O2", "-o", self.writer, WRITER_SRC],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise PeerMissing(f"cannot build a static writer: {proc.stderr.strip()[-400:]}")

    def _use_running(self, socket_path, pidfile, what):
        self.env = dict(os.environ, DOCKER_HOST=f"unix://{socket_path}", **self.cli_env)
        pid = None
        try:
            with open(pidfile, encoding="ascii") as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            pass
        if pid is None or comm(pid) != "dockerd":
            pids = [int(p) for p in os.listdir("/proc") if p.isdigit() and comm(p) == "dockerd"]
            pid = pids[0] if len(pids) == 1 else None
        self.dockerd_pid = pid
        self.info.update(engine=f"{what} on {socket_path}", engine_started_by_us=False)

    def _start_dockerd(self):
        self.env = dict(os.environ, DOCKER_HOST=f"unix://{OWN_SOCKET}", **self.cli_env)
        config = os.path.join(self.work_dir, "daemon.json")
        with open(config, "w", encoding="ascii") as f:
            f.write("{}\n")          # no /etc/docker/daemon.json (log-opts!) can reach it
        self.dockerd_log = os.path.join(self.work_dir, "dockerd.log")
        argv = [DOCKERD, "--config-file", config,
                "--bridge=none", "--iptables=false", "--ip-forward=false", "--ip-masq=false",
                "--data-root", OWN_DATA_ROOT, "--exec-root", OWN_EXEC_ROOT,
                "--pidfile", OWN_PIDFILE, "-H", f"unix://{OWN_SOCKET}"]
        with open(self.dockerd_log, "wb") as log:
            self.dockerd = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=log, start_new_session=True)
        atexit.register(self.teardown)   # a crash of the harness must not leave it running
        self.dockerd_pid = self.dockerd.pid
        deadline = time.monotonic() + 60
        while not (os.path.exists(OWN_SOCKET) and self._answers(OWN_SOCKET)):
            if self.dockerd.poll() is not None:
                status, self.dockerd = self.dockerd.returncode, None
                raise PeerMissing(f"dockerd exited with status {status} at start: "
                                  + self._dockerd_log_tail())
            if time.monotonic() > deadline:
                self._stop_dockerd()
                raise PeerMissing("dockerd did not answer within 60 s: "
                                  + self._dockerd_log_tail())
            time.sleep(0.05)
        self.info.update(engine=f"our own dockerd on {OWN_SOCKET}", engine_started_by_us=True)

    def _dockerd_log_tail(self):
        try:
            with open(self.dockerd_log, "rb") as f:
                return f.read()[-600:].decode(errors="replace").strip()
        except OSError:
            return ""

    def _containerd_pid(self):
        """The containerd our dockerd started (its child), if any."""
        if self.dockerd_pid is None:
            return None
        for entry in os.listdir("/proc"):
            if entry.isdigit() and comm(entry) == "containerd":
                try:
                    with open(f"/proc/{entry}/stat", encoding="ascii") as f:
                        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                except OSError:
                    continue
                if ppid == self.dockerd_pid:
                    return int(entry)
        return None

    # -- one run --

    def run(self, writers, line_bytes, lines_per_writer):
        expected = writers * lines_per_writer
        cid = self._docker("create", "--network", "none", "--log-driver", "json-file",
                           "--cgroup-parent", self.cgroup_parent, IMAGE, "/writer", "stdout",
                           str(writers), str(lines_per_writer), str(line_bytes))
        self.containers.add(cid)
        try:
            return self._run(cid, writers, line_bytes, lines_per_writer, expected)
        finally:
            self._docker("rm", "-f", cid, check=False)
            self.containers.discard(cid)

    def _run(self, cid, writers, line_bytes, lines_per_writer, expected):
        pid = self.dockerd_pid
        containerd = self._containerd_pid()
        rss_reset = pid is not None and reset_peak_rss(pid)
        dockerd_cpu0 = cpu_seconds(pid) if pid else None
        containerd_cpu0 = cpu_seconds(containerd) if containerd else None
        cgroup_cpu0 = self.cgroup_cpu() if self.cgroup_cpu else None

        t0 = time.monotonic()
        self._docker("start", cid)
        t_started = time.monotonic()
        log_path = self._docker("inspect", "--format", "{{.LogPath}}", cid)
        shim = find_shim(cid)

        # follow the file until it holds every stdout line: each JSON line is
        # one log line, and only the writers' lines are on stdout (the
        # writer's report comes after them, on stderr)
        follower = Follower(log_path)
        timeout = 30 + expected / 2000
        while follower.stdout_lines < expected:
            if not follower.poll() and (follower.quiet_for() > 2 or time.monotonic() - t0 > timeout):
                if time.monotonic() - t0 > timeout or self._docker(
                        "inspect", "--format", "{{.State.Running}}", cid) == "false":
                    break                 # exited and nothing more comes: incomplete
        t_end = follower.t_last if follower.t_last is not None else time.monotonic()

        dockerd_cpu = (cpu_seconds(pid) - dockerd_cpu0) if dockerd_cpu0 is not None else None
        containerd_cpu = (cpu_seconds(containerd) - containerd_cpu0
                          if containerd_cpu0 is not None else None)
        peak = status_kib(pid, "VmHWM") if pid else None
        # the writers have all written: let the container finish (its cgroup's
        # count is then final) and its report reach the file, then take the
        # shim's whole-life CPU before `docker rm` ends it
        self._docker("wait", cid, check=False, timeout=60)
        deadline = time.monotonic() + 5
        while follower.stderr_lines < 1 and time.monotonic() < deadline:
            follower.poll()
        follower.close()
        shim_cpu = cpu_seconds(shim) if shim else None
        cgroup_cpu = (self.cgroup_cpu() - cgroup_cpu0) if cgroup_cpu0 is not None else None
        exit_code = self._docker("inspect", "--format", "{{.State.ExitCode}}", cid)

        check = verify(log_path, writers, line_bytes, lines_per_writer)
        report = check["report"]
        report_cpu = (report["user_s"] + report["sys_s"]
                      if "user_s" in report and "sys_s" in report else None)
        notes = ["collector = dockerd from docker start to last line"
                 + (" + containerd-shim over the container's life" if shim_cpu is not None
                    else " (containerd-shim not found)"),
                 "peak RSS = dockerd VmHWM reset before the run" if rss_reset
                 else "peak RSS = dockerd lifetime VmHWM (could not reset)",
                 "writers = the writer's getrusage(RUSAGE_CHILDREN)" if report_cpu is not None
                 else f"writers = container cgroup ({self.cgroup_file})"
                 if cgroup_cpu is not None else "writers CPU unknown",
                 f"wall includes container start ({t_started - t0:.3f} s)"]
        if check["problems"]:
            notes.append(check["problems"])
        if exit_code != "0":
            notes.append(f"writer exited with {exit_code}")
        if report.get("lines") not in (None, expected):
            notes.append(f"writer reports {report['lines']} lines written")
        if report.get("dropped"):
            notes.append(f"writer reports {report['dropped']} dropped")
        if follower.stdout_lines != check["stdout_lines"]:
            notes.append(f"followed {follower.stdout_lines} lines, parsed {check['stdout_lines']}")
        return {
            "wall_s": t_end - t0,
            "collector_cpu_s": (None if dockerd_cpu is None
                                else dockerd_cpu + (shim_cpu or 0.0)),
            "writers_cpu_s": report_cpu if report_cpu is not None else cgroup_cpu,
            "collector_peak_rss_kib": peak,
            "delivered": check["delivered"],
            "dropped": expected - check["delivered"],
            "bytes_written": check["bytes"],
            "complete": (check["delivered"] == expected and check["extra"] == 0
                         and exit_code == "0"),
            "note": "; ".join(notes),
            # extras, for the report's reading
            "start_s": t_started - t0,
            "log_span_s": check["span_s"],
            "dockerd_cpu_s": dockerd_cpu,
            "shim_cpu_s": shim_cpu,
            "containerd_cpu_s": containerd_cpu,
            "container_cgroup_cpu_s": cgroup_cpu,
            "writer_report": report,
        }

    # -- teardown --

    def teardown(self):
        for cid in list(self.containers):
            self._docker("rm", "-f", cid, check=False)
            self.containers.discard(cid)
        if self.image_imported:
            self._docker("rmi", "-f", IMAGE, check=False)
            self.image_imported = False
        if self.dockerd is not None:
            self._stop_dockerd()
            self.info["left_running"] = self._leftovers()
        if self.info.get("cgroup_driver") == "cgroupfs":
            self._remove_cgroup_parent()

    def _leftovers(self, wait=5.0):
        """Processes of our engine still alive after it stopped (containerd,
        shims: their command lines name our exec root), waited for a little;
        zombies awaiting their reaper (init, for the daemonised shims) aside."""
        deadline = time.monotonic() + wait
        while True:
            left = []
            for entry in os.listdir("/proc"):
                if not entry.isdigit():
                    continue
                try:
                    with open(f"/proc/{entry}/cmdline", "rb") as f:
                        cmdline = f.read()
                    with open(f"/proc/{entry}/stat", encoding="ascii") as f:
                        state = f.read().rsplit(")", 1)[1].split()[0]
                except OSError:
                    continue
                if OWN_EXEC_ROOT.encode() in cmdline and state != "Z":
                    text = cmdline.replace(b"\0", b" ").decode(errors="replace")
                    left.append(f"{entry} {text[:120]}")
            if not left or time.monotonic() > deadline:
                return left
            time.sleep(0.1)

    def _stop_dockerd(self):
        """Stop the dockerd we started (never another); it stops its containerd."""
        if self.dockerd is None:
            return
        proc, self.dockerd = self.dockerd, None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def _remove_cgroup_parent(self):
        # the (now empty) parent directories dockerd made in each hierarchy
        with open("/proc/self/mountinfo", encoding="utf-8") as f:
            mounts = [line.split()[4] for line in f
                      if line.split(" - ", 1)[1].startswith(("cgroup ", "cgroup2 "))]
        for mount in mounts:
            try:
                os.rmdir(os.path.join(mount, CGROUP_PARENT))
            except OSError:
                pass


class Follower:
    """Reads a growing json-file log as it is written and counts its
    complete lines by stream."""

    def __init__(self, path):
        self.path, self.f, self.rest = path, None, b""
        self.stdout_lines = self.stderr_lines = 0
        self.t_last, self.t_growth = None, time.monotonic()

    def poll(self):
        """Reads what is new; sleeps a little if nothing was. True if it read."""
        if self.f is None and os.path.exists(self.path):
            self.f = open(self.path, "rb")
        chunk = self.f.read(1 << 20) if self.f else b""
        if not chunk:
            time.sleep(0.005)
            return False
        self.t_growth = time.monotonic()
        data = self.rest + chunk
        cut = data.rfind(b"\n") + 1
        self.rest, done = data[cut:], data[:cut]
        out = done.count(b'"stream":"stdout"')   # the writers' lines are only [w0-9 x]
        if out:
            self.stdout_lines += out
            self.t_last = self.t_growth
        self.stderr_lines += done.count(b'"stream":"stderr"')
        return True

    def quiet_for(self):
        return time.monotonic() - self.t_growth

    def close(self):
        if self.f:
            self.f.close()
            self.f = None


def verify(log_path, writers, line_bytes, lines_per_writer):
    """Parse the json-file log: every line the writers wrote (LINE_BYTES
    and a newline) must be there once, whole, on stdout; the writer's report
    is the one line on stderr. Returns counts and a description of problems."""
    seen, extra, bad_len, bad, nlines, stdout_lines = set(), 0, 0, 0, 0, 0
    first = last = None
    report, other_stderr, read_error = {}, 0, None
    try:
        size = os.path.getsize(log_path)
        with open(log_path, "rb") as f:
            for raw in f:
                nlines += 1
                try:
                    rec = json.loads(raw)
                    text = rec["log"]
                except (ValueError, KeyError, TypeError):
                    bad += 1
                    continue
                if rec.get("stream") != "stdout":
                    if text.startswith("lines=") and not report:
                        report = {k: float(v) if "." in v else int(v) for k, v in
                                  (kv.split("=", 1) for kv in text.split())}
                    else:
                        other_stderr += 1
                    continue
                stdout_lines += 1
                stamp = rec.get("time")
                if stamp:
                    if first is None:
                        first = stamp
                    last = stamp
                m = LINE_RE.match(text)
                if not m or not text.endswith("\n"):
                    bad += 1
                    continue
                if len(text.encode()) != line_bytes + 1:
                    bad_len += 1
                    continue
                key = (int(m.group(1)), int(m.group(2)))
                if key[0] >= writers or key[1] >= lines_per_writer or key in seen:
                    extra += 1
                    continue
                seen.add(key)
    except OSError as e:
        size, read_error = 0, f"cannot read {log_path}: {e}"
    problems = [read_error] if read_error else []
    if bad:
        problems.append(f"{bad} malformed")
    if bad_len:
        problems.append(f"{bad_len} of the wrong length")
    if extra:
        problems.append(f"{extra} duplicate or unknown")
    if other_stderr:
        problems.append(f"{other_stderr} other lines on stderr")
    if not report:
        problems.append("no report from the writer")
    span = None
    if first and last:
        span = rfc3339_seconds(last) - rfc3339_seconds(first)
        if span < 0:
            span += 86400        # crossed midnight
    return {"delivered": len(seen), "extra": extra + bad + bad_len, "lines": nlines,
            "stdout_lines": stdout_lines, "bytes": size, "span_s": span, "report": report,
            "problems": ", ".join(problems)}


# --- self-test -----------------------------------------------------------------------

def main(argv):
    """python3 bench/docker_peer.py [LINE_BYTES...] (default 100)"""
    import tempfile
    total, sizes = 50000, [int(a) for a in argv] or [100]
    peer = DockerJsonFile()
    with tempfile.TemporaryDirectory(prefix="ulog-docker-peer-") as work:
        try:
            peer.setup(work)
        except PeerMissing as e:
            print(f"missing: {e}")
            peer.teardown()
            return 1
        print(json.dumps(peer.info, indent=1))
        failed = False
        try:
            for line_bytes, writers in ((b, w) for b in sizes for w in (1, 8, 64)):
                per = total // writers
                t = time.monotonic()
                r = peer.run(writers, line_bytes, per)
                took = time.monotonic() - t
                span = r["log_span_s"] or float("nan")
                print(f"\n{writers} writers x {per} lines x {line_bytes} B: "
                      f"{r['delivered'] / r['wall_s']:,.0f} lines/s (wall), "
                      f"{r['delivered'] / span:,.0f} lines/s (log span); "
                      f"run() took {took:.2f} s in all")
                print(json.dumps(r, indent=1))
                failed |= not r["complete"]
        finally:
            t = time.monotonic()
            peer.teardown()
            print(f"\nteardown took {time.monotonic() - t:.2f} s, left running: "
                  f"{peer.info.get('left_running', 'n/a (not our engine)') or 'nothing'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
