"""records.py - reading all.log the way the contract says it is written.

Owns the schema check (every line valid JSON, keys known and in the
contract's order, values of the right type) and the translation of what a
program wrote into what its records must say: lines split on "\\n", a "\\r"
before the newline dropped, invalid UTF-8 shown as the text \\xNN, long lines
reassembled from their numbered parts. Tests compare through these helpers
so that the rules live in one place.
"""

import codecs
import json
import os
import re

# The order of keys in a record (shared/DESIGN.md, "The record").
KEYS = ("timestamp", "level", "service", "container", "host", "pid", "tid", "stream",
        "source", "component", "event_type", "message", "trace_id", "span_id", "agent_id",
        "task_id", "context", "metadata")
REQUIRED = ("timestamp", "level", "message")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
TIMESTAMP = re.compile(r"\A\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\Z")
CONTAINER = re.compile(r"\A[0-9a-f]{12}\Z")
INT_KEYS = ("pid", "tid")
OBJECT_KEYS = ("context", "metadata")


class LogFormatError(AssertionError):
    pass


def _no_duplicate_keys(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise LogFormatError(f"duplicate keys in {keys}")
    return dict(pairs)


def parse_line(raw):
    """One line of all.log (bytes, without its newline) -> the record, checked."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise LogFormatError(f"line is not UTF-8 ({e}): {raw[:200]!r}") from None
    try:
        # strict=True (the default) refuses raw control characters in strings.
        record = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except ValueError as e:
        raise LogFormatError(f"line is not valid JSON ({e}): {raw[:200]!r}") from None
    if not isinstance(record, dict):
        raise LogFormatError(f"line is not a JSON object: {raw[:200]!r}")
    check_record(record, raw)
    return record


def check_record(record, raw=b""):
    keys = list(record)
    unknown = [k for k in keys if k not in KEYS]
    if unknown:
        raise LogFormatError(f"unknown keys {unknown}: {raw[:200]!r}")
    order = [KEYS.index(k) for k in keys]
    if order != sorted(order):
        raise LogFormatError(f"keys out of order {keys}: {raw[:200]!r}")
    for key in REQUIRED:
        if key not in record:
            raise LogFormatError(f"no {key!r}: {raw[:200]!r}")
    for key, value in record.items():
        if key in INT_KEYS:
            ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
        elif key in OBJECT_KEYS:
            ok = isinstance(value, dict)
        else:
            ok = isinstance(value, str)
        if not ok:
            raise LogFormatError(f"{key}={value!r} has the wrong type: {raw[:200]!r}")
    if not TIMESTAMP.match(record["timestamp"]):
        raise LogFormatError(f"timestamp {record['timestamp']!r} is not RFC 3339 UTC with µs")
    if record["level"] not in LEVELS:
        raise LogFormatError(f"level {record['level']!r} is not one of {LEVELS}")
    if "container" in record and not CONTAINER.match(record["container"]):
        raise LogFormatError(f"container {record['container']!r} is not 12 hex digits")


def read_log(path, require_complete=False):
    """Every record of one file. A last line without its newline may be a
    write in progress; it is ignored unless require_complete is set."""
    with open(path, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    tail = lines.pop()
    if tail and require_complete:
        raise LogFormatError(f"{path} ends inside a line: {tail[:200]!r}")
    return [parse_line(line) for line in lines]


class LogReader:
    """Follows all.log as `tail -F` does, parsing each line once. It keeps
    the file open, so when all.log is replaced (rotation, a SIGHUP re-open)
    it first reads the old file to its end, then any file rotated after it
    (all.log.K-1 ... all.log.1, when the old one is now all.log.K), then the
    new all.log: `records` is everything written since the reader started."""

    def __init__(self, path):
        self.path = path
        self.records = []
        self._file = None
        self._pending = b""

    def _drain(self):
        lines = (self._pending + self._file.read()).split(b"\n")
        self._pending = lines.pop()
        self.records.extend(parse_line(line) for line in lines)

    def _switch_to(self, path):
        if self._pending:
            raise LogFormatError(f"replaced log ends inside a line: {self._pending[:200]!r}")
        self._file.close()
        self._file = open(path, "rb")
        self._drain()

    def _rotated_since(self, old):
        """all.log.K-1 ... all.log.1 if the file we read is now all.log.K."""
        chain = []
        for k in range(1, 1000):
            try:
                chain.append(_path_identity(f"{self.path}.{k}"))
            except FileNotFoundError:
                break
        if old in chain:
            return [f"{self.path}.{k}" for k in range(chain.index(old), 0, -1)]
        if os.fstat(self._file.fileno()).st_nlink == 0:
            raise LogFormatError("all.log rotated past the backup count before it was read")
        return []  # moved elsewhere (SIGHUP re-open): nothing in between

    def poll(self):
        if self._file is None:
            try:
                self._file = open(self.path, "rb")
            except FileNotFoundError:
                return self.records
        try:
            replaced = _path_identity(self.path) != _identity(self._file)
        except FileNotFoundError:
            replaced = False  # moved away, and no new one yet
        self._drain()
        if replaced:
            for path in self._rotated_since(_identity(self._file)):
                self._switch_to(path)
            self._switch_to(self.path)
        return self.records

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None


def _path_identity(path):
    st = os.stat(path)
    return st.st_dev, st.st_ino


def _identity(f):
    st = os.fstat(f.fileno())
    return st.st_dev, st.st_ino


def _hex_escape(error):
    bad = error.object[error.start:error.end]
    return "".join(f"\\x{b:02x}" for b in bad), error.end


codecs.register_error("ulog-hex", _hex_escape)


def expected_message(raw):
    """What a record's message must say for one line of output (bytes
    without the newline): a "\\r" before the newline goes, invalid UTF-8
    becomes \\xNN, everything else (control characters, NUL) is kept."""
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    return raw.decode("utf-8", errors="ulog-hex")


_HEX = re.compile(r"\\x([0-9A-Fa-f]{2})")


def fold_hex(text):
    """The contract does not fix the case of the hex digits in \\xNN."""
    return _HEX.sub(lambda m: "\\x" + m.group(1).lower(), text)


def split_lines(data):
    """Output bytes -> its lines without newlines; a last line without a
    newline counts (it is flushed at exit or after the timeout)."""
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return lines


def logical_messages(records):
    """Messages of consecutive records, with the parts of a split line
    (metadata part/partial) joined back into one. The records must all come
    from one writer (pid, tid, stream), in file order."""
    out, pieces = [], []
    for r in records:
        meta = r.get("metadata", {})
        if "part" in meta:
            if meta["part"] != len(pieces) + 1:
                raise AssertionError(f"part {meta['part']} follows {len(pieces)} parts: "
                                     f"{r['message'][:80]!r}")
            pieces.append(r["message"])
            if not meta.get("partial"):
                out.append("".join(pieces))
                pieces = []
        else:
            if pieces:
                raise AssertionError(f"a line was cut after part {len(pieces)}")
            out.append(r["message"])
    if pieces:
        out.append("".join(pieces))  # reported as a mismatch by the caller
    return out


def captured(records, **match):
    """Captured lines from the shim that match every key=value given (not
    drop reports, nor the process records ulogd writes about a shim's process)."""
    return [r for r in records if r.get("source") == "preload"
            and r.get("event_type") != "dropped" and r.get("stream") != "event"
            and all(r.get(k) == v for k, v in match.items())]


def dropped_count(records, pid):
    """How many messages the shim of `pid` said it could not send."""
    return sum(r.get("metadata", {}).get("dropped_messages", 0) for r in records
               if r.get("event_type") == "dropped" and r.get("pid") == pid)
