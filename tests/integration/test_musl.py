"""test_musl.py - the musl flavour of the shim (build/libulog-musl.so), for
Alpine-style images: musl's stdio writes through the FILE's write member,
which the shim replaces, and dprintf uses a FILE of its own.

The programs are built with musl-gcc here, from the same sources as the
glibc ones (those that use nothing glibc-only), and run with LD_PRELOAD
set directly: `ulog run` would hand them the glibc shim.
"""

import os
import shutil
import subprocess

from expect import check_capture
from harness import LIBULOG_MUSL, SCRIPTS, Skip

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
