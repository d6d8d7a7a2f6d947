"""test_musl.py - the musl flavour of the shim (build/libulog-musl.so), for
Alpine-style images: musl's stdio writes through the FILE's write member,
which the shim replaces, and dprintf uses a FILE of its own.

The programs are built with musl-gcc here, from the same sources as the
glibc ones (those that use nothing glibc-only), and run with LD_PRELOAD
set directly, or through `ulog run`, which sees musl's loader in them and
preloads the musl shim. The host-safety programs of test_host_safety.py run
here too, but host_close_all: musl 1.2.3 has neither close_range nor
closefrom.
"""

import os
import shutil
import subprocess

from expect import check_capture
from harness import LIBULOG_MUSL, SCRIPTS, Skip
from test_host_safety import _fd_test, _signal_test, _spawn_test

PORTABLE = ("out_printf", "out_puts", "out_fwrite", "out_putc_unlocked", "out_fprintf_stderr",
            "out_write", "out_dprintf", "out_writev", "no_newline", "signal_writer")


def _build(t, name):
    musl_gcc = shutil.which("musl-gcc")
    if not musl_gcc:
        raise Skip("musl-gcc is not installed")
    if not os.path.exists(LIBULOG_MUSL):
        raise AssertionError(f"{LIBULOG_MUSL} is missing although musl-gcc is installed")
    out = os.path.join(t.dir, f"{name}-musl")
    subprocess.run([musl_gcc, "-std=gnu11", "-D_GNU_SOURCE", "-O2", "-o", out,
                    os.path.join(SCRIPTS, f"{name}.c")], check=True, timeout=60,
                   capture_output=True)
    return out


def _musl_test(name):
    def test(t):
        binary = _build(t, name)
        ulogd = t.start_ulogd()
        for stdout in ("pipe", "file"):
            check_capture(t, ulogd, [binary], via="musl", stdout=stdout)
    test.__name__ = f"test_musl_{name}"
    return test


for _name in PORTABLE:
    _test = _musl_test(_name)
    globals()[_test.__name__] = _test


def test_musl_no_ulogd(t):
    for name in PORTABLE:
        binary = _build(t, name)
        t.compare([binary], via="musl", socket_path=os.path.join(t.dir, "absent.sock"),
                  timeout=20)


# --- `ulog run` and the host-safety programs, built with musl ------------------

def test_musl_program_via_ulog_run(t):
    """ulog run sees musl's loader in the program and preloads the musl shim
    (the glibc one would stop the program from starting), silently."""
    binary = _build(t, "out_printf")
    ulogd = t.start_ulogd()
    result, _records = check_capture(t, ulogd, [binary], via="ulog")
    assert b"warning" not in result.stderr, result.stderr


def test_musl_script_via_ulog_run(t):
    """The same through a #! script whose interpreter is a musl program."""
    binary = _build(t, "out_write")
    script = os.path.join(t.dir, "musl-script")
    with open(script, "w") as f:
        f.write(f"#!{binary}\n")
    os.chmod(script, 0o755)
    ulogd = t.start_ulogd()
    # The kernel runs the interpreter with the script as its argument:
    # argv[0], hence the service, is the interpreter's.
    check_capture(t, ulogd, [script], via="ulog", expect_service=os.path.basename(binary))


test_musl_dup2_onto_every_fd = _fd_test(
    "host_dup2_all", name="test_musl_dup2_onto_every_fd", last_phase="after restore",
    build=_build, via="musl")
test_musl_dup2_onto_every_fd_with_a_full_table = _fd_test(
    "host_dup2_all", "1024", name="test_musl_dup2_onto_every_fd_with_a_full_table",
    last_phase="after restore", build=_build, via="musl")
test_musl_fcntl_dupfd = _fd_test("host_dupfd", name="test_musl_fcntl_dupfd",
                                 last_phase="after many", build=_build, via="musl")
test_musl_fork = _spawn_test("fork", build=_build, via="musl", name="test_musl_fork")
test_musl_vfork_exit = _spawn_test("vfork-exit", build=_build, via="musl",
                                   name="test_musl_vfork_exit")
test_musl_posix_spawn = _spawn_test("posix_spawn", "host_print", build=_build, via="musl",
                                    name="test_musl_posix_spawn")
test_musl_clone = _spawn_test("clone", build=_build, via="musl", name="test_musl_clone")
test_musl_signal_storm = _signal_test(False, build=_build, via="musl",
                                      name="test_musl_signal_storm_on_every_thread")
