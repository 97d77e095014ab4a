"""A fake SMP device on a real pseudo-terminal, answering with whatever a test scripts.

Used only where the real firmware cannot be made to misbehave: malformed and hostile
replies (the real devices in tests/fixtures/firmware.py answer correctly).
"""

from __future__ import annotations

import struct
import threading
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
