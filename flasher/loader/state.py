"""The device's persistent state, kept in two copies with a generation counter.

What persists (besides the flash contents): the trust anchors, the sequence number per
component (anti-rollback, M37 §8.4.2), the slot table (which installation is active,
which is a candidate waiting for the bootloader, which is the fallback), the envelopes
those installations came from (the bootloader re-verifies them, RFC 9019 §4.1), the
progress of an update in flight (for resuming), the last update's result, and the SUIT
report of the last attempt (unsigned: the device signs it when the host asks, with the
host's nonce), saved in the same write as the result it reports.

Atomicity: each save writes the *other* copy with generation + 1, and each copy ends with
a SHA-256 over everything before it. A save torn by a power cut leaves a copy whose hash
does not match; loading takes the valid copy with the highest generation, which is the
state before the interrupted save. So every save is all or nothing.
"""

from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

import cbor2

from flasher.errors import FlasherError
from flasher.loader.flash import PowerCut, PowerSwitch
from flasher.loader.layout import ComponentId

MAGIC: Final = b"SWBS"
FORMAT: Final = 1
_HEADER: Final = struct.Struct(">4sIQI")  # magic, format, generation, payload length
COPIES: Final = ("state.0", "state.1")


class StateCorrupt(FlasherError):
    """Neither copy of the persistent state is readable (both torn or edited by hand).

    Attributes:
        directory: The state directory.
    """

    def __init__(self, directory: Path) -> None:
        super().__init__(f"{directory}: no valid copy of the device state",
                         hint="Remove the state directory to start from a blank device.")
        self.directory = directory


@dataclass(frozen=True)
class ImageRecord:
    """One image of an installation: where it is and what it must hash to."""

    component_id: ComponentId
    slot: int
    size: int
    digest: bytes  # SHA-256 of the slot's first `size` bytes


@dataclass(frozen=True)
class Installation:
    """A set of images installed by one manifest; boots or falls back as a whole."""

    manifest_digest: bytes
    sequence_number: int
    images: tuple[ImageRecord, ...]


@dataclass(frozen=True)
class PayloadProgress:
    """A payload being received: where it goes and how much is durably stored."""

    uri: str
    component_id: ComponentId
    slot: int
    size: int
    received: int = 0


@dataclass(frozen=True)
class UpdateInFlight:
    """An update between begin and finish (survives a reset, so it can resume)."""

    manifest_digest: bytes
    sequence_number: int
    payloads: tuple[PayloadProgress, ...]


@dataclass(frozen=True)
class ResultRecord:
    """The last update's outcome (a SUIT-report-style record, RP §4)."""

    result: int  # a RefusalReason value; 0 = OK
    detail: str
    sequence_number: int | None
    manifest_digest: bytes | None
    time: int
    section: str | None = None  # where a condition failed, when one did
    offset: int | None = None
    component_index: int | None = None


@dataclass(frozen=True)
class FileRecord:
    """A file component as installed under the loader's root (docs/loader.md, *Installing
    files*): its path relative to the root, and what was written."""

    path: str
    size: int
    digest: bytes  # SHA-256 of the file's bytes
    mode: int  # permission bits applied (0..0o7777)


@dataclass(frozen=True)
class FileAction:
    """One change to the file tree an update commits to: ``install`` renames the fsynced
    temporary file next to `path` into place, ``unlink`` removes `path`, ``mkdir``
    creates the directory. Each is idempotent, so a journal can be replayed after a cut."""

    kind: str
    component_id: ComponentId
    path: str
    record: FileRecord | None = None  # what an install leaves (None for unlink)


@dataclass(frozen=True)
class FileJournal:
    """The file changes of a committed update, until they are all applied."""

    sequence_number: int
    actions: tuple[FileAction, ...]


@dataclass(frozen=True)
class DeviceState:
    """Everything the device keeps across resets (except the flash contents)."""

    trust_anchors: tuple[bytes, ...] = ()
    sequence_numbers: dict[ComponentId, int] = field(default_factory=dict)
    active: Installation | None = None
    pending: Installation | None = None
    fallback: Installation | None = None
    envelopes: dict[bytes, bytes] = field(default_factory=dict)  # manifest digest -> envelope
    update: UpdateInFlight | None = None
    last_result: ResultRecord | None = None
    boot_count: int = 0
    device_id: bytes = b""  # chosen at first start when the configuration gives none
    retired_anchors: tuple[bytes, ...] = ()  # rotated out: verify old images at boot only
    anchors_rotated: bool = False  # once rotated, start-up anchors are no longer added
    last_report: bytes | None = None  # the last attempt's SUIT_Report (encoded, unsigned)
    files: dict[ComponentId, FileRecord] = field(default_factory=dict)  # under --root
    file_journal: FileJournal | None = None  # committed file changes not yet all applied
    generation: int = 0

    def referenced_envelopes(self) -> dict[bytes, bytes]:
        """Only the envelopes an installation or the update in flight still needs."""
        wanted = {inst.manifest_digest for inst in (self.active, self.pending, self.fallback)
                  if inst is not None}
        if self.update is not None:
            wanted.add(self.update.manifest_digest)
        return {digest: env for digest, env in self.envelopes.items() if digest in wanted}


class StateStore:
    """Reads and writes the two copies in `directory`; every save is one write step.

    Args:
        directory: The device's state directory (``--state``).
        power: Counts write steps and injects power cuts.
    """

    def __init__(self, directory: Path, power: PowerSwitch) -> None:
        self.directory = directory
        self.power = power
        directory.mkdir(parents=True, exist_ok=True)

    def exists(self) -> bool:
        """Whether any copy has been written (a device that has been initialised)."""
        return any((self.directory / name).exists() for name in COPIES)

    def load(self) -> DeviceState:
        """The newest valid copy.

        Raises:
            StateCorrupt: Copies exist but none is valid.
        """
        found = [state for state in map(self._read_copy, COPIES) if state is not None]
        if not found:
            raise StateCorrupt(self.directory)
        return max(found, key=lambda state: state.generation)

    def save(self, state: DeviceState, kind: str) -> DeviceState:
        """Write `state` as the next generation into the older copy; return what was saved.

        `kind` names the step for fault injection (``slot-switch``, ``sequence-number``...).
        """
        saved = replace(state, generation=state.generation + 1,
                        envelopes=state.referenced_envelopes())
        payload = cbor2.dumps(_to_plain(saved), canonical=True)
        header = _HEADER.pack(MAGIC, FORMAT, saved.generation, len(payload))
        body = header + payload
        record = body + hashlib.sha256(body).digest()
        path = self.directory / COPIES[saved.generation % 2]
        cut = self.power.step(kind, f"{path.name} generation {saved.generation}")
        if cut is not None:
            _write(path, record[: len(record) // 2])  # a torn save
            raise PowerCut(cut)
        _write(path, record)
        return saved

    def _read_copy(self, name: str) -> DeviceState | None:
        try:
            record = (self.directory / name).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise FlasherError(f"{self.directory / name}: {exc.strerror}") from exc
        return _parse_record(record)


def _write(path: Path, data: bytes) -> None:
    # In place, on purpose: the two copies are what makes a save atomic, as on flash.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def _parse_record(record: bytes) -> DeviceState | None:
    """The state in one copy, or None if it is torn, foreign or damaged."""
    if len(record) < _HEADER.size + 32:
        return None
    magic, version, generation, length = _HEADER.unpack_from(record)
    body_end = _HEADER.size + length
    if magic != MAGIC or version != FORMAT or len(record) != body_end + 32:
        return None
    if hashlib.sha256(record[:body_end]).digest() != record[body_end:]:
        return None
    try:
        plain = cbor2.loads(record[_HEADER.size:body_end])
        return replace(_from_plain(plain), generation=generation)
    except (cbor2.CBORError, KeyError, TypeError, ValueError, IndexError):
        return None  # hash matched but the content is not ours: treat as damaged


# -- plain CBOR form (component ids become lists, so maps keyed by them become pairs) -----

def _to_plain(state: DeviceState) -> dict[str, Any]:
    return {
        "anchors": list(state.trust_anchors),
        "seq": [[list(cid), number] for cid, number in state.sequence_numbers.items()],
        "active": _installation_out(state.active),
        "pending": _installation_out(state.pending),
        "fallback": _installation_out(state.fallback),
        "envelopes": [[digest, env] for digest, env in state.envelopes.items()],
        "update": _update_out(state.update),
        "last": None if state.last_result is None else list(_result_fields(state.last_result)),
        "boots": state.boot_count,
        "device": state.device_id,
        "retired": list(state.retired_anchors),
        "rotated": state.anchors_rotated,
        "report": state.last_report,
        "files": [[list(cid), _file_record_out(r)] for cid, r in state.files.items()],
        "journal": _journal_out(state.file_journal),
    }


def _from_plain(plain: dict[str, Any]) -> DeviceState:
    last = plain["last"]
    return DeviceState(
        trust_anchors=tuple(plain["anchors"]),
        sequence_numbers={tuple(cid): number for cid, number in plain["seq"]},
        active=_installation_in(plain["active"]),
        pending=_installation_in(plain["pending"]),
        fallback=_installation_in(plain["fallback"]),
        envelopes={digest: env for digest, env in plain["envelopes"]},
        update=_update_in(plain["update"]),
        last_result=None if last is None else ResultRecord(*last),
        boot_count=plain["boots"],
        device_id=plain["device"],
        retired_anchors=tuple(plain["retired"]),
        anchors_rotated=plain["rotated"],
        last_report=_report_in(plain.get("report")),
        # Absent in states written before file components existed.
        files={tuple(cid): _file_record_in(r) for cid, r in plain.get("files", [])},
        file_journal=_journal_in(plain.get("journal")),
    )


def _report_in(plain: Any) -> bytes | None:
    # Absent (None) in state written before reports were kept; bytes otherwise.
    if plain is not None and type(plain) is not bytes:
        raise ValueError("the stored report is not a byte string")
    return plain


def _result_fields(result: ResultRecord) -> tuple[Any, ...]:
    return (result.result, result.detail, result.sequence_number, result.manifest_digest,
            result.time, result.section, result.offset, result.component_index)


def _installation_out(inst: Installation | None) -> list[Any] | None:
    if inst is None:
        return None
    images = [[list(img.component_id), img.slot, img.size, img.digest] for img in inst.images]
    return [inst.manifest_digest, inst.sequence_number, images]


def _installation_in(plain: list[Any] | None) -> Installation | None:
    if plain is None:
        return None
    digest, number, images = plain
    return Installation(digest, number, tuple(
        ImageRecord(tuple(cid), slot, size, image_digest)
        for cid, slot, size, image_digest in images))


def _update_out(update: UpdateInFlight | None) -> list[Any] | None:
    if update is None:
        return None
    payloads = [[p.uri, list(p.component_id), p.slot, p.size, p.received]
                for p in update.payloads]
    return [update.manifest_digest, update.sequence_number, payloads]


def _update_in(plain: list[Any] | None) -> UpdateInFlight | None:
    if plain is None:
        return None
    digest, number, payloads = plain
    return UpdateInFlight(digest, number, tuple(
        PayloadProgress(uri, tuple(cid), slot, size, received)
        for uri, cid, slot, size, received in payloads))


def _file_record_out(record: FileRecord) -> list[Any]:
    return [record.path, record.size, record.digest, record.mode]


def _file_record_in(plain: list[Any]) -> FileRecord:
    path, size, digest, mode = plain
    return FileRecord(path, size, digest, mode)


def _journal_out(journal: FileJournal | None) -> list[Any] | None:
    if journal is None:
        return None
    return [journal.sequence_number, [
        [a.kind, list(a.component_id), a.path,
         None if a.record is None else _file_record_out(a.record)] for a in journal.actions]]


def _journal_in(plain: list[Any] | None) -> FileJournal | None:
    if plain is None:
        return None
    number, actions = plain
    return FileJournal(number, tuple(
        FileAction(kind, tuple(cid), path, None if record is None else _file_record_in(record))
        for kind, cid, path, record in actions))
