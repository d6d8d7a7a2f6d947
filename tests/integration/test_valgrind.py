"""test_valgrind.py - the shim and ulogd under valgrind's memcheck.

The shim runs inside programs that never asked for it, so an uninitialised
byte sent or a read past a buffer is a bug in someone else's process. Each
program here runs under memcheck with the shim preloaded and must give its
own exit status with no error reported; ulogd runs under memcheck while it
takes real lines, bytes that are not text and a malformed message, and must
exit 0 with no error and no definite leak.
"""

import json
import os
import signal

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
    # memcheck does not know the bpf() commands libbpf issues (it reports their
    # attributes as uninitialised): ulogd's own code is what is checked here,
    # eBPF included elsewhere under ASan.
    ulogd = t.start_ulogd(wrapper=[*_memcheck(), *leaks],
                          env={"LOG_ROTATION_SIZE": "65536", "LOG_BACKUP_COUNT": "20",
                               "ULOG_EBPF": "off"})
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


PIPELINE_CONFIG = r"""
console: text
min_levels:
  services: {quiet: ERROR}
  components: {app.db: WARNING}
multiline:
  custom:
    - name: report
      level: ERROR
      rules:
        - {state: start_state, regex: '^BEGIN REPORT', next: body}
        - {state: body, regex: '^  ', next: body}
        - {state: body, regex: '^END REPORT', next: end}
redaction:
  patterns:
    - {name: session, regex: 'session=(?<secret>\w+)'}
rules:
  - match: {message: '~^noise'}
    drop: true
  - match: {level: '>=ERROR'}
    set: {metadata.oncall: storage, component: alerts}
  - match: {service: vg}
    route: 'vg-{service}'
  - match: {service: vg, message: '~^flood'}
    rate_limit: {per_second: 2, burst: 2}
  - match: {message: '~card'}
    redact: {regex: '\d{4}$', replacement: '****'}
"""

PIPELINE_LINES = [
    '{"level": "warn", "msg": "json line", "logger": "app.api", "trace_id": "t1", "password": "pw1"}',
    'time=2026-11-21T10:00:00Z level=error msg="logfmt line" disk=/dev/sda',
    "ERROR:app.db:db down session=abcdef",
    "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig card 4111111111111111",
    "Traceback (most recent call last):",
    '  File "x.py", line 1, in <module>',
    "ValueError: bad",
    "BEGIN REPORT", "  item 1", "END REPORT",
    "noise to drop", *[f"flood {i}" for i in range(20)],
    "\xff\xfe not utf-8", "vg end",
]


def test_valgrind_ulogd_pipeline_and_reload(t):
    """The pipeline's every stage and a reload (a good file, then a bad one)
    under memcheck: ulogd must exit 0 with no error and no definite leak."""
    leaks = ["--leak-check=full", "--errors-for-leak-kinds=definite"]
    path = os.path.join(t.dir, "vg.yaml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(PIPELINE_CONFIG)
    # PCRE2's JIT reads a subject's tail with vector loads that memcheck takes for
    # uses of uninitialised memory; the interpreter gives the same answers.
    ulogd = t.start_ulogd(wrapper=[*_memcheck(), *leaks], args=("--config", path),
                          env={"ULOG_REGEX_JIT": "off", "ULOG_EBPF": "off"})
    script = 'printf "%s\\n" "$@"'
    t.run(["sh", "-c", script, "sh", *PIPELINE_LINES], service="vg")
    ulogd.wait_for(lambda rs: any(r["message"] == "vg end" for r in rs), timeout=60,
                   what="the last line")
    with open(path, "w", encoding="utf-8") as f:
        f.write(PIPELINE_CONFIG.replace("per_second: 2", "per_second: 3"))
    ulogd.signal(signal.SIGHUP)
    ulogd.wait_for(lambda rs: any(r.get("event_type") == "config_reloaded" for r in rs),
                   timeout=60, what="the reload")
    with open(path, "w", encoding="utf-8") as f:
        f.write("rules:\n  - match: {message: '~(bad'}\n    drop: true\n")
    ulogd.signal(signal.SIGHUP)
    ulogd.wait_for(lambda rs: any(r.get("event_type") == "config_rejected" for r in rs),
                   timeout=60, what="the refusal")
    t.run(["sh", "-c", script, "sh", *PIPELINE_LINES[:4], "after reload"], service="vg")
    ulogd.wait_for(lambda rs: any(r["message"] == "after reload" for r in rs), timeout=60,
                   what="a line after the reloads")
    ulogd.stop(timeout=90)
    assert MEMCHECK_ERROR != ulogd.returncode
    assert "==" not in ulogd.stderr(), ulogd.stderr()[-3000:]
    records = [r for r in ulogd.records() if r.get("service") == "vg"]
    assert any(r.get("metadata", {}).get("multiline") == "report" for r in records)
    assert not any("pw1" in json.dumps(r) or "abcdef" in r["message"] for r in records)


test_valgrind_ulogd_pipeline_and_reload.timeout = 240
