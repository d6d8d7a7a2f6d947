"""test_reader.py - the harness's own log reader, on files made by hand.

Every other test trusts records.LogReader to see each record once, across
rotations that happen between two polls and across a SIGHUP-style move;
this checks that it does, and that it refuses what the contract forbids.
"""

import json
import os

from records import LogFormatError, LogReader


def _record(n):
    return json.dumps({"timestamp": "2026-11-21T14:22:18.214521Z", "level": "INFO",
                       "message": f"record {n}"}, separators=(",", ":")).encode() + b"\n"


def _append(path, *numbers):
    with open(path, "ab") as f:
        for n in numbers:
            f.write(_record(n))


def _rotate(path, keep):
    for k in range(keep - 1, 0, -1):
        if os.path.exists(f"{path}.{k}"):
            os.replace(f"{path}.{k}", f"{path}.{k + 1}")
    os.replace(path, f"{path}.1")


def _messages(reader):
    return [r["message"] for r in reader.poll()]


def test_reader_follows_two_rotations_between_polls(t):
    path = os.path.join(t.dir, "all.log")
    _append(path, 0, 1)
    reader = LogReader(path)
    assert _messages(reader) == ["record 0", "record 1"]
    _append(path, 2)
    _rotate(path, 5)
    _append(path, 3)
    _rotate(path, 5)
    _append(path, 4)
    assert _messages(reader) == [f"record {n}" for n in range(5)]
    reader.close()


def test_reader_follows_a_move_and_reopen(t):
    path = os.path.join(t.dir, "all.log")
    _append(path, 0)
    reader = LogReader(path)
    reader.poll()
    os.rename(path, path + ".moved")
    _append(path + ".moved", 1)
    assert _messages(reader) == ["record 0", "record 1"]
    _append(path, 2)
    assert _messages(reader) == ["record 0", "record 1", "record 2"]
    reader.close()


def test_reader_refuses_what_it_cannot_have_read(t):
    path = os.path.join(t.dir, "all.log")
    _append(path, 0)
    reader = LogReader(path)
    reader.poll()
    for n in range(1, 4):  # keep 1: the file being read is deleted
        _rotate(path, 1)
        os.remove(f"{path}.1")
        _append(path, n)
    try:
        reader.poll()
    except LogFormatError:
        pass
    else:
        raise AssertionError("the reader did not notice records it could not read")
    finally:
        reader.close()


def test_reader_refuses_keys_out_of_order(t):
    path = os.path.join(t.dir, "all.log")
    with open(path, "wb") as f:
        f.write(b'{"level":"INFO","timestamp":"2026-11-21T14:22:18.214521Z","message":"m"}\n')
    try:
        LogReader(path).poll()
    except LogFormatError as e:
        assert "order" in str(e)
    else:
        raise AssertionError("keys out of order were accepted")
