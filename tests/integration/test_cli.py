"""test_cli.py - the user's command end to end: what `ulog run` hands the
program, and what `ulog tail` prints from a real all.log (selection,
filters, JSON, neutralised escape sequences, colour rules, following
across rotation).
"""

import json
import os
import re
import signal
import subprocess

import wireclient as wire
from harness import LIBULOG, ULOG, clean_env, program, wait_until

# Bytes a terminal would act on: C0 controls other than \t and \n, DEL,
# and the UTF-8 encodings of the C1 controls (U+0080..U+009F).
TERMINAL_CONTROLS = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]")


def _tail(t, *args, env=None, stdout="pipe"):
    return t.run([ULOG, "tail", "--log-dir", t.log_dir, *args], shim=False, env=env,
                 stdout=stdout, timeout=15)


def test_run_hands_the_program_an_absolute_shim_and_the_socket(t):
    result = t.run(["/bin/sh", "-c", 'echo "$LD_PRELOAD"; echo "$ULOG_SOCKET"'],
                   socket_path=os.path.join(t.dir, "elsewhere.sock"))
    preload, sock = result.stdout.decode().splitlines()
    assert preload == LIBULOG, f"LD_PRELOAD={preload!r}, expected {LIBULOG!r}"
    assert sock == os.path.join(t.dir, "elsewhere.sock"), sock


def test_run_exit_status_is_the_programs(t):
    assert t.run(["/bin/sh", "-c", "exit 42"]).returncode == 42
    assert t.run(["/bin/sh", "-c", "kill -TERM $$"]).returncode == -signal.SIGTERM
    missing = t.run([os.path.join(t.dir, "no-such-program")])
    assert missing.returncode == 127 and b"no-such-program" in missing.stderr, missing


def _fill_log(t):
    ulogd = t.start_ulogd()
    t.run([program("out_puts")], service="alpha")
    t.run([program("escapes")], service="beta")
    with wire.Client(t.socket) as c:
        c.send(wire.hello(service="gamma"))
        c.send(wire.dropped(2, 30))  # a WARNING record
    ulogd.wait_for(lambda rs: any(r.get("event_type") == "dropped" for r in rs),
                   what="the dropped record")
    ulogd.stop()
    with open(ulogd.log_path, "rb") as f:
        return f.read().splitlines()


def test_tail_json_prints_the_last_records_as_they_are(t):
    lines = _fill_log(t)
    result = _tail(t, "-n", "5", "--json")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == lines[-5:]


def test_tail_filters_by_service_and_level(t):
    lines = _fill_log(t)
    alpha = _tail(t, "-n", "1000", "--json", "--service", "alpha").stdout.splitlines()
    assert alpha == [l for l in lines if json.loads(l).get("service") == "alpha"], alpha[:2]
    warnings = _tail(t, "-n", "1000", "--json", "--level", "WARNING").stdout.splitlines()
    assert warnings and all(re.search(rb'"level":"(WARNING|ERROR|CRITICAL)"', l)
                            for l in warnings), warnings
    assert any(b'"event_type":"dropped"' in l for l in warnings), warnings


def test_tail_neutralises_escape_sequences(t):
    _fill_log(t)
    result = _tail(t, "-n", "1000", "--color=never")
    assert result.returncode == 0, result.stderr
    bad = TERMINAL_CONTROLS.search(result.stdout)
    assert not bad, f"a control byte reached the terminal: {result.stdout[max(0, bad.start() - 40):bad.end() + 10]!r}"
    assert b"controls:" in result.stdout and b"\\x1b[31mred" in result.stdout.lower()


def test_tail_colours_a_terminal_unless_no_color(t):
    _fill_log(t)
    coloured = _tail(t, "-n", "3", "--level", "WARNING", stdout="tty").stdout
    assert b"\x1b[" in coloured, f"no colour on a terminal: {coloured[:200]!r}"
    plain = _tail(t, "-n", "3", "--level", "WARNING", env={"NO_COLOR": "1"}, stdout="tty").stdout
    assert b"\x1b" not in plain, f"colour despite NO_COLOR: {plain[:200]!r}"
    piped = _tail(t, "-n", "3", "--level", "WARNING").stdout
    assert b"\x1b" not in piped, "colour on a pipe"


def test_tail_follows_across_rotation(t):
    t.start_ulogd(env={"LOG_ROTATION_SIZE": "16384", "LOG_BACKUP_COUNT": "50"})
    out_path = os.path.join(t.dir, "tail.out")
    with open(out_path, "wb") as out:
        follower = subprocess.Popen([ULOG, "tail", "-f", "-n", "0", "--json", "--log-dir",
                                     t.log_dir], stdout=out, stderr=subprocess.PIPE,
                                    env=clean_env(), start_new_session=True)
    t.track(follower)
    wait_until(lambda: follower.poll() is None and os.path.exists(out_path), 5, "ulog tail -f")
    result = t.run([program("paced_writer"), "600", "300"])
    assert result.returncode == 0
    rotated = lambda: os.path.exists(os.path.join(t.log_dir, "all.log.2"))  # noqa: E731
    wait_until(rotated, 10, "all.log to rotate at least twice")

    def followed():
        with open(out_path, "rb") as f:
            return b"seq 000599" in f.read()
    wait_until(followed, 10, "ulog tail -f to print the last line")
    with open(out_path, "rb") as f:
        seen = re.findall(rb'"message":"seq (\d{6}) "', f.read())
    assert [int(n) for n in seen] == list(range(600)), \
        f"{len(seen)} of 600 lines followed, first {seen[:3]}, last {seen[-3:]}"
