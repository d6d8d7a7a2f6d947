"""wireclient.py - a shim stand-in that speaks the wire protocol by hand.

Encodes HELLO, DATA and DROPPED exactly as include/ulog/wire.h lays them out
(host byte order: both ends share one kernel), and can send any bytes at
all, so tests can feed ulogd what no real shim would.
"""

import os
import socket
import struct
import time

MAGIC = b"UL"
VERSION = 1
HELLO, DATA, DROPPED = 1, 2, 3
STDOUT, STDERR = 1, 2
CONTINUED = 0x01
MAX_MESSAGE = 32768


def header(msg_type, payload_len, version=VERSION, magic=MAGIC):
    return magic + struct.pack("=BBI", version, msg_type, payload_len)


def _string(value):
    data = value.encode() if isinstance(value, str) else value
    return struct.pack("=H", len(data)) + data


def hello(pid=None, program="raw-client", argv=b"raw-client\0--test", service="raw-client",
          container="", host="", context=""):
    pid = os.getpid() if pid is None else pid
    fixed = struct.pack("=IIIIIIQ", pid, os.getppid(), os.getuid(), 1, 0x01, 0,
                        time.time_ns())
    payload = fixed + b"".join(_string(s) for s in (program, argv, service, container, host,
                                                    context))
    return header(HELLO, len(payload)) + payload


def data(text, stream=STDOUT, tid=None, flags=0):
    body = text.encode() if isinstance(text, str) else text
    tid = os.getpid() if tid is None else tid
    payload = struct.pack("=QIBBH", time.time_ns(), tid, stream, flags, 0) + body
    return header(DATA, len(payload)) + payload


def dropped(messages, nbytes):
    payload = struct.pack("=QQ", messages, nbytes)
    return header(DROPPED, len(payload)) + payload


class Client:
    """One SOCK_SEQPACKET connection to ulogd."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.connect(path)

    def send(self, message):
        self.sock.sendall(message)

    def closed_by_peer(self, timeout=5):
        """True once ulogd has closed its end (EOF or a reset)."""
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
