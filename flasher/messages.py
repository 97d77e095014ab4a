"""The messages the recovery protocol carries, shared by the host and the device side.

The host (flasher/protocol.py, session.py, operations.py) and the reference loader
(flasher/loader/) both speak in these types; they live here so the host never imports the
device side (an import-linter contract in pyproject.toml keeps it so).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flasher.errors import RefusalReason


@dataclass(frozen=True)
class DeviceIdentity:
    """Who the device is: SUIT vendor and class ids (16-byte UUIDs) and its own id."""

    vendor_id: bytes
    class_id: bytes
    device_id: bytes


@dataclass(frozen=True)
class ComponentStatus:
    """One installed component as the status tracker reports it.

    `path` and `mode` are set for a file component of a Linux-class loader: its path
    under the loader's root and its permission bits (0..0o7777).
    """

    component_id: tuple[bytes, ...]
    sequence_number: int
    digest: bytes | None  # SHA-256 of the installed image, None if empty
    size: int
    active_slot: int | None = None
    path: str | None = None
    mode: int | None = None  # permission bits, like 0o755


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


__all__ = ["ComponentStatus", "DeviceIdentity", "DeviceStatus", "PayloadRequest",
           "RefusalReason", "UpdateRecord", "UpdateResult"]
