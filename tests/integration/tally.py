"""tally.py - the one count every runner reports into (tests/run.py, and the
runners it calls: tests/compat/run_compat.py, tests/docker/run_docker.py,
tests/browser/run_browser.py, each also runnable alone).

One line per test: "ok NAME", "FAIL NAME: reason" (more lines indented
under it) or "skip NAME: reason"; the summary is "N passed, N failed" and
", N skipped" when some were. -k PATTERN selects by the same rule
everywhere: a substring of the name, or a glob.
"""

import fnmatch


class Tally:
    def __init__(self, verbose=False):
        self.verbose = verbose
        self.passed = self.failed = self.skipped = 0

    def ok(self, name, seconds=None):
        self.passed += 1
        print(f"ok {name}" + (f" ({seconds:.1f} s)" if self.verbose and seconds else ""),
              flush=True)

    def fail(self, name, reason, detail=""):
        self.failed += 1
        lines = str(reason).strip().splitlines() or ["(no reason given)"]
        print(f"FAIL {name}: {lines[0]}", flush=True)
        extra = lines[1:] + (detail.strip().splitlines() if detail and self.verbose else [])
        for line in extra[:60]:
            print(f"    {line}", flush=True)

    def skip(self, name, reason):
        self.skipped += 1
        print(f"skip {name}: {reason}", flush=True)

    def summary(self):
        line = f"{self.passed} passed, {self.failed} failed"
        return line + (f", {self.skipped} skipped" if self.skipped else "")

    def run_to_end(self, body):
        """A runner's main: run `body`, count Ctrl-C as a failure, print the
        summary line; the exit status (1 if anything failed)."""
        try:
            body()
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            self.failed += 1
        print(self.summary(), flush=True)
        return 1 if self.failed else 0


def matches(name, pattern):
    """Everything without a pattern; else a substring of the name, or a glob."""
    return not pattern or pattern in name or fnmatch.fnmatch(name, pattern)
