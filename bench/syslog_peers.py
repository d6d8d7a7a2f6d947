"""syslog_peers.py - rsyslog and syslog-ng as contenders in the aggregation
section of `make bench` (the interface is in aggregation.py's docstring).

Each run starts the daemon afresh in the foreground, in a directory of its
own, with a configuration written here: one Unix datagram socket of its own
(never /dev/log), one file holding the message of each line and nothing else,
no rate limit. build/bench/writer in its `syslog-unix` mode sends each line as
an RFC 3164 datagram on a blocking socket, so that a busy daemon slows the
writers down rather than losing lines. The run ends when the file holds every
line, or the rest was counted as dropped by the writer (a send that failed).
Neither daemon reports losses here (rsyslog's rate limit is off, syslog-ng's
log path has flow control): a line one of them lost would be missing from the
file, and the run incomplete. Nothing here touches the system's logging: no
/dev/log, no /etc configuration, no system service; the daemons run as our
children and are stopped by their pid.

The daemons come from Debian, but are not installed: rsyslog and
syslog-ng-core conflict (both provide system-log-daemon), and installing
either would set up a system logger. `make bench` unpacks each package's
binaries and libraries under build/peers/PACKAGE (with a file `version`
holding the package's version), and they run from there, each pointed at
its own module directory. Where a package is not unpacked, an installed copy
is used instead.

Run alone (`python3 bench/syslog_peers.py`) it is a self-test: one run of each
with 8 writers and 20 000 short lines. Python 3 standard library only.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from aggregation import (WRITER, Follower, PeerMissing, check_lines, cpu_seconds,
                         describe_problems, drive, peak_rss_kib, result, snapshot)
from benchlib import BUILD, ROOT, clean_env

PEERS = os.path.join(BUILD, "peers")

# A line as the daemons write it: the message alone (rsyslog keeps the space
# that follows "writer[PID]:" at the start of its msg property).
LINE = re.compile(rb" ?w(\d{3}) (\d{8}) (x*)\n")


def _scan_plain(data):
    """Writer lines in a run of whole lines: those that start with "w" or
    " w", which the daemons' own messages do not. bytes.count, so that
    following the file costs the harness little CPU."""
    return data.count(b"\nw") + data.count(b"\n w") + data.startswith((b"w", b" w")), 0


def find_peer(binary, package):
    """(path of the binary, the unpacked package's root or None): the copy
    `make bench` unpacked under build/peers first, else an installed one."""
    root = os.path.join(PEERS, package)
    path = os.path.join(root, "usr", "sbin", binary)
    if os.access(path, os.X_OK):
        return path, root
    for directory in ("/usr/sbin", "/usr/bin", "/sbin"):
        path = os.path.join(directory, binary)
        if os.access(path, os.X_OK):
            return path, None
    raise PeerMissing(f"{binary} not found: the Debian package {package} is neither unpacked "
                      f"under {os.path.relpath(root, ROOT)} (`make bench` does that) nor "
                      "installed")


class SyslogDaemon:
    """What rsyslog and syslog-ng share: a daemon started afresh per run."""

    name = binary = package = sock_name = log_name = None

    def setup(self, work_dir):
        self.work = work_dir
        self.proc = None
        self.path, self.unpacked = find_peer(self.binary, self.package)
        self.env = clean_env(self._lib_env())
        self.version = f"{self._version()} ({self._package_version()})"
        # A configuration the daemon refuses is a missing peer, not a crash.
        directory = tempfile.mkdtemp(prefix="check-", dir=work_dir)
        argv = self._check_argv(directory, self._write_config(directory))
        out = subprocess.run(argv, capture_output=True, text=True, env=self.env, timeout=30)
        if out.returncode != 0:
            raise PeerMissing(f"{self.binary} rejects its configuration: "
                              f"{(out.stderr or out.stdout).strip()[-400:]}")

    def _lib_env(self):
        return {}

    def _package_version(self):
        """Which Debian package it came from, and where it is."""
        if self.unpacked:
            try:
                with open(os.path.join(self.unpacked, "version"), encoding="utf-8") as f:
                    version = f.read().strip()
            except OSError:
                version = "version unknown"
            return (f"Debian {self.package} {version}, unpacked in "
                    f"{os.path.relpath(self.unpacked, ROOT)}")
        out = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", self.package],
                             capture_output=True, text=True, timeout=30)
        version = out.stdout.strip() if out.returncode == 0 else "version unknown"
        return f"Debian {self.package} {version}, installed: {self.path}"

    def run(self, writers, line_bytes, lines_per_writer):
        expected = writers * lines_per_writer
        directory = tempfile.mkdtemp(prefix="run-", dir=self.work)
        sock = os.path.join(directory, self.sock_name)
        log = os.path.join(directory, self.log_name)
        argv = self._run_argv(directory, self._write_config(directory))
        with open(os.path.join(directory, "daemon.stderr"), "wb") as err:
            self.proc = proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=err,
                                                stderr=err, env=self.env, cwd=directory,
                                                start_new_session=True)
        try:
            self._wait_ready(sock, directory)
            size0 = os.path.getsize(log) if os.path.exists(log) else 0
            before = snapshot(proc.pid)
            follower = Follower(log, _scan_plain, size0)
            env = clean_env({"WRITER_REPORT": os.path.join(directory, "writer.report")})
            run = drive([WRITER, "syslog-unix", str(writers), str(lines_per_writer),
                         str(line_bytes), sock], env, follower, expected, directory)
            after, peak = snapshot(proc.pid), peak_rss_kib(proc.pid)
            follower.close()
        finally:
            self._stop()
        found = []
        with open(log, "rb") as f:
            f.seek(size0)
            for text in f:
                m = LINE.fullmatch(text)
                if m:
                    found.append((m.group(1), m.group(2), len(m.group(3)) + 14))
        shutil.rmtree(directory, ignore_errors=True)
        delivered, duplicate, bad = check_lines(found, writers, lines_per_writer, line_bytes)
        dropped = (run["report"] or {}).get("dropped", 0)  # sends that failed
        notes = describe_problems(delivered, duplicate, bad, expected, dropped, run["report"],
                                  run["status"])
        return result(run, before, after, peak, delivered, dropped, follower.done_bytes, notes)

    def _wait_ready(self, sock, directory, timeout=15):
        """Until the daemon's socket takes datagrams, then until it is idle."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.binary} exited with {self.proc.returncode} at start: "
                                   f"{self._stderr(directory)}")
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
                try:
                    s.connect(sock)
                    break
                except OSError:
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.binary} did not open {sock} in {timeout} s")
            time.sleep(0.01)
        last, since = cpu_seconds(self.proc.pid), time.monotonic()
        while time.monotonic() - since < 0.1 and time.monotonic() < deadline:
            time.sleep(0.02)
            now = cpu_seconds(self.proc.pid)
            if now != last:
                last, since = now, time.monotonic()

    def _stderr(self, directory):
        try:
            with open(os.path.join(directory, "daemon.stderr"), "rb") as f:
                return f.read()[-600:].decode("utf-8", "replace").strip()
        except OSError:
            return ""

    def _stop(self):
        """SIGTERM to the daemon we started (by its pid), SIGKILL if it lingers."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def teardown(self):
        self._stop()


class Rsyslog(SyslogDaemon):
    name, binary, package = "rsyslog", "rsyslogd", "rsyslog"
    sock_name, log_name = "rsyslog.sock", "rsyslog.log"

    # processInternalMessages: rsyslog's own messages go through these rules
    # into our file, not to the system's /dev/log. RateLimit.Interval 0: no
    # rate limit (the default would drop a flood). The template is the
    # message alone.
    CONFIG = """\
# rsyslog for the aggregation benchmark: one socket and one file of its own.
global(workDirectory="{dir}" processInternalMessages="on")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="{dir}/rsyslog.sock" RateLimit.Interval="0" CreatePath="off")
template(name="message" type="string" string="%msg%\\n")
action(type="omfile" file="{dir}/rsyslog.log" template="message")
"""

    def _write_config(self, directory):
        path = os.path.join(directory, "rsyslog.conf")
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.CONFIG.format(dir=directory))
        return path

    def _modules(self):
        """-M: the unpacked package's module directory (wherever its
        multiarch path put it), as rsyslogd looks in the installed one."""
        if not self.unpacked:
            return []
        found = sorted(d for d, _, files in os.walk(self.unpacked) if "imuxsock.so" in files)
        return ["-M", found[0]] if found else []

    def _check_argv(self, directory, config):
        return [self.path, "-N1", "-f", config, *self._modules()]

    def _run_argv(self, directory, config):
        return [self.path, "-n", "-f", config, "-i", os.path.join(directory, "rsyslogd.pid"),
                *self._modules()]

    def _version(self):
        out = subprocess.run([self.path, "-v"], capture_output=True, text=True, env=self.env,
                             timeout=30)
        m = re.search(r"rsyslogd\s+(\S+)", out.stdout)
        return m.group(1) if m else "unknown version"


class SyslogNg(SyslogDaemon):
    name, binary, package = "syslog-ng", "syslog-ng", "syslog-ng-core"
    sock_name, log_name = "syslog-ng.sock", "syslog-ng.log"

    # flow-control: when the file falls behind, syslog-ng stops reading the
    # socket and the writers wait, instead of it dropping messages. No
    # statistics or mark messages. Everything else is syslog-ng's default,
    # including reading the sender's credentials and /proc entries for each
    # message (what its system() source does with /dev/log).
    CONFIG = """\
@version: {version}
# syslog-ng for the aggregation benchmark: one socket and one file of its own.
options {{ stats-freq(0); mark-freq(0); }};
source s {{ unix-dgram("{dir}/syslog-ng.sock"); }};
destination d {{ file("{dir}/syslog-ng.log" template("$MSG\\n")); }};
log {{ source(s); destination(d); flags(flow-control); }};
"""

    def _lib_env(self):
        if not self.unpacked:
            return {}
        return {"LD_LIBRARY_PATH": os.path.join(self.unpacked, "usr", "lib", "syslog-ng")}

    def _module_args(self):
        if not self.unpacked:
            return []
        base = os.path.join(self.unpacked, "usr", "lib", "syslog-ng")
        found = [os.path.join(base, d) for d in sorted(os.listdir(base))
                 if os.path.isfile(os.path.join(base, d, "libaffile.so"))]
        return ["--module-path", found[-1]] if found else []

    def _version(self):
        out = subprocess.run([self.path, "--version"], capture_output=True, text=True,
                             env=self.env, timeout=30)
        m = re.search(r"Installer-Version:\s*(\d+)\.(\d+)(\S*)", out.stdout)
        if not m:
            raise PeerMissing(f"{self.path} --version says: {(out.stdout + out.stderr)[-300:]}")
        self.config_version = f"{m.group(1)}.{m.group(2)}"
        return f"{m.group(1)}.{m.group(2)}{m.group(3)}"

    def _write_config(self, directory):
        path = os.path.join(directory, "syslog-ng.conf")
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.CONFIG.format(dir=directory, version=self.config_version))
        return path

    def _files(self, directory):
        return ["--pidfile", os.path.join(directory, "syslog-ng.pid"),
                "--persist-file", os.path.join(directory, "syslog-ng.persist"),
                "--control", os.path.join(directory, "syslog-ng.ctl")]

    def _check_argv(self, directory, config):
        return [self.path, "--syntax-only", "-f", config, *self._module_args(),
                *self._files(directory)]

    def _run_argv(self, directory, config):
        return [self.path, "-F", "-f", config, *self._module_args(), *self._files(directory)]


def main():
    with tempfile.TemporaryDirectory(prefix="ulog-syslog-peers-") as work:
        for peer in (Rsyslog(), SyslogNg()):
            try:
                peer.setup(work)
            except PeerMissing as e:
                print(f"{peer.name}: missing: {e}")
                continue
            try:
                r = peer.run(8, 100, 2500)
            finally:
                peer.teardown()
            print(f"{peer.name} {peer.version}: {r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
