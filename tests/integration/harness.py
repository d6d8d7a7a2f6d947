"""harness.py - real processes for the integration tests: ulogd, and
programs run with or without the shim.

Every test gets a TestContext (from tests/run.py) that owns a temporary
directory and every process started through it. Each ulogd listens on a
socket inside that directory, never on /run/ulog; every program runs with
a timeout, in its own session, and is killed by its pid if it outlives the
test. The environment is rebuilt for each run, so a developer's LOG_* or
ULOG_* variables cannot change what a test sees.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import namedtuple

from records import LogReader, read_log
from stdout_sink import StdoutSink

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, "build")
ULOG = os.path.join(BUILD, "ulog")
LIBULOG = os.path.join(BUILD, "libulog.so")
LIBULOG_MUSL = os.path.join(BUILD, "libulog-musl.so")
ULOGD = os.path.abspath(os.environ.get("ULOGD") or os.path.join(BUILD, "ulogd"))
PROGRAMS = os.path.join(BUILD, "tests", "programs")
SCRIPTS = os.path.join(ROOT, "tests", "programs")
HOST = socket.gethostname()
PYTHON = sys.executable

Result = namedtuple("Result", "returncode stdout stderr pid")


class Skip(Exception):
    """Raised by a test that cannot run on this machine (say why)."""


def program(name):
    """Absolute path of a compiled test program."""
    path = os.path.join(PROGRAMS, name)
    if not os.access(path, os.X_OK):
        raise AssertionError(f"{path} is missing: run `make test-programs`")
    return path


def script(name):
    """Absolute path of a test script (Python, Node, shell)."""
    return os.path.join(SCRIPTS, name)


def require_command(name):
    path = shutil.which(name)
    if not path:
        raise Skip(f"{name} is not installed")
    return path


def clean_env(extra=None):
    """The caller's environment without anything that steers ulog or the
    programs' output."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ULOG_", "LOG_", "PYTHON", "NODE_"))
           and k not in ("LD_PRELOAD", "NO_COLOR", "TZ", "DOCKER_HOST")}
    env.update(extra or {})
    return env


def free_port():
    """A TCP port on loopback that nothing listens on (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def _tail(path, limit=1500):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return ""
    return data[-limit:].decode("utf-8", "replace").strip()


class Ulogd:
    """One ulogd on a socket and log directory of the test's own."""

    def __init__(self, ctx, socket_path, log_dir, env=None, args=(), wrapper=()):
        self.socket = socket_path
        self.log_dir = log_dir
        self.log_path = os.path.join(log_dir, "all.log")
        self.stderr_path = os.path.join(ctx.dir, f"ulogd-{len(ctx.ulogds)}.stderr")
        self.reader = LogReader(self.log_path)
        self.returncode = None
        if not os.access(ULOGD, os.X_OK):
            raise AssertionError(f"{ULOGD} is missing: run `make`")
        os.makedirs(log_dir, exist_ok=True)
        cmd = [*wrapper, ULOGD, "--log-dir", log_dir, "--socket", socket_path, *args]
        # A Docker Engine on the machine (the container tests start one) is
        # only for the tests that ask for one: the others' records stay theirs.
        docker = {} if any(k in (env or {}) for k in ("ULOG_DOCKER", "ULOG_DOCKER_SOCKET",
                                                      "DOCKER_HOST")) else {"ULOG_DOCKER": "off"}
        # Tests run side by side: the HTTP API (port 8765 by default) is only
        # for those that ask for it, on a port of their own (free_port()).
        http = {} if "LOG_SERVICE_PORT" in (env or {}) else {"LOG_SERVICE_PORT": "0"}
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                         env=clean_env({"ULOG_ENV": "testing", **docker, **http,
                                                        **(env or {})}),
                                         cwd=ctx.dir, start_new_session=True)
        ctx.track(self.proc)
        wait_until(self._ready, 30 if wrapper else 10, f"ulogd to listen on {socket_path}")

    @property
    def pid(self):
        return self.proc.pid

    def _ready(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"ulogd exited with {self.proc.returncode} before it was "
                                 f"ready: {self.stderr()}")
        if not os.path.exists(self.socket):
            return False
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
            try:
                s.connect(self.socket)
            except OSError:
                return False
        return True

    def stderr(self):
        return _tail(self.stderr_path)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=15):
        """SIGTERM, then insist on exit status 0 and on complete, valid files."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"ulogd did not exit within {timeout} s of SIGTERM") from None
        finally:
            self.reader.close()
        if self.returncode != 0:
            raise AssertionError(f"ulogd exited with {self.returncode}: {self.stderr()}")
        for name in sorted(os.listdir(self.log_dir)):
            if name == "all.log" or name.startswith("all.log."):
                read_log(os.path.join(self.log_dir, name), require_complete=True)

    def records(self):
        """Every record written since this ulogd started, across rotations."""
        return list(self.reader.poll())

    def wait_for(self, predicate, timeout=10, what="records"):
        """Poll all.log until predicate(records) is true; returns the records."""
        def check():
            if self.proc.poll() is not None:
                raise AssertionError(f"ulogd died ({self.proc.returncode}) while waiting for "
                                     f"{what}: {self.stderr()}")
            records = self.records()
            return records if predicate(records) else None
        return wait_until(check, timeout, what)

    def settle(self, quiet=0.3):
        """Records once nothing new has arrived for `quiet` seconds."""
        count = -1
        while True:
            records = self.records()
            if len(records) == count:
                return records
            count = len(records)
            time.sleep(quiet)


class Process:
    """A program left running in the background (stdout/stderr to files)."""

    def __init__(self, proc, stdout_path, stderr_path):
        self.proc, self.stdout_path, self.stderr_path = proc, stdout_path, stderr_path

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def wait(self, timeout=30):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"pid {self.pid} did not finish within {timeout} s") from None

    def output(self):
        with open(self.stdout_path, "rb") as out, open(self.stderr_path, "rb") as err:
            return out.read(), err.read()


class TestContext:
    def __init__(self, name, directory):
        self.name = name
        self.dir = directory
        self.socket = os.path.join(directory, "ulog.sock")
        self.log_dir = os.path.join(directory, "logs")
        self.ulogds = []
        self._procs = []
        self._runs = 0

    def track(self, proc):
        self._procs.append(proc)

    # --- ulogd -------------------------------------------------------------
    def start_ulogd(self, env=None, args=(), socket_path=None, log_dir=None, wrapper=()):
        """A ulogd of this test's own; `wrapper` runs it under another
        command (valgrind)."""
        ulogd = Ulogd(self, socket_path or self.socket, log_dir or self.log_dir, env, args,
                      wrapper)
        self.ulogds.append(ulogd)
        return ulogd

    # --- programs ----------------------------------------------------------
    def command(self, argv, shim=True, via="ulog", env=None, service=None, socket_path=None):
        """(argv, env) for a run with or without the shim: through `ulog run`
        (via="ulog"), or LD_PRELOAD set directly (via="preload", or "musl"
        for the musl flavour of the shim)."""
        env = clean_env({"TMPDIR": self.dir, "LC_ALL": "C.UTF-8", **(env or {})})
        if not shim:
            return list(argv), env
        socket_path = socket_path or self.socket
        if via == "ulog":
            if not os.access(ULOG, os.X_OK):
                raise AssertionError(f"{ULOG} is missing: run `make`")
            extra = ["--service", service] if service else []
            return [ULOG, "run", "--socket", socket_path, *extra, "--", *argv], env
        library = LIBULOG_MUSL if via == "musl" else LIBULOG
        if not os.path.exists(library):
            raise AssertionError(f"{library} is missing: run `make`")
        env.update({"LD_PRELOAD": library, "ULOG_SOCKET": socket_path})
        if service:
            env["ULOG_SERVICE"] = service
        return list(argv), env

    def run(self, argv, shim=True, via="ulog", stdin=b"", env=None, stdout="pipe",
            timeout=30, service=None, socket_path=None):
        """Run to completion. stdout is a "pipe", a regular "file", a "socket"
        (one end of a socketpair) or a "tty" (a pseudo-terminal)."""
        cmd, env = self.command(argv, shim, via, env, service, socket_path)
        self._runs += 1
        sink = StdoutSink(stdout, os.path.join(self.dir, f"stdout-{self._runs}"))
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=sink.child_end,
                                stderr=subprocess.PIPE, env=env, cwd=self.dir,
                                start_new_session=True)
        self.track(proc)
        sink.started()
        try:
            out, err = proc.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise AssertionError(f"{' '.join(argv)} did not finish within {timeout} s "
                                 f"({'with' if shim else 'without'} the shim)") from None
        finally:
            sink.close_parent_copy()
        return Result(proc.returncode, out if stdout == "pipe" else sink.collect(), err,
                      proc.pid)

    def spawn(self, argv, shim=True, via="ulog", env=None, service=None, socket_path=None):
        """Start in the background, stdin a pipe, stdout/stderr to files."""
        cmd, env = self.command(argv, shim, via, env, service, socket_path)
        self._runs += 1
        out_path = os.path.join(self.dir, f"stdout-{self._runs}")
        err_path = os.path.join(self.dir, f"stderr-{self._runs}")
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=out, stderr=err,
                                    env=env, cwd=self.dir, start_new_session=True)
        self.track(proc)
        return Process(proc, out_path, err_path)

    def compare(self, argv, normalize=None, **kw):
        """Run once bare and once under the shim, same stdin, env and kind of
        stdout; the bytes on stdout and stderr and the exit status must be
        identical. Returns the run under the shim."""
        bare = self.run(argv, shim=False, **kw)
        shim = self.run(argv, shim=True, **kw)
        norm = normalize or (lambda data: data)
        for what, a, b in (("stdout", bare.stdout, shim.stdout),
                           ("stderr", bare.stderr, shim.stderr)):
            if norm(a) != norm(b):
                where = (_first_difference(a, b) if normalize is None else
                         f"{len(a)} bytes without the shim, {len(b)} with it")
                raise AssertionError(f"{what} differs under the shim: {where}")
        if bare.returncode != shim.returncode:
            raise AssertionError(f"exit status {shim.returncode} under the shim, "
                                 f"{bare.returncode} without it; stderr: {shim.stderr[-500:]!r}")
        return shim

    # --- the end -----------------------------------------------------------
    def cleanup(self):
        """Kill whatever the test left running, then stop every ulogd it
        started, which must exit 0 and leave valid files."""
        errors = []
        ulogd_procs = {u.proc for u in self.ulogds}
        for proc in self._procs:
            if proc not in ulogd_procs:
                _kill_group(proc)
        for ulogd in self.ulogds:
            if ulogd.returncode is None:
                try:
                    ulogd.signal(signal.SIGCONT)  # in case a test left it stopped
                    ulogd.stop()
                except AssertionError as e:
                    errors.append(str(e))
                finally:
                    _kill_group(ulogd.proc)
        if errors:
            raise AssertionError("; ".join(errors))


def _kill_group(proc):
    """Kill a process we started and its session (the group id is its pid,
    and stays ours while the leader is not yet reaped)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        pass


def _first_difference(a, b):
    la, lb = a.split(b"\n"), b.split(b"\n")
    for i, (x, y) in enumerate(zip(la, lb)):
        if x != y:
            return f"line {i + 1}: without {x[:120]!r}, with {y[:120]!r}"
    return f"{len(la)} lines without the shim, {len(lb)} with it (last: {lb[-1][:120]!r})"

