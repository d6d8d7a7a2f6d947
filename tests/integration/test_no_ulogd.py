"""test_no_ulogd.py - the shim when ulogd is absent, dead, late or stuck.

With no ulogd at all every program must behave exactly as without the shim
and finish (each run has a timeout, so waiting is a failure). A stale
socket, a socket path that is a plain file and a ulogd that is stopped
(SIGSTOP: connected, never reading) must not block the host either. When
ulogd comes late, what the shim kept is delivered in order, and what it
could not keep is counted in a DROPPED message.
"""

import os
import re
import shutil
import signal
import socket
import time

from harness import PYTHON, Skip, program, require_command, script, wait_until
from records import captured, dropped_count
from test_capture import PROGRAMS

SEQ = re.compile(r"seq (\d{6}) ")


def _absent(t):
    return os.path.join(t.dir, "absent", "ulog.sock")


def _no_ulogd_test(name, argv_of, status, stdout="pipe"):
    def test(t):
        result = t.compare(argv_of(), socket_path=_absent(t), stdout=stdout, timeout=20)
        assert result.returncode == status, result.stderr[-300:]
        assert not os.path.exists(_absent(t)), "the shim created the socket path"
    test.__name__ = f"test_no_ulogd_{name}"
    return test


def _program(prog, *args):
    return lambda: [program(prog), *args]


def _interpreted(command, name, *args):
    return lambda: [require_command(command) if command != "python3" else PYTHON,
                    script(name), *args]


CASES = {name: (_program(prog, *args), status) for name, (prog, args, status) in PROGRAMS.items()}
CASES.update({
    "python": (_interpreted("python3", "py_output.py", "6"), 6),
    "node": (_interpreted("node", "node_console.js"), 3),
    "bash": (_interpreted("bash", "sh_tools.sh"), 5),
})

for _name, (_argv_of, _status) in CASES.items():
    _test = _no_ulogd_test(_name, _argv_of, _status)
    globals()[_test.__name__] = _test

test_no_ulogd_send_on_socket = _no_ulogd_test("send_on_socket", _program("out_send"), 0,
                                              stdout="socket")
test_no_ulogd_copy_file_range_to_file = _no_ulogd_test(
    "copy_file_range_to_file", _program("out_copy_file_range"), 0, stdout="file")


def test_no_ulogd_threads_8x10000(t):
    """Output order and tids differ from run to run: compare sorted lines."""
    result = t.compare([program("threads"), "write", "8", "10000"], socket_path=_absent(t),
                       normalize=lambda d: sorted(re.sub(rb"tid \d+", b"tid N", d).split(b"\n")),
                       timeout=60)
    assert result.returncode == 0


def test_no_ulogd_fork(t):
    result = t.compare([program("forker")], socket_path=_absent(t), timeout=20,
                       normalize=lambda d: re.sub(rb"(parent|child) \d+", rb"\1 PID", d))
    assert result.returncode == 0


def test_stale_socket_refuses(t):
    """A socket file left behind by a dead ulogd: connect gets ECONNREFUSED."""
    stale = os.path.join(t.dir, "stale.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.bind(stale)
    s.close()
    result = t.compare([program("out_printf")], socket_path=stale, timeout=20)
    assert result.returncode == 0


def test_socket_path_is_a_regular_file(t):
    path = os.path.join(t.dir, "not-a-socket")
    with open(path, "w") as f:
        f.write("keep me\n")
    result = t.compare([program("out_write")], socket_path=path, timeout=20)
    assert result.returncode == 0
    with open(path) as f:
        assert f.read() == "keep me\n", "the shim wrote into the file at ULOG_SOCKET"


def test_no_connect_storm_while_ulogd_is_down(t):
    """2 000 writes over 2 s with nobody listening: the shim retries with a
    backoff, not once per write."""
    strace = shutil.which("strace")
    if not strace:
        raise Skip("strace is not installed")
    trace = os.path.join(t.dir, "strace.out")
    argv = [strace, "-f", "-qq", "-e", "trace=connect", "-o", trace,
            program("paced_writer"), "2000", "1000"]
    result = t.run(argv, via="preload", socket_path=_absent(t), timeout=30)
    assert result.returncode == 0, result.stderr[-300:]
    with open(trace) as f:
        connects = sum(1 for line in f if "connect(" in line)
    assert connects < 100, f"{connects} connect() calls for 2000 writes in 2 s"


def test_stopped_ulogd_never_blocks_the_writer(t):
    """ulogd accepts nothing and reads nothing (SIGSTOP): the socket fills,
    and the writer must still finish, with its output intact."""
    ulogd = t.start_ulogd()
    ulogd.signal(signal.SIGSTOP)
    try:
        result = t.compare([program("paced_writer"), "50000", "0", "100"], timeout=30)
        assert result.returncode == 0
        assert result.stdout.count(b"\n") == 50000
    finally:
        ulogd.signal(signal.SIGCONT)
    records = ulogd.settle(0.5)
    numbers = [int(SEQ.match(r["message"]).group(1)) for r in captured(records, pid=result.pid)]
    assert len(numbers) == len(set(numbers)), "a line arrived twice"
    assert numbers == sorted(numbers), "lines out of order"


def test_what_the_exit_gives_up_on_is_counted(t):
    """ulogd reads nothing (SIGSTOP) while a writer floods and exits: the
    exit waits a moment, gives up on what the shim still holds, and counts
    it. ulogd resumes while that count waits for room (it may wait a
    second), so every line is either in all.log or in the drop count."""
    total = 50000
    ulogd = t.start_ulogd()
    ulogd.signal(signal.SIGSTOP)
    try:
        writer = t.spawn([program("paced_writer"), str(total), "0", "100"])
        wait_until(lambda: _lines_in(writer.stdout_path) == total, 60,
                   "the writer to write every line")
        time.sleep(0.3)  # its exit has given up on ulogd by now, and waits to report
    finally:
        ulogd.signal(signal.SIGCONT)
    assert writer.wait(30) == 0

    def accounted(records):
        numbers = [int(SEQ.match(r["message"]).group(1)) for r in captured(records, pid=writer.pid)]
        return numbers, dropped_count(records, writer.pid)
    def complete(records):
        numbers, dropped = accounted(records)
        return len(numbers) + dropped >= total
    ulogd.wait_for(complete, timeout=20, what="every line or its drop count")
    numbers, dropped = accounted(ulogd.settle())
    assert len(numbers) == len(set(numbers)), "a line arrived twice"
    assert len(numbers) + dropped == total, \
        f"{len(numbers)} lines + {dropped} counted as dropped != {total}"


def _lines_in(path):
    with open(path, "rb") as f:
        return f.read().count(b"\n")


def _late_ulogd(t, total, rate, env):
    writer = t.spawn([program("paced_writer"), str(total), str(rate)], env=env)
    time.sleep(0.5)
    assert writer.alive(), "the writer ended before ulogd started: nothing was tested"
    ulogd = t.start_ulogd()
    assert writer.wait(60) == 0

    def accounted(records):
        numbers = [int(m.group(1)) for r in captured(records, pid=writer.pid)
                   for m in [SEQ.match(r["message"])] if m]
        return numbers, dropped_count(records, writer.pid)

    def complete(records):
        numbers, dropped = accounted(records)
        return len(numbers) + dropped >= total
    try:
        ulogd.wait_for(complete, timeout=15, what="every line or its drop count")
    except AssertionError:
        pass  # the assertions below say what is missing
    numbers, dropped = accounted(ulogd.settle())
    assert len(numbers) == len(set(numbers)), "a line arrived twice"
    assert numbers == sorted(numbers), "lines out of order"
    assert len(numbers) + dropped == total, \
        f"{len(numbers)} lines + {dropped} counted as dropped != {total}"
    return numbers, dropped


def test_late_ulogd_gets_what_the_shim_kept(t):
    numbers, dropped = _late_ulogd(t, 3000, 1000, {})
    assert dropped == 0 and numbers == list(range(3000)), \
        f"{dropped} dropped; the default 8 MiB buffer holds 0.5 s of lines easily"


def test_late_ulogd_gets_the_drop_count(t):
    """A 1 KiB shim buffer cannot hold 0.5 s of lines: drops are counted."""
    numbers, dropped = _late_ulogd(t, 4000, 1000, {"ULOG_SHIM_BUFFER": "1024"})
    assert dropped > 0, "nothing was counted as dropped with a 1 KiB buffer"
