"""test_host_safety.py - the shim never breaks its host (issue 3), proven
with programs that do the violent things real programs do.

- fd safety: close every fd (a loop to the limit, close_range, closefrom),
  dup2 a file onto every number from 3 to 1023 (also with a limit of 1024,
  where the table is then full), fcntl(F_DUPFD) by the hundred. What each
  call answered is part of the program's output, so it must be what it is
  without the shim; the program's files must hold exactly its own bytes;
  the lines after the juggling must still reach all.log.
- processes: fork, vfork then _exit or exec, posix_spawn, clone without
  CLONE_VM, daemon() (its lines before it lets go of stdout, and not after),
  exec of a set-user-ID program and of a static one. Each line names the pid
  that wrote it, and its record must carry that pid.
- signals: handlers on several threads write while the threads printf();
  every line arrives exactly once and whole; a deadlock is a timeout. (When
  the program then dies of SIGTERM, what the shim still held dies with it:
  that run checks the ending, and that what arrived is whole and once.)
- buffering: ULOG_STDOUT_BUFFER / ULOG_STDERR_BUFFER, as seen from outside
  while the program waits, must match what coreutils' stdbuf does.

Every comparison covers the program's stdout and stderr bytes and its exit
status; Python's returncode is negative for a death by signal, so the
signal is compared with it. ulog run's own warnings are checked in the
set-ID and static cases, the only ones where it speaks.
"""

import collections
import os
import re
import resource
import select
import shutil
import signal
import subprocess
import time

from expect import (STREAMS, assert_lines, assert_tags, check_capture, dropped_summary,
                    wait_for_lines)
from harness import SCRIPTS, ULOG, Skip, program, require_command, wait_until
from records import captured, expected_message, fold_hex, split_lines

PID_IN_LINE = re.compile(r"\bpid (\d+)\b")
PROTOCOL_MAGIC = b"UL\x01"  # the first bytes of every wire message (docs/FORMAT.md)


def _same_ending(bare, shim):
    """Exit status and signal, said plainly when they differ."""
    def how(code):
        return f"signal {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
    assert bare.returncode == shim.returncode, \
        f"{how(shim.returncode)} under the shim, {how(bare.returncode)} without it"


def _same_behaviour(bare, shim, normalize=lambda data: data):
    for what, a, b in (("stdout", bare.stdout, shim.stdout), ("stderr", bare.stderr, shim.stderr)):
        assert normalize(a) == normalize(b), \
            f"{what} differs under the shim:\nwithout: {a[-400:]!r}\nwith:    {b[-400:]!r}"
    _same_ending(bare, shim)


def _no_protocol_errors(ulogd):
    """Bytes of the program's in the shim's socket would break the protocol."""
    bad = [r for r in ulogd.records() if r.get("event_type") == "connection_error"]
    assert not bad, f"ulogd saw a broken connection: {bad[0]}"


def _pids_to_n(data):
    return re.sub(rb"\b(pid|tid) \d+", rb"\1 N", data)


# --- fd safety ------------------------------------------------------------------

FILES = {
    "host_close_all": {
        "close-a": b"a: before the close loop\na: at the end\n",
        "close-b": b"b: before close_range\nb: at the end\n",
        "close-c": b"c: before closefrom\nc: at the end\n",
    },
    "host_dup2_all": {
        "dup2-own": b"own: first\nown: after restore\n",
        "dup2-target": b"target: via fd 3\ntarget: via the last fd\n",
    },
    "host_dupfd": {
        # One line per base below the fd limit (20 000 here, so all of them).
        "dupfd-file": None,
    },
}


def _check_files(directory, expected):
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name), "rb") as f:
            data = f.read()
        assert PROTOCOL_MAGIC not in data, f"a wire message landed in the program's file {name}"
        want = expected.get(name)
        if want is not None:
            assert data == want, f"{name} holds {data!r}, the program wrote {want!r}"
    missing = set(expected) - set(os.listdir(directory))
    assert not missing, f"the program's files {missing} are missing"


def _built(t, name):
    """The program as the Makefile built it (glibc); test_musl.py passes its own."""
    return program(name)


def _fd_test(prog, *args, name, last_phase, build=_built, via="ulog"):
    def test(t):
        binary = build(t, prog)
        ulogd = t.start_ulogd()
        files = os.path.join(t.dir, "files")
        os.mkdir(files)
        result, records = check_capture(t, ulogd, [binary, files, *args], via=via)
        assert result.returncode == 0, result.stderr[-300:]
        # The program's own verdict on its files, and ours (after the shim run).
        assert b"something else" not in result.stdout, result.stdout[-600:]
        _check_files(files, FILES[prog])
        _no_protocol_errors(ulogd)
        # check_capture demanded every line; say it plainly for the last ones.
        assert any(r["message"] == f"{last_phase} write line" for r in records), last_phase
    test.__name__ = name
    test.timeout = 90
    return test


test_close_every_fd_three_ways = _fd_test(
    "host_close_all", name="test_close_every_fd_three_ways", last_phase="after the second loop")
test_dup2_onto_every_fd_then_restore = _fd_test(
    "host_dup2_all", name="test_dup2_onto_every_fd_then_restore", last_phase="after restore")
test_dup2_onto_every_fd_with_a_full_table = _fd_test(
    "host_dup2_all", "1024", name="test_dup2_onto_every_fd_with_a_full_table",
    last_phase="after restore")
test_fcntl_dupfd_by_the_hundred = _fd_test(
    "host_dupfd", name="test_fcntl_dupfd_by_the_hundred", last_phase="after many")


def test_close_loop_answers_as_without_the_shim(t):
    """The numbers are the point here: the loop closes exactly the fds the
    program had, and every other number, the shim's included, is EBADF."""
    ulogd = t.start_ulogd()
    files = os.path.join(t.dir, "files")
    os.mkdir(files)
    result = t.compare([program("host_close_all"), files])
    out = result.stdout.decode()
    assert "the close loop closed 1 fd(s); its own file is closed" in out, out
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]  # the program inherits ours
    assert f"a second close loop closed 0 fd(s), {limit - 3} answered EBADF" in out, out
    _no_protocol_errors(ulogd)


# --- processes ------------------------------------------------------------------

def _lines_by_pid(result, skip=lambda line: False):
    """What each process wrote, by the pid its lines name (the first
    process's own when a line names none), leaving out lines `skip` says
    cannot be captured."""
    want = {}
    for stream, data in (("stdout", result.stdout), ("stderr", result.stderr)):
        for raw in split_lines(data):
            line = fold_hex(expected_message(raw))
            if skip(line):
                continue
            m = PID_IN_LINE.search(line)
            pid = int(m.group(1)) if m else result.pid
            want.setdefault(pid, {"stdout": [], "stderr": []})[stream].append(line)
    return want


def _check_by_pid(ulogd, result, before, skip=lambda line: False):
    """Every process's lines, in order, under its own pid (and tid), and
    nothing else; lines `skip` names must not be in all.log at all."""
    want = _lines_by_pid(result, skip)
    counts = {s: sum(len(w[s]) for w in want.values()) for s in STREAMS}
    records = wait_for_lines(ulogd, counts, lambda rs: captured(rs[before:]),
                             f"{sum(counts.values())} lines of {len(want)} processes")
    for pid, lines in want.items():
        mine = [r for r in records if r["pid"] == pid]
        try:
            assert_lines(mine, lines, f"pid {pid}")
        except AssertionError as e:
            raise AssertionError(f"{e}{dropped_summary(ulogd.records()[before:])}; pids in "
                                 f"all.log: {sorted({r['pid'] for r in records})}") from None
        assert_tags(mine, pid)
    stray = [r for r in records if r["pid"] not in want or skip(r["message"])]
    assert not stray, f"records that should not be there: {stray[:3]}"
    _no_protocol_errors(ulogd)
    return want


def _spawn_test(mode, target=None, children=1, build=_built, via="ulog", name=None):
    def test(t):
        argv = [build(t, "host_spawn"), mode] + ([build(t, target)] if target else [])
        ulogd = t.start_ulogd()
        before = len(ulogd.records())
        result = t.compare(argv, normalize=_pids_to_n, via=via)
        assert result.returncode == 0, result.stderr[-300:]
        want = _check_by_pid(ulogd, result, before)
        if mode != "exec":
            assert len(want) == 1 + children, f"pids in the output: {sorted(want)}"
            assert result.pid in want
    test.__name__ = name or f"test_{mode.replace('-', '_')}_lines_carry_the_childs_pid"
    return test


test_fork_lines_carry_the_childs_pid = _spawn_test("fork")
test_vfork_exit_lines_carry_the_childs_pid = _spawn_test("vfork-exit")
# A vfork child's dup2 and close_range must not touch its parent's state.
test_vfork_child_redirecting_leaves_the_parent_captured = _spawn_test(
    "vfork-redirect", children=0,
    name="test_vfork_child_redirecting_leaves_the_parent_captured")
test_vfork_exec_lines_carry_the_childs_pid = _spawn_test("vfork-exec", "host_print")
test_posix_spawn_lines_carry_the_childs_pid = _spawn_test("posix_spawn", "host_print")
test_clone_lines_carry_the_childs_pid = _spawn_test("clone")


def test_exec_keeps_the_pid_and_its_death_by_signal(t):
    ulogd = t.start_ulogd()
    before = len(ulogd.records())
    result = t.compare([program("host_spawn"), "exec", program("host_print")],
                       normalize=_pids_to_n)
    assert result.returncode == -signal.SIGUSR1, result.returncode
    want = _check_by_pid(ulogd, result, before)
    assert list(want) == [result.pid], f"one pid before and after exec: {sorted(want)}"


def _daemon_test(mode, after_redirect):
    def test(t):
        ulogd = t.start_ulogd()
        before = len(ulogd.records())
        runs = {}
        for shim in (False, True):
            done = os.path.join(t.dir, f"daemon-done-{int(shim)}")
            runs[shim] = t.run([program("host_spawn"), mode, done], shim=shim)
            # The first process returns at once; the daemon lives on until DONE.
            wait_until(lambda: os.path.exists(done), 20, f"the daemon to write {done}")
        _same_behaviour(runs[False], runs[True], _pids_to_n)
        result = runs[True]
        assert result.returncode == 0, result.stderr[-300:]
        with open(os.path.join(t.dir, "daemon-done-1")) as f:
            daemon = int(f.read())
        assert daemon != result.pid
        want = _check_by_pid(ulogd, result, before)
        expected_pids = {result.pid, daemon} if mode == "daemon-keep" else {result.pid}
        assert set(want) == expected_pids, f"pids {sorted(want)}, daemon {daemon}"
        # What it wrote once its stdout was /dev/null is not the tree's output.
        late = [r for r in ulogd.settle()[before:] if after_redirect in r.get("message", "")]
        assert not late, f"lines written to /dev/null reached all.log: {late[:2]}"
    test.__name__ = f"test_{mode.replace('-', '_')}"
    return test


test_daemon_keep = _daemon_test("daemon-keep", "after its redirect")
test_daemon_null = _daemon_test("daemon-null", "after daemon()")


def _static_copy(t):
    """host_print linked statically, built here as the issue's Go-like case."""
    source = os.path.join(SCRIPTS, "host_print.c")
    out = os.path.join(t.dir, "host_print_static")
    for compiler in (["cc", "-static"], ["musl-gcc", "-static"]):
        if not shutil.which(compiler[0]):
            continue
        proc = subprocess.run([*compiler, "-O2", "-o", out, source], capture_output=True,
                              timeout=120)
        if proc.returncode == 0:
            return out
    raise Skip("neither cc -static nor musl-gcc -static can link here")


def _setuid_copy(t, owner):
    """A copy of host_print, set-user-ID `owner`."""
    if os.geteuid() != 0:
        raise Skip("only root can make a set-user-ID copy owned by another user")
    if os.statvfs(t.dir).f_flag & os.ST_NOSUID:
        raise Skip(f"{t.dir} is on a nosuid mount")
    path = os.path.join(t.dir, f"host_print_suid_{owner}")
    shutil.copy(program("host_print"), path)
    os.chown(path, owner, 0)
    os.chmod(path, 0o4755)
    return path


def _exec_uncapturable_test(name, make_target, captured_there):
    def test(t):
        target = make_target(t)
        ulogd = t.start_ulogd()
        before = len(ulogd.records())
        argv = [program("host_spawn"), "exec", target]
        bare = t.run(argv, shim=False)
        shim = t.run(argv, via="preload")  # plain LD_PRELOAD: no ulog run in between
        _same_behaviour(bare, shim, _pids_to_n)
        assert shim.returncode == -signal.SIGUSR1, shim.stderr[-300:]
        assert b"execed pid" in shim.stdout, "the exec'd program did not run"
        skip = (lambda line: False) if captured_there else (lambda line: line.startswith("execed"))
        want = _check_by_pid(ulogd, shim, before, skip)
        assert list(want) == [shim.pid]
    test.__name__ = f"test_exec_of_{name}"
    return test


test_exec_of_setuid_program = _exec_uncapturable_test(
    "setuid_program", lambda t: _setuid_copy(t, 65534), captured_there=False)
test_exec_of_setuid_root_program_as_root = _exec_uncapturable_test(
    "setuid_root_program_as_root", lambda t: _setuid_copy(t, 0), captured_there=True)
test_exec_of_static_program = _exec_uncapturable_test(
    "static_program", _static_copy, captured_there=False)


def _ulog_run(t, argv, quiet=False):
    """`ulog run` itself, with or without -q, on this test's socket."""
    command = [ULOG, "run", *(["-q"] if quiet else []), "--socket", t.socket, "--", *argv]
    return t.run(command, shim=False)


def _warning_test(name, make_target, what):
    def test(t):
        target = make_target(t)
        ulogd = t.start_ulogd()
        before = len(ulogd.records())
        argv = [target, "direct", "5", "write", "3"]
        bare = t.run(argv, shim=False)
        plain = t.run(argv, via="preload")
        warned = _ulog_run(t, argv)
        quiet = _ulog_run(t, argv, quiet=True)
        assert bare.returncode == 3, bare.stderr
        # The program's own bytes and ending, whichever way it was started.
        for run in (plain, warned, quiet):
            assert _pids_to_n(run.stdout) == _pids_to_n(bare.stdout), run.stdout
            _same_ending(bare, run)
        # The warning: once, first, on ulog run's stderr, and nowhere else.
        assert _pids_to_n(plain.stderr) == _pids_to_n(bare.stderr), plain.stderr
        assert _pids_to_n(quiet.stderr) == _pids_to_n(bare.stderr), quiet.stderr
        text = warned.stderr.decode()
        assert text.count("ulog run: warning: ") == 1, text
        assert text.startswith(f"ulog run: warning: {target} is {what}"), text
        warning, _, rest = text.partition("\n")
        second, _, rest = rest.partition("\n")
        assert second.startswith("ulog run: to capture it"), text
        assert _pids_to_n(rest.encode()) == _pids_to_n(bare.stderr), rest
        # And what it says is true: none of its lines reached all.log.
        records = ulogd.settle()[before:]
        mine = [r for r in captured(records) if r["message"].startswith("direct pid")]
        assert not mine, f"the warning said nothing is captured, yet: {mine[:2]}"
        assert not any("ulog run" in r.get("message", "") for r in records)
        # What it advises works: the relay through two cats captures every line,
        # and the program keeps its exit status.
        relay = [require_command("bash"), "-c",
                 'exec "$0" "$@" > >(exec cat) 2> >(exec cat >&2)', *argv]
        assert "exec cat >&2)' " in text, "the warning no longer shows the relay tested here"
        before = len(ulogd.records())
        relayed = _ulog_run(t, relay, quiet=True)
        assert _pids_to_n(relayed.stdout) == _pids_to_n(bare.stdout), relayed.stdout
        assert _pids_to_n(relayed.stderr) == _pids_to_n(bare.stderr), relayed.stderr
        _same_ending(bare, relayed)
        for stream, data in (("stdout", relayed.stdout), ("stderr", relayed.stderr)):
            want = [l.decode() for l in split_lines(data)]
            got = wait_for_lines(ulogd, {stream: len(want)},
                                 lambda rs: [r for r in captured(rs[before:], stream=stream)
                                             if r["message"].startswith("direct pid")],
                                 f"the relayed {stream}")
            assert [r["message"] for r in got] == want, (stream, got)
    test.__name__ = f"test_ulog_run_warns_about_{name}"
    return test


test_ulog_run_warns_about_setuid_program = _warning_test(
    "setuid_program", lambda t: _setuid_copy(t, 65534), "set-user-ID")
test_ulog_run_warns_about_static_program = _warning_test(
    "static_program", _static_copy, "statically linked")


def test_ulog_run_says_nothing_about_setuid_root_as_root(t):
    """Root running a set-user-ID-root program stays root: the shim loads,
    every line is captured, and a warning would be a lie."""
    target = _setuid_copy(t, 0)
    ulogd = t.start_ulogd()
    result, records = check_capture(t, ulogd, [target, "suid-root", "6", "write", "0"],
                                    normalize=_pids_to_n)
    assert b"warning" not in result.stderr
    assert len(records) == 8


# --- signals ------------------------------------------------------------------------

THREADS, LINES, USR1, ALARMS = 4, 3000, 400, 300
SIGNAL_LINE = re.compile(r"(thread \d+ tid (\d+) line \d+|usr1 thread \d+ tid (\d+) n \d+|"
                         r"alarm tid (\d+) n \d+|main line \d+|done: .*)")


def _sorted_lines(data):
    return sorted(_pids_to_n(data).split(b"\n"))


def _signal_test(die, build=_built, via="ulog", name=None):
    def test(t):
        argv = [build(t, "host_signals"), str(THREADS), str(LINES), str(USR1), str(ALARMS)]
        argv += ["die"] if die else []
        ulogd = t.start_ulogd(env={"LOG_ROTATION_SIZE": str(1 << 30)})
        before = len(ulogd.records())
        result = t.compare(argv, normalize=_sorted_lines, timeout=60, via=via)
        assert result.returncode == (-signal.SIGTERM if die else 0), result.stderr[-300:]
        out, err = split_lines(result.stdout), split_lines(result.stderr)
        assert len(out) + len(err) == (THREADS + 1) * LINES + THREADS * USR1 + ALARMS + 1

        records = wait_for_lines(ulogd, {"stdout": len(out), "stderr": len(err)},
                                 lambda rs: captured(rs[before:], pid=result.pid),
                                 "every line of the signal storm")
        faults = []
        for stream, lines in (("stdout", out), ("stderr", err)):
            want = collections.Counter(l.decode() for l in lines)
            got = collections.Counter(r["message"] for r in records if r["stream"] == stream)
            missing, extra = want - got, got - want
            # Death by a signal takes whatever the shim still held with the
            # process, uncounted (docs/LOGGING.md: a slow ulogd leaves some);
            # what did arrive must still be whole, once, and rightly tagged.
            if die:
                missing = collections.Counter()
            if missing or extra:
                faults.append(f"{stream}: {sum(missing.values())} of {len(lines)} lines missing "
                              f"(e.g. {list(missing)[:2]}), {sum(extra.values())} extra or torn "
                              f"(e.g. {list(extra)[:2]})")
        assert not faults, "; ".join(faults) + dropped_summary(ulogd.records()[before:])
        for r in records:
            m = SIGNAL_LINE.fullmatch(r["message"])
            assert m, f"torn line in all.log: {r['message'][:100]!r}"
            assert "part" not in r.get("metadata", {}), r
            tid = next((int(g) for g in m.groups()[1:] if g), None)
            if tid is not None:
                assert r["tid"] == tid, f"{r['message']!r} tagged tid {r['tid']}"
    test.__name__ = name or "test_signal_storm_on_every_thread" + (
        "_then_death_by_sigterm" if die else "")
    test.timeout = 150
    return test


test_signal_storm_on_every_thread = _signal_test(False)
test_signal_storm_on_every_thread_then_death_by_sigterm = _signal_test(True)


# --- buffering ----------------------------------------------------------------------

def _read_available(fd):
    chunks = []
    while select.select([fd], [], [], 0)[0]:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # a pty whose other end is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


class Watched:
    """host_buffering started with pipes (stdout a pipe or a terminal),
    stopped where it waits for its stdin: `early_out` and `early_err` are what
    its buffering had let through by then."""

    def __init__(self, t, env, shim, tty=False, prefix=()):
        argv = [*prefix, program("host_buffering")]
        cmd, env = t.command(argv, shim=shim, via="preload", env=env)
        if tty:
            import pty
            self.master, slave = pty.openpty()
            stdout = slave
        else:
            self.master, stdout = None, subprocess.PIPE
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=stdout,
                                     stderr=subprocess.PIPE, env=env, cwd=t.dir,
                                     start_new_session=True)
        t.track(self.proc)
        if tty:
            os.close(slave)
        self.out_fd = self.master if tty else self.proc.stdout.fileno()
        err = b""
        deadline = time.monotonic() + 20
        while not err.endswith(b"ready\n"):
            assert time.monotonic() < deadline, f"no 'ready' on stderr: {err!r}"
            if select.select([self.proc.stderr], [], [], 0.5)[0]:
                chunk = os.read(self.proc.stderr.fileno(), 4096)
                assert chunk, f"stderr ended before 'ready': {err!r}"
                err += chunk
        self.early_err = err[:-len(b"ready\n")]
        self.early_out = _read_available(self.out_fd)

    def finish(self):
        self.proc.stdin.close()
        out, err = [self.early_out], [self.early_err, b"ready\n"]
        err_fd = self.proc.stderr.fileno()
        sinks = {self.out_fd: out, err_fd: err}
        while sinks:
            ready = select.select(list(sinks), [], [], 20)[0]
            assert ready, "host_buffering did not finish after its stdin ended"
            for fd in ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:  # EIO: the terminal's other side is gone
                    chunk = b""
                if chunk:
                    sinks[fd].append(chunk)
                else:
                    del sinks[fd]
        self.proc.wait(20)
        if self.master is not None:
            os.close(self.master)
        return self.proc.returncode, b"".join(out), b"".join(err)


# ULOG_* setting -> the stdbuf option that does the same, and what must then
# be out by "ready" (stdout, stderr), with stdout a pipe unless "tty".
BUFFERING = {
    "stdout_line": ({"ULOG_STDOUT_BUFFER": "line"}, ["-oL"], b"first line\n", None, False),
    "stdout_none": ({"ULOG_STDOUT_BUFFER": "none"}, ["-o0"], b"first line\npartial line", None,
                    False),
    "stdout_full_on_a_tty": ({"ULOG_STDOUT_BUFFER": "full"}, ["-o65536"], b"", None, True),
    "stderr_full": ({"ULOG_STDERR_BUFFER": "full"}, ["-e65536"], b"", b"", False),
    "stderr_line": ({"ULOG_STDERR_BUFFER": "line"}, ["-eL"], b"", b"stderr stdio line\n", False),
    "both": ({"ULOG_STDOUT_BUFFER": "none", "ULOG_STDERR_BUFFER": "full"}, ["-o0", "-e65536"],
             b"first line\npartial line", b"", False),
}


def _buffering_test(name, env, stdbuf, early_out, early_err, tty):
    def test(t):
        ulogd = t.start_ulogd()
        before = len(ulogd.records())
        reference = Watched(t, {}, shim=False, tty=tty,
                            prefix=[require_command("stdbuf"), *stdbuf])
        bare = Watched(t, env, shim=False, tty=tty)
        shim = Watched(t, env, shim=True, tty=tty)
        # While it waits: what stdbuf lets through, and what we expect of it.
        want_out = early_out.replace(b"\n", b"\r\n") if tty else early_out
        assert reference.early_out == want_out, f"stdbuf {stdbuf}: {reference.early_out!r}"
        if early_err is not None:
            assert reference.early_err == early_err, reference.early_err
        assert shim.early_out == reference.early_out, \
            f"stdout by 'ready': {shim.early_out!r} under the shim, {reference.early_out!r} " \
            f"with stdbuf {' '.join(stdbuf)}"
        assert shim.early_err == reference.early_err, \
            f"stderr by 'ready': {shim.early_err!r} under the shim, {reference.early_err!r} " \
            f"with stdbuf"
        # all.log, while it still waits: the "ready" line, and stdout's lines
        # exactly as far as they reached the pipe (they were sent before it).
        pid = shim.proc.pid
        ulogd.wait_for(lambda rs: any(r["message"] == "ready" for r in captured(rs, pid=pid)),
                       what="'ready' in all.log")
        lines = shim.early_out.replace(b"\r\n", b"\n").split(b"\n")
        whole, partial = [l.decode() for l in lines[:-1]], lines[-1].decode()
        stdout_records = lambda rs: [r["message"] for r in  # noqa: E731
                                     captured(rs[before:], pid=pid, stream="stdout")]
        if whole:
            ulogd.wait_for(lambda rs: stdout_records(rs)[:len(whole)] == whole,
                           what=f"{whole} in all.log")
        else:
            assert not stdout_records(ulogd.records()), \
                "stdout reached all.log although nothing reached the pipe"
        if partial:  # ulogd writes a line without its newline after 250 ms
            ulogd.wait_for(lambda rs: partial in stdout_records(rs), what=f"{partial!r}")
        assert shim.proc.poll() is None, "it was meant to be waiting for its stdin"
        # The end: the bytes and status stdbuf gives. Each stream's bytes are
        # those without the shim; only how stdio and raw writes interleave on
        # one stream may change, which is what was asked for.
        ends = {k: w.finish() for k, w in (("bare", bare), ("shim", shim), ("ref", reference))}
        assert ends["shim"] == ends["ref"], f"{ends['shim']!r} != {ends['ref']!r} (stdbuf)"
        assert ends["shim"][0] == ends["bare"][0] == 0
        assert ends["shim"][1] == ends["bare"][1], "stdout's bytes changed"
        assert sorted(ends["shim"][2].split(b"\n")) == sorted(ends["bare"][2].split(b"\n"))
    test.__name__ = f"test_buffering_{name}"
    return test


for _name, _args in BUFFERING.items():
    _test = _buffering_test(_name, *_args)
    globals()[_test.__name__] = _test


def _unchanged_buffering_test(name, value, tty):
    def test(t):
        """A value the shim does not know changes nothing, and the program
        hears no complaint."""
        t.start_ulogd()
        env = {"ULOG_STDOUT_BUFFER": value, "ULOG_STDERR_BUFFER": value}
        default = Watched(t, {}, shim=False, tty=tty)
        shim = Watched(t, env, shim=True, tty=tty)
        assert (shim.early_out, shim.early_err) == (default.early_out, default.early_err), \
            f"{value!r} changed the buffering: {shim.early_out!r}, {shim.early_err!r}"
        assert shim.finish() == default.finish()
    test.__name__ = f"test_buffering_invalid_{name}"
    return test


test_buffering_invalid_word_pipe = _unchanged_buffering_test("word_pipe", "sometimes", False)
test_buffering_invalid_word_tty = _unchanged_buffering_test("word_tty", "fully", True)
test_buffering_invalid_empty = _unchanged_buffering_test("empty", "", False)
