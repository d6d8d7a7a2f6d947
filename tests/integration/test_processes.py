"""test_processes.py - many threads at once, and a process that forks.

The threads test is the assembly test under pressure: 8 threads write
10 000 lines each at the same time, and every line must arrive exactly
once, whole, tagged with the tid of the thread that wrote it. The fork test
checks that a child's lines carry the child's pid, which the shim can only
get right by reconnecting as the child.
"""

import re

from expect import (assert_lines, assert_tags, dropped_summary, expected_lines, line_counts,
                    wait_for_lines)
from harness import program
from records import captured, dropped_count

THREADS, LINES = 8, 10000
THREAD_LINE = re.compile(r"thread (\d) line (\d{5}) tid (\d+) end")


def _sorted_without_tids(data):
    """Threads interleave differently on every run, and their tids differ."""
    return sorted(re.sub(rb"tid \d+", b"tid N", data).split(b"\n"))


def _check_thread_output(data, parity):
    lines = data.decode().splitlines()
    assert len(lines) == THREADS // 2 * LINES, f"{len(lines)} lines of output"
    for line in lines:
        m = THREAD_LINE.fullmatch(line)
        assert m and int(m.group(1)) % 2 == parity, f"torn or misplaced line {line!r}"


def _threads_test(mode):
    def test(t):
        # Rotation would only make the reader's job harder here.
        ulogd = t.start_ulogd(env={"LOG_ROTATION_SIZE": str(1 << 30)})
        before = len(ulogd.records())
        argv = [program("threads"), mode, str(THREADS), str(LINES)]
        result = t.compare(argv, normalize=_sorted_without_tids, timeout=60)
        assert result.returncode == 0, result.stderr[-300:]
        _check_thread_output(result.stdout, 0)
        _check_thread_output(result.stderr, 1)

        select = lambda rs: captured(rs[before:], pid=result.pid)  # noqa: E731
        per_stream = THREADS // 2 * LINES
        ulogd_records = wait_for_lines(ulogd, {"stdout": per_stream, "stderr": per_stream},
                                       select, f"{THREADS * LINES} thread lines")
        seen, tids, last = set(), {}, {}
        for r in ulogd_records:
            m = THREAD_LINE.fullmatch(r["message"])
            assert m, f"torn line in all.log: {r['message'][:120]!r}"
            index, number, tid = int(m.group(1)), int(m.group(2)), int(m.group(3))
            assert r["tid"] == tid, f"line {r['message']!r} tagged tid {r['tid']}"
            assert r["stream"] == ("stderr" if index % 2 else "stdout"), r
            assert (index, number) not in seen, f"line {r['message']!r} arrived twice"
            assert number > last.get(index, -1), f"thread {index}'s lines out of order"
            seen.add((index, number))
            last[index] = number
            tids.setdefault(index, set()).add(tid)
        missing = THREADS * LINES - len(seen)
        assert not missing, f"{missing} of {THREADS * LINES} lines missing" + dropped_summary(
            [r for r in ulogd.records()[before:] if r.get("pid") == result.pid])
        assert all(len(v) == 1 for v in tids.values()) and len(tids) == THREADS, tids
        assert result.pid not in {tid for v in tids.values() for tid in v}
        assert_tags(ulogd_records, result.pid, "threads", single_thread=False)
    test.__name__ = f"test_threads_8x10000_{mode}"
    test.timeout = 150
    return test


test_threads_8x10000_write = _threads_test("write")
test_threads_8x10000_stdio = _threads_test("stdio")


def test_fork_child_lines_carry_child_pid(t):
    ulogd = t.start_ulogd()
    before = len(ulogd.records())
    result = t.compare([program("forker")],
                       normalize=lambda d: re.sub(rb"(parent|child) \d+", rb"\1 PID", d))
    assert result.returncode == 0, result.stderr
    want = expected_lines(result)
    records = wait_for_lines(ulogd, line_counts(want), lambda rs: captured(rs[before:]),
                             "the lines of parent and child")
    pids = {int(m.group(1)) for line in want["stdout"]
            for m in [re.match(r"child (\d+) ", line)] if m}
    assert len(pids) == 1, f"child pids in the output: {pids}"
    child = pids.pop()
    assert child != result.pid
    pids_seen = {r["pid"] for r in records}
    assert pids_seen == {result.pid, child}, \
        f"pids in all.log {pids_seen}, expected parent {result.pid} and child {child}"
    for pid, who in ((result.pid, "parent"), (child, "child")):
        mine = [r for r in records if r["pid"] == pid]
        theirs = {s: [l for l in want[s] if l.startswith(f"{who} {pid} ")] for s in want}
        assert_lines(mine, theirs, who)
        assert_tags(mine, pid, "forker")


def test_fast_writer_every_line_accounted_for(t):
    """50 000 lines as fast as one thread can write them: whatever the shim
    could not deliver, it must count; nothing may vanish silently."""
    total = 50000
    ulogd = t.start_ulogd(env={"LOG_ROTATION_SIZE": str(1 << 30)})
    result = t.run([program("paced_writer"), str(total), "0"], timeout=60)
    assert result.returncode == 0 and result.stdout.count(b"\n") == total

    def accounted(records):
        numbers = [int(r["message"][4:10]) for r in captured(records, pid=result.pid)]
        return numbers, dropped_count(records, result.pid)

    def complete(records):
        numbers, dropped = accounted(records)
        return len(numbers) + dropped >= total
    try:
        ulogd.wait_for(complete, timeout=15, what="every line or its drop count")
    except AssertionError:
        pass  # the assertions below say what is missing
    numbers, dropped = accounted(ulogd.settle())
    assert len(numbers) == len(set(numbers)), "a line arrived twice"
    assert len(numbers) + dropped == total, \
        f"{len(numbers)} lines arrived and {dropped} were counted as dropped: " \
        f"{total - len(numbers) - dropped} of {total} vanished without a count"
