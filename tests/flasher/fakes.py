"""A small in-memory DeviceBehaviour for protocol-only tests.

It stands for the device helper's `flasher.loader.device.VirtualDevice` where only the wire
protocol is under test (framing, windows, retries, resume); the end-to-end tests use the
real virtual device. It verifies nothing cryptographic: its "envelope" is any bytes, and
its plan comes from the test.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from flasher.errors import RefusalReason, UpdateRefused
from flasher.loader.serve import PseudoTerminal
from flasher.loader.server import RecoveryServer, ServerConfig
from flasher.messages import (
    ComponentStatus,
    DeviceIdentity,
    DeviceStatus,
    PayloadRequest,
    UpdateRecord,
    UpdateResult,
)

IDENTITY = DeviceIdentity(b"V" * 16, b"C" * 16, b"device-0001")


@dataclass
class FakeDevice:
    """Payloads stored in memory; `refuse` makes begin_update refuse with that reason."""

    payloads: dict[str, bytes] = field(default_factory=dict)  # uri -> expected bytes
    refuse: RefusalReason | None = None
    write_delay: float = 0.0
    stored: dict[str, bytearray] = field(default_factory=dict)
    installed: dict[str, bytes] = field(default_factory=dict)
    envelopes: list[bytes] = field(default_factory=list)
    sequence_number: int = 0
    last: UpdateRecord | None = None
    slot_limit: int | None = None  # refuse writes beyond this many bytes
    writes: int = 0
    aborted: int = 0
    resumed_at: list[int] = field(default_factory=list)  # `received` of resumed begins

    def identity(self) -> DeviceIdentity:
        return IDENTITY

    def status(self) -> DeviceStatus:
        comps = tuple(ComponentStatus((uri.encode(),), self.sequence_number,
                                      hashlib.sha256(data).digest(), len(data), 0)
                      for uri, data in self.installed.items())
        return DeviceStatus(IDENTITY, comps, {"a": "active", "b": "empty"}, self.last)

    def begin_update(self, envelope: bytes) -> list[PayloadRequest]:
        if self.refuse is not None:
            self.last = UpdateRecord(self.refuse, "refused by the fake", None, None, 0)
            raise UpdateRefused(self.refuse, "refused by the fake")
        if not self.envelopes or self.envelopes[-1] != envelope:
            self.stored = {uri: bytearray() for uri in self.payloads}
        else:
            self.resumed_at.extend(len(b) for b in self.stored.values())
        self.envelopes.append(envelope)
        return [PayloadRequest(uri, len(data), len(self.stored[uri]))
                for uri, data in self.payloads.items()]

    def write_payload(self, uri: str, offset: int, data: bytes) -> None:
        buffer = self.stored[uri]
        if offset != len(buffer):
            raise UpdateRefused(RefusalReason.OPERATION_FAILED, f"offset {offset} != {len(buffer)}")
        self.writes += 1
        if offset + len(data) > min(len(self.payloads[uri]), self.slot_limit or 1 << 62):
            raise UpdateRefused(RefusalReason.TOO_LARGE, "payload larger than its slot")
        if self.write_delay:
            time.sleep(self.write_delay)
        buffer += data

    def finish_update(self) -> UpdateResult:
        for uri, expected in self.payloads.items():
            if bytes(self.stored[uri]) != expected:
                raise UpdateRefused(RefusalReason.PAYLOAD_DIGEST_MISMATCH, uri)
        self.installed = {uri: bytes(b) for uri, b in self.stored.items()}
        self.sequence_number += 1
        digest = hashlib.sha256(self.envelopes[-1]).digest()
        self.last = UpdateRecord(RefusalReason.OK, "installed", self.sequence_number, digest, 0)
        return UpdateResult(self.sequence_number, digest, self.status().components)

    def last_report(self) -> bytes | None:
        return None  # a fake without a manifest processor has nothing to report

    def abort_update(self) -> None:
        self.aborted += 1
        self.stored = {uri: bytearray() for uri in self.payloads}


@contextmanager
def served_on_pty(device: object, config: ServerConfig | None = None) -> Iterator[str]:
    """Serve `device` on a new pseudo-terminal in a thread; yield the path the host opens."""
    pty = PseudoTerminal()
    stop = threading.Event()
    server = RecoveryServer(pty.transport, device, config or ServerConfig())  # type: ignore[arg-type]
    thread = threading.Thread(target=server.serve, args=(stop,), daemon=True)
    thread.start()
    try:
        yield pty.path
    finally:
        stop.set()
        thread.join(timeout=5)
        pty.close()
