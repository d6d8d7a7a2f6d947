"""test_pipeline_corpus.py - ulogd's pipeline on what real runtimes print.

Real programs (Python, Node, Go, Java, a C program built with AddressSanitizer)
run under the shim and write to a real ulogd; all.log must show, record by
record and in order on each stream, that the pipeline

- detects levels in text: logging's default format (`WARNING:root:msg`,
  `ERROR:app.db:msg`), glog (`E1121 ...`), and leaves a line that names no
  level at its stream's default (INFO);
- lifts structured lines: a JSON line in python-json-logger's shape and in
  pino's (numeric level, epoch milliseconds), and a logfmt line - level,
  message and logger name become the record's own fields, every other key
  goes into metadata;
- joins a stack trace into ONE record whose message is exactly the lines
  the runtime printed (with their "\\n"s), metadata.multiline naming the
  format: Python tracebacks (logging.exception's message line joins the
  traceback it printed in the same write; an uncaught exception; chained
  exceptions, which Python prints as one report), Node's console.error(err)
  and its uncaught-exception report, a Go panic, a Java exception with its
  cause, an AddressSanitizer report;
- and keeps lines that are not part of a trace as records of their own,
  with their own levels, even between two errors.

The expected records are built from the bytes the program really wrote
(its stdout and stderr as the test saw them), so paths, line numbers and
versions in the traces need no fixing here.

Go and the sanitizer runtime make their write system calls themselves,
never through libc's write(2), so the shim cannot see what they print.
They run behind the relay docs/LOGGING.md gives for such programs: bash
replaces itself with the program, whose stdout and stderr are pipes into two
`cat` processes (glibc programs, under the shim) that write to the tree's
stdout and stderr. One cat per stream, not `2>&1 | cat`: a relay loses the
write boundaries, and a stdout line that happened to be read in one chunk
with the start of the trace would count as the trace's lead line.
"""

import os
import shutil
import subprocess

from expect import wait_for_lines
from harness import HOST, PYTHON, SCRIPTS, Skip, require_command, script
from records import captured, expected_message, split_lines

# docs/LOGGING.md (Compatibility); the same as in test_runtimes_more.
RELAY = 'exec "$0" "$@" > >(exec cat) 2> >(exec cat >&2)'


# --- helpers ---------------------------------------------------------------------

def _lines(data):
    """A stream's bytes -> the messages its lines become."""
    return [expected_message(line) for line in split_lines(data)]


def _joined(lines, first, last):
    """`lines` with the run from the line starting with `first` to the next
    line starting with `last` joined into one message, as a trace record."""
    out = list(lines)
    try:
        i = next(k for k, line in enumerate(out) if line.startswith(first))
        j = next(k for k in range(i, len(out)) if out[k].startswith(last))
    except StopIteration:
        raise AssertionError(f"the program did not print {first!r} ... {last!r}: "
                             f"{out}") from None
    out[i:j + 1] = ["\n".join(out[i:j + 1])]
    return out


def _summary(record, want=None):
    """(message, level, metadata.multiline); when the entry it is compared
    with allows several levels (a tuple), a level among them is shown as
    that tuple."""
    level = record["level"]
    if want and isinstance(want[1], tuple) and level in want[1]:
        level = want[1]
    return (record["message"], level, record.get("metadata", {}).get("multiline"))


def _show(entry):
    message, level, multiline = entry
    text = message if len(message) <= 400 else message[:200] + " [...] " + message[-200:]
    return f"{level} multiline={multiline} {text!r}"


def _collect(t, ulogd, before, want):
    """The captured records of this run once every stream has as many as
    `want` expects and nothing more arrives (a trace's block ends when its
    writer's connection closes, so no timeout needs to pass)."""
    select = lambda records: captured(records[before:])  # noqa: E731
    counts = {stream: len(entries) for stream, entries in want.items()}
    return wait_for_lines(ulogd, counts, select, f"the records of {t.name}")


def _assert_records(records, want, who):
    """Each stream's records, in order: exactly the (message, level,
    metadata.multiline) entries of `want`."""
    for stream, entries in want.items():
        mine = [r for r in records if r.get("stream") == stream]
        got = [_summary(r, entries[k] if k < len(entries) else None)
               for k, r in enumerate(mine)]
        if got == entries:
            continue
        detail = [f"{who} {stream}: expected {len(entries)} records, got {len(got)}"]
        for k in range(max(len(got), len(entries))):
            w = entries[k] if k < len(entries) else None
            g = got[k] if k < len(got) else None
            if w != g:
                detail.append(f"first difference at record {k + 1}:")
                detail.append(f"  expected {_show(w) if w else 'nothing'}")
                detail.append(f"  got      {_show(g) if g else 'nothing'}")
                break
        detail.append("all records of the stream:")
        detail.extend(f"  {_show(g)}" for g in got)
        raise AssertionError("\n".join(detail))


def _one(records, message):
    found = [r for r in records if r["message"] == message]
    assert len(found) == 1, f"{len(found)} records with message {message!r}"
    return found[0]


def _assert_lifted(record, level, message, component=None, metadata=(), not_in_metadata=()):
    """A structured line lifted: its fields in the record's own keys, the
    rest in metadata with their JSON types, the lifted keys not repeated."""
    shown = f"record {record}"
    assert record["level"] == level, f"level {record['level']!r}, expected {level}: {shown}"
    assert record["message"] == message, f"message not lifted: {shown}"
    if component is not None:
        assert record.get("component") == component, \
            f"component {record.get('component')!r}, expected {component!r}: {shown}"
    meta = record.get("metadata", {})
    for key, value in dict(metadata).items():
        assert key in meta and meta[key] == value and type(meta[key]) is type(value), \
            f"metadata[{key!r}] is {meta.get(key, '(absent)')!r}, expected {value!r}: {shown}"
    for key in not_in_metadata:
        assert key not in meta, f"lifted key {key!r} still in metadata: {shown}"
    assert "multiline" not in meta, f"a structured line taken for a trace: {shown}"


def _build(t, argv, what, env=None):
    proc = subprocess.run(argv, capture_output=True, timeout=180, cwd=t.dir,
                          env={**os.environ, **(env or {})})
    if proc.returncode != 0:
        raise AssertionError(f"building {what} failed ({proc.returncode}): "
                             f"{proc.stderr.decode(errors='replace')[-1500:]}")


# --- Python -----------------------------------------------------------------------

def test_python_logging_levels_json_logfmt_and_logging_exception(t):
    """logging.basicConfig's format, logging.exception, a JSON formatter in
    python-json-logger's shape, logfmt and glog, all from one process: the
    ERROR line of logging.exception and its traceback (one write) are one
    record; every other line is a record of its own with its own level -
    the INFO line between the two errors too."""
    ulogd = t.start_ulogd()
    before = len(ulogd.records())
    result = t.run([PYTHON, script("py_pipeline.py"), "logging"])
    assert result.returncode == 0, result.stderr[-500:]
    err = _joined(_lines(result.stderr), "ERROR:root:payment failed", "ZeroDivisionError: ")
    want = {
        "stderr": [
            ("DEBUG:root:cache warmed", "DEBUG", None),
            ("WARNING:root:disk almost full", "WARNING", None),
            ("ERROR:app.db:connection lost", "ERROR", None),
            ("INFO:root:retrying in 2 s", "INFO", None),
            ("ERROR:app.db:connection lost again", "ERROR", None),
            (err[5], "ERROR", "python"),
            ("INFO:root:after the exception", "INFO", None),
            ("E1121 14:22:18.214521  4242 server.cc:12] backend unreachable", "ERROR", None),
        ],
        "stdout": [
            ("slow request", "WARNING", None),
            ("disk full", "ERROR", None),
            ("plain line on stdout", "INFO", None),
        ],
    }
    assert [m for m, _, _ in want["stderr"]] == err, f"unexpected output: {err}"
    records = _collect(t, ulogd, before, want)
    _assert_records(records, want, "py_pipeline.py logging")

    trace = _one(records, err[5])["message"]
    assert trace.startswith("ERROR:root:payment failed\nTraceback (most recent call last):\n")
    assert trace.endswith("\nZeroDivisionError: division by zero"), trace

    json_line = _lines(result.stdout)[0]
    assert json_line.startswith('{"asctime": '), json_line
    _assert_lifted(_one(records, "slow request"), "WARNING", "slow request", "app.api",
                   metadata={"path": "/orders", "duration_ms": 1234},
                   not_in_metadata=("levelname", "name", "message"))
    assert "asctime" in _one(records, "slow request")["metadata"], \
        "the line's own time (asctime) is not kept in metadata"
    _assert_lifted(_one(records, "disk full"), "ERROR", "disk full",
                   metadata={"disk": "/dev/sda", "time": "2026-11-21T14:22:18.214Z"},
                   not_in_metadata=("level", "msg"))


def test_python_uncaught_exception_is_one_record(t):
    """sys.excepthook prints the traceback line by line (stderr is line
    buffered): one record, ERROR, from "Traceback" to the ValueError line.
    The line printed before it stays a record of its own."""
    ulogd = t.start_ulogd()
    before = len(ulogd.records())
    result = t.run([PYTHON, script("py_pipeline.py"), "uncaught"])
    assert result.returncode == 1, result.stderr[-500:]
    err = _joined(_lines(result.stderr), "Traceback (most recent call last):", "ValueError: ")
    assert len(err) == 2, f"unexpected output: {err}"
    want = {"stderr": [("starting", "INFO", None), (err[1], "ERROR", "python")]}
    records = _collect(t, ulogd, before, want)
    _assert_records(records, want, "py_pipeline.py uncaught")
    trace = records[-1]["message"]
    assert trace.startswith("Traceback (most recent call last):\n  File "), trace
    assert trace.endswith("\nValueError: invalid literal for int() with base 10: 'eighty'"), trace
    assert records[-1]["pid"] == result.pid and records[-1]["source"] == "preload"


def test_python_chained_exceptions_are_one_record(t):
    """An exception raised `from` another, then a third raised while
    handling it: Python prints three tracebacks joined by "The above
    exception was the direct cause..." and "During handling of the above
    exception...", blank lines around them. It is one report of one crash,
    and ulogd keeps it as one record, ending with the exception that
    escaped."""
    ulogd = t.start_ulogd()
    before = len(ulogd.records())
    result = t.run([PYTHON, script("py_pipeline.py"), "chained"])
    assert result.returncode == 1, result.stderr[-500:]
    lines = _lines(result.stderr)
    assert lines[0] == "Traceback (most recent call last):" and lines[-1].startswith(
        "ValueError: "), f"unexpected output: {lines}"
    want = {"stderr": [("\n".join(lines), "ERROR", "python")]}
    records = _collect(t, ulogd, before, want)
    _assert_records(records, want, "py_pipeline.py chained")
    trace = records[0]["message"]
    for part in ("\nKeyError: 'port'\n",
                 "\n\nThe above exception was the direct cause of the following exception:\n\n",
                 "\nRuntimeError: cannot read the configuration\n",
                 "\n\nDuring handling of the above exception, another exception occurred:\n\n"):
        assert part in trace, f"{part!r} not in the record: {trace!r}"
    assert trace.count("Traceback (most recent call last):") == 3, trace


# --- Node ---------------------------------------------------------------------------

def test_node_errors_and_pino_line(t):
    """console.error(err): the Error line and its "    at" frames, one
    record. A pino line: level 50 -> ERROR, msg lifted, pid/hostname/time
    kept in metadata. A plain line after the first error stays its own
    record. The uncaught `throw new Error("boom")`: Node's whole report (the
    file:line header, the source line, the caret, the Error with its frames
    and the "Node.js vNN" trailer) is one record at ERROR."""
    node = require_command("node")
    ulogd = t.start_ulogd()
    before = len(ulogd.records())
    result = t.run([node, script("node_pipeline.js")])
    assert result.returncode == 1, result.stderr[-500:]
    err = _joined(_lines(result.stderr), "Error: cannot connect to db.internal",
                  "    at node:internal/main/run_main_module")
    err = _joined(err, script("node_pipeline.js") + ":", "Node.js v")
    assert len(err) == 3 and err[1] == "retrying without the cache", \
        f"unexpected output: {err}"
    want = {
        "stderr": [(err[0], "ERROR", "node"), (err[1], "INFO", None), (err[2], "ERROR", "node")],
        "stdout": [("payment service down", "ERROR", None)],
    }
    records = _collect(t, ulogd, before, want)
    _assert_records(records, want, "node_pipeline.js")

    logged = _one(records, err[0])["message"].split("\n")
    assert logged[0] == "Error: cannot connect to db.internal", logged
    assert all(line.startswith("    at ") for line in logged[1:]) and len(logged) > 3, logged
    uncaught = _one(records, err[2])["message"]
    assert "\nError: boom\n    at " in uncaught, uncaught
    assert uncaught.split("\n")[-1].startswith("Node.js v"), uncaught

    pino = _one(records, "payment service down")
    _assert_lifted(pino, "ERROR", "payment service down",
                   metadata={"hostname": HOST, "pid": result.pid},
                   not_in_metadata=("level", "msg"))
    assert isinstance(pino["metadata"].get("time"), int), \
        f"pino's time (epoch ms) not kept in metadata: {pino}"


# --- Go --------------------------------------------------------------------------

def test_go_panic_through_relay(t):
    """A Go panic: "panic: ...", a blank line, "goroutine 1 [running]:" and
    the frames, one record, CRITICAL. Go writes with its own system calls,
    so it runs behind RELAY (see the top): the records come from the cat
    processes; the stdout line printed before the panic stays its own."""
    go = shutil.which("go")
    if not go:
        raise Skip("go is not installed (make deps installs golang-go)")
    bash = require_command("bash")
    binary = os.path.join(t.dir, "go_panic")
    env = {"CGO_ENABLED": "0", "GOFLAGS": "-mod=mod", "GOCACHE": os.path.join(t.dir, "gocache"),
           "GOPATH": os.path.join(t.dir, "gopath"), "GOPROXY": "off"}
    _build(t, [go, "build", "-o", binary, os.path.join(SCRIPTS, "go_panic.go")],
           "go_panic.go", env)
    ulogd = t.start_ulogd()
    before = len(ulogd.records())
    result = t.run([bash, "-c", RELAY, binary])
    assert result.returncode == 2, result.stderr[-500:]
    err = _lines(result.stderr)
    assert err[0] == "panic: cannot charge order 42: card declined", f"unexpected output: {err}"
    want = {"stdout": [("charging orders", "INFO", None)],
            "stderr": [("\n".join(err), "CRITICAL", "go")]}
    records = _collect(t, ulogd, before, want)
    _assert_records(records, want, "go_panic")
    panic = [r for r in records if r["stream"] == "stderr"][0]
    assert "\n\ngoroutine 1 [running]:\nmain.charge(" in panic["message"], panic
    assert panic["pid"] != result.pid, "the Go program itself reached all.log"


test_go_panic_through_relay.timeout = 120


# --- Java ------------------------------------------------------------------------

def test_java_uncaught_exception_with_cause(t):
    """The JVM's default handler: `Exception in thread "main" ...`, its
    frames, "Caused by: ..." with the cause's frames and "... 1 more" - one
    record, ERROR. One JVM run under the shim (the JVM is slow to start)."""
    javac, java = shutil.which("javac"), shutil.which("java")
    if not (javac and java):
        raise Skip("javac and java are not installed")
    classes = os.path.join(t.dir, "classes")
    _build(t, [javac, "-d", classes, os.path.join(SCRIPTS, "JavaCrash.java")], "JavaCrash.java")
    ulogd = t.start_ulogd()
    before = len(ulogd.records())
    result = t.run([java, "-cp", classes, "JavaCrash"], timeout=60)
    assert result.returncode == 1, result.stderr[-500:]
    err = _joined(_lines(result.stderr), 'Exception in thread "main" ', "\t... ")
    assert len(err) == 2 and err[0] == "processing order 42", f"unexpected output: {err}"
    want = {"stderr": [("processing order 42", "INFO", None), (err[1], "ERROR", "java")]}
    records = _collect(t, ulogd, before, want)
    _assert_records(records, want, "JavaCrash")
    trace = records[-1]["message"]
    assert trace.startswith('Exception in thread "main" java.lang.IllegalStateException: '
                            'order 42 failed\n\tat JavaCrash.process('), trace
    assert "\nCaused by: java.io.IOException: connection reset by peer\n\tat " in trace, trace
    assert trace.endswith("\n\t... 1 more"), trace


test_java_uncaught_exception_with_cause.timeout = 120


# --- C with AddressSanitizer --------------------------------------------------------

# Built at test time: the Makefile builds tests/programs/*.c without the
# sanitizer, and -Wall -Werror would refuse the use after free.
ASAN_PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    char *name = malloc(16);
    strcpy(name, "order-42");
    printf("freeing %s\n", name);
    fflush(stdout);
    free(name);
    return name[3]; /* heap-use-after-free */
}
"""


def test_asan_report_through_relay(t):
    """An AddressSanitizer heap-use-after-free report - the "=====" ruler,
    "==PID==ERROR: AddressSanitizer", the stacks, SUMMARY, the shadow bytes
    and their legend, "==PID==ABORTING" - is one record at ERROR or CRITICAL.

    ASan wants its runtime first in the library list and refuses to start
    when LD_PRELOAD puts the shim before it, unless
    ASAN_OPTIONS=verify_asan_link_order=0. Its runtime writes the report
    with its own system calls, so the program runs behind RELAY."""
    cc = shutil.which("gcc") or require_command("cc")
    bash = require_command("bash")
    source = os.path.join(t.dir, "asan_uaf.c")
    binary = os.path.join(t.dir, "asan_uaf")
    with open(source, "w") as f:
        f.write(ASAN_PROGRAM)
    _build(t, [cc, "-g", "-O0", "-fsanitize=address", "-o", binary, source], "asan_uaf.c")
    ulogd = t.start_ulogd()
    before = len(ulogd.records())
    result = t.run([bash, "-c", RELAY, binary],
                   env={"ASAN_OPTIONS": "verify_asan_link_order=0:detect_leaks=0"})
    assert b"ERROR: AddressSanitizer: heap-use-after-free" in result.stderr, \
        f"ASan did not report under the shim ({result.returncode}): {result.stderr[-800:]!r}"
    err = _lines(result.stderr)
    assert err[0].startswith("=====") and err[-1].endswith("==ABORTING"), \
        f"unexpected output: {err}"
    want = {"stdout": [("freeing order-42", "INFO", None)],
            "stderr": [("\n".join(err), ("ERROR", "CRITICAL"), "sanitizer")]}
    records = _collect(t, ulogd, before, want)
    _assert_records(records, want, "asan_uaf")
    message = [r for r in records if r["stream"] == "stderr"][0]["message"]
    assert "\nSUMMARY: AddressSanitizer: heap-use-after-free " in message, message
    assert "\nShadow byte legend" in message, message
