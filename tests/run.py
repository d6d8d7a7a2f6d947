#!/usr/bin/env python3
"""run.py - the test runner behind `make test` (Python 3 standard library only).

    python3 tests/run.py [-k PATTERN] [-v]

Runs every cmocka binary (build/tests/test_*, then the ASan/UBSan builds in
build/asan/tests/test_*), counting each test case, then every function named
test_* in tests/integration/test_*.py (those of test_malformed and test_ulogd
a second time, as "asan:NAME", against the ASan/UBSan build of ulogd), then
every fuzz target of tests/fuzz/ (build/fuzz/fuzz_*), over its seed corpus and
then fuzzing for a few seconds, as "fuzz:NAME", then real programs' own test
suites, bare and under the shim (tests/compat/run_compat.py, which reports
into the same count), then the compose stack against a real Docker engine
(tests/docker/run_docker.py, the same way), then the live page in Debian's
Chromium against a real ulogd (tests/browser/run_browser.py, likewise). One
line per test: "ok NAME", "FAIL NAME: reason" or
"skip NAME: reason"; the last line is always "N passed, N failed"
(", N skipped" when some were). Exit status 1 if anything failed.

Each integration test gets a fresh temporary directory and a TestContext
that owns every process it starts; whatever happens, those are killed by pid
afterwards, and any ulogd still running must exit 0 on SIGTERM and leave
valid files. Every test has a time limit, so a hang is a failure, never a
stuck run. A failed test keeps its directory (its ulogd's stderr and logs).
"""

import argparse
import importlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INTEGRATION = os.path.join(ROOT, "tests", "integration")
COMPAT = os.path.join(ROOT, "tests", "compat")
DOCKER = os.path.join(ROOT, "tests", "docker")
BROWSER = os.path.join(ROOT, "tests", "browser")
UNIT_DIRS = (("unit", os.path.join(ROOT, "build", "tests")),
             ("asan", os.path.join(ROOT, "build", "asan", "tests")))
# ulogd meets hostile and odd input in these files: they run a second time
# against the ASan/UBSan build of ulogd, where any report aborts it, and the
# harness fails a test whose ulogd does not stop with status 0.
ASAN_ULOGD = os.path.join(ROOT, "build", "asan", "ulogd")
ASAN_FILES = ("test_malformed", "test_ulogd", "test_http_api", "test_websocket")
UNIT_TIMEOUT = 300
FUZZ_SOURCES = os.path.join(ROOT, "tests", "fuzz")
FUZZ_BUILD = os.path.join(ROOT, "build", "fuzz")
# Short enough for `make test` (six targets, about a minute), long enough to
# get past the seeds; -seed=1 makes the path the same each time it is run.
FUZZ_SECONDS = 10
FUZZ_TIMEOUT = 60
FUZZ_OPTIONS = ("-rss_limit_mb=1024", "-timeout=20")
TEST_TIMEOUT = 60  # a test may ask for more with a `timeout` attribute

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__
sys.path.insert(0, INTEGRATION)
sys.path.insert(0, COMPAT)
sys.path.insert(0, DOCKER)
sys.path.insert(0, BROWSER)
import harness  # noqa: E402
from tally import Tally, matches  # noqa: E402
import run_browser  # noqa: E402
import run_compat  # noqa: E402
import run_docker  # noqa: E402


# --- cmocka ------------------------------------------------------------------

TAP_RESULT = re.compile(r"^(ok|not ok) (\d+) - (\S+)")


def run_unit_binary(tally, flavour, path, pattern):
    binary = os.path.basename(path)
    prefix = f"{flavour}/{binary}"
    env = dict(os.environ, CMOCKA_MESSAGE_OUTPUT="TAP")
    try:
        proc = subprocess.run([path], stdin=subprocess.DEVNULL, capture_output=True,
                              env=env, timeout=UNIT_TIMEOUT)
    except subprocess.TimeoutExpired:
        tally.fail(prefix, f"did not finish within {UNIT_TIMEOUT} s")
        return
    out = proc.stdout.decode("utf-8", "replace").splitlines()
    err = proc.stderr.decode("utf-8", "replace")
    planned, seen, failed_cases = None, 0, 0
    for i, line in enumerate(out):
        if line.startswith("1.."):
            planned = int(line[3:] or 0)
        m = TAP_RESULT.match(line)
        if not m:
            continue
        seen += 1
        name = f"{prefix}/{m.group(3)}"
        if m.group(1) != "ok":
            failed_cases += 1
        if not matches(name, pattern):
            continue
        if m.group(1) == "ok":
            tally.ok(name)
        else:
            why = [l[2:] for l in out[i + 1:i + 6]
                   if l.startswith("# ") and not l.startswith(("# ok", "# not ok"))]
            tally.fail(name, "\n".join(why) or "failed", err)
    # cmocka exits with the number of failed cases; anything else, or missing
    # cases, means it crashed (a sanitizer report, a signal, a leak at exit).
    crashed = planned is None or seen < planned or (proc.returncode != 0 and not failed_cases)
    if crashed and matches(prefix, pattern):
        tally.fail(prefix, f"exit status {proc.returncode} after {seen} of {planned} cases\n"
                   + "\n".join(err.strip().splitlines()[:15]), err)


def run_unit_tests(tally, pattern):
    for flavour, directory in UNIT_DIRS:
        if not os.path.isdir(directory):
            continue
        for name in sorted(os.listdir(directory)):
            path = os.path.join(directory, name)
            source = os.path.join(ROOT, "tests", "unit", name + ".c")
            # Only binaries that still have a source: a stale one proves nothing.
            if (name.startswith("test_") and "." not in name and os.path.isfile(source)
                    and os.access(path, os.X_OK)):
                run_unit_binary(tally, flavour, path, pattern)


# --- integration -------------------------------------------------------------

class TestTimeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise TestTimeout()


def collect_integration_tests():
    tests = []
    for file in sorted(os.listdir(INTEGRATION)):
        if not (file.startswith("test_") and file.endswith(".py")):
            continue
        module = importlib.import_module(file[:-3])
        for attr, value in vars(module).items():
            if attr.startswith("test_") and callable(value):
                tests.append((f"{module.__name__}.{attr}", value))
    return tests


def scratch_root():
    """A short base directory: a socket path must fit in 108 bytes."""
    base = tempfile.gettempdir()
    return base if len(base) <= 40 else "/tmp"


def run_integration_test(tally, name, func):
    directory = tempfile.mkdtemp(prefix="ulog-test-", dir=scratch_root())
    ctx = harness.TestContext(name, directory)
    limit = getattr(func, "timeout", TEST_TIMEOUT)
    started = time.monotonic()
    outcome, reason, detail = "ok", "", ""
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(limit)
    try:
        func(ctx)
    except harness.Skip as e:
        outcome, reason = "skip", str(e)
    except TestTimeout:
        outcome, reason = "fail", f"did not finish within {limit} s"
    except Exception as e:  # noqa: BLE001 - a test failing in any way is a FAIL line
        outcome, reason = "fail", f"{type(e).__name__}: {e}" if not isinstance(
            e, AssertionError) else (str(e) or "assertion failed")
        detail = traceback.format_exc()
    finally:
        signal.alarm(0)
    try:
        signal.alarm(30)
        ctx.cleanup()
    except TestTimeout:
        if outcome != "fail":
            outcome, reason = "fail", "cleanup did not finish within 30 s"
    except Exception as e:  # noqa: BLE001
        if outcome != "fail":
            outcome, reason, detail = "fail", f"at the end: {e}", traceback.format_exc()
    finally:
        signal.alarm(0)
    if outcome == "fail":
        tally.fail(name, f"{reason}\n(kept {directory})", detail)
        return
    shutil.rmtree(directory, ignore_errors=True)
    if outcome == "skip":
        tally.skip(name, reason)
    else:
        tally.ok(name, time.monotonic() - started)


def run_under_sanitizers(tally, pattern):
    if not os.access(ASAN_ULOGD, os.X_OK):
        tally.skip("asan:ulogd", f"{ASAN_ULOGD} is not built (make unit-tests)")
        return
    plain, harness.ULOGD = harness.ULOGD, ASAN_ULOGD
    try:
        for name, func in collect_integration_tests():
            if name.split(".")[0] in ASAN_FILES and matches("asan:" + name, pattern):
                run_integration_test(tally, "asan:" + name, func)
    finally:
        harness.ULOGD = plain


# --- fuzz targets ------------------------------------------------------------

FUZZ_REPORT = re.compile(r"==\d+==ERROR|SUMMARY:|broken promise|runtime error|"
                         r"Test unit written|^artifact_prefix")


def run_fuzz_target(tally, name, binary, seeds):
    """The seeds once each, then FUZZ_SECONDS of fuzzing from them, in a scratch
    directory that receives what it finds (never the seeds' own directory);
    a crash, sanitizer report or broken promise fails it and keeps that
    directory, with the input that did it."""
    seeds = os.path.abspath(seeds)  # the fuzzer runs in its scratch directory
    files = sorted(os.path.join(seeds, f) for f in os.listdir(seeds)) if os.path.isdir(seeds) else []
    if not files:
        tally.fail(name, f"no seed inputs in {os.path.relpath(seeds, ROOT)}")
        return
    started = time.monotonic()
    work = tempfile.mkdtemp(prefix="ulog-fuzz-", dir=scratch_root())
    corpus = os.path.join(work, "corpus")
    os.mkdir(corpus)
    env = dict(os.environ, TMPDIR=work)  # fuzz_config's file goes with the rest
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
    prefix = f"-artifact_prefix={work}/"
    steps = (("the seeds", [binary, *FUZZ_OPTIONS, prefix, *files]),
             (f"{FUZZ_SECONDS} s of fuzzing",
              [binary, *FUZZ_OPTIONS, prefix, f"-max_total_time={FUZZ_SECONDS}", "-seed=1",
               corpus, seeds]))
    for what, argv in steps:
        try:
            proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, cwd=work,
                                  env=env, timeout=FUZZ_TIMEOUT)
        except subprocess.TimeoutExpired:
            tally.fail(name, f"{what}: did not finish within {FUZZ_TIMEOUT} s\n(kept {work})")
            return
        if proc.returncode != 0:
            err = proc.stderr.decode("utf-8", "replace")
            why = [line for line in err.splitlines() if FUZZ_REPORT.search(line)] \
                or err.strip().splitlines()[-5:]
            running = [line for line in err.splitlines() if line.startswith("Running: ")]
            if running:  # the seed that broke it
                why.insert(0, "input " + running[-1][len("Running: "):])
            tally.fail(name, f"{what}: exit status {proc.returncode}\n" + "\n".join(why[:12])
                       + f"\n(kept {work}; rerun: {os.path.relpath(binary, ROOT)} INPUT)", err)
            return
    shutil.rmtree(work, ignore_errors=True)
    tally.ok(name, time.monotonic() - started)


def run_fuzz_smoke(tally, pattern):
    """Every tests/fuzz/fuzz_NAME.c, built by `make fuzz-build` into
    build/fuzz/fuzz_NAME, seeded from tests/fuzz/corpus/fuzz_NAME/."""
    if not os.path.isdir(FUZZ_SOURCES):
        return
    for source in sorted(os.listdir(FUZZ_SOURCES)):
        if not (source.startswith("fuzz_") and source.endswith(".c")):
            continue
        target = source[:-2]
        name = f"fuzz:{target}"
        if not matches(name, pattern):
            continue
        binary = os.path.join(FUZZ_BUILD, target)
        if not os.access(binary, os.X_OK):
            if not shutil.which(os.environ.get("FUZZ_CC", "clang")):
                tally.skip(name, "clang is not installed: the fuzz targets need its libFuzzer")
            else:
                tally.skip(name, f"{os.path.relpath(binary, ROOT)} is not built (make fuzz-build)")
            continue
        run_fuzz_target(tally, name, binary, os.path.join(FUZZ_SOURCES, "corpus", target))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-k", dest="pattern", help="run only tests whose name contains "
                                                   "PATTERN (or matches it as a glob)")
    parser.add_argument("-v", dest="verbose", action="store_true",
                        help="durations, tracebacks and sanitizer output")
    args = parser.parse_args()
    os.chdir(ROOT)
    tally = Tally(args.verbose)

    def everything():
        run_unit_tests(tally, args.pattern)
        for name, func in collect_integration_tests():
            if matches(name, args.pattern):
                run_integration_test(tally, name, func)
        run_under_sanitizers(tally, args.pattern)
        run_fuzz_smoke(tally, args.pattern)
        run_compat.run(tally, args.pattern)  # reports into the same tally
        run_docker.run(tally, args.pattern)  # likewise
        run_browser.run(tally, args.pattern, args.verbose)  # likewise

    return tally.run_to_end(everything)


if __name__ == "__main__":
    sys.exit(main())
