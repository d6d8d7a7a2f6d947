"""test_runtimes.py - programs that are not C: Python (print, logging;
buffered and PYTHONUNBUFFERED=1), Node (console.log/error, also on a
terminal, which libuv reopens on a new fd) and a bash script whose cat
children are processes of their own.

Same check as test_capture: identical bytes and exit status with and
without the shim, and every line in all.log. The interpreters' service name
is whatever the shim derives for them, so only its presence is checked.
"""

from collections import Counter

from expect import STREAMS, assert_tags, check_capture, line_counts, wait_for_lines
from harness import PYTHON, require_command, script
from records import captured, fold_hex


def _python_test(unbuffered, stdout):
    def test(t):
        ulogd = t.start_ulogd()
        env = {"PYTHONUNBUFFERED": "1"} if unbuffered else {}
        result, records = check_capture(t, ulogd, [PYTHON, script("py_output.py"), "6"],
                                        expect_service="", env=env, stdout=stdout)
        assert result.returncode == 6, result.stderr
        assert any(r["message"] == "ERROR app.db: logging error" for r in records)
    test.__name__ = f"test_python_{'unbuffered' if unbuffered else 'buffered'}_{stdout}"
    return test


for _unbuffered in (False, True):
    for _stdout in ("pipe", "file"):
        _test = _python_test(_unbuffered, _stdout)
        globals()[_test.__name__] = _test


def _node_test(stdout):
    def test(t):
        node = require_command("node")
        ulogd = t.start_ulogd()
        result, records = check_capture(t, ulogd, [node, script("node_console.js")],
                                        expect_service="", stdout=stdout)
        assert result.returncode == 3, result.stderr
        assert any(r["message"] == "last console.log line" for r in records)
    test.__name__ = f"test_node_{stdout}"
    return test


for _stdout in ("pipe", "file", "tty"):
    _test = _node_test(_stdout)
    globals()[_test.__name__] = _test


CAT_LINES = ["cat line 1", "cat line 2", "cat line 3"]


def _bash_test(stdout):
    """What reaches the stdout and stderr of the process tree is captured,
    by whichever process writes it: bash's echo and printf, the cat that
    writes the script's stdout and the last cat of the pipeline. The first
    cat of the pipeline writes into a pipe, the third into copy.txt, and
    bash's first printf into the source file: data, not log (the shim hands
    the tree's stdout/stderr identities down to children in ULOG_STREAMS)."""
    def test(t):
        bash = require_command("bash")
        ulogd = t.start_ulogd()
        before = len(ulogd.records())
        result = t.compare([bash, script("sh_tools.sh")], stdout=stdout)
        assert result.returncode == 5, result.stderr
        want = {"stdout": ["echo line one", "printf word 42", *CAT_LINES * 2, "echo done"],
                "stderr": ["echo to stderr"]}
        records = wait_for_lines(ulogd, line_counts(want), lambda rs: captured(rs[before:]),
                                 "the lines of the script and its children")
        _assert_same_lines_per_process(records, want)
        bash_lines = [(r["stream"], r["message"]) for r in records if r["pid"] == result.pid]
        assert sorted(bash_lines) == [("stderr", "echo to stderr"), ("stdout", "echo done"),
                                      ("stdout", "echo line one"), ("stdout", "printf word 42")], \
            f"lines of bash itself: {bash_lines}"
        cats = {}
        for r in records:
            if r["pid"] != result.pid:
                cats.setdefault(r["pid"], []).append(r["message"])
        assert sorted(cats.values()) == [CAT_LINES] * 2, f"lines of the cat processes: {cats}"
        for pid in {r["pid"] for r in records}:
            assert_tags([r for r in records if r["pid"] == pid], pid,
                        "bash" if pid == result.pid else "cat")
    test.__name__ = f"test_bash_echo_cat_printf_{stdout}"
    return test


def _assert_same_lines_per_process(records, want):
    """Several processes write one stream: all.log must hold each line as
    often as it was written, and each process's lines in the order that
    process wrote them."""
    for stream in STREAMS:
        got = [fold_hex(r["message"]) for r in records if r["stream"] == stream]
        if Counter(got) != Counter(want[stream]):
            missing = Counter(want[stream]) - Counter(got)
            extra = Counter(got) - Counter(want[stream])
            raise AssertionError(f"{stream}: missing {dict(missing)}, unexpected {dict(extra)}")
        for pid in {r["pid"] for r in records}:
            theirs = [fold_hex(r["message"]) for r in records
                      if r["pid"] == pid and r["stream"] == stream]
            it = iter(want[stream])
            assert all(m in it for m in theirs), \
                f"pid {pid} {stream} lines out of order: {theirs}"


for _stdout in ("pipe", "file"):
    _test = _bash_test(_stdout)
    globals()[_test.__name__] = _test


def test_command_substitution_is_not_captured(t):
    """What a shell reads back with $(...) is data; only what reaches the
    tree's own stdout is log."""
    bash = require_command("bash")
    ulogd = t.start_ulogd()
    result, records = check_capture(t, ulogd, [bash, "-c", 'x=$(echo hidden); echo "got $x"'],
                                    expect_service="bash")
    assert [r["message"] for r in records] == ["got hidden"], records
    later = captured(ulogd.settle())
    assert not any(r["message"] == "hidden" for r in later), "the $(...) output was captured"
