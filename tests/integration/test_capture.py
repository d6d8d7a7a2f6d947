"""test_capture.py - every way a C or C++ program writes to stdout/stderr.

One test per program and kind of stdout (a pipe, then a regular file; the
shim must recognise both by identity, not by fd number). Each asserts, via
expect.check_capture, that the program's bytes and exit status are the same
with and without the shim, and that all.log holds every line it wrote, on
the right stream, tagged with its pid, tid, service and host.
"""

from expect import check_capture
from harness import program, require_command

# name -> (program, arguments, exit status the program itself must give)
PROGRAMS = {
    "printf": ("out_printf", [], 0),
    "puts": ("out_puts", [], 0),
    "fwrite": ("out_fwrite", [], 0),
    "putc_unlocked": ("out_putc_unlocked", [], 0),
    "fprintf_stderr": ("out_fprintf_stderr", [], 0),
    "perror": ("out_perror", [], 3),
    "err_warn": ("out_err_warn", [], 4),
    "write": ("out_write", [], 0),
    "printf_fortify": ("out_printf_fortify", [], 0),
    "wide": ("out_wide", [], 0),
    "dprintf": ("out_dprintf", [], 0),
    "writev": ("out_writev", [], 0),
    "pwrite": ("out_pwrite", [], 0),
    "sendfile": ("out_sendfile", [], 0),
    "splice": ("out_splice", [], 0),
    "copy_file_range": ("out_copy_file_range", [], 0),
    "cpp_streams": ("cpp_streams", [], 0),
    "cpp_streams_nosync": ("cpp_streams", ["nosync"], 0),
    "signal_handler": ("signal_writer", [], 0),
    "last_line_without_newline": ("no_newline", [], 0),
    "close_all_fds": ("close_fds", [], 0),
    "dup2_over_shim_socket": ("dup2_over", [], 0),
}


def _capture_test(name, prog, args, status, stdout):
    def test(t):
        ulogd = t.start_ulogd()
        result, records = check_capture(t, ulogd, [program(prog), *args], stdout=stdout)
        assert result.returncode == status, \
            f"{prog} exited {result.returncode}, it should exit {status}: {result.stderr[-300:]!r}"
        assert records, f"{prog} wrote nothing that reached all.log"
    test.__name__ = f"test_{name}_{stdout}"
    test.__doc__ = f"{prog} {' '.join(args)} with stdout a {stdout}"
    return test


for _name, (_prog, _args, _status) in PROGRAMS.items():
    for _stdout in ("pipe", "file"):
        _test = _capture_test(_name, _prog, _args, _status, _stdout)
        globals()[_test.__name__] = _test


def test_fortify_build_really_uses_chk_functions(t):
    """Without __printf_chk in the binary, the fortify tests prove nothing."""
    with open(program("out_printf_fortify"), "rb") as f:
        binary = f.read()
    for symbol in (b"__printf_chk", b"__fprintf_chk", b"__vfprintf_chk"):
        assert symbol in binary, f"out_printf_fortify does not call {symbol.decode()}"


def test_pwrite_on_pipe_fails_the_same_and_sends_nothing(t):
    ulogd = t.start_ulogd()
    result, records = check_capture(t, ulogd, [program("out_pwrite")])
    assert b"pwrite: ret=-1 errno=ESPIPE" in result.stderr, result.stderr
    assert b"pwritev2 at -1: ret=14 errno=0" in result.stderr, result.stderr
    messages = [r["message"] for r in records]
    assert "pwrite line" not in messages and "pwritev line" not in messages, messages
    assert "pwritev2 line" in messages, messages


def test_copy_file_range_to_regular_file(t):
    ulogd = t.start_ulogd()
    result, records = check_capture(t, ulogd, [program("out_copy_file_range")], stdout="file")
    assert b"copy_file_range: 960 bytes" in result.stderr, result.stderr
    assert sum(r["message"].startswith("copy_file_range line") for r in records) == 40


def test_send_on_socket_stdout(t):
    ulogd = t.start_ulogd()
    result, records = check_capture(t, ulogd, [program("out_send")], stdout="socket")
    assert result.returncode == 0, result.stderr
    messages = [r["message"] for r in records]
    assert "sendmsg line" in messages and "sendto line" in messages, messages
    assert "private traffic" not in messages, "traffic on the program's own socketpair was captured"


def test_close_all_fds_leaves_new_files_alone(t):
    ulogd = t.start_ulogd()
    result, records = check_capture(t, ulogd, [program("close_fds")])
    assert b"file holds exactly its payload" in result.stdout, result.stdout[-200:]
    assert any(r["message"] == "after closefrom line 19" for r in records)


def test_dup2_over_shim_socket_injects_nothing(t):
    ulogd = t.start_ulogd()
    result, records = check_capture(t, ulogd, [program("dup2_over")])
    assert b"file holds exactly its payload" in result.stdout, result.stdout[-200:]
    assert any(r["message"] == "after dup2 line 19" for r in records)


def test_printf_on_a_tty(t):
    """A terminal makes stdout line-buffered; isatty must stay true."""
    ulogd = t.start_ulogd()
    check_capture(t, ulogd, [program("out_printf")], stdout="tty")


def _cat_stdin_test(stdout):
    def test(t):
        """GNU cat copying its stdin (a pipe) with read/write."""
        ulogd = t.start_ulogd()
        text = b"".join(b"stdin line %04d\n" % i for i in range(2000)) + b"no newline at the end"
        result, records = check_capture(t, ulogd, [require_command("cat")], stdin=text,
                                        stdout=stdout)
        assert result.stdout == text
    test.__name__ = f"test_cat_of_stdin_{stdout}"
    return test


test_cat_of_stdin_pipe = _cat_stdin_test("pipe")
test_cat_of_stdin_file = _cat_stdin_test("file")
