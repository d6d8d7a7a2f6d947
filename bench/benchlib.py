"""benchlib.py - what the benchmarks of `make bench` share: where the artefacts
are, a clean environment, statistics and Markdown tables, and a ulogd of the
benchmark's own. Python 3 standard library only.

run_shim_cost.py (the driver, which writes docs/BENCHMARKS.md) and each
benchmark module import it, so that a section's figures are computed and
presented the same way whichever module produced them.
"""

import argparse
import os
import signal
import socket
import statistics
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
ULOGD = os.path.join(BUILD, "ulogd")


class BenchError(Exception):
    """A benchmark cannot run here; the message says what to do."""


def clean_env(extra=None):
    """The caller's environment without anything that steers ulog, so that a
    developer's ULOG_* or LOG_* settings cannot change the figures."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ULOG_", "LOG_")) and k != "LD_PRELOAD"}
    env["LC_ALL"] = "C"
    env.update(extra or {})
    return env


def positive(text):
    """argparse type for the counts every section's options are: 1 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def need_file(path, how):
    if not os.access(path, os.X_OK if not path.endswith(".so") else os.R_OK):
        raise BenchError(f"{os.path.relpath(path, ROOT)} is missing: {how}")
    return path


# --- statistics and tables ---------------------------------------------------------

def spread(values):
    """median, min, max, and the interquartile range (None below 4 values)."""
    values = sorted(values)
    iqr = None
    if len(values) >= 4:
        q = statistics.quantiles(values, n=4)
        iqr = (q[0], q[2])
    return statistics.median(values), values[0], values[-1], iqr


def fmt(value, digits=0):
    return f"{value:,.{digits}f}".replace(",", " ")


def table(header, rows, numeric=True):
    """A Markdown table; columns after the first are right-aligned figures
    unless `numeric` is false."""
    align = "---:" if numeric else "---"
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" if i == 0 else align for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# --- a ulogd of the benchmark's own ---------------------------------------------------

class Ulogd:
    """ulogd on a socket and log directory under `directory`, never rotating
    (so that every record of the run stays in one all.log to count). It runs
    in `directory`, so no ulog.yaml but `config` (a path, or None for none)
    can reach it; `env` adds variables (ULOG_ENV, say); `wrapper` runs it
    under another program (valgrind)."""

    def __init__(self, directory, config=None, env=None, wrapper=()):
        self.socket = os.path.join(directory, "ulog.sock")
        self.log_dir = os.path.join(directory, "logs")
        self.log_path = os.path.join(self.log_dir, "all.log")
        self.stderr_path = os.path.join(directory, "ulogd.stderr")
        env = clean_env({"LOG_ROTATION_SIZE": "0", **(env or {})})
        argv = [*wrapper, ULOGD, "--log-dir", self.log_dir, "--socket", self.socket]
        if config:
            argv += ["--config", config]
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                         env=env, cwd=directory, start_new_session=True)
        deadline = time.monotonic() + (60 if wrapper else 10)
        while not self._listening():
            if self.proc.poll() is not None:
                raise BenchError(f"ulogd exited with {self.proc.returncode} at start: "
                                 f"{self._stderr()}")
            if time.monotonic() > deadline:
                self.kill()
                raise BenchError(f"ulogd did not listen on {self.socket} in time")
            time.sleep(0.02)

    def _listening(self):
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
            try:
                s.connect(self.socket)
            except OSError:
                return False
        return True

    def _stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read()[-800:].decode("utf-8", "replace").strip()
        except OSError:
            return ""

    def _cpu_ticks(self):
        with open(f"/proc/{self.proc.pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime

    def cpu_seconds(self):
        """CPU time used so far, all threads: the kernel's nanosecond count
        (schedstat) where it keeps one, else utime + stime in clock ticks."""
        total, task_dir = 0, f"/proc/{self.proc.pid}/task"
        try:
            for tid in os.listdir(task_dir):
                with open(f"{task_dir}/{tid}/schedstat", encoding="ascii") as f:
                    total += int(f.read().split()[0])
            return total / 1e9
        except (OSError, ValueError, IndexError):
            return self._cpu_ticks() / os.sysconf("SC_CLK_TCK")

    def peak_rss_kib(self):
        """VmHWM: the most memory ulogd has held at once."""
        with open(f"/proc/{self.proc.pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return 0

    def wait_idle(self, quiet=0.15, timeout=60):
        """Until ulogd has used no CPU for `quiet` seconds: what a flooded
        ulogd still digests must not run into the next configuration's run."""
        deadline = time.monotonic() + timeout
        last, since = self._cpu_ticks(), time.monotonic()
        while time.monotonic() - since < quiet:
            if time.monotonic() > deadline:
                raise BenchError(f"ulogd was still busy {timeout} s after a run")
            time.sleep(0.05)
            now = self._cpu_ticks()
            if now != last:
                last, since = now, time.monotonic()

    def stop(self, timeout=60):
        self.proc.send_signal(signal.SIGTERM)
        try:
            status = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise BenchError(f"ulogd did not exit within {timeout} s of SIGTERM") from None
        if status != 0:
            raise BenchError(f"ulogd exited with {status}: {self._stderr()}")

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
