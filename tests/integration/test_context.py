"""test_context.py - `ulog context` end to end, on the log of a real run.

A real ulogd (its store on, HTTP off) and real programs under the shim:
- "api", Python's logging: 3000 ordinary INFO lines (GET /orders/<n> 200 in
  <ms> ms), one WARNING repeated 500 times with varying addresses, ports and
  attempts, three distinct ERRORs (one carries a password, another an
  Authorization header: the built-in redaction covers both), a
  logging.exception traceback, and an uncaught exception at the end (exit 1);
- "worker", tests/programs/crash_after_lines.c: a few lines, then abort();
- "web", a shell script of ordinary lines.
Once all.log holds the last line of every program (and the store has them),
`ulog context` is run on the log directory: default budget, --budget 4k and
1500t, --json, --service api, and on a copy of the directory without the
store file (all.log is read instead). The digest must hold every distinct
error text (as ulogd wrote it, already redacted), the crash with its last
lines and its exit record when all.log has one, the noisy message as one
template counted 500, the per-service counts of all.log, no secret, and stay
within its budget. The scenario runs with eBPF as ulogd finds it (root: on)
and with ULOG_EBPF=off (the exit comes from /proc), and every check is
named, so a failure lists all the checks that failed, not only the first.
Bad arguments exit 2; a directory without logs exits 1 naming where it looked.
"""

import json
import math
import os
import re
import shutil
from collections import Counter

from harness import PYTHON, ULOG, program, wait_until

SECRETS = ("hunter2", "s3cr3tT0kenAbc123XYZ")
NOISY = "retrying connection to db"
NOISY_COUNT = 500
ORDINARY = 3000
WORKER_LINES = 6
SERVICES = ("api", "worker", "web")

API = r'''
import logging, random, sys
logging.basicConfig(level=logging.INFO, stream=sys.stdout,
                    format="%(levelname)s %(name)s: %(message)s")
log = logging.getLogger("api")
rng = random.Random(9)
for i in range(3000):
    log.info("GET /orders/%d 200 in %d ms", 1000 + rng.randrange(90000), 1 + rng.randrange(900))
    if i % 6 == 0:
        log.warning("retrying connection to db 10.0.0.%d:%d (attempt %d)",
                    1 + (i * 7) % 254, 5432 + i % 3, 1 + i % 5)
    if i == 700:
        log.error("payment declined for order 4711: card expired")
    if i == 1500:
        log.error("login failed for user admin: password=hunter2 rejected by auth backend")
    if i == 2300:
        log.error("inventory sync refused, sent Authorization: Bearer s3cr3tT0kenAbc123XYZ")
    if i == 2600:
        try:
            raise ValueError("order 4711 has no customer")
        except ValueError:
            log.exception("order sync failed")
log.info("api shutting down")
raise RuntimeError("api lost its database for good")
'''

WEB = r'''
for i in $(seq 1 40); do echo "web: served /static/app.$i.js in $((i * 3)) ms"; done
echo "web: all assets served"
'''


# --- the run -------------------------------------------------------------------

def _has(records, service, text):
    return any(r.get("service") == service and text in r.get("message", "") for r in records)


def _scenario(t, env):
    """Runs the programs; (ulogd, every record of all.log, the worker's exit record or None)."""
    ulogd = t.start_ulogd(env={"LOG_ROTATION_SIZE": str(1 << 30), **env})
    ulogd.wait_for(lambda rs: any(r.get("event_type") == "ulogd_start" for r in rs),
                   what="ulogd_start")
    api_path = os.path.join(t.dir, "api.py")
    web_path = os.path.join(t.dir, "web.sh")
    with open(api_path, "w") as f:
        f.write(API)
    with open(web_path, "w") as f:
        f.write(WEB)

    worker = t.spawn([program("crash_after_lines"), str(WORKER_LINES)], service="worker")
    ulogd.wait_for(lambda rs: _has(rs, "worker", "checksum mismatch"), 20, "the worker's lines")
    worker.proc.stdin.close()  # it aborts now; it stays a zombie until we reap it

    api = t.run([PYTHON, api_path], service="api", env={"PYTHONUNBUFFERED": "1"}, timeout=120)
    assert api.returncode == 1, f"api exited {api.returncode}: {api.stderr[-500:]!r}"
    web = t.run(["sh", web_path], service="web")
    assert web.returncode == 0, web.stderr

    def exit_of(rs):
        return [r for r in rs if r.get("event_type") == "process_exit"
                and r.get("pid") == worker.pid]
    try:
        ulogd.wait_for(lambda rs: exit_of(rs), 20, "the worker's process_exit")
    except AssertionError:
        pass  # the checks below go by what all.log holds
    worker.wait(10)
    ulogd.wait_for(lambda rs: _has(rs, "api", "RuntimeError: api lost its database")
                   and _has(rs, "web", "web: all assets served"), 60, "the last lines")
    records = ulogd.settle(0.5)
    exits = exit_of(records)

    # The store gets them too (ulog query reads it as ulog context does).
    def in_store(args):
        out = t.run([ULOG, "query", "--log-dir", ulogd.log_dir, "--json", "--limit", "1",
                     *args], shim=False)
        return out.returncode == 0 and out.stdout.strip()
    for args in (["--service", "api", "-q", "RuntimeError"], ["--service", "web", "-q", "assets"],
                 ["--service", "worker", "-q", "checksum"],
                 *([["--event-type", "process_exit", "--service", "worker"]] if exits else [])):
        wait_until(lambda: in_store(args), 60, f"the store to hold {args}")
    return ulogd, records, exits[0] if exits else None


def _context(t, *args):
    res = t.run([ULOG, "context", *args], shim=False, timeout=60)
    return res.returncode, res.stdout.decode("utf-8", "replace"), \
        res.stderr.decode("utf-8", "replace")


# --- reading the digest ---------------------------------------------------------

def _walk(node):
    yield node
    if isinstance(node, dict):
        for v in node.values():
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


def _strings(node):
    return [v for v in _walk(node) if isinstance(v, str)]


def _json_templates(doc, text):
    """Objects of the JSON digest that describe a template holding `text`
    (a masked string and an integer count)."""
    found = []
    for node in _walk(doc):
        if not isinstance(node, dict) or not isinstance(node.get("count"), int):
            continue
        if any(isinstance(v, str) and text in v and "<" in v for v in node.values()):
            found.append(node)
    return found


def _json_service_counts(doc):
    """{service: record count} from the JSON digest, whichever of the usual
    shapes it uses: {service: n}, {service: {total|records|count: n, ...}},
    or [{service: s, total|records|count: n}, ...]."""
    total_keys = ("total", "records", "count")
    for node in _walk(doc):
        if isinstance(node, dict) and set(SERVICES) <= set(node):
            out = {}
            for name, v in node.items():
                if isinstance(v, int):
                    out[name] = v
                elif isinstance(v, dict):
                    n = next((v[k] for k in total_keys if isinstance(v.get(k), int)), None)
                    if n is None and v and all(isinstance(x, int) for x in v.values()):
                        n = sum(v.values())
                    out[name] = n
            if all(isinstance(out.get(s), int) for s in SERVICES):
                return out
        if isinstance(node, list) and node and all(isinstance(x, dict) and "service" in x
                                                   for x in node):
            out = {}
            for x in node:
                n = next((x[k] for k in total_keys if isinstance(x.get(k), int)), None)
                out[x["service"]] = n
            if set(SERVICES) <= set(out) and all(isinstance(out[s], int) for s in SERVICES):
                return out
    return None


def _error_texts(records):
    """What the digest must show of each error: the first line of every
    ERROR/CRITICAL record (an exit record's message too), and the last line
    of a traceback (its exception)."""
    texts = []
    for r in records:
        if r.get("level") not in ("ERROR", "CRITICAL") or r.get("service") not in SERVICES:
            continue
        lines = [l for l in r["message"].split("\n") if l.strip()]
        texts.append(lines[0])
        if len(lines) > 1:
            texts.append(lines[-1])
    return sorted(set(texts))


class Checks:
    """Named sub-checks; all run, the failures are reported together."""

    def __init__(self):
        self.failed = []
        self.passed = []

    def check(self, name, ok, detail=""):
        (self.passed if ok else self.failed).append(name if ok else f"{name}: {detail}")

    def done(self, what, path=None):
        if path:  # every check and its outcome, kept with a failed test's directory
            with open(path, "w") as f:
                f.writelines(f"ok   {n}\n" for n in self.passed)
                f.writelines(f"FAIL {n}\n" for n in self.failed)
        if self.failed:
            raise AssertionError(f"{len(self.failed)} of {len(self.failed) + len(self.passed)} "
                                 f"checks failed ({what}):\n  " + "\n  ".join(self.failed))


def _check_digest(c, label, md, budget_chars, records, exit_record,
                  full=True, services=SERVICES):
    """The Markdown digest `md` of the records."""
    c.check(f"{label}: within budget", len(md) <= budget_chars,
            f"{len(md)} characters ({len(md.encode())} bytes), budget {budget_chars}")
    for s in SECRETS:
        c.check(f"{label}: no secret {s!r}", s not in md, f"found at {md.find(s)}")
    # A template line: the message with its address masked ("db <IP>...").
    lines = [l for l in md.split("\n") if re.search(re.escape(NOISY) + r" <", l)]
    count_ok = len(lines) == 1 and re.search(rf"(?<![\d.]){NOISY_COUNT}(?![\d.])", lines[0])
    if not full and not lines:
        # A smaller budget may leave the templates out, but must say so at the end.
        tail = "\n".join(md.rstrip().split("\n")[-6:])
        c.check(f"{label}: templates left out, and said so", "template" in tail,
                f"no template shown and the end says nothing of them: {tail[-300:]!r}")
    else:
        c.check(f"{label}: noisy message is one template", len(lines) == 1,
                f"{len(lines)} template lines: {lines[:4]}")
        c.check(f"{label}: template counted {NOISY_COUNT}", count_ok, f"line {lines[:1]}")
    if not full:
        return
    c.check(f"{label}: redaction marker shown", "[REDACTED]" in md, "no [REDACTED] in it")
    mine = [r for r in records if r.get("service") in services]
    ordinary = [l for l in md.split("\n") if re.search(r"GET (/orders/)?<", l)]
    c.check(f"{label}: ordinary lines one template counted {ORDINARY}",
            len(ordinary) == 1 and re.search(rf"(?<![\d.]){ORDINARY}(?![\d.])", ordinary[0]),
            f"template lines {ordinary[:3]}")
    # The per-service counts: a row of the table (or a line) that starts with
    # the service and holds its total and its count of each level, as in all.log.
    for service in services:
        total = sum(1 for r in mine if r.get("service") == service)
        levels = Counter(r["level"] for r in mine if r.get("service") == service)
        rows = [l for l in md.split("\n")
                if re.match(rf"\|?\s*`?{service}`?\s*[|:]", l)]
        ok = any(set([str(total)] + [str(n) for n in levels.values()])
                 <= set(re.findall(r"\d+", row)) for row in rows)
        c.check(f"{label}: counts of {service}", ok,
                f"all.log {total} records {dict(levels)}; rows {rows[:2]}")
    for text in _error_texts(mine):
        c.check(f"{label}: error {text[:60]!r}", text in md, "not in the digest")
    if "worker" in services:
        for i in (WORKER_LINES - 1, WORKER_LINES):
            line = f"worker: processed batch {i} of {WORKER_LINES}"
            c.check(f"{label}: crash line {line!r}", line in md, "not in the digest")
        c.check(f"{label}: crash's last line", "worker: queue header checksum mismatch" in md,
                "not in the digest")
        if exit_record:
            meta = exit_record.get("metadata", {})
            if meta.get("signal_name"):
                c.check(f"{label}: crash signal {meta['signal_name']}",
                        meta["signal_name"] in md, f"exit record {exit_record['message']!r}")
            c.check(f"{label}: exit record", exit_record["message"] in md,
                    f"{exit_record['message']!r} not in the digest")
    else:
        c.check(f"{label}: other services left out", "checksum mismatch" not in md
                and "web: served" not in md, "worker's or web's lines in it")


def _check_json(c, label, out, budget_chars, records, origin, services=SERVICES):
    # JSON repeats its keys: the same content is held to twice the budget
    # (docs/LOGGING.md, `ulog context --json`).
    c.check(f"{label}: within twice the budget", len(out.encode()) <= 2 * budget_chars,
            f"{len(out.encode())} bytes, budget {budget_chars}")
    try:
        doc = json.loads(out)
    except ValueError as e:
        c.check(f"{label}: parses", False, f"{e}: {out[:200]!r}")
        return None
    strings = "\n".join(_strings(doc))
    for s in SECRETS:
        c.check(f"{label}: no secret {s!r}", s not in out, "found")
    c.check(f"{label}: origin {origin}", origin in _strings(doc),
            f"strings naming an origin: {[s for s in _strings(doc) if s in ('store', 'all.log')]}")
    templates = _json_templates(doc, NOISY)
    c.check(f"{label}: one template, count {NOISY_COUNT}",
            len(templates) == 1 and templates[0]["count"] == NOISY_COUNT,
            f"templates {[(t.get('count'), [v for v in t.values() if isinstance(v, str)][:2]) for t in templates]}")
    mine = [r for r in records if r.get("service") in services]
    for text in _error_texts(mine):
        c.check(f"{label}: error {text[:60]!r}", text in strings, "not in any string")
    want = Counter(r.get("service") for r in mine)
    got = _json_service_counts(doc) if services == SERVICES else None
    if services == SERVICES:
        c.check(f"{label}: per-service counts", got is not None and
                all(got.get(s) == want[s] for s in SERVICES),
                f"all.log {dict(want)}, digest {got}")
    return doc


def _digest_test(env, label):
    def test(t):
        ulogd, records, exit_record = _scenario(t, env)
        mine = [r for r in records if r.get("service") in SERVICES]
        counts = Counter(r.get("service") for r in mine)
        assert counts["api"] >= ORDINARY + NOISY_COUNT, counts
        c = Checks()
        noisy = [r for r in records if NOISY in r.get("message", "")]
        c.check("all.log: the noisy message 500 times", len(noisy) == NOISY_COUNT, len(noisy))
        c.check("all.log: secrets redacted by ulogd",
                not any(s in r.get("message", "") for r in records for s in SECRETS), "")

        log_dir = ulogd.log_dir
        copy = os.path.join(t.dir, "copy")
        shutil.copytree(log_dir, copy)
        for name in os.listdir(copy):
            if name.startswith("ulog.db"):
                os.unlink(os.path.join(copy, name))

        runs = [("default", [], 8000, True, SERVICES),
                ("--budget 4k", ["--budget", "4k"], 4000, False, SERVICES),
                ("--budget 1500t", ["--budget", "1500t"], 1500 * 4, False, SERVICES),
                ("--service api", ["--service", "api"], 8000, True, ("api",))]
        for where, directory in (("store", log_dir), ("all.log", copy)):
            for name, args, budget, full, services in runs:
                tag = f"[{where}] {name}"
                rc, out, err = _context(t, "--log-dir", directory, "--since", "1h", *args)
                c.check(f"{tag}: exit 0", rc == 0, f"exit {rc}: {err[-300:]!r}")
                if rc == 0:
                    _check_digest(c, tag, out, budget, records, exit_record,
                                  full, services)
            rc, out, err = _context(t, "--log-dir", directory, "--since", "1h", "--json")
            c.check(f"[{where}] --json: exit 0", rc == 0, f"exit {rc}: {err[-300:]!r}")
            if rc == 0:
                _check_json(c, f"[{where}] --json", out, 8000, records, where)
        # The tokens budget: ceil(chars / 4) <= 1500.
        rc, out, _ = _context(t, "--log-dir", log_dir, "--since", "1h", "--budget", "1500t")
        c.check("1500t: tokens", rc == 0 and math.ceil(len(out) / 4) <= 1500,
                f"{math.ceil(len(out) / 4)} tokens")
        with open(os.path.join(t.dir, "digest.md"), "w") as f:
            f.write(_context(t, "--log-dir", log_dir, "--since", "1h")[1])
        c.done(label, os.path.join(t.dir, "checks.txt"))
    test.__name__ = f"test_context_digest_{label}"
    test.timeout = 240
    return test


test_context_digest_ebpf_auto = _digest_test({}, "ebpf_auto")
test_context_digest_ebpf_off = _digest_test({"ULOG_EBPF": "off"}, "ebpf_off")


def test_context_bad_arguments(t):
    empty = os.path.join(t.dir, "nologs")
    os.makedirs(empty)
    c = Checks()
    for args in (["--budget", "0"], ["--budget", "abc"], ["--since", "nonsense"],
                 ["--level", "nonsense"], ["--budget", "-5"], ["--no-such-option"]):
        rc, out, err = _context(t, "--log-dir", empty, *args)
        c.check(f"{' '.join(args)}: exit 2 with a message", rc == 2 and err.strip(),
                f"exit {rc}, stderr {err[-200:]!r}")
    rc, out, err = _context(t, "--log-dir", empty, "--since", "1h")
    c.check("empty directory: exit 1 naming it", rc == 1 and empty in err,
            f"exit {rc}, stderr {err[-300:]!r}, stdout {out[-200:]!r}")
    c.done("arguments", os.path.join(t.dir, "checks.txt"))
