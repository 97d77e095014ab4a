"""Hostile peers for the wire tests: mutated CBOR bodies and a scripted fake device.

`ScriptedDevice` is a minimal, well-behaved device on a real pseudo-terminal whose reply to
any request can be replaced by the test (a broken or hostile device); it stands for a
firmware loader we do not control, which the real virtual device never imitates.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import cbor2

from flasher import protocol
from flasher.errors import ProtocolErrorCode, RefusalReason
from flasher.framing import FrameDecoder, encode_frame
from flasher.loader.serve import PseudoTerminal
from flasher.messages import (
    ComponentStatus,
    DeviceIdentity,
    DeviceStatus,
    PayloadRequest,
    UpdateRecord,
    UpdateResult,
)
from flasher.protocol import Hello, MessageType
from suit.model import Digest, DigestAlgorithm
from suit.report import Record, Report
from suit.report_capabilities import CapabilityReport, ComponentCapability

IDENTITY = DeviceIdentity(b"V" * 16, b"C" * 16, b"fake-1")
COMPONENT = ComponentStatus((b"\x00",), 3, b"\x11" * 32, 1024, 0)
#: A file component of a Linux-class loader: the status reply's optional path and mode.
FILE_COMPONENT = ComponentStatus((b"fs", b"usr/bin/app"), 3, b"\x44" * 32, 10, None,
                                 path="usr/bin/app", mode=0o755)
PAYLOAD_URI = "http://example.com/p.bin"
PAYLOAD = bytes(range(256)) * 8

#: Values that break a field's schema: wrong types, floats, NaN, out of range, tags.
HOSTILE_VALUES: tuple[Any, ...] = (
    "text", b"bytes", math.nan, math.inf, 1.5, -1, 2**32, 2**64, 2**70, -(2**70), True, False,
    None, [], {}, [1, 2], {"a": 1}, cbor2.CBORTag(2, b"\x01" * 9), cbor2.CBORTag(0, "2020"),
    cbor2.CBORTag(55799, 1), "x" * 5000, b"\x00" * 5000, "line\n\x1b[2Jforged", list(range(300)),
    {str(i): "s" for i in range(100)},
)


def valid_replies() -> dict[MessageType, bytes]:
    """A valid body for each reply type a host decodes."""
    record = UpdateRecord(RefusalReason.OK, "installed", 3, b"\x22" * 32, 1_700_000_000)
    return {
        MessageType.HELLO_ACK: protocol.encode_hello(Hello(1, 256, 4, 1 << 20, IDENTITY)),
        MessageType.STATUS_REPLY: protocol.encode_status(
            DeviceStatus(IDENTITY, (COMPONENT, FILE_COMPONENT), {"app/A": "active"}, record)),
        MessageType.READY: protocol.dumps({"have": 0}),
        MessageType.PLAN: protocol.encode_plan([PayloadRequest(PAYLOAD_URI, len(PAYLOAD))]),
        MessageType.DONE: protocol.encode_result(UpdateResult(4, b"\x33" * 32, (COMPONENT,))),
        MessageType.OK: b"",
        MessageType.REFUSED: protocol.encode_refusal(RefusalReason.ROLLBACK, "too old"),
        MessageType.ERROR: protocol.encode_error(ProtocolErrorCode.BAD_STATE, "not now"),
        MessageType.ACK: protocol.encode_ack(1, 512),
        MessageType.NAK: protocol.encode_ack(1, 0),
        MessageType.REPORT_REPLY: protocol.encode_report(Report(
            "http://example.com/m.suit", Digest(DigestAlgorithm.SHA256, b"\x33" * 32),
            (Record((0,), 9, 3, 0, {5: b"\x01"}),), nonce=b"\x55" * 16).encode()),
        MessageType.CAPABILITIES_REPLY: protocol.encode_capabilities(cbor2.dumps(
            CapabilityReport((ComponentCapability((b"fs",), True),), (1, 2, 3), (1, 2),
                             (-7, -16)).value())),
    }


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place inside a decoded body a value can be swapped."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield prefix + (key,)
            yield from _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield prefix + (index,)
            yield from _paths(item, prefix + (index,))


def _replace(value: Any, path: tuple[Any, ...], new: Any, delete: bool) -> None:
    for step in path[:-1]:
        value = value[step]
    if delete and isinstance(value, dict):
        del value[path[-1]]
    else:
        value[path[-1]] = new


def mutate(body: bytes, rng: random.Random) -> bytes:
    """A broken variant of a valid body: a field swapped or deleted, bytes flipped, cut,
    spliced, or random bytes."""
    choice = rng.randrange(6)
    if choice <= 2 and body and body[0] >> 5 == 5:  # a CBOR map: swap or drop a field
        tree = cbor2.loads(body)
        paths = list(_paths(tree))
        if paths:
            _replace(tree, rng.choice(paths), rng.choice(HOSTILE_VALUES), choice == 2)
            return cbor2.dumps(tree)
    if choice == 3 and body:
        data = bytearray(body)
        for _ in range(rng.randrange(1, 4)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        return bytes(data)
    if choice == 4 and body:
        cut = rng.randrange(len(body))
        return body[:cut] + bytes(rng.randrange(256) for _ in range(rng.randrange(3)))
    return bytes(rng.randrange(256) for _ in range(rng.randrange(0, 64)))


@dataclass
class ScriptedDevice:
    """A fake device on a pty: valid answers, except the bodies in `override` (by the
    reply type they replace), and `replace_kind` (request type -> reply type to send)."""

    override: dict[MessageType, bytes] = field(default_factory=dict)
    replace_kind: dict[MessageType, MessageType] = field(default_factory=dict)
    pty: PseudoTerminal = field(default_factory=PseudoTerminal)
    _stop: threading.Event = field(default_factory=threading.Event)

    def script(self, override: dict[MessageType, bytes],
               replace_kind: dict[MessageType, MessageType] | None = None) -> None:
        """Change what the device answers from now on."""
        self.override, self.replace_kind = override, replace_kind or {}

    def _reply(self, kind: MessageType, body: bytes) -> tuple[MessageType, bytes]:
        normal = {MessageType.HELLO: MessageType.HELLO_ACK,
                  MessageType.STATUS: MessageType.STATUS_REPLY,
                  MessageType.BEGIN: MessageType.READY, MessageType.VERIFY: MessageType.PLAN,
                  MessageType.FINISH: MessageType.DONE, MessageType.REPORT: MessageType.REPORT_REPLY,
                  MessageType.CAPABILITIES: MessageType.CAPABILITIES_REPLY,
                  }.get(kind, MessageType.OK)
        reply = self.replace_kind.get(kind, normal)
        return reply, self.override.get(reply, valid_replies()[reply])

    def _answer_data(self, body: bytes) -> tuple[MessageType, bytes]:
        stream, offset, chunk = protocol.decode_data(body)
        default = protocol.encode_ack(stream, offset + len(chunk))
        return MessageType.ACK, self.override.get(MessageType.ACK, default)

    def _serve(self) -> None:
        decoder = FrameDecoder(max_body=1 << 16)
        transport = self.pty.transport
        while not self._stop.is_set():
            for frame in decoder.feed(transport.read(65536, 0.02)):
                kind = MessageType(frame.kind)
                if kind == MessageType.DATA:
                    reply, body = self._answer_data(frame.body)
                else:
                    reply, body = self._reply(kind, frame.body)
                transport.write(encode_frame(reply, frame.seq, body))

    @contextmanager
    def running(self) -> Iterator[str]:
        """Serve in a thread; yield the path the host opens."""
        thread = threading.Thread(target=self._serve, daemon=True, name="scripted-device")
        thread.start()
        try:
            yield self.pty.path
        finally:
            self._stop.set()
            thread.join(timeout=5)
            self.pty.close()

