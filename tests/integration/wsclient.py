"""wsclient.py - a WebSocket client (RFC 6455) over a plain socket, for
ulogd's /ws: what a test needs and a library would hide.

- The handshake checks Sec-WebSocket-Accept against the key it sent; a
  refusal (401, 404) raises WsRefused with the server's status and body.
- Frames the client sends are masked, as the RFC demands of clients; a
  message can be sent in fragments, and any frame at all can be sent raw.
- Received fragmented messages are joined; a ping is answered with a pong
  (and kept for the test, which may want to see it); control frames may
  come between fragments.
- recv waits at most a timeout and raises WsTimeout, so a test never hangs.
- A stalled client is one that does not call recv: its socket is made with
  a small SO_RCVBUF (`rcvbuf`, set before connect so the window is small
  from the start), so the server's send buffer and then its own queue for
  that client really fill up while the connection stays open.
"""

import base64
import hashlib
import json
import os
import socket
import struct
import time

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class WsRefused(AssertionError):
    def __init__(self, status, headers, body):
        super().__init__(f"WebSocket handshake refused: HTTP {status} {body[:200]!r}")
        self.status, self.headers, self.body = status, headers, body


class WsTimeout(AssertionError):
    pass


class WsClosed(AssertionError):
    def __init__(self, code=None, reason=""):
        super().__init__(f"WebSocket closed by the server (code {code}, {reason!r})")
        self.code, self.reason = code, reason


class WsClient:
    def __init__(self, port, path="/ws", host="127.0.0.1", headers=None, rcvbuf=None,
                 timeout=30):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        self._buf = b""
        self._fragments = None  # (opcode, [payloads]) of a message in progress
        self.pongs = []         # payloads of the pong frames received
        self.closed = None      # (code, reason) once a close frame came
        self._handshake(host, port, path, headers or {})

    # --- handshake ---------------------------------------------------------
    def _handshake(self, host, port, path, headers):
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key}",
                 "Sec-WebSocket-Version: 13"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        while b"\r\n\r\n" not in self._buf:
            piece = self.sock.recv(65536)
            if not piece:
                raise WsRefused(0, {}, self._buf)
            self._buf += piece
        head, self._buf = self._buf.split(b"\r\n\r\n", 1)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        parts = status_line.split()
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        got = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            got[name.strip().lower()] = value.strip()
        self.response_headers = got
        if status != 101:
            body = self._buf + self._read_rest(int(got.get("content-length", "0") or 0))
            raise WsRefused(status, got, body)
        accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        if got.get("sec-websocket-accept") != accept:
            raise AssertionError(f"Sec-WebSocket-Accept {got.get('sec-websocket-accept')!r}, "
                                 f"expected {accept!r}")
        if got.get("upgrade", "").lower() != "websocket":
            raise AssertionError(f"Upgrade: {got.get('upgrade')!r}")

    def _read_rest(self, length):
        data = b""
        self.sock.settimeout(5)
        try:
            while len(self._buf) + len(data) < length:
                piece = self.sock.recv(65536)
                if not piece:
                    break
                data += piece
        except OSError:
            pass
        return data

    # --- sending -----------------------------------------------------------
    def send_frame(self, opcode, payload=b"", fin=True, mask=True, rsv=0):
        if isinstance(payload, str):
            payload = payload.encode()
        head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
        n = len(payload)
        bit = 0x80 if mask else 0
        if n < 126:
            head += bytes([bit | n])
        elif n < 65536:
            head += bytes([bit | 126]) + struct.pack("!H", n)
        else:
            head += bytes([bit | 127]) + struct.pack("!Q", n)
        if mask:
            key = os.urandom(4)
            head += key
            payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload)) if n < 4096 \
                else _mask_fast(payload, key)
        self.sock.sendall(head + payload)

    def send_text(self, text):
        self.send_frame(TEXT, text)

    def send_json(self, obj):
        self.send_text(json.dumps(obj))

    def send_fragmented(self, text, pieces=3):
        """One text message in `pieces` frames (TEXT, CONT..., CONT with FIN)."""
        data = text.encode()
        step = max(1, -(-len(data) // pieces))
        chunks = [data[i:i + step] for i in range(0, len(data), step)] or [b""]
        for i, chunk in enumerate(chunks):
            self.send_frame(TEXT if i == 0 else CONT, chunk, fin=(i == len(chunks) - 1))

    def ping(self, payload=b"ping"):
        self.send_frame(PING, payload)

    def close(self, code=1000):
        try:
            self.send_frame(CLOSE, struct.pack("!H", code))
        except OSError:
            pass
        self.sock.close()

    # --- receiving ---------------------------------------------------------
    def _fill(self, need, deadline):
        while len(self._buf) < need:
            left = deadline - time.monotonic()
            if left <= 0:
                raise WsTimeout("no complete frame before the timeout")
            self.sock.settimeout(left)
            try:
                piece = self.sock.recv(1 << 20)
            except socket.timeout:
                raise WsTimeout("no complete frame before the timeout") from None
            except ConnectionResetError:
                raise WsClosed(None, "connection reset") from None
            if not piece:
                raise WsClosed(None, "connection closed without a close frame")
            self._buf += piece

    def _frame(self, deadline):
        """(fin, opcode, payload) of the next frame; server frames are unmasked."""
        self._fill(2, deadline)
        b0, b1 = self._buf[0], self._buf[1]
        fin, opcode, masked, n = bool(b0 & 0x80), b0 & 0x0F, bool(b1 & 0x80), b1 & 0x7F
        at = 2
        if n == 126:
            self._fill(4, deadline)
            n, at = struct.unpack("!H", self._buf[2:4])[0], 4
        elif n == 127:
            self._fill(10, deadline)
            n, at = struct.unpack("!Q", self._buf[2:10])[0], 10
        if masked:
            raise AssertionError("the server sent a masked frame (RFC 6455 5.1 forbids it)")
        self._fill(at + n, deadline)
        payload, self._buf = self._buf[at:at + n], self._buf[at + n:]
        return fin, opcode, payload

    def recv_message(self, timeout=30, pongs_too=False):
        """(opcode, payload) of the next whole data message (TEXT or BINARY);
        pings are answered, pongs are kept in self.pongs (and returned too
        with pongs_too); a close raises."""
        deadline = time.monotonic() + timeout
        while True:
            fin, opcode, payload = self._frame(deadline)
            if opcode == PING:
                self.send_frame(PONG, payload)
                continue
            if opcode == PONG:
                self.pongs.append(payload)
                if pongs_too:
                    return opcode, payload
                continue
            if opcode == CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                self.closed = (code, payload[2:].decode("utf-8", "replace"))
                raise WsClosed(*self.closed)
            if opcode == CONT:
                if self._fragments is None:
                    raise AssertionError("a continuation frame without a message to continue")
                self._fragments[1].append(payload)
                if fin:
                    opcode, parts = self._fragments
                    self._fragments = None
                    return opcode, b"".join(parts)
                continue
            if self._fragments is not None:
                raise AssertionError("a new message began inside a fragmented one")
            if not fin:
                self._fragments = (opcode, [payload])
                continue
            return opcode, payload

    def recv_json(self, timeout=30):
        opcode, payload = self.recv_message(timeout)
        assert opcode == TEXT, f"expected a text frame, got opcode {opcode}: {payload[:200]!r}"
        try:
            return json.loads(payload.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise AssertionError(f"a text frame that is not JSON: {payload[:200]!r}") from None

    def recv_until(self, predicate, timeout=30, what="a message"):
        """Messages up to and including the first one `predicate` accepts."""
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            left = deadline - time.monotonic()
            try:
                message = self.recv_json(max(left, 0.001))
            except WsTimeout:
                kinds = [m.get("type") for m in seen][-10:]
                raise WsTimeout(f"timed out after {timeout} s waiting for {what} "
                                f"(last types seen: {kinds})") from None
            seen.append(message)
            if predicate(message):
                return seen

    def recv_type(self, kind, timeout=30):
        """The next message of type `kind`, and those that came before it."""
        seen = self.recv_until(lambda m: m.get("type") == kind, timeout, f"a {kind!r} message")
        return seen[-1], seen[:-1]

    def wait_pong(self, payload, timeout=30):
        """Read (and keep aside the data messages) until a pong frame with `payload`."""
        deadline = time.monotonic() + timeout
        kept = []
        while payload not in self.pongs:
            left = deadline - time.monotonic()
            if left <= 0:
                raise WsTimeout(f"no pong for {payload!r}")
            opcode, data = self.recv_message(left, pongs_too=True)
            if opcode != PONG:
                kept.append((opcode, data))
        return kept

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            self.sock.close()
        except OSError:
            pass


def _mask_fast(payload, key):
    """XOR with the 4-byte key, whole 8-byte words at a time (big frames)."""
    n = len(payload)
    repeated = (key * (n // 4 + 2))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(repeated, "little")) \
        .to_bytes(n, "little")
