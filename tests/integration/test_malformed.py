"""test_malformed.py - ulogd facing a peer that does not follow the protocol.

For each malformed form: a well-behaved client is connected and has sent a
line; a second connection sends the bad message. ulogd must close that one
connection, write a connection_error record, and carry on: the good client's
next line still lands, on the same connection, and ulogd still exits 0.
Then the messages a shim does send that are not lines: DROPPED, and the
container given in HELLO.
"""

import array
import os
import socket
import struct

import wireclient as wire
from harness import Skip
from records import captured


def _truncated_hello():
    """A HELLO cut inside its last string, its header made to agree."""
    full = wire.hello()
    cut = len(full) - 5
    return wire.header(wire.HELLO, cut - 8) + full[8:cut]


def _hello_with_long_string():
    body = wire.hello()[8:]
    fixed, rest = body[:32], body[32:]
    program_len = struct.unpack("=H", rest[:2])[0]
    long_program = struct.pack("=H", 4097) + b"p" * 4097
    payload = fixed + long_program + rest[2 + program_len:]
    return wire.header(wire.HELLO, len(payload)) + payload


def _long_dropped():
    payload = struct.pack("=QQQ", 1, 2, 3)
    return wire.header(wire.DROPPED, len(payload)) + payload


def _oversized():
    size = wire.MAX_MESSAGE + 100
    return wire.header(wire.DATA, size - 8) + bytes(size - 8)


# kind -> the messages the bad connection sends, in order
MALFORMED = {
    "short": lambda: [b"UL\x01"],
    "oversized": lambda: [wire.hello(), _oversized()],
    "bad_magic": lambda: [wire.header(wire.HELLO, 0, magic=b"XY")],
    "wrong_version": lambda: [wire.hello()[:2] + bytes([wire.VERSION + 1]) + wire.hello()[3:]],
    "wrong_type": lambda: [wire.hello(), wire.header(9, 4) + bytes(4)],
    "length_mismatch": lambda: [wire.hello(), wire.header(wire.DATA, 100) + bytes(20)],
    "truncated_hello": lambda: [_truncated_hello()],
    "hello_string_too_long": lambda: [_hello_with_long_string()],
    "data_before_hello": lambda: [wire.data("sent before hello\n")],
    "bad_stream": lambda: [wire.hello(), wire.data("bad stream\n", stream=7)],
    "dropped_too_long": lambda: [wire.hello(), _long_dropped()],
}


def _malformed_test(kind):
    def test(t):
        ulogd = t.start_ulogd()
        pid = os.getpid()
        with wire.Client(t.socket) as good, wire.Client(t.socket) as bad:
            good.send(wire.hello(service="good-client"))
            good.send(wire.data("good line before\n"))
            ulogd.wait_for(lambda rs: any(r["message"] == "good line before" for r in rs),
                           what="the good client's first line")
            for message in MALFORMED[kind]():
                try:
                    bad.send(message)
                except (BrokenPipeError, ConnectionResetError):
                    break  # already closed by ulogd: that is the point
            assert bad.closed_by_peer(), f"ulogd kept the connection open after {kind}"
            records = ulogd.wait_for(
                lambda rs: any(r.get("event_type") == "connection_error" for r in rs),
                what="a connection_error record")
            good.send(wire.data("good line after\n"))
            records = ulogd.wait_for(
                lambda rs: any(r["message"] == "good line after" for r in rs),
                what="the good client's line after the bad one")
        errors = [r for r in records if r.get("event_type") == "connection_error"]
        assert len(errors) == 1, errors
        e = errors[0]
        assert e.get("source") == "ulogd" and e.get("service") == "ulogd", e
        assert e.get("pid") == ulogd.pid, e
        assert e["level"] in ("WARNING", "ERROR"), e
        lines = [r for r in captured(records) if r["pid"] == pid]
        assert [r["message"] for r in lines] == ["good line before", "good line after"], lines
        assert all(r["service"] == "good-client" for r in lines), lines
        assert not any("before hello" in r["message"] or "bad stream" in r["message"]
                       for r in records), "a line from the refused connection was written"
    test.__name__ = f"test_malformed_{kind}_closes_only_that_connection"
    return test


for _kind in MALFORMED:
    _test = _malformed_test(_kind)
    globals()[_test.__name__] = _test


def test_dropped_message_becomes_a_warning_record(t):
    ulogd = t.start_ulogd()
    with wire.Client(t.socket) as c:
        c.send(wire.hello(service="dropper"))
        c.send(wire.dropped(5, 120))
        records = ulogd.wait_for(lambda rs: any(r.get("event_type") == "dropped" for r in rs),
                                 what="a dropped record")
    r = next(r for r in records if r.get("event_type") == "dropped")
    assert r["level"] == "WARNING", r
    assert r["source"] == "preload" and r["service"] == "dropper", r
    assert r["pid"] == os.getpid(), r
    assert r["message"] == "5 messages (120 bytes) could not be sent by the shim", r
    assert r.get("metadata") == {"dropped_messages": 5, "dropped_bytes": 120}, r


def test_container_from_hello_when_cgroup_has_none(t):
    """This test process is not in a container: /proc/<pid>/cgroup names
    none, so the container the shim guessed in HELLO is used."""
    with open("/proc/self/cgroup") as f:
        if any("docker" in line or "kubepods" in line or "containerd" in line for line in f):
            raise Skip("the test itself runs inside a container")
    ulogd = t.start_ulogd()
    with wire.Client(t.socket) as c:
        c.send(wire.hello(container="0123456789ab", service="boxed"))
        c.send(wire.data("in a box\n"))
        records = ulogd.wait_for(lambda rs: any(r["message"] == "in a box" for r in rs),
                                 what="the boxed line")
    r = next(r for r in records if r["message"] == "in a box")
    assert r.get("container") == "0123456789ab", r


def test_partial_line_flushed_at_disconnect(t):
    ulogd = t.start_ulogd()
    with wire.Client(t.socket) as c:
        c.send(wire.hello())
        c.send(wire.data("complete\nno newline at the end", stream=wire.STDERR))
    records = ulogd.wait_for(
        lambda rs: any(r["message"] == "no newline at the end" for r in rs),
        what="the unterminated line after the disconnect")
    mine = [r for r in captured(records) if r["pid"] == os.getpid()]
    assert [(r["stream"], r["message"]) for r in mine] == \
        [("stderr", "complete"), ("stderr", "no newline at the end")], mine


def test_lines_assembled_per_thread(t):
    """Chunks of two tids interleave; each tid's line is assembled apart."""
    ulogd = t.start_ulogd()
    pid = os.getpid()
    with wire.Client(t.socket) as c:
        c.send(wire.hello())
        c.send(wire.data("first thread ", tid=pid + 1))
        c.send(wire.data("second thread ", tid=pid + 2))
        c.send(wire.data("ends here\n", tid=pid + 1))
        c.send(wire.data("ends too\n", tid=pid + 2))
        records = ulogd.wait_for(lambda rs: len(captured(rs, pid=pid)) >= 2, what="two lines")
    got = sorted((r["tid"], r["message"]) for r in captured(records, pid=pid))
    assert got == [(pid + 1, "first thread ends here"), (pid + 2, "second thread ends too")], got


def test_continued_data_pieces_make_one_line(t):
    ulogd = t.start_ulogd()
    with wire.Client(t.socket) as c:
        c.send(wire.hello())
        c.send(wire.data("one write cut ", flags=wire.CONTINUED))
        c.send(wire.data("into two messages\n"))
        records = ulogd.wait_for(lambda rs: captured(rs, pid=os.getpid()), what="the line")
    assert [r["message"] for r in captured(records, pid=os.getpid())] == \
        ["one write cut into two messages"]


def test_empty_messages_carrying_fds_leak_nothing(t):
    """A message of 0 bytes with SCM_RIGHTS puts fds into ulogd before it is
    read; taking it for the end of the connection used to leave them open,
    so any local user could exhaust ulogd's fds. Each is a connection_error
    now, its fds are closed, and ulogd's fd count stays where it was."""
    ulogd = t.start_ulogd()
    fd_dir = f"/proc/{ulogd.pid}/fd"
    with wire.Client(t.socket) as warm:  # ulogd's steady set of fds
        warm.send(wire.hello(service="warm-up"))
        warm.send(wire.data("warm\n"))
        ulogd.wait_for(lambda rs: any(r["message"] == "warm" for r in rs), what="warm-up")
    before = len(os.listdir(fd_dir))
    passed = [os.open("/dev/null", os.O_RDONLY) for _ in range(8)]
    try:
        for _ in range(10):
            with wire.Client(t.socket) as bad:
                bad.sock.sendmsg([b""], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                          array.array("i", passed).tobytes())])
                assert bad.closed_by_peer(), "ulogd kept the connection open"
        for _ in range(3):
            with wire.Client(t.socket) as empty:
                empty.sock.sendmsg([b""])
                assert empty.closed_by_peer(), "ulogd kept the connection open"
    finally:
        for fd in passed:
            os.close(fd)
    records = ulogd.wait_for(
        lambda rs: sum(r.get("event_type") == "connection_error" for r in rs) >= 13,
        what="13 connection_error records")
    reasons = [r["message"] for r in records if r.get("event_type") == "connection_error"]
    assert sum("file descriptors" in m for m in reasons) == 10, reasons
    assert len(os.listdir(fd_dir)) <= before, os.listdir(fd_dir)
