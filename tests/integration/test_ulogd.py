"""test_ulogd.py - the aggregator's own duties: rotation, SIGHUP, records
about itself, bytes that are not text, long lines, the partial-line
timeout, and a SIGTERM under load that must lose nothing the shim sent.
"""

import math
import os
import re
import signal
import stat
import time

from expect import check_capture
from harness import PYTHON, Skip, program, wait_until
from records import captured, dropped_count, read_log

SEQ = re.compile(r"seq (\d{6}) \.*")


def _seq_numbers(records, pid):
    numbers = []
    for r in captured(records, pid=pid):
        m = SEQ.fullmatch(r["message"])
        assert m, f"torn line {r['message'][:80]!r}"
        numbers.append(int(m.group(1)))
    return numbers


def test_ulogd_logs_its_start_and_stop(t):
    ulogd = t.start_ulogd()
    ulogd.stop()
    records = read_log(ulogd.log_path, require_complete=True)
    own = [r for r in records if r.get("source") == "ulogd"]
    events = [r.get("event_type") for r in own]
    assert "ulogd_start" in events and "ulogd_stop" in events, events
    for r in own:
        assert r.get("service") == "ulogd" and r.get("pid") == ulogd.pid, r


def test_all_log_mode_is_0640(t):
    ulogd = t.start_ulogd()
    ulogd.wait_for(lambda rs: rs, what="ulogd's first record")
    mode = stat.S_IMODE(os.stat(ulogd.log_path).st_mode)
    assert mode == 0o640, f"all.log has mode {mode:o}"


def test_files_take_the_log_directory_owner(t):
    """As root, in a directory of another user (a container's ./logs:/app/logs),
    all.log and its rotations belong to that user, still mode 0640, so the
    host user reads them and nobody else does."""
    if os.geteuid() != 0:
        raise Skip("needs root: only root can give a file away")
    os.chmod(t.dir, 0o711)  # the test's own directory: let that user pass through it
    log_dir = os.path.join(t.dir, "hostlogs")
    os.mkdir(log_dir)
    os.chown(log_dir, 1000, 1001)
    ulogd = t.start_ulogd(log_dir=log_dir, env={"LOG_ROTATION_SIZE": "4096",
                                                 "LOG_BACKUP_COUNT": "1"})
    result = t.run([program("paced_writer"), "200", "0", "60"])
    assert result.returncode == 0, result.stderr
    wait_until(lambda: os.path.exists(os.path.join(log_dir, "all.log.1")), 15, "a rotation")
    ulogd.stop()
    for name in ("all.log", "all.log.1"):
        st = os.stat(os.path.join(log_dir, name))
        assert (st.st_uid, st.st_gid) == (1000, 1001), f"{name} is {st.st_uid}:{st.st_gid}"
        assert stat.S_IMODE(st.st_mode) == 0o640, f"{name} has mode {stat.S_IMODE(st.st_mode):o}"
    # And read as that user, not only by looking at the numbers.
    reader = t.run(["setpriv", "--reuid=1000", "--regid=1001", "--clear-groups",
                    "head", "-c", "1", os.path.join(log_dir, "all.log")], shim=False)
    assert reader.returncode == 0 and reader.stdout == b"{", (reader.returncode, reader.stderr)


def _rotation_test(size_variable, size, keep):
    def test(t):
        ulogd = t.start_ulogd(env={size_variable: str(size), "LOG_BACKUP_COUNT": str(keep)})
        count = 800
        result = t.run([program("paced_writer"), str(count), "0", "60"])
        assert result.returncode == 0, result.stderr
        last = f"seq {count - 1:06d}"

        def last_line_written():
            for name in ("all.log", "all.log.1"):
                try:
                    with open(os.path.join(ulogd.log_dir, name), "rb") as f:
                        if last.encode() in f.read():
                            return True
                except FileNotFoundError:
                    pass
            return False
        wait_until(last_line_written, 15, f"{last!r} in all.log")
        ulogd.stop()  # also checks that every line of every file is valid

        names = sorted(n for n in os.listdir(ulogd.log_dir) if n.startswith("all.log"))
        expected = ["all.log"] + [f"all.log.{i}" for i in range(1, keep + 1)]
        assert names == sorted(expected), f"files {names}, expected {sorted(expected)}"
        numbers = []
        for name in [f"all.log.{i}" for i in range(keep, 0, -1)] + ["all.log"]:
            path = os.path.join(ulogd.log_dir, name)
            assert os.path.getsize(path) <= size, \
                f"{name} is {os.path.getsize(path)} bytes, more than {size}"
            numbers += _seq_numbers(read_log(path, require_complete=True), result.pid)
        assert numbers == list(range(numbers[0], count)), \
            f"rotated files do not hold the newest lines in order: {numbers[:5]}...{numbers[-5:]}"
    test.__name__ = f"test_rotation_{size_variable.lower()}"
    return test


test_rotation_log_rotation_size = _rotation_test("LOG_ROTATION_SIZE", 4096, 3)
test_rotation_log_max_bytes = _rotation_test("LOG_MAX_BYTES", 8192, 2)


def test_sighup_reopens_all_log(t):
    ulogd = t.start_ulogd()
    check_capture(t, ulogd, [program("out_puts")])
    moved = ulogd.log_path + ".moved"
    os.rename(ulogd.log_path, moved)
    ulogd.signal(signal.SIGHUP)
    wait_until(lambda: os.path.exists(ulogd.log_path), 10, "a new all.log after SIGHUP")
    check_capture(t, ulogd, [program("out_write")])
    old = read_log(moved)
    assert not any(r["message"].startswith("write line") for r in old), \
        "lines written after SIGHUP went to the old file"
    new = read_log(ulogd.log_path)
    assert any(r["message"] == "write line 099" for r in new)


def test_bytes_that_are_not_text(t):
    ulogd = t.start_ulogd()
    result, records = check_capture(t, ulogd, [program("escapes")])
    long_parts = [r for r in records if "part" in r.get("metadata", {})]
    max_line = 16384  # ULOG_MAX_LINE's default
    assert len(long_parts) == math.ceil(100 * 1024 / max_line), \
        f"the 100 KiB line came out in {len(long_parts)} records"
    for n, r in enumerate(long_parts, 1):
        meta = r.get("metadata", {})
        assert meta.get("part") == n, meta
        assert meta.get("partial", False) is (n < len(long_parts)), meta
        assert len(r["message"].encode()) <= max_line, len(r["message"])
    by_text = {r["message"]: r for r in records}
    assert "nul: a\0b\0\0c" in by_text, "NUL bytes did not survive"
    assert "crlf line" in by_text, "the \\r before the newline was kept"
    assert any("\\xff" in m.lower() for m in by_text), "invalid UTF-8 is not shown as \\xNN"


def test_max_line_is_configurable_and_keeps_characters_whole(t):
    ulogd = t.start_ulogd(env={"ULOG_MAX_LINE": "1001"})
    code = "import sys; sys.stdout.write('\\u00e9' * 2500 + '\\n' + 'a' * 2500 + '\\n')"
    _, records = check_capture(t, ulogd, [PYTHON, "-c", code], expect_service="")
    for r in records:
        assert len(r["message"].encode()) <= 1001, len(r["message"].encode())
        assert "\\x" not in r["message"], "a character was cut in two at a split"
    wide = [r for r in records if r["message"].startswith("\u00e9")]
    assert len(wide) == 5, f"5000 bytes of é at 1001 bytes a record: {len(wide)} records"


def test_partial_line_flushed_after_timeout(t):
    ulogd = t.start_ulogd()
    writer = t.spawn([program("partial_wait")])
    records = ulogd.wait_for(
        lambda rs: any(r["message"] == "partial line still open"
                       for r in captured(rs, pid=writer.pid)),
        what="the partial line, flushed while its writer still runs")
    assert writer.alive(), "the writer ended before its partial line was flushed"
    writer.proc.stdin.close()
    assert writer.wait() == 0
    records = ulogd.wait_for(
        lambda rs: any("closed later" in r["message"] for r in captured(rs, pid=writer.pid)),
        what="the rest of the line")
    assert [r["message"] for r in captured(records, pid=writer.pid)] == \
        ["partial line still open", " and closed later"]


def test_sigterm_under_load_loses_nothing(t):
    total, rate = 20000, 2000
    first = t.start_ulogd()
    writer = t.spawn([program("paced_writer"), str(total), str(rate)])
    first.wait_for(lambda rs: len(captured(rs, pid=writer.pid)) >= total // 2, timeout=20,
                   what="half of the writer's lines")
    stopped_at = time.monotonic()
    first.stop()  # SIGTERM; exit status 0 required
    second = t.start_ulogd()
    restart = time.monotonic() - stopped_at
    assert writer.alive(), "the writer finished before the restart: nothing was tested"
    assert writer.wait(60) == 0
    out, _ = writer.output()
    assert out.count(b"\n") == total, "the writer's own output is incomplete"

    def complete(records):
        return len(_seq_numbers(records, writer.pid)) + dropped_count(records, writer.pid) \
            >= total
    try:
        second.wait_for(complete, timeout=15, what="every line or its drop count")
    except AssertionError:
        pass
    records = second.settle()
    numbers = _seq_numbers(records, writer.pid)
    dropped = dropped_count(records, writer.pid)
    duplicates = len(numbers) - len(set(numbers))
    assert duplicates == 0, f"{duplicates} lines written twice"
    missing = sorted(set(range(total)) - set(numbers))
    assert len(numbers) + dropped == total, \
        f"{len(numbers)} lines + {dropped} counted as dropped != {total} " \
        f"(restart took {restart:.2f} s; first missing: {missing[:10]})"
    assert dropped == 0 and not missing, \
        f"{dropped} lines dropped with the default shim buffer; missing {missing[:10]}"
    assert numbers == sorted(numbers), "lines out of order"


test_sigterm_under_load_loses_nothing.timeout = 90
