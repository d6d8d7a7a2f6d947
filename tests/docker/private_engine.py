#!/usr/bin/env python3
"""private_engine.py - a private Docker engine for the end-to-end test: started,
used and stopped by us, never the machine's own.

    python3 tests/docker/private_engine.py start|stop|env

Owns the dockerd that tests/docker/run_docker.py drives. It has its own
socket, data root, exec root and pidfile, so it neither meets nor disturbs a
system dockerd (or the bench's, which uses /run/ulog-bench-docker*), and no
networking at all (--bridge=none --iptables=false): every container of the
test stack runs with network_mode none or host, and nothing can be sent
beyond this machine. Its data root is kept between runs on purpose: the
offline base image (base_image.py) lives there, so only the first run on a
machine pays for debootstrap. It is stopped by its pid (SIGTERM, then
SIGKILL after a minute), and it stops the containerd it started.

`start` leaves the engine running and prints the DOCKER_HOST to use (for
trying the stack by hand); `stop` stops the one the pidfile names, if it is
ours. Python 3 standard library only.
"""

import atexit
import json
import os
import signal
import subprocess
import sys
import time

DOCKER = "/usr/bin/docker"        # Debian's docker.io CLI, the engine's own version
DOCKERD = "/usr/sbin/dockerd"
SOCKET = "/run/ulog-test-docker.sock"
PIDFILE = "/run/ulog-test-docker.pid"
EXEC_ROOT = "/run/ulog-test-docker"
DATA_ROOT = "/var/lib/ulog-test-docker"
START_TIMEOUT = 60


class EngineError(Exception):
    """The engine could not be started (the message says why)."""


def host():
    return f"unix://{SOCKET}"


def cli_env(config_dir, extra=None):
    """An environment for docker and docker-compose aimed at our engine; the
    CLI's own settings directory is config_dir, never ~/.docker."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DOCKER_", "COMPOSE_", "ULOG_", "LOG_"))}
    env.update(DOCKER_HOST=host(), DOCKER_CONFIG=config_dir, LC_ALL="C",
               DOCKER_BUILDKIT="0", COMPOSE_DOCKER_CLI_BUILD="0")
    env.update(extra or {})
    return env


def _comm(pid):
    try:
        with open(f"/proc/{pid}/comm", encoding="ascii") as f:
            return f.read().strip()
    except OSError:
        return None


def _pid_from_file():
    try:
        with open(PIDFILE, encoding="ascii") as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return None
    return pid if _comm(pid) == "dockerd" else None


class Engine:
    def __init__(self, work_dir):
        self.work_dir = work_dir
        self.log_path = os.path.join(work_dir, "dockerd.log")
        self.env = cli_env(os.path.join(work_dir, "docker-cli"))
        self.pid = None
        self.proc = None

    def answers(self):
        try:
            return subprocess.run([DOCKER, "version", "--format", "{{.Server.Version}}"],
                                  capture_output=True, env=self.env, timeout=20).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def start(self):
        """Start our dockerd (or adopt one an earlier run of ours left)."""
        if not (os.access(DOCKER, os.X_OK) and os.access(DOCKERD, os.X_OK)):
            raise EngineError("docker.io is not installed (make deps-test installs it)")
        os.makedirs(self.work_dir, exist_ok=True)
        left = _pid_from_file()
        if left and os.path.exists(SOCKET) and self.answers():
            self.pid = left     # an interrupted run's engine: ours, so stopped at the end
            atexit.register(self.stop)
            return
        config = os.path.join(self.work_dir, "daemon.json")
        with open(config, "w", encoding="ascii") as f:
            # nothing from /etc/docker/daemon.json (log drivers, mirrors) reaches it
            json.dump({"log-driver": "json-file"}, f)
        # Namespaces of our own in containerd: where a system containerd is
        # running, dockerd uses it, and must not meet another engine there.
        argv = [DOCKERD, "--config-file", config, "--bridge=none", "--iptables=false",
                "--ip-forward=false", "--ip-masq=false", "--data-root", DATA_ROOT,
                "--exec-root", EXEC_ROOT, "--pidfile", PIDFILE, "-H", host(),
                "--containerd-namespace", "ulog-test", "--containerd-plugins-namespace",
                "ulog-test-plugins"]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         start_new_session=True)
        self.pid = self.proc.pid
        atexit.register(self.stop)   # a crash of the runner must not leave it running
        deadline = time.monotonic() + START_TIMEOUT
        while not (os.path.exists(SOCKET) and self.answers()):
            if self.proc.poll() is not None:
                status, self.proc, self.pid = self.proc.returncode, None, None
                raise EngineError(f"dockerd exited with status {status} at start: "
                                  + self.log_tail())
            if time.monotonic() > deadline:
                self.stop()
                raise EngineError(f"dockerd did not answer within {START_TIMEOUT} s: "
                                  + self.log_tail())
            time.sleep(0.1)

    def log_tail(self, size=800):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - size))
                return f.read().decode(errors="replace").strip()
        except OSError:
            return ""

    def stop(self):
        """Stop our dockerd by its pid; it stops its containerd and shims."""
        pid, proc = self.pid, self.proc
        self.pid = self.proc = None
        if pid is not None:
            self._terminate(pid, proc)
            self.unmount_leftovers()

    @staticmethod
    def _terminate(pid, proc):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc is not None:
                if proc.poll() is not None:
                    return
            elif _comm(pid) != "dockerd":
                return
            time.sleep(0.1)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if proc is not None:
            proc.wait()

    @staticmethod
    def unmount_leftovers():
        """dockerd leaves its default network namespace mounted under its
        exec root (netns/default) when it stops: unmount what is left there
        once it is gone, so that a run leaves no mount behind."""
        if _pid_from_file() is not None:
            return
        with open("/proc/self/mountinfo", encoding="utf-8") as f:
            points = [line.split()[4] for line in f]
        for point in reversed(points):               # the innermost first
            if point.startswith(EXEC_ROOT + "/"):
                subprocess.run(["umount", point], capture_output=True, timeout=30)


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else ""
    if what == "start":
        engine = Engine(os.path.join("/tmp", "ulog-test-docker"))
        engine.start()
        atexit.unregister(engine.stop)   # left running on purpose
        print(f"export DOCKER_HOST={host()}   # pid {engine.pid}, log {engine.log_path}")
    elif what == "stop":
        pid = _pid_from_file()
        if pid is None:
            print("no engine of ours is running")
            return 0
        engine = Engine(os.path.join("/tmp", "ulog-test-docker"))
        engine.pid = pid
        engine.stop()
        print(f"stopped dockerd {pid}")
    elif what == "env":
        print(f"export DOCKER_HOST={host()}")
    else:
        print(__doc__.split("\n\n")[1].strip(), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
