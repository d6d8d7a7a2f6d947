"""test_valgrind.py - the shim and ulogd under valgrind's memcheck.

The shim runs inside programs that never asked for it, so an uninitialised
byte sent or a read past a buffer is a bug in someone else's process. Each
program here runs under memcheck with the shim preloaded and must give its
own exit status with no error reported; ulogd runs under memcheck while it
takes real lines, bytes that are not text and a malformed message, and must
exit 0 with no error and no definite leak.
"""

import os

import wireclient as wire
from expect import check_capture
from harness import program, require_command

MEMCHECK_ERROR = 99


def _memcheck():
    return [require_command("valgrind"), "-q", f"--error-exitcode={MEMCHECK_ERROR}",
            "--trace-children=yes", "--child-silent-after-fork=no"]


def _shim_under_valgrind_test(name, argv):
    def test(t):
        ulogd = t.start_ulogd()
        command = [*_memcheck(), program(argv[0]), *argv[1:]]
        result = t.run(command, via="preload", timeout=120)
        assert result.returncode != MEMCHECK_ERROR and b"==" not in result.stderr, \
            f"memcheck found errors: {result.stderr.decode(errors='replace')[-1500:]}"
        assert result.returncode == 0, result.stderr[-500:]
        ulogd.wait_for(lambda rs: any(r.get("pid") == result.pid and r.get("source") == "preload"
                                      for r in rs), what="a captured line")
    test.__name__ = f"test_valgrind_shim_{name}"
    test.timeout = 150
    return test


test_valgrind_shim_printf = _shim_under_valgrind_test("printf", ["out_printf"])
test_valgrind_shim_fork = _shim_under_valgrind_test("fork", ["forker"])
test_valgrind_shim_threads = _shim_under_valgrind_test("threads", ["threads", "write", "4", "200"])
test_valgrind_shim_close_fds = _shim_under_valgrind_test("close_fds", ["close_fds"])


def test_valgrind_ulogd(t):
    leaks = ["--leak-check=full", "--errors-for-leak-kinds=definite"]
    ulogd = t.start_ulogd(wrapper=[*_memcheck(), *leaks],
                          env={"LOG_ROTATION_SIZE": "65536", "LOG_BACKUP_COUNT": "20"})
    check_capture(t, ulogd, [program("escapes")])
    check_capture(t, ulogd, [program("out_printf")], stdout="file")
    with wire.Client(t.socket) as bad:
        bad.send(wire.header(wire.DATA, 3) + b"abc")
        assert bad.closed_by_peer(timeout=20)
    with wire.Client(t.socket) as partial:
        partial.send(wire.hello())
        partial.send(wire.data("left open at disconnect"))
    ulogd.wait_for(lambda rs: any(r["message"] == "left open at disconnect" for r in rs),
                   timeout=20, what="the partial line")
    ulogd.stop(timeout=60)  # exit status 0 required: memcheck would make it 99
    assert MEMCHECK_ERROR != ulogd.returncode
    assert "==" not in ulogd.stderr(), ulogd.stderr()
    assert os.path.exists(os.path.join(ulogd.log_dir, "all.log.1")), "no rotation happened"


test_valgrind_ulogd.timeout = 180
