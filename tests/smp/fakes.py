"""A fake SMP device on a real pseudo-terminal, answering with whatever a test scripts.

Used only where the real firmware cannot be made to misbehave: malformed and hostile
replies (the real devices in tests/fixtures/firmware.py answer correctly).
"""

from __future__ import annotations

import os
import select
import socket
import struct
import threading
import tty
from collections.abc import Callable

import cbor2

from flasher.errors import TransportError
from flasher.loader.serve import PseudoTerminal
from flasher.smp import framing

# Given the request message, the bytes to put on the wire (framed or not).
Answer = Callable[[bytes], bytes]


def reply_message(request: bytes, body: object, *, op_delta: int = 1) -> bytes:
    """A reply message to `request` with `body` CBOR-encoded (header mirrored)."""
    first, flags, _length, group, sequence, command = struct.unpack_from("!BBHHBB", request)
    payload = cbor2.dumps(body)
    header = struct.pack("!BBHHBB", (first & ~0b111) | ((first & 0b111) + op_delta), flags,
                         len(payload), group, sequence, command)
    return header + payload


class FakeSmpDevice:
    """Serves `answer` on a pty in a thread until `stop`."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.pty = PseudoTerminal()
        self.requests: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def path(self) -> str:
        return self.pty.path

    def start(self) -> FakeSmpDevice:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.pty.close()

    def _serve(self) -> None:
        decoder = framing.FrameDecoder()
        while not self._stop.is_set():
            try:
                data = self.pty.transport.read(4096, 0.05)
            except TransportError:
                return
            for message in decoder.feed(data) if data else []:
                self.requests.append(message)
                try:
                    self.pty.transport.write(self.answer(message))
                except TransportError:
                    return


class TcpBridge:
    """Serves a device's pty on a TCP port (what QEMU's socket chardev or ser2net do), so
    the host opens it as ``socket://127.0.0.1:PORT``."""

    def __init__(self, device_path: str) -> None:
        self._pty = os.open(device_path, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self._pty)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"socket://127.0.0.1:{self._listener.getsockname()[1]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self._listener.settimeout(5)
        try:
            conn, _ = self._listener.accept()
        except OSError:
            return
        with conn:
            while not self._stop.is_set():
                ready, _, _ = select.select([conn, self._pty], [], [], 0.05)
                if conn in ready:
                    data = conn.recv(4096)
                    if not data:
                        return
                    os.write(self._pty, data)
                if self._pty in ready:
                    conn.sendall(os.read(self._pty, 4096))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()
        os.close(self._pty)


def upload_device(request: bytes) -> bytes:
    """An image group that keeps nothing: acknowledges each chunk at its end."""
    body = cbor2.loads(request[8:])
    offset = body.get("off", 0) + len(body.get("data", b""))
    return framing.encode(reply_message(request, {"rc": 0, "off": offset}))
