"""test_runtimes_more.py - the rows of the compatibility matrix in
docs/LOGGING.md that test_capture, test_runtimes and test_musl do not cover.

- Rust (println!/eprintln!) and Java (System.out/err) write through libc's
  write(2): every line reaches all.log, with identical bytes and exit status.
- Go, static or linked dynamically (cgo), makes its system calls itself: its
  output is unchanged and none of it reaches all.log, although in the cgo
  build the shim is loaded. A C program calling syscall(SYS_write) shows the
  same thing without Go: only its write(2) lines are captured.
- A static binary does not load the shim at all; a program it executes is
  dynamic again and is captured.
- A set-user-ID or set-group-ID program whose ids change (root starting a
  program owned by nobody): the loader ignores LD_PRELOAD and removes it
  from the environment, so neither the program nor what it executes is
  captured. A setuid-root program that root starts changes no id and is
  captured as usual.
- What the user does for those: relay the output through two captured cat
  processes (the RELAY command below, as docs/LOGGING.md gives it), which
  the last tests check end to end.

Each toolchain program is built by the test itself into its own directory
(rustc, javac, go, cc -static) and the test is skipped when the toolchain is
absent. "Nothing reached all.log" is only believed after a program that is
captured (out_write) has had its lines delivered through the same ulogd.
"""

import os
import shutil
import struct
import subprocess

from expect import (assert_lines, assert_tags, check_capture, expected_lines, line_counts,
                    wait_for_lines)
from harness import SCRIPTS, Skip, program, require_command
from records import captured

NOBODY = 65534


# --- building ------------------------------------------------------------------

def _build(t, argv, what, env=None):
    proc = subprocess.run(argv, capture_output=True, timeout=180, cwd=t.dir,
                          env={**os.environ, **(env or {})})
    if proc.returncode != 0:
        raise AssertionError(f"building {what} failed ({proc.returncode}): "
                             f"{proc.stderr.decode(errors='replace')[-1500:]}")


def _rust(t):
    rustc = shutil.which("rustc") or os.path.expanduser("~/.cargo/bin/rustc")
    if not os.access(rustc, os.X_OK):
        raise Skip("rustc is not installed")
    out = os.path.join(t.dir, "rust_hello")
    _build(t, [rustc, "-O", "-o", out, os.path.join(SCRIPTS, "rust_hello.rs")], "rust_hello.rs")
    return [out]


def _java(t):
    javac, java = shutil.which("javac"), shutil.which("java")
    if not (javac and java):
        raise Skip("javac and java are not installed")
    classes = os.path.join(t.dir, "classes")
    _build(t, [javac, "-d", classes, os.path.join(SCRIPTS, "JavaHello.java")], "JavaHello.java")
    return [java, "-cp", classes, "JavaHello"]


def _go(t, cgo):
    """go_hello.go built static (CGO_ENABLED=0) or linked dynamically
    against libc (cgo, with the external linker)."""
    go = shutil.which("go")
    if not go:
        raise Skip("go is not installed (make deps installs golang-go)")
    out = os.path.join(t.dir, "go_hello_cgo" if cgo else "go_hello_static")
    env = {"CGO_ENABLED": "1" if cgo else "0", "GOCACHE": os.path.join(t.dir, "gocache"),
           "GOPATH": os.path.join(t.dir, "gopath"), "GOPROXY": "off", "GOFLAGS": ""}
    extra = ["-ldflags=-linkmode=external"] if cgo else []
    _build(t, [go, "build", *extra, "-o", out, os.path.join(SCRIPTS, "go_hello.go")],
           "go_hello.go", env)
    assert (_interpreter(out) is not None) == cgo, \
        f"{out}: {'no' if cgo else 'a'} dynamic loader in the ELF file"
    return [out]


def _static_probe(t):
    cc = require_command("cc")
    libc_a = subprocess.run([cc, "-print-file-name=libc.a"], capture_output=True, text=True,
                            timeout=30)
    if not os.path.isabs(libc_a.stdout.strip()):
        raise Skip("no static C library (libc.a) to link against")
    out = os.path.join(t.dir, "loader_probe_static")
    _build(t, [cc, "-static", "-O2", "-o", out, os.path.join(SCRIPTS, "loader_probe.c")],
           "loader_probe.c -static")
    assert _interpreter(out) is None, f"{out} is not static"
    return out


def _setuid_probe(t, kind="setuid", owner=NOBODY, started_by=None):
    """argv of a copy of loader_probe with the set-user-ID bit, owned by
    `owner` (for kind "setgid": the set-group-ID bit, group `owner`), started
    by root or, through setpriv, by the user `started_by`. Skips when the
    bit would change nothing here (a nosuid mount, no_new_privs)."""
    if os.geteuid() != 0:
        raise Skip("making a set-ID program for another user needs root")
    out = os.path.join(t.dir, f"loader_probe_{kind}")
    shutil.copy(program("loader_probe"), out)
    if kind == "setuid":
        os.chown(out, owner, -1)
        os.chmod(out, 0o4755)
    else:
        os.chown(out, -1, owner)
        os.chmod(out, 0o2755)
    # Other users must reach the program and its PROBE_MAPS file.
    os.chmod(t.dir, 0o711)
    os.chmod(os.path.dirname(_probe(t, "maps")), 0o777)
    argv = [out]
    if started_by is not None:
        argv = [require_command("setpriv"), f"--reuid={started_by}", f"--regid={started_by}",
                "--clear-groups", out]
    ids = _probe(t, "ids")
    t.run(argv, shim=False, env={"PROBE_MAPS": ids})
    ruid, euid, rgid, egid = _read_ids(ids)
    changes = (ruid != euid) if kind == "setuid" else (rgid != egid)
    if owner != (0 if started_by is None else started_by) and not changes:
        raise Skip(f"the {kind} bit changes no id here (a nosuid mount, or no_new_privs)")
    return argv


def _interpreter(path):
    """The PT_INTERP of an ELF64 little-endian file: the dynamic loader it
    asks for, None for a static binary."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1, f"{path}: not ELF64 LE"
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    for i in range(phnum):
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from("<IIQQQQ", data,
                                                                 phoff + i * phentsize)
        if p_type == 3:  # PT_INTERP
            return data[p_offset:p_offset + p_filesz].rstrip(b"\0").decode()
    return None


# --- checks ----------------------------------------------------------------------

def _probe(t, name):
    path = os.path.join(t.dir, "probe", name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


def _read_probe(path):
    """(is libulog mapped, is LD_PRELOAD still set) from a PROBE_MAPS file:
    /proc/self/maps lines, then loader_probe's LD_PRELOAD=, PID= and IDS= lines."""
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    maps = [line for line in lines if not line.startswith(("LD_PRELOAD=", "PID=", "IDS="))]
    return (any("libulog" in line for line in maps),
            any(line.startswith("LD_PRELOAD=") and line != "LD_PRELOAD=(unset)" for line in lines))


def _read_ids(path):
    """(ruid, euid, rgid, egid) from a PROBE_MAPS file of loader_probe."""
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f.read().splitlines():
            if line.startswith("IDS="):
                return tuple(int(x) for x in line[4:].split())
    raise AssertionError(f"no IDS= line in {path}")


def _control(t, ulogd):
    """A program the shim does capture, through the same ulogd, after the
    one under test: once its lines are in all.log, anything the program
    under test had sent would be there too."""
    check_capture(t, ulogd, [program("out_write")], via="preload")


def _assert_nothing_from(ulogd, pid, who):
    records = [r for r in ulogd.settle() if r.get("pid") == pid]
    assert not records, f"{who} (pid {pid}) reached all.log: {records[:3]}"


def _not_captured(t, argv, status, first_line, shim_loaded):
    """Run bare and with LD_PRELOAD: same bytes and status; the shim is in
    the process or not, as expected; nothing of the program in all.log."""
    ulogd = t.start_ulogd()
    maps = _probe(t, "maps")
    result = t.compare(argv, via="preload", env={"PROBE_MAPS": maps})
    assert result.returncode == status, \
        f"exit status {result.returncode}, expected {status}: {result.stderr[-300:]!r}"
    assert result.stdout.startswith(first_line), f"unexpected output {result.stdout[:200]!r}"
    mapped, _ = _read_probe(maps)
    assert mapped == shim_loaded, \
        f"libulog.so {'not ' if shim_loaded else ''}mapped in the process under LD_PRELOAD"
    _control(t, ulogd)
    _assert_nothing_from(ulogd, result.pid, argv[0])
    return result


# --- Rust and Java: captured through write(2) ----------------------------------------

def _rust_test(stdout):
    def test(t):
        argv = _rust(t)
        ulogd = t.start_ulogd()
        result, records = check_capture(t, ulogd, argv, stdout=stdout)
        assert result.returncode == 7, result.stderr[-300:]
        messages = [(r["stream"], r["message"]) for r in records]
        for line in (("stdout", "a line in two pieces"), ("stdout", "writeln on a locked stdout 19"),
                     ("stderr", "eprint in two pieces"), ("stdout", "last println line")):
            assert line in messages, f"{line} not in all.log"
    test.__name__ = f"test_rust_println_eprintln_{stdout}"
    test.timeout = 120
    return test


def _java_test(stdout):
    def test(t):
        argv = _java(t)
        ulogd = t.start_ulogd()
        result, records = check_capture(t, ulogd, argv, single_thread=False, stdout=stdout,
                                        timeout=60)
        assert result.returncode == 6, result.stderr[-300:]
        messages = [(r["stream"], r["message"]) for r in records]
        for line in (("stdout", "a line in two pieces"), ("stdout", "printf 42 and text"),
                     ("stderr", "err in two pieces"), ("stdout", "last System.out line")):
            assert line in messages, f"{line} not in all.log"
        # main() runs on a JVM thread of its own: each line carries that thread.
        tids = {r["tid"] for r in records}
        assert len(tids) == 1 and result.pid not in tids, \
            f"expected one thread other than the first, got tids {tids} (pid {result.pid})"
    test.__name__ = f"test_java_system_out_err_{stdout}"
    test.timeout = 120
    return test


for _stdout in ("pipe", "file"):
    for _make in (_rust_test, _java_test):
        _test = _make(_stdout)
        globals()[_test.__name__] = _test


# --- Go and raw system calls: not captured -------------------------------------------

def test_go_static_not_captured(t):
    """The shim is not even loaded: the binary has no dynamic loader."""
    _not_captured(t, _go(t, cgo=False), 5, b"fmt.Println line 0\n", shim_loaded=False)


test_go_static_not_captured.timeout = 180


def test_go_cgo_loads_the_shim_but_is_not_captured(t):
    """Dynamically linked, so the shim is loaded; Go still writes with its
    own system calls, so the shim sees nothing and changes nothing."""
    _not_captured(t, _go(t, cgo=True), 5, b"fmt.Println line 0\n", shim_loaded=True)


test_go_cgo_loads_the_shim_but_is_not_captured.timeout = 180


def _raw_syscall_test(stdout):
    def test(t):
        ulogd = t.start_ulogd()
        before = len(ulogd.records())
        result = t.compare([program("raw_syscall")], via="preload", stdout=stdout)
        assert result.returncode == 3, result.stderr[-300:]
        assert b"raw syscall line 29\n" in result.stdout and b"raw syscall" in result.stderr
        want = {s: [line for line in lines if not line.startswith("raw syscall")]
                for s, lines in expected_lines(result).items()}
        assert want["stdout"] == [f"libc write line {i}" for i in range(30)], want
        records = wait_for_lines(ulogd, line_counts(want),
                                 lambda rs: captured(rs[before:], pid=result.pid),
                                 "the write(2) lines")
        assert_lines(records, want, "raw_syscall")
        assert_tags(records, result.pid, "raw_syscall")
    test.__name__ = f"test_raw_syscall_not_captured_write_is_{stdout}"
    return test


for _stdout in ("pipe", "file"):
    _test = _raw_syscall_test(_stdout)
    globals()[_test.__name__] = _test


# --- static and setuid: the loader decides ---------------------------------------------

def test_static_binary_not_captured(t):
    _not_captured(t, [_static_probe(t)], 4, b"loader_probe printf line 0\n", shim_loaded=False)


def test_static_binary_execs_a_dynamic_program_that_is_captured(t):
    """A static program keeps LD_PRELOAD in its environment: the dynamic
    program it executes (same pid) loads the shim and is captured, while
    the static program's own lines before the exec are not."""
    ulogd = t.start_ulogd()
    maps = _probe(t, "maps")
    before = len(ulogd.records())
    result = t.compare([_static_probe(t), program("out_write")], via="preload",
                       env={"PROBE_MAPS": maps})
    assert result.returncode == 0, result.stderr[-300:]
    mapped, preload_kept = _read_probe(maps)
    assert not mapped and preload_kept, "static program: shim mapped, or LD_PRELOAD dropped"
    # What reaches all.log is exactly out_write's output.
    alone = t.run([program("out_write")], shim=False)
    assert result.stdout.endswith(alone.stdout) and result.stderr.endswith(alone.stderr)
    want = expected_lines(alone)
    records = wait_for_lines(ulogd, line_counts(want),
                             lambda rs: captured(rs[before:], pid=result.pid),
                             "the lines of the exec'd program")
    assert_lines(records, want, "out_write after loader_probe_static")
    assert_tags(records, result.pid, "out_write")


def test_setuid_program_and_what_it_execs_not_captured(t):
    """The loader ignores LD_PRELOAD in a setuid program and removes it from
    its environment: the program is not captured, nor is the program it
    executes (the same holds for its children, which inherit that
    environment)."""
    result = _not_captured(t, [*_setuid_probe(t), program("out_write")], 0,
                           b"loader_probe printf line 0\n", shim_loaded=False)
    _, preload_kept = _read_probe(_probe(t, "maps"))
    assert not preload_kept, "LD_PRELOAD is still in the setuid program's environment"
    assert b"write line 099\n" in result.stdout, "out_write did not run after the probe"


def test_setuid_root_program_started_by_a_user_not_captured(t):
    """The everyday case (ping, sudo): a user starts a program that is
    setuid root. setpriv, itself under the shim, becomes nobody and
    executes it."""
    _not_captured(t, _setuid_probe(t, "setuid", owner=0, started_by=NOBODY), 4,
                  b"loader_probe printf line 0\n", shim_loaded=False)
    _, preload_kept = _read_probe(_probe(t, "maps"))
    assert not preload_kept, "LD_PRELOAD is still in the setuid program's environment"


def test_setgid_program_not_captured(t):
    _not_captured(t, _setuid_probe(t, "setgid"), 4, b"loader_probe printf line 0\n",
                  shim_loaded=False)
    _, preload_kept = _read_probe(_probe(t, "maps"))
    assert not preload_kept, "LD_PRELOAD is still in the setgid program's environment"


def test_setuid_root_program_started_by_root_is_captured(t):
    """Secure mode comes from ids that change: a program setuid root that
    root starts keeps its ids, so the loader honours LD_PRELOAD as usual."""
    argv = _setuid_probe(t, "setuid", owner=0)
    ulogd = t.start_ulogd()
    maps = _probe(t, "maps")
    result, records = check_capture(t, ulogd, argv, via="preload", env={"PROBE_MAPS": maps})
    assert result.returncode == 4, result.stderr[-300:]
    mapped, preload_kept = _read_probe(maps)
    assert mapped and preload_kept, "shim not loaded in a setuid-root program started by root"
    assert records


# --- the relay: what the user does for what the shim cannot see -----------------------

# The command docs/LOGGING.md gives (Compatibility): bash replaces itself
# with the program, whose stdout and stderr are now pipes into two cat
# processes that write to the tree's stdout and stderr.
RELAY = 'exec "$0" "$@" > >(exec cat) 2> >(exec cat >&2)'


def _probe_pid(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return [int(line[4:]) for line in f.read().splitlines() if line.startswith("PID=")][0]


def _relay_test(name, make_argv, status):
    """`ulog run --service NAME -- bash -c RELAY PROGRAM`: the two cat
    processes are captured, so every line reaches all.log on its own stream,
    under the service name; the program keeps the pid `ulog run` started (it
    gets the signals) and its exit status is the one seen."""
    def test(t):
        bash = require_command("bash")
        argv = make_argv(t)
        ulogd = t.start_ulogd()
        before = len(ulogd.records())
        maps = _probe(t, "maps")
        result = t.compare([bash, "-c", RELAY, *argv], service="relayed",
                           env={"PROBE_MAPS": maps})
        assert result.returncode == status, result.stderr[-300:]
        if os.path.exists(maps):  # loader_probe says which pid it ran as
            assert _probe_pid(maps) == result.pid, "the program did not keep the pid"
        direct = t.run(argv, shim=False)
        assert (result.stdout, result.stderr) == (direct.stdout, direct.stderr), \
            "the relay changed the program's output"
        want = expected_lines(result)
        records = wait_for_lines(ulogd, line_counts(want), lambda rs: captured(rs[before:]),
                                 "the relayed lines")
        assert_lines(records, want, f"{name} relayed")
        cats = {r["pid"] for r in records}
        assert result.pid not in cats and len(cats) == 2, \
            f"expected the lines from the two cat processes, got pids {cats}"
        assert not [r for r in ulogd.records() if r.get("pid") == result.pid], \
            "the program itself reached all.log"
        for pid in cats:
            assert_tags([r for r in records if r["pid"] == pid], pid, "relayed")
    test.__name__ = f"test_relay_through_cat_captures_{name}"
    test.timeout = 180
    return test


test_relay_through_cat_captures_raw_syscall = _relay_test(
    "raw_syscall", lambda t: [program("raw_syscall")], 3)
test_relay_through_cat_captures_go_static = _relay_test(
    "go_static", lambda t: _go(t, cgo=False), 5)
test_relay_through_cat_captures_setuid = _relay_test("setuid", _setuid_probe, 4)
