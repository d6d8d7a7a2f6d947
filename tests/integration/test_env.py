"""test_env.py - what the shim's environment changes: ULOG_SERVICE and
`ulog run --service`, ULOG_CONTEXT, ULOG_DISABLE=1.
"""

import json
import os
import re
import shutil
import time

from expect import check_capture
from harness import Skip, program

CONTEXT = {"env": "test", "team": "core", "replicas": 3, "labels": {"tier": "web"}}


def test_service_from_ulog_run_flag(t):
    ulogd = t.start_ulogd()
    check_capture(t, ulogd, [program("out_puts")], service="billing")


def test_service_from_environment(t):
    ulogd = t.start_ulogd()
    check_capture(t, ulogd, [program("out_puts")], env={"ULOG_SERVICE": "billing-env"},
                  expect_service="billing-env")


def test_service_flag_wins_over_environment(t):
    ulogd = t.start_ulogd()
    check_capture(t, ulogd, [program("out_puts")], service="from-flag",
                  env={"ULOG_SERVICE": "from-env"})


def test_service_with_plain_ld_preload(t):
    """The shim on its own, without `ulog run` in between."""
    ulogd = t.start_ulogd()
    check_capture(t, ulogd, [program("out_write")], via="preload",
                  env={"ULOG_SERVICE": "preloaded"}, expect_service="preloaded")


def test_context_lands_in_context(t):
    ulogd = t.start_ulogd()
    _, records = check_capture(t, ulogd, [program("out_fprintf_stderr")],
                               env={"ULOG_CONTEXT": json.dumps(CONTEXT)})
    for r in records:
        assert r.get("context") == CONTEXT, f"context {r.get('context')!r}, expected {CONTEXT!r}"


def test_invalid_context_changes_nothing_for_the_program(t):
    """A malformed ULOG_CONTEXT must not break the host or lose its lines."""
    ulogd = t.start_ulogd()
    _, records = check_capture(t, ulogd, [program("out_puts")],
                               env={"ULOG_CONTEXT": "{not json"})
    assert all(isinstance(r.get("context", {}), dict) for r in records)


def test_no_context_no_key(t):
    ulogd = t.start_ulogd()
    _, records = check_capture(t, ulogd, [program("out_write")])
    assert all("context" not in r for r in records), records[0]


def test_disable_sends_nothing(t):
    ulogd = t.start_ulogd()
    before = len(ulogd.records())
    env = {"ULOG_DISABLE": "1"}
    result = t.compare([program("out_printf")], env=env)
    result2 = t.compare([program("out_write")], env=env, via="preload")
    time.sleep(0.5)  # longer than the partial-line timeout and a flush period
    pids = {result.pid, result2.pid}
    leaked = [r for r in ulogd.settle()[before:] if r.get("pid") in pids]
    assert not leaked, f"ULOG_DISABLE=1 still sent {len(leaked)} records: {leaked[:2]}"


def test_disable_does_not_even_connect(t):
    """Pure pass-through: no socket, no connect, whatever ulogd does."""
    strace = shutil.which("strace")
    if not strace:
        raise Skip("strace is not installed")
    t.start_ulogd()
    trace = os.path.join(t.dir, "strace.out")
    argv = [strace, "-f", "-qq", "-e", "trace=socket,connect", "-o", trace,
            program("out_printf")]
    result = t.run(argv, shim=True, via="preload", env={"ULOG_DISABLE": "1"})
    assert result.returncode == 0, result.stderr[-300:]
    with open(trace) as f:
        calls = [line for line in f if re.search(r"\b(socket|connect)\(", line)]
    assert not calls, f"with ULOG_DISABLE=1 the shim still made: {calls[:3]}"
