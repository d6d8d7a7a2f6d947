"""test_pipeline_rules.py - what ulog.yaml does to records, end to end.

A real ulogd reads a real YAML file and real programs under the shim print
lines; all.log, errors.log and the route files must then hold exactly what
the configuration says: every rule action (drop, keep, set, redact, route,
rate_limit), the minimum levels per service and per component, the default
redaction of secrets (and the things it must leave alone), errors.log, a
bad file refused at its line and column by `ulog check` and by ulogd,
reloads by SIGHUP and by a change of the file (also under load, losing
nothing), and the three ULOG_ENV profiles.
"""

import json
import os
import re
import signal
import socket
import subprocess
import time

from harness import ULOG, ULOGD, clean_env, program, wait_until
from records import dropped_count, read_log

# The embedded store's files, beside the logs in the log directory (store.h).
STORE_FILES = {"ulog.db", "ulog.db-wal", "ulog.db-shm"}


# --- helpers -------------------------------------------------------------------

def write_file(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def config(t, text, name="cfg.yaml"):
    """The YAML in the test's directory (never ./ulog.yaml: ulogd would find that
    one by itself)."""
    path = os.path.join(t.dir, name)
    write_file(path, text)
    return path


def start(t, text, env=None, **kw):
    path = config(t, text)
    return t.start_ulogd(args=("--config", path), env=env, **kw), path


def emit(t, service, lines, stream="stdout", **kw):
    """One program under the shim that prints `lines` (one write) as `service`."""
    script = 'printf "%s\\n" "$@"' + (" >&2" if stream == "stderr" else "")
    result = t.run(["sh", "-c", script, "sh", *lines], service=service, **kw)
    assert result.returncode == 0, result.stderr
    return result


def mine(records, service):
    return [r for r in records if r.get("service") == service and r.get("source") == "preload"
            and r.get("event_type") != "dropped" and r.get("stream") != "event"]


def wait_message(ulogd, service, message, timeout=10):
    """Records once `message` of `service` is in all.log. Each program's lines
    are written in order, so its earlier lines have been decided by then."""
    return ulogd.wait_for(lambda rs: any(r["message"] == message for r in mine(rs, service)),
                          timeout, f"{message!r} from {service}")


def messages(records, service):
    return [r["message"] for r in mine(records, service)]


def own(records, event_type):
    return [r for r in records if r.get("source") == "ulogd" and r.get("event_type") == event_type]


def position(text, needle, nth=1):
    """1-based (line, column) of the nth occurrence of `needle` in `text`."""
    at = -1
    for _ in range(nth):
        at = text.index(needle, at + 1)
    return text.count("\n", 0, at) + 1, at - (text.rfind("\n", 0, at) + 1) + 1


def luhn_ok(digits):
    total = 0
    for i, d in enumerate(reversed([int(c) for c in digits if c.isdigit()])):
        d = d * 2 if i % 2 else d
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def run_ulogd_expecting_refusal(t, path, name):
    """ulogd started on a bad file must exit 2 at once with the fault on stderr."""
    sock = os.path.join(t.dir, f"r-{name}.sock")
    proc = subprocess.Popen([ULOGD, "--config", path, "--log-dir", os.path.join(t.dir, "refused"),
                             "--socket", sock], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=clean_env({"ULOG_ENV": "testing"}),
                            cwd=t.dir, start_new_session=True)
    t.track(proc)
    try:
        out, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError(f"{name}: ulogd accepted {path} and kept running") from None
    return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


# --- 1. rule actions -------------------------------------------------------------

RULES_ACTIONS = r"""
min_levels:
  services:
    quiet: ERROR
rules:
  - name: the audit trail is never dropped
    match: {message: '~^keep-me'}
    keep: true
  - match: {message: '~drop-me'}
    drop: true
  - match: {service: tagger}
    set: {component: billing, metadata.team: payments, level: WARNING}
  - match: {metadata.team: payments, message: '~^escalate'}
    set: {level: ERROR, event_type: escalated}
  - match: {message: '~session='}
    redact: '(?<=session=)[0-9a-f]{16}'
  - match: {message: '~^pin '}
    redact: {regex: 'pin \d{4}', replacement: 'pin ****'}
"""


def test_rule_drop_keep_set_redact(t):
    ulogd, _ = start(t, RULES_ACTIONS)
    emit(t, "rules-a", ["keep-me even with drop-me inside", "please drop-me now",
                        "an ordinary line", "session=0123456789abcdef user=ann",
                        "pin 4321 accepted", "end-a"])
    emit(t, "quiet", ["quiet info line", "keep-me quiet info", "ERROR: quiet failure",
                      "keep-me quiet end"])
    emit(t, "tagger", ["tag me", "escalate this", "tag end"])
    for service, last in (("rules-a", "end-a"), ("quiet", "keep-me quiet end"),
                          ("tagger", "tag end")):
        records = wait_message(ulogd, service, last)

    assert messages(records, "rules-a") == [
        "keep-me even with drop-me inside", "an ordinary line", "session=[REDACTED] user=ann",
        "pin **** accepted", "end-a"], \
        f"drop / keep-before-drop / redact went wrong: {messages(records, 'rules-a')}"
    assert not any("please drop-me" in r["message"] for r in records), "a dropped line was written"

    quiet = mine(records, "quiet")
    assert [(r["message"], r["level"]) for r in quiet] == [
        ("keep-me quiet info", "INFO"), ("ERROR: quiet failure", "ERROR"),
        ("keep-me quiet end", "INFO")], \
        f"keep must pass a record below its service's minimum level: {quiet}"

    tagged = {r["message"]: r for r in mine(records, "tagger")}
    assert set(tagged) == {"tag me", "escalate this", "tag end"}, list(tagged)
    for r in tagged.values():
        assert r.get("component") == "billing", r
        assert r.get("metadata", {}).get("team") == "payments", r
    assert tagged["tag me"]["level"] == "WARNING", tagged["tag me"]
    # A later rule matches on what an earlier one set.
    assert tagged["escalate this"]["level"] == "ERROR", tagged["escalate this"]
    assert tagged["escalate this"].get("event_type") == "escalated", tagged["escalate this"]
    assert "event_type" not in tagged["tag me"], tagged["tag me"]


ROUTES = r"""
rules:
  - match: {message: '~^audit:'}
    route: audit
  - match: {message: '~^per-service'}
    route: 'svc-{service}'
  - match: {message: '~^lane'}
    route: 'lane-{metadata.lane}'
  - match: {message: '~^audit: both'}
    route: second.txt
"""


def test_rule_route(t):
    ulogd, _ = start(t, ROUTES)
    emit(t, "alpha", ["audit: first", "per-service from alpha", "not routed", "audit: both ways",
                      '{"msg": "lane json", "lane": "fast"}', "lane plain", "alpha end"])
    emit(t, "beta", ["per-service from beta", "beta end"])
    emit(t, "../evil", ["per-service from evil", "evil end"])
    for service, last in (("alpha", "alpha end"), ("beta", "beta end"), ("../evil", "evil end")):
        wait_message(ulogd, service, last)
    ulogd.stop()
    records = read_log(ulogd.log_path, require_complete=True)
    evil = mine(records, "../evil")
    assert evil, "nothing from the service named ../evil"
    evil_file = "svc-" + re.sub(r"[^A-Za-z0-9_-]", "_", evil[0]["service"]) + ".log"

    def routed(name):
        return [r["message"] for r in read_log(os.path.join(ulogd.log_dir, name),
                                               require_complete=True)]
    expected = {
        "audit.log": ["audit: first", "audit: both ways"],
        "svc-alpha.log": ["per-service from alpha"],
        "svc-beta.log": ["per-service from beta"],
        evil_file: ["per-service from evil"],
        "lane-fast.log": ["lane json"],
        "lane-unknown.log": ["lane plain"],
        "second.txt": ["audit: both ways"],
    }
    files = set(os.listdir(ulogd.log_dir)) - {"all.log", "errors.log"} - STORE_FILES
    assert files == set(expected), f"route files {sorted(files)}, expected {sorted(expected)}"
    for name, want in expected.items():
        assert routed(name) == want, f"{name}: {routed(name)}, expected {want}"
    # Routed records stay in all.log too.
    assert "audit: first" in messages(records, "alpha")
    assert "per-service from beta" in messages(records, "beta")
    # A service name cannot lead a route out of the log directory.
    outside = [n for n in os.listdir(t.dir) if "evil" in n]
    assert not outside, f"files outside the log directory: {outside}"


# The limit is on the program's output: its process records (stream "event"),
# which may come from eBPF or from the connection's end, are left out of it.
RATE_LIMIT = r"""
rules:
  - match: {service: flood, stream: [stdout, stderr]}
    rate_limit: {per_second: 5, burst: 10}
"""


def test_rule_rate_limit_counts_every_line(t):
    total = 300
    ulogd, _ = start(t, RATE_LIMIT)
    emit(t, "flood", [f"flood {i:03d}" for i in range(total)])
    emit(t, "calm", [f"calm {i:03d}" for i in range(50)])
    wait_message(ulogd, "calm", "calm 049")
    ulogd.settle()
    ulogd.stop()  # the counts not yet reported are reported at shutdown
    records = read_log(ulogd.log_path, require_complete=True)
    written = messages(records, "flood")
    assert messages(records, "calm") == [f"calm {i:03d}" for i in range(50)], \
        "a service the limit does not match lost lines"
    assert written[:10] == [f"flood {i:03d}" for i in range(10)], \
        f"the burst of 10 did not pass first: {written[:12]}"
    assert written == sorted(written) and len(set(written)) == len(written), written
    reports = own(records, "rate_limited")
    for r in reports:
        assert r["level"] == "WARNING" and r.get("service") == "ulogd", r
    flood_reports = [r for r in reports if r.get("metadata", {}).get("limited_service") == "flood"]
    assert flood_reports, f"no rate_limited report for flood ({len(written)} of {total} written)"
    dropped = sum(r["metadata"].get("dropped", 0) for r in flood_reports)
    assert len(written) + dropped == total, \
        f"{len(written)} written + {dropped} reported dropped != {total} sent"
    assert dropped > 0, "the limit dropped nothing"
    assert all(r["metadata"].get("rule") == 1 for r in flood_reports), flood_reports


# --- 2. minimum levels per service and component ---------------------------------------

MIN_LEVELS = r"""
min_levels:
  services:
    svc-warn: WARNING
  components:
    app.db: ERROR
    app: DEBUG
"""


def _json(level, msg, logger=None):
    fields = [f'"level": "{level}"'] + ([f'"logger": "{logger}"'] if logger else []) + \
        [f'"msg": "{msg}"']
    return "{" + ", ".join(fields) + "}"


def test_min_levels_per_service_and_component(t):
    ulogd, _ = start(t, MIN_LEVELS)
    emit(t, "svc-warn", [
        _json("info", "db info", "app.db"),            # component app.db: ERROR
        _json("error", "db error", "app.db"),
        _json("warning", "pool warning", "app.db.pool"),  # its parent app.db: ERROR
        _json("debug", "web debug", "app.web"),         # app: DEBUG beats the service
        _json("info", "dbx info", "app.dbx"),           # not under app.db: app applies
        _json("info", "svc info"),                      # service: WARNING
        _json("warning", "svc warning"),
        _json("info", "other info", "other"),           # no entry: the service's
        _json("error", "svc end"),
    ])
    emit(t, "svc-free", [
        _json("debug", "free debug"),                   # no entry: the global DEBUG
        _json("info", "free db info", "app.db"),        # components apply to every service
        _json("info", "free end"),
    ])
    wait_message(ulogd, "svc-warn", "svc end")
    records = wait_message(ulogd, "svc-free", "free end")
    got = [(r["message"], r["level"], r.get("component")) for r in mine(records, "svc-warn")]
    assert got == [("db error", "ERROR", "app.db"), ("web debug", "DEBUG", "app.web"),
                   ("dbx info", "INFO", "app.dbx"), ("svc warning", "WARNING", None),
                   ("svc end", "ERROR", None)], got
    assert messages(records, "svc-free") == ["free debug", "free end"], \
        messages(records, "svc-free")


# --- 3. redaction ---------------------------------------------------------------------

PEM_BODY = [
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun",
    "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK",
    "LxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW/VDL5AaWTg0nLVkjRo",
    "9z+40RQzuVaE8AkAFmxZzow3x+VJYKdjykkJ0iT9wCS0DRTXu269V264Vf/3jvre",
]
PEM = ["-----BEGIN RSA PRIVATE KEY-----", *PEM_BODY, "-----END RSA PRIVATE KEY-----"]
JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
       "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U")
CARD = "4111 1111 1111 1111"
ORDER = "4111111111111112"  # 16 digits that fail the Luhn check
UUID = "123e4567-e89b-12d3-a456-426614174000"
PLAIN = "the quick brown fox passed 3 tests in 12.5 s at 2026-11-21 14:22:18"


def test_default_redaction(t):
    assert luhn_ok(CARD) and not luhn_ok(ORDER)
    ulogd = t.start_ulogd()
    emit(t, "secrets", [
        f"calling api with Bearer {JWT}",
        "Authorization: Basic dXNlcjpzM2NyM3RQYXNz",
        "connecting to postgres://app:s3cr3tPass@db.example.com:5432/app",
        "login password=hunter2 user=bob",
        "aws key AKIAIOSFODNN7EXAMPLE in use",
        f"paid with {CARD} today",
        f"order {ORDER} shipped",
        f"request {UUID} done",
        PLAIN,
        '{"msg": "login attempt", "password": "hunter2", "user": "bob"}',
        "redaction end",
    ])
    wait_message(ulogd, "secrets", "redaction end")
    ulogd.stop()
    with open(ulogd.log_path, "rb") as f:
        raw = f.read().decode("utf-8")
    leaked = [secret[:40] for secret in (JWT, "dXNlcjpzM2NyM3RQYXNz", "s3cr3tPass", "hunter2",
                                         "AKIAIOSFODNN7EXAMPLE", CARD) if secret in raw]
    records = read_log(ulogd.log_path, require_complete=True)
    got = messages(records, "secrets")
    assert not leaked, f"secrets reached all.log: {leaked}"
    assert got[:-1] == [
        "calling api with Bearer [REDACTED]",
        "Authorization: Basic [REDACTED]",
        "connecting to postgres://app:[REDACTED]@db.example.com:5432/app",
        "login password=[REDACTED] user=bob",
        "aws key [REDACTED] in use",
        "paid with [REDACTED] today",
        # Left alone: a 16-digit number that fails Luhn, a UUID, ordinary text.
        f"order {ORDER} shipped",
        f"request {UUID} done",
        PLAIN,
        "login attempt",
    ], got
    json_record = mine(records, "secrets")[-2]
    assert json_record.get("metadata") == {"password": "[REDACTED]", "user": "bob"}, json_record


def test_default_redaction_of_a_pem_block(t):
    """A program that prints a private key: its lines must not reach the file,
    whatever records they end up in."""
    ulogd = t.start_ulogd()
    emit(t, "pem", ["loading key:", *PEM, "pem end"])
    wait_message(ulogd, "pem", "pem end")
    ulogd.stop()
    with open(ulogd.log_path, "rb") as f:
        raw = f.read().decode("utf-8")
    leaked = [line for line in PEM_BODY if line in raw]
    records = read_log(ulogd.log_path, require_complete=True)
    assert not leaked, f"{len(leaked)} of {len(PEM_BODY)} lines of the private key reached " \
                       f"all.log; records: {messages(records, 'pem')}"
    header = [m for m in messages(records, "pem") if "-----BEGIN RSA PRIVATE KEY-----" in m]
    assert header and all("[REDACTED]" in m for m in header), \
        f"the key's header should stay to show what was there: {messages(records, 'pem')}"


REDACTION_CONFIG = r"""
redaction:
  disable: [card]
  patterns:
    - name: employee
      regex: 'EMP-\d{6}'
    - name: ssn
      regex: 'ssn=(?<secret>\d{3}-\d{2}-\d{4})'
      replacement: '***-**-****'
"""


def test_redaction_disable_and_user_patterns(t):
    ulogd, _ = start(t, REDACTION_CONFIG)
    emit(t, "secrets", [f"paid with {CARD} today", "login password=hunter2",
                        "badge EMP-123456 entered", "ssn=123-45-6789 on file",
                        "EMP-12345 is too short", "user end"])
    records = wait_message(ulogd, "secrets", "user end")
    assert messages(records, "secrets") == [
        f"paid with {CARD} today",            # card switched off
        "login password=[REDACTED]",          # the other built-ins stay on
        "badge [REDACTED] entered",
        "ssn=***-**-**** on file",            # only the secret group, with its replacement
        "EMP-12345 is too short",
        "user end"], messages(records, "secrets")


# --- 4. errors.log ----------------------------------------------------------------------

LEVEL_LINES = [_json("debug", "lvl debug"), _json("info", "lvl info"),
               _json("warning", "lvl warning"), _json("error", "lvl error"),
               _json("critical", "lvl critical"), "ERROR: plain text error",
               "Traceback (most recent call last):", "lvl end"]


def _raw_lines(path):
    with open(path, "rb") as f:
        return [line for line in f.read().split(b"\n") if line]


def test_errors_log_gets_exactly_error_and_above(t):
    ulogd = t.start_ulogd()
    emit(t, "levels", LEVEL_LINES)
    wait_message(ulogd, "levels", "lvl end")
    ulogd.stop()
    records = read_log(ulogd.log_path, require_complete=True)
    assert {"lvl error", "lvl critical", "ERROR: plain text error"} <= \
        set(messages(records, "levels")), messages(records, "levels")
    errors_path = os.path.join(ulogd.log_dir, "errors.log")
    read_log(errors_path, require_complete=True)
    want = [line for line in _raw_lines(ulogd.log_path)
            if read_log_line_level(line) in ("ERROR", "CRITICAL")]
    got = _raw_lines(errors_path)
    assert got == want, f"errors.log holds {len(got)} records, all.log {len(want)} ERROR+: " \
                        f"{[l[:100] for l in got]} vs {[l[:100] for l in want]}"
    assert any(b"lvl critical" in line for line in got)


def read_log_line_level(line):
    return json.loads(line)["level"]


def test_errors_file_off_and_renamed(t):
    off_dir, other_dir = os.path.join(t.dir, "off"), os.path.join(t.dir, "other")
    off_cfg = config(t, "errors_file: off\n", "off.yaml")
    other_cfg = config(t, "errors_file: problems.log\nerrors_level: WARNING\n", "other.yaml")
    off = t.start_ulogd(args=("--config", off_cfg), log_dir=off_dir,
                        socket_path=os.path.join(t.dir, "off.sock"))
    other = t.start_ulogd(args=("--config", other_cfg), log_dir=other_dir,
                          socket_path=os.path.join(t.dir, "other.sock"))
    for ulogd in (off, other):
        emit(t, "levels", LEVEL_LINES, socket_path=ulogd.socket)
        wait_message(ulogd, "levels", "lvl end")
        ulogd.stop()
    off_files = sorted(set(os.listdir(off_dir)) - STORE_FILES)
    other_files = sorted(set(os.listdir(other_dir)) - STORE_FILES)
    assert off_files == ["all.log"], f"errors_file: off wrote {off_files}"
    assert other_files == ["all.log", "problems.log"], other_files
    want = [line for line in _raw_lines(other.log_path)
            if read_log_line_level(line) in ("WARNING", "ERROR", "CRITICAL")]
    assert _raw_lines(os.path.join(other_dir, "problems.log")) == want
    assert any(b"lvl warning" in line for line in want)


# --- 5. bad files -----------------------------------------------------------------------

def _rule(action):
    return "rules:\n  - match: {service: api}\n    " + action + "\n"


# (name, YAML, where: (line, column) or a needle whose first character is the spot, reason)
BAD_FILES = [
    # libyaml reads an unclosed quote to the end of the file, and says so there.
    ("unclosed quote", 'log_dir: logs\nlevel: "INFO\n', (3, 1), "quoted scalar"),
    ("bad indentation", "redaction:\n  enabled: true\n disable: [card]\n", "disable",
     "expected key"),
    ("tab indentation", "level: INFO\n\tlog_dir: logs\n", "\t", "tab"),
    ("top-level list", "- level: INFO\n- console: off\n", (1, 1), "top level"),
    ("top-level scalar", "just some words\n", (1, 1), "top level"),
    ("unknown key", "level: INFO\nlog_levle: DEBUG\n", "log_levle", "log_levle"),
    ("unknown key in a section", "redaction:\n  disabled: [card]\n", "disabled", "disabled"),
    ("token in the file", "token: abcdefabcdefabcdef\n", "token", "ULOG_TOKEN"),
    ("list where a value goes", "level: [INFO, DEBUG]\n", "[", "single value"),
    ("mapping where a list goes", "rules:\n  match: {service: x}\n  drop: true\n", "match",
     "list"),
    ("bad level", "level: LOUD\n", "LOUD", "level"),
    ("bad errors_level", "errors_level: SEVERE\n", "SEVERE", "level"),
    ("bad level in min_levels", "min_levels:\n  services:\n    api: LOUDEST\n", "LOUDEST",
     "level"),
    ("bad console", "console: loud\n", "loud", "console"),
    ("errors_file outside the log dir", "errors_file: ../errors.log\n", "../", "errors_file"),
    ("bad regex in a match", "rules:\n  - match: {message: '~a(b'}\n    drop: true\n",
     "'~a(b'", "a(b"),
    ("bad level comparison in a match", "rules:\n  - match: {level: '>=LOUD'}\n    drop: true\n",
     "'>=LOUD'", "LOUD"),
    ("unknown field in a match", "rules:\n  - match: {severity: ERROR}\n    drop: true\n",
     "severity", "severity"),
    ("duplicate field in a match", "rules:\n  - match: {service: a, service: b}\n    drop: true\n",
     ("service", 2), "twice"),
    ("bad regex in redact", _rule("redact: 'x[0-9'"), "'x[0-9'", "x[0-9"),
    ("bad regex in redaction.patterns",
     "redaction:\n  patterns:\n    - name: ticket\n      regex: 'T-(\\d+'\n", "'T-(", "T-("),
    ("unknown redaction pattern", "redaction:\n  disable: [cards]\n", "cards", "cards"),
    ("bad regex in multiline",
     "multiline:\n  custom:\n    - name: blocks\n      rules:\n"
     "        - state: start_state\n          regex: '^BEGIN'\n          next: body\n"
     "        - state: body\n          regex: '^  (unclosed'\n          next: body\n",
     "state: body", "unclosed"),
    ("unknown multiline format", "multiline:\n  formats: [python, cobol]\n", "cobol", "cobol"),
    ("bad duration", "multiline:\n  timeout: 5\n", "5", "duration"),
    ("bad duration unit", "multiline:\n  timeout: 2 hours\n", "2 hours", "duration"),
    ("set a pid", _rule("set: {pid: '1'}"), "pid", "pid"),
    ("set an unknown field", _rule("set: {colour: red}"), "colour", "colour"),
    ("drop is not a bool", _rule("drop: maybe"), "maybe", "true or false"),
    ("rate_limit not a number", _rule("rate_limit: fast"), "fast", "rate_limit"),
    ("rule without an action", "rules:\n  - match: {service: api}\n", "match", "action"),
    ("drop and keep together",
     "rules:\n  - match: {service: api}\n    drop: true\n    keep: true\n", "match", "drop"),
    ("duplicate key", "level: INFO\nconsole: off\nlevel: DEBUG\n", ("level", 2), "twice"),
    ("duplicate key in a section", "redaction:\n  enabled: true\n  enabled: false\n",
     ("enabled", 2), "twice"),
    ("two documents", "level: INFO\n---\nlevel: DEBUG\n", (3, 1), "one YAML document"),
] + [
    (f"route {name!r}", _rule(f'route: "{name}"'), f'"{name}"', "route")
    for name in ("../x", "/var/log/x", ".hidden", "a/b", "x y", "all.log", "errors.log", "all",
                 "errors", "{service}/x", "{nope}", "{service", "")
]


def test_bad_files_are_refused_at_line_and_column(t):
    failures = []
    for i, (name, text, where, reason) in enumerate(BAD_FILES):
        path = config(t, text, f"bad-{i:02d}.yaml")
        if isinstance(where, str):
            line, col = position(text, where)
        elif isinstance(where[0], str):
            line, col = position(text, *where)
        else:
            line, col = where
        spot = f"{path}:{line}:{col}: "
        check = subprocess.run([ULOG, "check", path], capture_output=True, text=True,
                               env=clean_env(), timeout=10)
        if check.returncode != 1 or not check.stderr.startswith(spot) or \
                reason.lower() not in check.stderr.lower() or "OK" in check.stdout:
            failures.append(f"{name}: `ulog check` exit {check.returncode}, expected 1 and "
                            f"{spot}...{reason}...; stderr {check.stderr.strip()!r}")
        rc, _, err = run_ulogd_expecting_refusal(t, path, f"{i:02d}")
        if rc != 2 or f"ulogd: {spot}" not in err:
            failures.append(f"{name}: ulogd exit {rc}, expected 2 and {spot!r}; "
                            f"stderr {err.strip()[:300]!r}")
    assert not failures, f"{len(failures)} of {2 * len(BAD_FILES)} refusals wrong:\n" + \
        "\n".join(failures)


GOOD_FILE = r"""
# every section at once
level: DEBUG
console: off
errors_file: errors.log
errors_level: ERROR
timestamp: capture
watch: true
lift: true
default_levels: {stdout: INFO, stderr: WARNING}
min_levels:
  services: {api: INFO}
  components: {app.db: WARNING}
multiline:
  enabled: true
  formats: [python, java, mine]
  timeout: 500ms
  max_lines: 200
  max_bytes: 64K
  custom:
    - name: mine
      level: ERROR
      rules:
        - {state: start_state, regex: '^BEGIN', next: body}
        - {state: body, regex: '^  ', next: body}
redaction:
  enabled: true
  disable: [card]
  patterns:
    - {name: emp, regex: 'EMP-\d+', replacement: 'EMP-?'}
rules:
  - match: {level: '>=ERROR', service: [api, web]}
    route: 'errors-{service}'
  - match: {metadata.user: true}
    set: {metadata.has_user: 'yes'}
  - match: {component: '~^noisy'}
    rate_limit: 50
  - match: {message: '~heartbeat'}
    drop: true
"""


def test_good_files_are_accepted(t):
    for name, text in (("empty", ""), ("comments", "# nothing here yet\n\n"),
                       ("everything", GOOD_FILE)):
        path = config(t, text, f"good-{name}.yaml")
        check = subprocess.run([ULOG, "check", path], capture_output=True, text=True,
                               env=clean_env(), timeout=10)
        assert check.returncode == 0 and check.stdout.startswith(f"{path}: OK"), \
            f"{name}: exit {check.returncode}: {check.stdout!r} {check.stderr!r}"
        ulogd = t.start_ulogd(args=("--config", path), log_dir=os.path.join(t.dir, name),
                              socket_path=os.path.join(t.dir, f"{name}.sock"))
        start_record = ulogd.wait_for(lambda rs: own(rs, "ulogd_start"), what="ulogd_start")
        meta = own(start_record, "ulogd_start")[0].get("metadata", {})
        assert meta.get("config_file") == path, meta
        if name == "everything":
            assert meta.get("rules") == 4, meta
        ulogd.stop()


# --- 6. reload ---------------------------------------------------------------------------

class Events:
    """ulogd's config_reloaded / config_rejected records, counted by trigger.
    Reads each record once: all.log grows large in the test under load."""

    def __init__(self, ulogd):
        self.ulogd = ulogd
        self.seen = 0
        self.found = []

    def _scan(self, records):
        for r in records[self.seen:]:
            if r.get("source") == "ulogd" and \
                    r.get("event_type") in ("config_reloaded", "config_rejected"):
                self.found.append(r)
        self.seen = len(records)

    def _count(self, event_type, trigger):
        return len([r for r in self.found if r["event_type"] == event_type and
                    (trigger is None or r.get("metadata", {}).get("trigger") == trigger)])

    def count(self, event_type, trigger=None):
        self._scan(self.ulogd.records())
        return self._count(event_type, trigger)

    def wait(self, event_type, trigger, at_least, timeout=10):
        def enough(records):
            self._scan(records)
            return self._count(event_type, trigger) >= at_least
        self.ulogd.wait_for(enough, timeout, f"{at_least} {event_type} records ({trigger})")


def test_reload_on_sighup_applies_new_rules(t):
    # watch: false, so only the signal can be what reloads the file.
    ulogd, path = start(t, "watch: false\n")
    events = Events(ulogd)
    emit(t, "hup", ["before drop-me", "before end"])
    wait_message(ulogd, "hup", "before end")
    write_file(path, "watch: false\nrules:\n  - match: {message: '~drop-me'}\n    drop: true\n"
                     "  - match: {message: '~^after'}\n    route: after\n")
    time.sleep(0.5)  # long past the settle time: a watched file would have reloaded by now
    assert events.count("config_reloaded") == 0, "the file reloaded although watch is false"
    ulogd.signal(signal.SIGHUP)
    events.wait("config_reloaded", "SIGHUP", 1)
    reloaded = own(ulogd.records(), "config_reloaded")[0]
    assert reloaded["level"] == "INFO" and reloaded.get("metadata", {}).get("rules") == 2, reloaded
    emit(t, "hup", ["after drop-me", "after end"])
    records = wait_message(ulogd, "hup", "after end")
    assert messages(records, "hup") == ["before drop-me", "before end", "after end"], \
        messages(records, "hup")
    ulogd.stop()
    routed = read_log(os.path.join(ulogd.log_dir, "after.log"), require_complete=True)
    assert [r["message"] for r in routed] == ["after end"], routed


def test_reload_on_file_change_and_refusal_keeps_old_rules(t):
    ulogd, path = start(t, "rules:\n  - match: {message: '~^one'}\n    drop: true\n")
    events = Events(ulogd)
    emit(t, "watch", ["one dropped", "two kept", "mark 1"])
    wait_message(ulogd, "watch", "mark 1")

    # A plain rewrite of the file.
    write_file(path, "rules:\n  - match: {message: '~^two'}\n    drop: true\n")
    events.wait("config_reloaded", "file changed", 1)
    emit(t, "watch", ["one kept", "two dropped", "mark 2"])
    wait_message(ulogd, "watch", "mark 2")

    # An editor's save: a new file renamed over the old one.
    write_file(path + ".tmp", "rules:\n  - match: {message: '~^three'}\n    drop: true\n")
    os.replace(path + ".tmp", path)
    events.wait("config_reloaded", "file changed", 2)
    emit(t, "watch", ["two kept again", "three dropped", "mark 3"])
    wait_message(ulogd, "watch", "mark 3")

    # A bad file is refused, by the watcher and by SIGHUP; the old rules stay.
    bad = "rules:\n  - match: {message: '~^(four'}\n    drop: true\n"
    write_file(path, bad)
    events.wait("config_rejected", "file changed", 1)
    ulogd.signal(signal.SIGHUP)
    events.wait("config_rejected", "SIGHUP", 1)
    emit(t, "watch", ["three still dropped", "(four kept", "mark 4"])
    records = wait_message(ulogd, "watch", "mark 4")
    assert messages(records, "watch") == [
        "two kept", "mark 1", "one kept", "mark 2", "two kept again", "mark 3", "(four kept",
        "mark 4"], messages(records, "watch")
    line, col = position(bad, "'~^(four'")
    for r in own(records, "config_rejected"):
        assert r["level"] == "ERROR" and r.get("service") == "ulogd", r
        error = r.get("metadata", {}).get("error", "")
        assert f"{path}:{line}:{col}: " in error, f"config_rejected does not say where: {error!r}"
    assert events.count("config_reloaded") == 2, own(records, "config_reloaded")
    assert "not reloaded" in ulogd.stderr(), ulogd.stderr()


def _tag_config(tag):
    return (f"rules:\n  - match: {{message: '~^seq '}}\n    set: {{metadata.cfg: {tag}}}\n"
            f"  - match: {{service: nobody-{tag}}}\n    drop: true\n")


BAD_REGEX = "rules:\n  - match: {message: '~^seq ('}\n    set: {metadata.cfg: bad}\n"
BAD_SYNTAX = "rules:\n  - match: {message: '~^seq '\n    set: {metadata.cfg: bad}\n"


def test_reload_under_load_loses_nothing(t):
    total, rate = 20000, 2000
    ulogd, path = start(t, _tag_config("v0"))
    events = Events(ulogd)
    writer = t.spawn([program("paced_writer"), str(total), str(rate)], service="counter")
    seq = re.compile(r"seq (\d{6}) ")

    def numbered(records):
        return [r for r in records if r.get("service") == "counter" and seq.fullmatch(r["message"])]

    counted = {"seen": 0, "lines": 0}

    def count_lines(records):
        counted["lines"] += len(numbered(records[counted["seen"]:]))
        counted["seen"] = len(records)
        return counted["lines"]

    def lines_past(n):
        ulogd.wait_for(lambda rs: count_lines(rs) >= n, 20, f"{n} numbered lines")

    def replace(text):
        write_file(path + ".tmp", text)
        os.replace(path + ".tmp", path)

    expect = {"reloaded": {"file changed": 0, "SIGHUP": 0},
              "rejected": {"file changed": 0, "SIGHUP": 0}}

    def step(action, text, outcomes):
        if action in ("write", "write+hup"):
            write_file(path, text)
        elif action == "rename":
            replace(text)
        if action in ("hup", "write+hup"):
            ulogd.signal(signal.SIGHUP)
        for outcome, trigger in outcomes:
            expect[outcome][trigger] += 1
            events.wait(f"config_{outcome}", trigger, expect[outcome][trigger])
        lines_past(count_lines(ulogd.records()) + 300)

    lines_past(300)
    step("write", _tag_config("v1"), [("reloaded", "file changed")])
    step("write+hup", _tag_config("v2"), [("reloaded", "SIGHUP"), ("reloaded", "file changed")])
    step("write", BAD_REGEX, [("rejected", "file changed")])
    step("hup", None, [("rejected", "SIGHUP")])
    step("rename", _tag_config("v3"), [("reloaded", "file changed")])
    step("rename", BAD_SYNTAX, [("rejected", "file changed")])
    step("write+hup", _tag_config("v4"), [("reloaded", "SIGHUP"), ("reloaded", "file changed")])
    step("hup", None, [("reloaded", "SIGHUP")])
    step("write", _tag_config("v5"), [("reloaded", "file changed")])
    assert writer.alive(), "the writer finished before the last reload: nothing was tested"
    assert writer.wait(60) == 0

    def complete(records):
        return len(numbered(records)) + dropped_count(records, writer.pid) >= total
    try:
        ulogd.wait_for(complete, timeout=20, what="every numbered line")
    except AssertionError:
        pass
    records = ulogd.settle()
    lines = numbered(records)
    numbers = [int(seq.fullmatch(r["message"]).group(1)) for r in lines]
    dropped = dropped_count(records, writer.pid)
    duplicates = len(numbers) - len(set(numbers))
    missing = sorted(set(range(total)) - set(numbers))
    assert duplicates == 0, f"{duplicates} lines written twice across the reloads"
    assert not missing and dropped == 0, \
        f"{len(missing)} lines missing (first {missing[:10]}), {dropped} counted dropped by the shim"
    assert numbers == sorted(numbers), "lines out of order"
    tags = [r.get("metadata", {}).get("cfg") for r in lines]
    order = ["v0", "v1", "v2", "v3", "v4", "v5"]
    assert all(tag in order for tag in tags), \
        f"lines tagged by no good configuration: {sorted(set(map(str, tags)) - set(order))}"
    ranks = [order.index(tag) for tag in tags]
    assert ranks == sorted(ranks), "a line was tagged by an older configuration after a newer one"
    assert sorted(set(tags)) == order, f"configurations seen in the lines: {sorted(set(tags))}"


test_reload_under_load_loses_nothing.timeout = 90


# --- 7. profiles -------------------------------------------------------------------------

MIRROR = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} (\w+) +(.*)$")


def test_profile_development_mirrors_records_readably(t):
    ulogd = t.start_ulogd(env={"ULOG_ENV": "development"})
    emit(t, "devsvc", ["hello from the mirror", _json("debug", "a debug line"), "dev end"])
    records = wait_message(ulogd, "devsvc", "dev end")
    assert "a debug line" in messages(records, "devsvc"), "development writes DEBUG"
    start_meta = own(records, "ulogd_start")[0].get("metadata", {})
    assert start_meta.get("profile") == "development" and start_meta.get("console") == "text", \
        start_meta

    def mirrored():
        with open(ulogd.stderr_path, "rb") as f:  # the harness sends stdout there too
            text = f.read().decode("utf-8", "replace")
        shown = [(m.group(1), m.group(2)) for m in map(MIRROR.match, text.splitlines()) if m]
        return shown if any(s.endswith("dev end") for _, s in shown) else None
    shown = wait_until(mirrored, 10, "the console mirror of 'dev end'")
    mirror = {text.rsplit(": ", 1)[-1]: (level, text) for level, text in shown}
    for message, level in (("hello from the mirror", "INFO"), ("a debug line", "DEBUG")):
        assert message in mirror, f"{message!r} not mirrored: {shown[:10]}"
        assert mirror[message][0] == level, f"{message!r} mirrored as {mirror[message]}"
        assert "devsvc" in mirror[message][1], \
            f"the mirror does not name the service: {mirror[message]}"
    with open(ulogd.stderr_path, "rb") as f:
        assert b'"message":"hello from the mirror"' not in f.read(), \
            "the text mirror printed the JSON line"


def test_profile_production_info_and_no_mirror(t):
    ulogd = t.start_ulogd(env={"ULOG_ENV": "production"})
    emit(t, "prodsvc", [_json("debug", "prod debug"), _json("info", "prod info"),
                        "DEBUG plain debug text", "prod end"])
    records = wait_message(ulogd, "prodsvc", "prod end")
    ulogd.settle()
    records = ulogd.records()
    assert messages(records, "prodsvc") == ["prod info", "prod end"], messages(records, "prodsvc")
    start_meta = own(records, "ulogd_start")[0].get("metadata", {})
    assert start_meta.get("profile") == "production" and start_meta.get("level") == "INFO" and \
        start_meta.get("console") == "off", start_meta
    ulogd.stop()
    with open(ulogd.stderr_path, "rb") as f:
        assert b"prod info" not in f.read(), "production mirrored records on stdout"


def test_profile_testing_writes_to_logs_testing(t):
    sock = os.path.join(t.dir, "testing.sock")
    stderr_path = os.path.join(t.dir, "testing-ulogd.stderr")
    with open(stderr_path, "wb") as err:
        proc = subprocess.Popen([ULOGD, "--socket", sock], stdin=subprocess.DEVNULL, stdout=err,
                                stderr=err, env=clean_env({"ULOG_ENV": "testing"}), cwd=t.dir,
                                start_new_session=True)
    t.track(proc)
    try:
        def ready():
            if proc.poll() is not None:
                raise AssertionError(f"ulogd exited with {proc.returncode}")
            with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
                try:
                    s.connect(sock)
                    return True
                except OSError:
                    return False
        wait_until(ready, 10, "ulogd (testing profile) to listen")
        emit(t, "testsvc", [_json("debug", "testing debug"), "testing end"], socket_path=sock)
        log = os.path.join(t.dir, "logs", "testing", "all.log")

        def written():
            try:
                return "testing end" in [r["message"] for r in read_log(log)]
            except FileNotFoundError:
                return False
        wait_until(written, 10, f"'testing end' in {log}")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        rc = proc.wait(15)
    assert rc == 0, f"ulogd exited with {rc}"
    records = read_log(log, require_complete=True)
    assert messages(records, "testsvc") == ["testing debug", "testing end"], \
        "the testing profile writes DEBUG"
    assert not os.path.exists(os.path.join(t.dir, "logs", "all.log")), \
        "the testing profile wrote to ./logs"
    assert own(records, "ulogd_start")[0]["metadata"].get("profile") == "testing"


def test_timestamp_line_takes_the_time_the_line_carries(t):
    """`timestamp: line` makes a structured line's own time the record's
    timestamp; a line without a readable time keeps the capture time, and
    the original value stays in metadata either way."""
    ulogd, _ = start(t, "timestamp: line\n")
    emit(t, "clock", ['{"msg": "rfc3339", "time": "2021-03-04T05:06:07.123456+01:00"}',
                      '{"msg": "epoch ms", "ts": 1600000000123}',
                      'time=2020-01-02T03:04:05Z level=info msg=logfmt',
                      '{"msg": "no zone", "time": "2021-03-04 05:06:07"}',
                      "clock end"])
    wait_message(ulogd, "clock", "clock end")
    ulogd.stop()
    got = {r["message"]: r for r in mine(read_log(ulogd.log_path, require_complete=True), "clock")}
    assert got["rfc3339"]["timestamp"] == "2021-03-04T04:06:07.123456Z", got["rfc3339"]
    assert got["rfc3339"]["metadata"]["time"] == "2021-03-04T05:06:07.123456+01:00"
    assert got["epoch ms"]["timestamp"] == "2020-09-13T12:26:40.123000Z", got["epoch ms"]
    assert got["logfmt"]["timestamp"] == "2020-01-02T03:04:05.000000Z", got["logfmt"]
    # A time without a zone is someone's local time: the capture time stays.
    assert got["no zone"]["timestamp"] >= "2026", got["no zone"]
    assert got["clock end"]["timestamp"] >= "2026"


def test_route_files_rotate_like_all_log(t):
    """Every route file is rotated at LOG_ROTATION_SIZE, keeping
    LOG_BACKUP_COUNT old files, and loses no record doing so."""
    ulogd, _ = start(t, "rules:\n  - match: {service: spool}\n    route: spool\n",
                     env={"LOG_ROTATION_SIZE": "4096", "LOG_BACKUP_COUNT": "50"})
    lines = [f"spool line {i:04d} " + "x" * 60 for i in range(400)]
    emit(t, "spool", lines)
    wait_message(ulogd, "spool", lines[-1], timeout=20)
    ulogd.stop()
    names = sorted(n for n in os.listdir(ulogd.log_dir) if n.startswith("spool.log"))
    assert len(names) > 3, f"spool.log did not rotate: {names}"
    for name in names:
        assert os.path.getsize(os.path.join(ulogd.log_dir, name)) <= 4096, name
        assert os.stat(os.path.join(ulogd.log_dir, name)).st_mode & 0o777 == 0o640, name
    # Oldest first: spool.log.N ... spool.log.1, spool.log.
    ordered = sorted((n for n in names if n != "spool.log"), key=lambda n: -int(n.rsplit(".", 1)[1]))
    ordered.append("spool.log")
    routed = [r["message"] for name in ordered
              for r in read_log(os.path.join(ulogd.log_dir, name), require_complete=True)
              if r.get("stream") != "event"]  # the program's process_exit is routed too
    assert routed == lines, f"{len(routed)} of {len(lines)} lines across {len(names)} files"


def test_a_route_file_that_cannot_be_opened_is_reported_once(t):
    """A route whose file cannot be opened (here a directory stands in its
    way) is reported once; its records stay in all.log, and so do the rest."""
    log_dir = os.path.join(t.dir, "logs-blocked")
    os.makedirs(os.path.join(log_dir, "blocked.log"))
    ulogd, _ = start(t, "rules:\n  - match: {service: blk}\n    route: blocked\n",
                     log_dir=log_dir)
    lines = [f"blocked {i}" for i in range(50)]
    emit(t, "blk", lines)
    wait_message(ulogd, "blk", lines[-1])
    ulogd.stop()
    records = read_log(ulogd.log_path, require_complete=True)
    assert messages(records, "blk") == lines
    errors = own(records, "route_error")
    assert len(errors) == 1, errors
    assert errors[0]["metadata"]["route"] == "blocked.log"
    assert "blocked.log" in errors[0]["message"]
