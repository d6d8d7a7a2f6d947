#!/usr/bin/env python3
"""run_browser.py - the live page at / in a real browser, against a real ulogd.

    python3 tests/browser/run_browser.py [-k PATTERN] [-v]

Owns the proof that the page ulogd serves works for a person looking at it:
Debian's Chromium, driven by playwright-core (tests/browser/page_test.mjs,
Node), opens the page of a build/ulogd started here in a temporary
directory with its HTTP server on a free loopback port, while records
arrive through POST /logs and from programs run under the shim (`ulog run`
and LD_PRELOAD). It checks that records show up live, that the level,
service and text filters and pause work, that a row opens its JSON, that
the chart draws bars, that markup and terminal escapes in a message stay
inert text, that the page reconnects and reports missed records, and the
token rules (a second ulogd with ULOG_TOKEN). A screenshot of the page is
saved as build/artifacts/page.png
(and page-dark.png, in the dark scheme).

What it needs: /usr/bin/chromium (Debian's chromium, from `make deps-test`)
and tests/browser/node_modules (playwright-core at the version package.json
pins, installed here with npm when missing; never a browser download).

Output is tests/run.py's: one "ok NAME", "FAIL NAME: reason" or
"skip NAME: reason" line per check, named "browser:NAME"; run alone it ends
with "N passed, N failed". tests/run.py imports this module and calls run()
with its own tally.
"""

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.join(ROOT, "tests", "browser")
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402
from tally import Tally, matches  # noqa: E402

PREFIX = "browser:"
# page_test.mjs's checks, in the order it runs them.
CHECKS = ("page_loads", "screenshot", "records_live", "shim_records_live", "markup_inert",
          "level_filter", "service_filter", "text_search", "pause_resume", "row_json", "chart",
          "autoscroll", "missed_and_reconnect", "token_page", "row_cap", "no_page_errors")
# Not page_test.mjs's: ulogd exits 0 on SIGTERM afterwards, with valid files.
STOPPED = "ulogd_stopped_cleanly"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOT = os.path.join(ROOT, "build", "artifacts", "page.png")
SCREENSHOT_DARK = os.path.join(ROOT, "build", "artifacts", "page-dark.png")  # page_test.mjs's name
NODE_TIMEOUT = 300
NPM_TIMEOUT = 300


def pinned_version():
    with open(os.path.join(HERE, "package.json"), encoding="utf-8") as f:
        return json.load(f)["dependencies"]["playwright-core"]


def installed_version():
    try:
        with open(os.path.join(HERE, "node_modules", "playwright-core", "package.json"),
                  encoding="utf-8") as f:
            return json.load(f).get("version")
    except (OSError, ValueError):
        return None


def ensure_node_modules():
    """playwright-core at the pinned version in tests/browser/node_modules;
    None, or why it cannot be had. Only the library: the browser is Debian's."""
    want = pinned_version()
    if installed_version() == want:
        return None
    npm = shutil.which("npm")
    if not npm:
        return "npm is not installed (make deps-test installs it)"
    lock = os.path.exists(os.path.join(HERE, "package-lock.json"))
    argv = [npm, "ci" if lock else "install", "--no-audit", "--no-fund", "--loglevel=error"]
    print(f"# browser: installing playwright-core {want} ({' '.join(argv[1:])} in tests/browser)",
          flush=True)
    # A browser download is never wanted (and fails on a closed network).
    env = dict(os.environ, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1")
    try:
        proc = subprocess.run(argv, cwd=HERE, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=NPM_TIMEOUT)
    except subprocess.TimeoutExpired:
        return f"npm did not finish within {NPM_TIMEOUT} s"
    if proc.returncode != 0 or installed_version() != want:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-5:]
        return f"npm {argv[1]} failed (exit status {proc.returncode}): " + " / ".join(err)
    return None


def missing_prerequisite():
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is not installed (make deps-test installs Debian's chromium)"
    if not shutil.which("node"):
        return "node is not installed (make deps-test installs it)"
    for path in (harness.ULOGD, harness.ULOG, harness.LIBULOG):
        if not os.access(path, os.R_OK):
            return f"{os.path.relpath(path, ROOT)} is missing: run `make`"
    return ensure_node_modules()


def wait_for_http(ulogd, port, timeout=10):
    """ulogd's HTTP server answers /health (it starts after the socket)."""
    url = f"http://127.0.0.1:{port}/health"

    def answered():
        if ulogd.proc.poll() is not None:
            raise AssertionError(f"ulogd exited with {ulogd.proc.returncode}: {ulogd.stderr()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False
    harness.wait_until(answered, timeout, f"ulogd's HTTP server on port {port}")


def start_ulogds(ctx, token):
    """The page's ulogd (no token, the default) and one with ULOG_TOKEN."""
    port, token_port = harness.free_port(), harness.free_port()
    while token_port == port:
        token_port = harness.free_port()
    plain = ctx.start_ulogd(env={"LOG_SERVICE_PORT": str(port), "LOG_SERVICE_HOST": "127.0.0.1",
                                 "LOG_BUFFER_SIZE": "2000"})
    guarded = ctx.start_ulogd(env={"LOG_SERVICE_PORT": str(token_port),
                                   "LOG_SERVICE_HOST": "127.0.0.1", "ULOG_TOKEN": token},
                              socket_path=os.path.join(ctx.dir, "token.sock"),
                              log_dir=os.path.join(ctx.dir, "token-logs"))
    wait_for_http(plain, port)
    wait_for_http(guarded, token_port)
    return port, token_port


def run_page_test(ctx, names, port, token_port, token, verbose):
    """page_test.mjs's results: {name: (ok, reason, seconds)}, and its other output."""
    argv = ["node", os.path.join(HERE, "page_test.mjs"),
            "--url", f"http://127.0.0.1:{port}/",
            "--token-url", f"http://127.0.0.1:{token_port}/", "--token", token,
            "--ulog", harness.ULOG, "--libulog", harness.LIBULOG, "--socket", ctx.socket,
            "--screenshot", SCREENSHOT, "--chromium", CHROMIUM,
            "--only", ",".join(names)]
    env = harness.clean_env({"HOME": ctx.dir, "TMPDIR": ctx.dir})
    proc = subprocess.Popen(argv, cwd=HERE, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    ctx.track(proc)
    results, other = {}, []
    deadline = time.monotonic() + NODE_TIMEOUT
    try:
        out, _ = proc.communicate(timeout=max(1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        harness._kill_group(proc)
        out, _ = proc.communicate()
        other.append(f"page_test.mjs did not finish within {NODE_TIMEOUT} s")
    for line in out.decode("utf-8", "replace").splitlines():
        try:
            item = json.loads(line)
            results[item["test"]] = (bool(item["ok"]), item.get("reason", ""),
                                     item.get("seconds"))
        except (ValueError, KeyError, TypeError):
            other.append(line)
    if proc.returncode not in (0, None) and verbose:
        other.append(f"page_test.mjs exited with status {proc.returncode}")
    return results, other


def run(tally, pattern=None, verbose=False):
    """Every browser check (or those matching pattern) into tally, which has
    ok(name), fail(name, reason) and skip(name, reason)."""
    wanted = [c for c in CHECKS + (STOPPED,) if matches(PREFIX + c, pattern)]
    if not wanted:
        return
    problem = missing_prerequisite()
    if problem:
        for check in wanted:
            tally.fail(PREFIX + check, problem)
        return
    started = time.monotonic()
    directory = tempfile.mkdtemp(prefix="ulog-browser-", dir="/tmp")
    ctx = harness.TestContext("browser", directory)
    token = secrets.token_urlsafe(18)
    failed_before = tally.failed
    names = [c for c in wanted if c != STOPPED]
    try:
        port, token_port = start_ulogds(ctx, token)
        results, other = run_page_test(ctx, names, port, token_port, token, verbose)
    except AssertionError as e:
        results, other = {}, [str(e)]
    why_missing = next((line for line in reversed(other) if line.strip()), "no result")
    for check in names:
        if check not in results:
            tally.fail(PREFIX + check, f"page_test.mjs gave no result: {why_missing}",
                       "\n".join(other))
            continue
        ok, reason, seconds = results[check]
        if ok:
            tally.ok(f"{PREFIX}{check} ({reason})", seconds)
        else:
            tally.fail(PREFIX + check, reason, "\n".join(other))
    try:
        ctx.cleanup()
        if STOPPED in wanted:
            tally.ok(f"{PREFIX}{STOPPED} (both ulogds exited 0, files valid)")
    except AssertionError as e:
        if STOPPED in wanted:
            tally.fail(PREFIX + STOPPED, str(e))
    if os.path.exists(SCREENSHOT) and "screenshot" in results:
        print(f"# browser: screenshots {os.path.relpath(SCREENSHOT, ROOT)}, "
              f"{os.path.relpath(SCREENSHOT_DARK, ROOT)}", flush=True)
    print(f"# browser: {time.monotonic() - started:.0f} s", flush=True)
    if tally.failed == failed_before:
        shutil.rmtree(directory, ignore_errors=True)
    else:
        print(f"# browser: kept {directory} (ulogd-*.stderr, logs/, token-logs/)", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-k", dest="pattern", help="only the checks whose name (browser:NAME) "
                        "contains PATTERN or matches it as a glob")
    parser.add_argument("-v", dest="verbose", action="store_true",
                        help="durations, and page_test.mjs's other output on a failure")
    args = parser.parse_args()
    os.chdir(ROOT)
    tally = Tally(args.verbose)
    return tally.run_to_end(lambda: run(tally, args.pattern, args.verbose))


if __name__ == "__main__":
    sys.exit(main())
