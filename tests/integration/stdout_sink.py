"""stdout_sink.py - where a test program's stdout goes, and how its bytes
come back: a pipe, a regular file, one end of a socketpair, or a
pseudo-terminal. The shim must recognise all of them by the identity of
the file, and leave the program's view of it (isatty, seekability) alone.
"""

import os
import pty
import socket
import subprocess
import threading


class StdoutSink:
    """Where a run's stdout goes, and how its bytes are collected."""

    def __init__(self, kind, path):
        self.kind, self.path = kind, path
        self.chunks, self.thread, self.parent = [], None, None
        if kind == "pipe":
            self.child_end = subprocess.PIPE
        elif kind == "file":
            self.child_end = open(path, "w+b")
        elif kind == "socket":
            self.parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            self.child_end = child
        elif kind == "tty":
            master, slave = pty.openpty()
            self.parent, self.child_end = master, slave
        else:
            raise ValueError(kind)

    def started(self):
        """Close our copy of the child's end and read the other end."""
        if self.kind == "socket":
            self.child_end.close()
            self.thread = threading.Thread(target=self._read_socket, daemon=True)
        elif self.kind == "tty":
            os.close(self.child_end)
            self.thread = threading.Thread(target=self._read_tty, daemon=True)
        if self.thread:
            self.thread.start()

    def _read_socket(self):
        while True:
            data = self.parent.recv(65536)
            if not data:
                return
            self.chunks.append(data)

    def _read_tty(self):
        while True:
            try:
                data = os.read(self.parent, 65536)
            except OSError:  # EIO once every copy of the slave is closed
                return
            if not data:
                return
            self.chunks.append(data)

    def close_parent_copy(self):
        if self.kind == "file":
            self.child_end.close()

    def collect(self):
        if self.kind == "file":
            with open(self.path, "rb") as f:
                return f.read()
        self.thread.join(10)
        if self.thread.is_alive():
            raise AssertionError(f"stdout ({self.kind}) still open 10 s after the program ended")
        if self.kind == "socket":
            self.parent.close()
        else:
            os.close(self.parent)
        return b"".join(self.chunks)
