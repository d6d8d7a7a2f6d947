#!/usr/bin/env python3
"""run_docker.py - compose/docker-compose.yml against a real Docker engine,
end to end, as a user would run it.

    python3 tests/docker/run_docker.py [-k PATTERN] [--keep]     (or: make test-docker)

Owns the proof that the stack a user copies works: ulogd in its image, the
example services adopting ulog both ways (LD_PRELOAD in a Dockerfile, or
from a volume without a rebuild), a musl image, and a third-party container
without the shim read from the engine, all in one all.log on the host.

Steps, each timed (the times are printed at the end):
  engine    a private dockerd without networking (private_engine.py)
  base      the offline debian:bookworm-slim (base_image.py; kept between
            runs, so made once per machine)
  build     the ulog image, then the stack: docker-compose build, which
            runs the Dockerfiles exactly as written
  up        docker-compose up -d, with ULOG_LOG_DIR a fresh directory owned
            by uid 1000 (a host user, not root) and the private engine's
            socket as the engine ulogd reads
  records   waiting until all.log holds what the checks look for (at most
            RECORDS_TIMEOUT s), then docker-compose stop, so that ulogd
            writes out everything and its stop record
  checks    stack_checks.py, each a test of its own: docker/NAME
  unprivileged  ulogd alone with ULOGD_VARIANT=unprivileged: healthy with
            no added privilege, eBPF off and said so (docker/unprivileged_variant)
  teardown  docker-compose down -v, the project's images removed (the base
            image stays), the engine stopped by its pid

Reports into tests/run.py's tally (run()) or, alone, prints one line per
test and ends "N passed, N failed". Needs root (dockerd, debootstrap): as
another user every test is skipped, with the reason. --keep leaves the
stack running and the engine up, to look at by hand (`python3
tests/docker/private_engine.py stop` ends it). Python 3 standard library only.
"""

import argparse
import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
import base_image  # noqa: E402
import stack_checks as checks  # noqa: E402
import private_engine as engine_mod  # noqa: E402
# Run alone, it prints what tests/run.py prints: the same tally.
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from tally import Tally, matches  # noqa: E402

COMPOSE = "/usr/bin/docker-compose"     # Debian's Compose 1.29
COMPOSE_FILE = os.path.join(ROOT, "compose", "docker-compose.yml")
PROJECT = "ulog-e2e"
LOG_OWNER = (1000, 1000)                # a host user's ids: all.log must be theirs
BUILD_TIMEOUT = 900
RECORDS_TIMEOUT = 90
PREFIX = "docker/"
# Reported before the checks: a failure here stops the run.
SETUP_TESTS = ("engine", "base_image", "build", "up")


def test_names():
    return ([PREFIX + n for n in SETUP_TESTS] + [PREFIX + n for n, _ in checks.all_checks()]
            + [PREFIX + "unprivileged_variant"])


class StepFailed(Exception):
    pass


class Stack:
    """One run of the example stack on the private engine."""

    def __init__(self, work_dir):
        self.work_dir = work_dir
        self.engine = engine_mod.Engine(os.path.join(work_dir, "engine"))
        self.log_dir = os.path.join(work_dir, "logs")
        self.output = os.path.join(work_dir, "compose.out")
        self.timings = {}
        self.started = False

    def env(self, extra=None):
        return engine_mod.cli_env(self.engine.env["DOCKER_CONFIG"], dict({
            "ULOG_LOG_DIR": self.log_dir, "DOCKER_SOCKET": engine_mod.SOCKET}, **(extra or {})))

    def timed(self, step, func, *args):
        started = time.monotonic()
        try:
            return func(*args)
        finally:
            self.timings[step] = self.timings.get(step, 0.0) + time.monotonic() - started

    def command(self, argv, what, timeout, extra_env=None):
        """Run argv with its output appended to compose.out; on failure the
        end of that output is the reason."""
        with open(self.output, "ab") as out:
            out.write(f"\n$ {' '.join(argv)}\n".encode())
            out.flush()
            try:
                proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out,
                                      stderr=subprocess.STDOUT, env=self.env(extra_env),
                                      timeout=timeout, cwd=ROOT)
            except subprocess.TimeoutExpired:
                raise StepFailed(f"{what} did not finish within {timeout} s "
                                 f"(see {self.output})") from None
        if proc.returncode != 0:
            raise StepFailed(f"{what} failed with exit status {proc.returncode}:\n"
                             + self.output_tail() + f"\n(see {self.output})")

    def output_tail(self, lines=25):
        with open(self.output, "rb") as f:
            text = f.read().decode(errors="replace")
        return "\n".join(text.strip().splitlines()[-lines:])

    def compose(self, *args, what=None, timeout=300, project=PROJECT, extra_env=None):
        self.command([COMPOSE, "-p", project, "-f", COMPOSE_FILE, *args],
                     what or f"docker-compose {args[0]}", timeout, extra_env)

    def docker(self, *args, timeout=60):
        proc = subprocess.run([engine_mod.DOCKER, *args], capture_output=True, text=True,
                              env=self.env(), timeout=timeout)
        if proc.returncode != 0:
            raise StepFailed(f"docker {args[0]} failed: {proc.stderr.strip()[-400:]}")
        return proc.stdout

    # -- the steps --

    def start_engine(self):
        try:
            self.engine.start()
        except engine_mod.EngineError as e:
            raise StepFailed(str(e)) from None
        # What an interrupted run may have left on our engine.
        for project in (PROJECT, PROJECT + "-unprivileged"):
            self.compose("down", "-v", "--remove-orphans", "-t", "5", project=project,
                         what="clearing an old run")
        return f"dockerd {self.engine.pid} on {engine_mod.SOCKET}"

    def base_image(self):
        try:
            image, timings = base_image.ensure(self.env(), log=lambda line: print(f"# {line}",
                                                                                flush=True))
        except base_image.BaseImageError as e:
            raise StepFailed(str(e)) from None
        return (f"{base_image.TAG} {image}, " + (", ".join(f"{k} {v:.0f} s" for k, v in
                                                           timings.items()) or "kept"))

    def build(self):
        self.started = True      # from here on, teardown has something to remove
        # The ulog image first: the services that adopt ulog in their
        # Dockerfile copy the shim from it (COPY --from=ulog:latest).
        # --force-rm: a failed step's container is not left behind either.
        self.compose("build", "--force-rm", "ulogd", what="docker-compose build ulogd",
                     timeout=BUILD_TIMEOUT)
        self.compose("build", "--force-rm", what="docker-compose build", timeout=BUILD_TIMEOUT)
        return "ulog:latest and the example services"

    def up(self):
        os.makedirs(self.log_dir)
        os.chown(self.log_dir, *LOG_OWNER)
        os.chmod(self.log_dir, 0o755)
        self.compose("up", "-d", what="docker-compose up -d", timeout=180)
        return f"ULOG_LOG_DIR={self.log_dir} (owned by {LOG_OWNER[0]}:{LOG_OWNER[1]})"

    def containers(self):
        """{compose service: 12-hex id}, as `docker ps -a` shows them."""
        out = self.docker("ps", "-a", "--filter", f"label=com.docker.compose.project={PROJECT}",
                          "--format", '{{.ID}} {{.Label "com.docker.compose.service"}}')
        return {service: cid for cid, service in
                (line.split() for line in out.splitlines() if len(line.split()) == 2)}

    def records(self, log_dir=None):
        return checks.read_records(os.path.join(log_dir or self.log_dir, "all.log"))

    def wait_for_records(self):
        """Until every check could pass (or the time is up), then stop the
        stack so that ulogd writes out what it holds."""
        deadline = time.monotonic() + RECORDS_TIMEOUT
        while time.monotonic() < deadline:
            run = checks.Run(self.records(), self.containers(), self.log_dir)
            if ready(run):
                break
            time.sleep(1)
        self.compose("stop", "-t", "10", what="docker-compose stop", timeout=120)
        return checks.Run(self.records(), self.containers(), self.log_dir)

    def unprivileged_variant(self):
        """ulogd alone, from the same compose file with
        ULOGD_VARIANT=unprivileged: no added capability, no pid: host. It
        must become healthy and say once, in a record, that eBPF is off."""
        project = PROJECT + "-unprivileged"
        log_dir = os.path.join(self.work_dir, "logs-unprivileged")
        os.makedirs(log_dir)
        os.chown(log_dir, *LOG_OWNER)
        extra = {"ULOGD_VARIANT": "unprivileged", "ULOG_LOG_DIR": log_dir}
        try:
            self.compose("up", "-d", "ulogd", what="docker-compose up -d ulogd (unprivileged)",
                         project=project, extra_env=extra, timeout=120)
            cid = self.docker("ps", "-aq", "--filter",
                              f"label=com.docker.compose.project={project}").split()[0]
            deadline, health = time.monotonic() + 30, ""
            while time.monotonic() < deadline and health != "healthy":
                time.sleep(0.5)
                health = self.docker("inspect", "--format", "{{.State.Health.Status}}",
                                     cid).strip()
            cap_add, pid_mode = (self.docker("inspect", "--format", f"{{{{{field}}}}}", cid).strip()
                                 for field in ("json .HostConfig.CapAdd", ".HostConfig.PidMode"))
            records = self.records(log_dir)
        finally:
            self.compose("down", "-v", "-t", "5", what="docker-compose down (unprivileged)",
                         project=project, extra_env=extra)
        kinds = {r.get("event_type") for r in records if r.get("source") == "ulogd"}
        problems = []
        if health != "healthy":
            problems.append(f"health {health!r} after 30 s")
        if cap_add not in ("null", "[]") or pid_mode == "host":
            problems.append(f"privileges: cap_add {cap_add}, pid {pid_mode!r}")
        if not {"ulogd_start", "ebpf_unavailable"} <= kinds:
            problems.append(f"ulogd's own records: {sorted(kinds, key=str)}, expected "
                            "ulogd_start and ebpf_unavailable")
        if problems:
            raise AssertionError("\n".join(problems))
        return "healthy without added privileges; eBPF off, said once"

    def ulogd_exit_code(self):
        cid = self.containers().get("ulogd")
        return self.docker("inspect", "--format", "{{.State.ExitCode}}", cid).strip() if cid \
            else "(no container)"

    def teardown(self):
        problems = []
        if self.engine.pid is None:
            return problems          # it never started: nothing to remove
        if self.started:
            try:
                self.compose("down", "-v", "--rmi", "all", "--remove-orphans", "-t", "5",
                             what="docker-compose down", timeout=180)
                # The engine is ours alone: whatever is left is this run's
                # (the Dockerfiles' build stages, a failed build's container).
                self.docker("container", "prune", "-f")
                self.docker("image", "prune", "-f")
            except StepFailed as e:
                problems.append(str(e))
        try:
            left = self.docker("images", "-a", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}")
            extra = [line for line in left.splitlines()
                     if not line.startswith(base_image.TAG + " ")]
            if extra:
                problems.append("images left on the engine: " + ", ".join(extra))
        except StepFailed as e:
            problems.append(str(e))
        self.engine.stop()
        return problems


def ready(run):
    """Everything the checks look for is in all.log already."""
    for name, check in checks.all_checks():
        if name in ("ulogd_own_lines", "no_duplicate_records", "one_process_exit_per_process",
                    "log_files_owned_by_log_dir_owner"):
            continue                     # judged after the stop
        try:
            check(run)
        except AssertionError:
            return False
    return True


def run(tally, pattern=None, keep=False):
    """Every docker/ test (or those matching pattern) into tally, which has
    ok(name), fail(name, reason) and skip(name, reason)."""
    names = [n for n in test_names() if matches(n, pattern)]
    if not names:
        return
    if os.geteuid() != 0:
        for name in names:
            tally.skip(name, "needs root (it starts its own dockerd and runs debootstrap)")
        return
    missing = [p for p, path in (("docker.io", engine_mod.DOCKERD),
                                 ("docker-compose", COMPOSE), ("debootstrap",
                                                               "/usr/sbin/debootstrap"))
               if not os.access(path, os.X_OK)]
    if missing:
        for name in names:
            tally.fail(name, f"{', '.join(missing)} not installed (make deps-test installs them)")
        return
    started = time.monotonic()
    work = tempfile.mkdtemp(prefix="ulog-docker-", dir="/tmp")
    os.chmod(work, 0o711)        # the log directory's owner must reach logs/ inside
    stack = Stack(work)
    failed_before = tally.failed
    try:
        _run(tally, names, stack)
    finally:
        if keep:
            atexit.unregister(stack.engine.stop)
            print(f"# docker: kept: DOCKER_HOST={engine_mod.host()} docker-compose -p {PROJECT} "
                  f"-f {COMPOSE_FILE} ps; logs in {stack.log_dir}", flush=True)
        else:
            problems = stack.timed("teardown", stack.teardown)
            if problems:
                tally.fail(PREFIX + "teardown", "\n".join(problems))
        steps = ", ".join(f"{k} {v:.0f} s" for k, v in stack.timings.items())
        print(f"# docker: {steps}; total {time.monotonic() - started:.0f} s", flush=True)
        if tally.failed == failed_before and not keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"# docker: kept {work} (compose.out, engine/dockerd.log, logs/)", flush=True)


def _run(tally, names, stack):
    setup = (("engine", stack.start_engine), ("base_image", stack.base_image),
             ("build", stack.build), ("up", stack.up))
    for step, func in setup:
        name = PREFIX + step
        try:
            summary = stack.timed(step, func)
        except StepFailed as e:
            tally.fail(name, str(e))
            for rest in names[names.index(name) + 1:] if name in names else []:
                tally.skip(rest, f"{name} failed")
            return
        if name in names:
            tally.ok(f"{name} ({summary})")
    run_ = stack.timed("records", stack.wait_for_records)
    exit_code = stack.ulogd_exit_code()
    started = time.monotonic()
    for check_name, check in checks.all_checks():
        name = PREFIX + check_name
        if name not in names:
            continue
        try:
            summary = check(run_)
            if check_name == "ulogd_own_lines" and exit_code != "0":
                raise AssertionError(f"ulogd's container exited with status {exit_code} "
                                     "on docker-compose stop")
            tally.ok(f"{name} ({summary})")
        except AssertionError as e:
            tally.fail(name, str(e))
        except Exception as e:  # noqa: BLE001 - a check that breaks is a FAIL line
            tally.fail(name, f"{type(e).__name__}: {e}")
    stack.timings["checks"] = time.monotonic() - started
    name = PREFIX + "unprivileged_variant"
    if name in names:
        try:
            tally.ok(f"{name} ({stack.timed('unprivileged', stack.unprivileged_variant)})")
        except (AssertionError, StepFailed) as e:
            tally.fail(name, str(e))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-k", dest="pattern", help="only the tests whose name (docker/NAME) "
                        "contains PATTERN or matches it as a glob")
    parser.add_argument("--keep", action="store_true",
                        help="leave the stack and the engine running afterwards")
    args = parser.parse_args()
    os.chdir(ROOT)
    tally = Tally()
    return tally.run_to_end(lambda: run(tally, args.pattern, args.keep))


if __name__ == "__main__":
    sys.exit(main())
