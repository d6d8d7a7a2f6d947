"""expect.py - the check every capture test makes.

Run a program bare and under the shim (harness.TestContext.compare), then
demand that all.log holds exactly the lines the program wrote: every line of
its stdout as a stdout record and every line of its stderr as a stderr
record, in order, once, with the program's pid, source "preload", level
INFO, this host, and the expected service. What the program really wrote is
taken from the run itself, so one check serves every program.
"""

from harness import HOST
from records import captured, expected_message, fold_hex, logical_messages, split_lines

STREAMS = ("stdout", "stderr")


def expected_lines(result):
    return {"stdout": [fold_hex(expected_message(l)) for l in split_lines(result.stdout)],
            "stderr": [fold_hex(expected_message(l)) for l in split_lines(result.stderr)]}


def messages(records, stream):
    return [fold_hex(m) for m in logical_messages([r for r in records if r["stream"] == stream])]


def wait_for_lines(ulogd, counts, select, what):
    """Wait until `select(records)` holds at least counts[stream] lines on
    each stream, then until nothing more arrives; returns select(records).
    A timeout is not fatal here: the exact comparison that follows says
    precisely what is missing."""
    def enough(records):
        mine = select(records)
        return all(len(messages(mine, s)) >= counts.get(s, 0) for s in STREAMS)
    try:
        ulogd.wait_for(enough, what=what)
    except AssertionError as e:
        if "died" in str(e):
            raise
    return select(ulogd.settle())


def line_counts(want):
    return {stream: len(lines) for stream, lines in want.items()}


def assert_lines(records, want, who):
    for stream in STREAMS:
        got = messages(records, stream)
        if got == want[stream]:
            continue
        raise AssertionError(f"{who} {stream}: {len(want[stream])} lines written, {len(got)} "
                             f"in all.log; {_first_difference(want[stream], got)}")


def dropped_summary(records):
    """What the shim owned up to losing, for a failure message."""
    counts = [r.get("metadata", {}).get("dropped_messages", 0) for r in records
              if r.get("event_type") == "dropped"]
    if not counts:
        return ""
    return f"; the shim counted {sum(counts)} messages as dropped in {len(counts)} DROPPED records"


def _first_difference(want, got):
    for i, (w, g) in enumerate(zip(want, got)):
        if w != g:
            return f"line {i + 1}: expected {w[:100]!r}, got {g[:100]!r}"
    if len(got) > len(want):
        return f"extra line {len(want) + 1}: {got[len(want)][:100]!r}"
    if len(want) > len(got):
        return f"missing from line {len(got) + 1}: {want[len(got)][:100]!r}"
    return "same"


LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def assert_tags(records, pid, service=None, single_thread=True):
    for r in records:
        where = f"record {r.get('message', '')[:60]!r}"
        assert r["pid"] == pid, f"{where}: pid {r['pid']}, expected {pid}"
        if single_thread:
            assert r.get("tid") == pid, f"{where}: tid {r.get('tid')}, expected {pid}"
        assert r["source"] == "preload", f"{where}: source {r['source']!r}"
        # The level is the pipeline's reading of the line (test_pipeline_*); here, only valid.
        assert r["level"] in LEVELS, f"{where}: level {r['level']!r}"
        assert r.get("host") == HOST, f"{where}: host {r.get('host')!r}, expected {HOST!r}"
        assert r.get("stream") in STREAMS, f"{where}: stream {r.get('stream')!r}"
        if service is not None:
            assert r.get("service") == service, \
                f"{where}: service {r.get('service')!r}, expected {service!r}"
        else:
            assert r.get("service"), f"{where}: no service"


def check_capture(t, ulogd, argv, service=None, expect_service=None, single_thread=True,
                  **run):
    """The whole check for one single-process program. `service` is given
    to `ulog run --service`; `expect_service` is what records must carry
    (by default the program's file name; "" checks only that there is one).
    Returns (run, records)."""
    before = len(ulogd.records())
    result = t.compare(argv, service=service, **run)
    want = expected_lines(result)
    select = lambda records: captured(records[before:], pid=result.pid)  # noqa: E731
    records = wait_for_lines(ulogd, line_counts(want), select, f"the lines of pid {result.pid}")
    if expect_service is None:
        expect_service = service or argv[0].rsplit("/", 1)[-1]
    try:
        assert_lines(records, want, argv[0].rsplit("/", 1)[-1])
    except AssertionError as e:
        mine = [r for r in ulogd.records()[before:] if r.get("pid") == result.pid]
        raise AssertionError(f"{e}{dropped_summary(mine)}") from None
    assert_tags(records, result.pid, expect_service or None, single_thread)
    return result, records
