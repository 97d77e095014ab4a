"""Device profiles: what the station knows about SMP devices that do not speak SUIT (issue 13).

An MCUboot device reports its board, hardware and bootloader over SMP, never a SUIT vendor
or class id, and it trusts no SUIT key. A profile file says, for each kind of device, which
vendor and class ids it is, which keys may sign its releases, how large its slot is, and
which field of the installed MCUboot image's version holds the SUIT sequence number (the
rollback rule). The station checks an envelope against this before uploading a byte
(`workbench.smp_checks`). Format: docs/smp.md, "Device profiles".
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from fileio import FileAccessError, read_limited
from fileio.toml import read_toml_file
from flasher.smp.operations import DeviceInfo
from suit.errors import ManifestError, WorkbenchError
from suit.keys import TrustAnchor

logger = logging.getLogger(__name__)

MAX_PROFILE: Final = 256 * 1024
MAX_ANCHOR: Final = 64 * 1024
#: Where in an MCUboot version (``major.minor.revision+build``) the SUIT sequence number
#: lives for the rollback rule; "none" turns the station's rollback check off.
ROLLBACK_FIELDS: Final = ("major", "minor", "revision", "build", "none")
#: What a device reports that a profile entry may match on.
MATCH_KEYS: Final = ("mode", "bootloader", "os-info")
_KEYS: Final = frozenset({"name", "match", "vendor-id", "class-id", "trust-anchors",
                          "slot-size", "rollback"})


class DeviceProfileError(WorkbenchError):
    """A device profile file that cannot be read or says something invalid (exit status 2).

    Attributes:
        where: The file and member, like ``profile.toml: device[0].class-id``.
        problem: What is wrong.
    """

    exit_status = 2
    default_hint = "See docs/smp.md, \"Device profiles\"."

    def __init__(self, where: str, problem: str, *, hint: str | None = None) -> None:
        super().__init__(f"{where}: {problem}", hint=hint)
        self.where = where
        self.problem = problem


class NoProfileMatches(WorkbenchError):
    """No entry of the profile describes the device on the port (checked and refused)."""

    exit_status = 1
    default_hint = "Add a [[device]] entry whose match table fits what the device reports."


@dataclass(frozen=True)
class DeviceKind:
    """One ``[[device]]`` entry: a kind of SMP device as the station sees it.

    Attributes:
        name: For messages and records.
        match: Reported value each key must contain (case-insensitive); empty matches all.
        vendor_id, class_id: The SUIT identities the device has (M37 §8.4.8.3-8.4.8.4).
        trust_anchors: Keys whose signatures the station accepts for this device.
        slot_size: Bytes of the slot an image is uploaded into.
        rollback: Which version field holds the sequence number, or ``none``.
    """

    name: str
    match: Mapping[str, str]
    vendor_id: uuid.UUID
    class_id: uuid.UUID
    trust_anchors: tuple[TrustAnchor, ...]
    slot_size: int
    rollback: str

    def matches(self, info: DeviceInfo) -> bool:
        """Whether every match key's value is part of what the device reports."""
        reported = {"mode": info.mode, "bootloader": info.bootloader, "os-info": info.os_info}
        return all(wanted.lower() in (reported[key] or "").lower()
                   for key, wanted in self.match.items())


@dataclass(frozen=True)
class DeviceProfile:
    """A profile file: its device kinds, tried in order."""

    path: Path
    kinds: tuple[DeviceKind, ...]

    def kind_for(self, info: DeviceInfo) -> DeviceKind:
        """The first kind matching `info`; NoProfileMatches if none does."""
        for kind in self.kinds:
            if kind.matches(info):
                return kind
        raise NoProfileMatches(f"{info.port}: no entry of {self.path} matches this device "
                               f"(mode {info.mode!r}, bootloader {info.bootloader!r}, "
                               f"os info {info.os_info!r})")


def load_profile(path: Path) -> DeviceProfile:
    """Read and check the profile at `path`; trust anchor paths are relative to its folder.

    Raises:
        DeviceProfileError: unreadable, not TOML, or a member invalid (named by TOML path).
    """
    table = read_toml_file(path, MAX_PROFILE, DeviceProfileError)
    entries = table.get("device")
    if not isinstance(entries, list) or not entries or set(table) - {"device"}:
        raise DeviceProfileError(str(path), "expected one or more [[device]] tables and "
                                            "nothing else")
    kinds = tuple(_kind(entry, f"{path}: device[{i}]", path.parent)
                  for i, entry in enumerate(entries))
    return DeviceProfile(path, kinds)


def _kind(entry: Any, where: str, folder: Path) -> DeviceKind:
    if not isinstance(entry, dict):
        raise DeviceProfileError(where, "not a table")
    unknown = set(entry) - _KEYS
    if unknown:
        raise DeviceProfileError(f"{where}.{sorted(unknown)[0]}", "unknown key",
                                 hint="Known keys: " + ", ".join(sorted(_KEYS)) + ".")
    rollback = _text(entry, "rollback", where, default="revision")
    if rollback not in ROLLBACK_FIELDS:
        raise DeviceProfileError(f"{where}.rollback", f"unknown rule {rollback!r}",
                                 hint="Use one of " + ", ".join(ROLLBACK_FIELDS) + ".")
    return DeviceKind(
        name=_text(entry, "name", where, default=where.rsplit(": ", 1)[-1]),
        match=_match(entry.get("match", {}), f"{where}.match"),
        vendor_id=_uuid(entry, "vendor-id", where), class_id=_uuid(entry, "class-id", where),
        trust_anchors=_anchors(entry.get("trust-anchors"), f"{where}.trust-anchors", folder),
        slot_size=_slot_size(entry.get("slot-size"), f"{where}.slot-size"), rollback=rollback)


def _text(entry: Mapping[str, Any], key: str, where: str, *, default: str | None = None) -> str:
    value = entry.get(key, default)
    if not isinstance(value, str) or not value:
        raise DeviceProfileError(f"{where}.{key}", "expected a non-empty string"
                                 if key in entry else "missing")
    return value


def _match(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise DeviceProfileError(where, "expected a table")
    for key, wanted in value.items():
        if key not in MATCH_KEYS:
            raise DeviceProfileError(f"{where}.{key}", "unknown key",
                                     hint="Match on " + ", ".join(MATCH_KEYS) + ".")
        if not isinstance(wanted, str):
            raise DeviceProfileError(f"{where}.{key}", "expected a string")
    return dict(value)


def _uuid(entry: Mapping[str, Any], key: str, where: str) -> uuid.UUID:
    text = _text(entry, key, where)
    try:
        return uuid.UUID(text)
    except ValueError:
        raise DeviceProfileError(f"{where}.{key}", f"not a UUID: {text!r}",
                                 hint="`suitwb new` prints the project's vendor and class "
                                      "ids.") from None


def _slot_size(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 1 << 32:
        raise DeviceProfileError(where, "expected a positive number of bytes (like 0x80000)")
    return value


def _anchors(value: Any, where: str, folder: Path) -> tuple[TrustAnchor, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise DeviceProfileError(where, "expected a non-empty list of PEM file paths")
    return tuple(_anchor(folder / name, f"{where}[{i}]") for i, name in enumerate(value))


def _anchor(path: Path, where: str) -> TrustAnchor:
    try:
        return TrustAnchor.load(read_limited(path, MAX_ANCHOR, regular_only=True), str(path))
    except FileAccessError as exc:
        raise DeviceProfileError(where, exc.problem, hint=exc.hint) from exc
    except ManifestError as exc:
        raise DeviceProfileError(where, f"{path}: not a public key ({exc})") from exc

