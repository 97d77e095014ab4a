"""The seam between the recovery protocol's device-side server and the simulated device.

The protocol server (flasher/loader/server.py) speaks the wire protocol and calls a
`DeviceBehaviour`; the virtual device (flasher/loader/device.py) implements it over the SUIT
manifest processor and a simulated flash. Manifest first (RFC 9019 §3, Figures 2 and 3):
`begin_update` verifies everything it can before a single payload byte is requested.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from flasher.errors import RefusalReason


@dataclass(frozen=True)
class DeviceIdentity:
    """Who the device is: SUIT vendor and class ids (16-byte UUIDs) and its own id."""

    vendor_id: bytes
    class_id: bytes
    device_id: bytes


@dataclass(frozen=True)
class ComponentStatus:
    """One installed component as the status tracker reports it."""

    component_id: tuple[bytes, ...]
    sequence_number: int
    digest: bytes | None  # SHA-256 of the installed image, None if empty
    size: int
    active_slot: int | None = None


@dataclass(frozen=True)
class UpdateRecord:
    """The last update's outcome, in the manner of a SUIT report record."""

    result: RefusalReason  # OK on success
    detail: str
    sequence_number: int | None
    manifest_digest: bytes | None
    time: int  # seconds since the epoch


@dataclass(frozen=True)
class DeviceStatus:
    """Everything `suitwb device status` shows."""

    identity: DeviceIdentity
    components: tuple[ComponentStatus, ...]
    slots: dict[str, str] = field(default_factory=dict)  # slot name -> state ("active", "candidate", "empty", ...)
    last_result: UpdateRecord | None = None


@dataclass(frozen=True)
class PayloadRequest:
    """A payload the device wants from the host (the host plays the firmware server).

    Attributes:
        uri: The URI from the manifest's fetch directive.
        size: The size the manifest states (image-size), the number of bytes to send.
        received: Bytes already durably stored (non-zero when resuming).
    """

    uri: str
    size: int
    received: int = 0


@dataclass(frozen=True)
class UpdateResult:
    """The outcome of a completed update."""

    sequence_number: int
    manifest_digest: bytes
    components: tuple[ComponentStatus, ...]


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


__all__ = ["ComponentStatus", "DeviceBehaviour", "DeviceIdentity", "DeviceStatus",
           "PayloadRequest", "RefusalReason", "UpdateRecord", "UpdateResult"]
