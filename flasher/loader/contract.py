"""The seam between the recovery protocol's device-side server and the simulated device.

The protocol server (flasher/loader/server.py) speaks the wire protocol and calls a
`DeviceBehaviour`; the virtual device (flasher/loader/device.py) implements it over the SUIT
manifest processor and a simulated flash. Manifest first (RFC 9019 §3, Figures 2 and 3):
`begin_update` verifies everything it can before a single payload byte is requested.
"""

from __future__ import annotations

from typing import Protocol

# Re-exported: the message types live in flasher/messages.py, shared with the host.
from flasher.messages import (
    ComponentStatus,
    DeviceIdentity,
    DeviceStatus,
    PayloadRequest,
    RefusalReason,
    UpdateRecord,
    UpdateResult,
)


class DeviceBehaviour(Protocol):
    """What the protocol server needs from a device. Errors are `UpdateRefused`."""

    def identity(self) -> DeviceIdentity: ...

    def status(self) -> DeviceStatus: ...

    def begin_update(self, envelope: bytes) -> list[PayloadRequest]:
        """Verify the envelope (authentication, vendor/class, sequence number, capacity) and
        return the payloads to fetch; raise `UpdateRefused` before any payload is asked for.
        Beginning the same envelope again resumes: `received` says how much is stored."""
        ...

    def write_payload(self, uri: str, offset: int, data: bytes) -> None:
        """Store payload bytes at `offset` (strictly sequential per uri)."""
        ...

    def finish_update(self) -> UpdateResult:
        """Check digests, install, switch slots, persist the sequence number."""
        ...

    def abort_update(self) -> None: ...

    def last_report(self, nonce: bytes | None) -> bytes | None:
        """The SUIT report of the last update attempt (REPORT, docs/recovery-protocol.md),
        carrying `nonce` when the host sent one; None when there is none."""
        ...

    def capabilities(self) -> bytes:
        """The encoded SUIT_Capability_Report: what this device can process (CAPABILITIES)."""
        ...


__all__ = ["ComponentStatus", "DeviceBehaviour", "DeviceIdentity", "DeviceStatus",
           "PayloadRequest", "RefusalReason", "UpdateRecord", "UpdateResult"]
