"""The simulated device's `ComponentStore`: the processor's effects, carried out on flash.

One `FlashStore` serves one run of the processor, in one of three modes:

- ``plan`` (begin_update, before any payload byte): nothing is written; fetches are
  recorded and checked against the slot's capacity; digests of components this update
  fills answer `DIGEST_PENDING`.
- ``install`` (finish_update): payloads received are already in their slots; integrated
  payloads, write, copy and swap are carried out.
- ``boot`` (the bootloader's Invocation procedure): reads the installation's slots;
  only scratch components may be written (load).

Every write goes through `_writable_region`, which refuses the slot that is active:
whatever a manifest says, an update never writes the image that boots.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field
from typing import Final

from flasher.errors import RefusalReason, UpdateRefused
from flasher.loader.flash import SimulatedFlash
from flasher.loader.layout import TRUST_ANCHOR_COMPONENT, ComponentId, Layout, Partition
from flasher.loader.state import FileAction
from suit import digest as digests
from suit.errors import ManifestError, TrustAnchorError
from suit.keys import TrustAnchor
from suit.processor import DIGEST_PENDING, DeviceFacts, DigestPending, FetchRequest

PLAN: Final = "plan"
INSTALL: Final = "install"
BOOT: Final = "boot"


@dataclass(frozen=True)
class PlannedFetch:
    """A remote payload the update needs, and where it goes."""

    uri: str
    component_id: ComponentId
    slot: int
    size: int


@dataclass
class StoreContext:
    """What one run of the processor may see and touch.

    Attributes:
        mode: ``plan``, ``install`` or ``boot``.
        slots: For each A/B component, the slot this run reads and writes.
        active: For each A/B component, the slot that boots (never written).
        sizes: Known image sizes per component (from the installation records).
        received: Remote payloads stored so far: uri -> bytes received.
        identity: (vendor id, class id, device id).
    """

    mode: str
    slots: dict[ComponentId, int]
    active: dict[ComponentId, int]
    sizes: dict[ComponentId, int]
    received: dict[str, int]
    identity: tuple[bytes, bytes, bytes]
    fetches: list[PlannedFetch] = field(default_factory=list)
    written: dict[ComponentId, int] = field(default_factory=dict)
    new_anchors: tuple[bytes, ...] | None = None  # the replacement trust-anchor store
    battery_mwh: int | None = None  # the simulated battery gauge; None: the device has none
    authorized_priority: int | None = None  # updates this urgent or more are authorised
    invoked: list[tuple[ComponentId, bytes | None]] = field(default_factory=list)
    #: File changes prepared by an install run (flasher/loader/file_store.py), in order.
    file_actions: list[FileAction] = field(default_factory=list)
    file_switch: str | None = None  # A/B: the release tree DIR/current switches to


def _refuse(reason: RefusalReason, detail: str) -> UpdateRefused:
    return UpdateRefused(reason, detail)


class FlashStore:
    """Implements `suit.processor.ComponentStore` over the simulated flash."""

    def __init__(self, flash: SimulatedFlash, layout: Layout, context: StoreContext) -> None:
        self.flash = flash
        self.layout = layout
        self.ctx = context

    # -- facts ----------------------------------------------------------------------------

    def supports(self, component_id: ComponentId) -> bool:
        return component_id == TRUST_ANCHOR_COMPONENT or self.layout.find(component_id) is not None

    def vendor_id(self) -> bytes | None:
        return self.ctx.identity[0]

    def class_id(self) -> bytes | None:
        return self.ctx.identity[1]

    def device_id(self) -> bytes | None:
        return self.ctx.identity[2]

    def component_slot(self, component_id: ComponentId) -> int | None:
        partition = self.layout.find(component_id)
        if partition is None:
            return None
        return self.ctx.slots.get(component_id, 0) if partition.is_ab else 0

    def facts(self) -> DeviceFacts:
        # The simulated device knows the time, its simulated battery level and, when
        # configured, which update priorities are authorised (UM §5); a condition on a fact
        # it lacks fails (M37 §8.4.9), like a battery condition on a device without a gauge.
        return DeviceFacts(now=int(time.time()), battery_mwh=self.ctx.battery_mwh,
                           authorized_priority=self.ctx.authorized_priority)

    # -- reading --------------------------------------------------------------------------

    def image_digest(self, component_id: ComponentId, algorithm: int,
                     size: int | None) -> bytes | DigestPending | None:
        if self.ctx.mode == PLAN and self._touched(component_id):
            return DIGEST_PENDING
        length = size if size is not None else self._known_size(component_id)
        partition = self.layout.find(component_id)
        if partition is None or length is None or length > partition.slot_size:
            return None
        start = self._read_start(partition, component_id)
        return digests.compute(algorithm, self.flash.read(start, length))

    def read(self, component_id: ComponentId, size: int) -> bytes | None:
        partition = self.layout.find(component_id)
        if partition is None or size > partition.slot_size:
            return None
        return self.flash.read(self._read_start(partition, component_id), size)

    def source_start(self, component_id: ComponentId, size: int) -> int | None:
        """Where `size` bytes of `component_id` are read from (as `read`), or None if they
        do not fit its slot."""
        partition = self.layout.find(component_id)
        if partition is None or size > partition.slot_size:
            return None
        return self._read_start(partition, component_id)

    def known_size(self, component_id: ComponentId) -> int | None:
        """The size of what this run wrote (or, planning, will fetch) to the component,
        else of its installed image."""
        planned = [f.size for f in self.ctx.fetches if f.component_id == component_id]
        return planned[-1] if planned else self._known_size(component_id)

    def _touched(self, component_id: ComponentId) -> bool:
        return component_id in self.ctx.written or any(
            f.component_id == component_id for f in self.ctx.fetches)

    def _known_size(self, component_id: ComponentId) -> int | None:
        return self.ctx.written.get(component_id, self.ctx.sizes.get(component_id))

    def _read_start(self, partition: Partition, component_id: ComponentId) -> int:
        """Where to read: the slot this run writes if it wrote it, else the running image."""
        if partition.is_ab and not self._touched(component_id) \
                and component_id in self.ctx.active:
            return partition.slots[self.ctx.active[component_id]]
        return self._start(partition, component_id)

    def _start(self, partition: Partition, component_id: ComponentId) -> int:
        slot = self.ctx.slots.get(component_id, 0) if partition.is_ab else 0
        return partition.slots[slot]

    # -- writing --------------------------------------------------------------------------

    def fetch(self, component_id: ComponentId, request: FetchRequest) -> None:
        partition = self._writable_region(component_id)
        size = len(request.integrated) if request.integrated is not None else request.size
        if size is None:
            raise _refuse(RefusalReason.OPERATION_FAILED,
                          f"fetch of {request.uri} states no image-size; the loader needs it "
                          "to check capacity before asking for the payload")
        self._check_capacity(partition, size, request.uri)
        if request.integrated is not None:
            self._store(component_id, request.integrated)
            return
        slot = self.component_slot(component_id) or 0
        if self.ctx.mode == PLAN:
            self.ctx.fetches.append(PlannedFetch(request.uri, component_id, slot, size))
            return
        if self.ctx.received.get(request.uri, -1) < size:
            raise _refuse(RefusalReason.OPERATION_FAILED,
                          f"payload {request.uri} has not been received in full")
        self.ctx.written[component_id] = size

    def fetch_dependency(self, uri: str, max_size: int) -> bytes:
        raise _refuse(RefusalReason.COMPONENT_UNSUPPORTED,
                      f"dependency {uri} is not integrated; this loader fetches only "
                      "payloads, so dependencies must travel inside the envelope")

    def write(self, component_id: ComponentId, content: bytes, *,
              metadata: bytes | None = None) -> None:
        if component_id == TRUST_ANCHOR_COMPONENT:
            self._install_anchor(content)
            return
        partition = self._writable_region(component_id)
        self._check_capacity(partition, len(content), "content")
        self._store(component_id, content)

    def copy(self, destination: ComponentId, source: ComponentId, size: int | None) -> None:
        partition = self._writable_region(destination)
        length = size if size is not None else self._known_size(source)
        if length is None:
            raise _refuse(RefusalReason.OPERATION_FAILED, "copy of a component of unknown size")
        self._check_capacity(partition, length, "copy")
        if self.ctx.mode == PLAN:
            self.ctx.written[destination] = length
            return
        data = self.read(source, length)
        if data is None:
            raise _refuse(RefusalReason.OPERATION_FAILED, "copy source larger than its slot")
        self._store(destination, data)

    def swap(self, first: ComponentId, second: ComponentId) -> None:
        self._writable_region(first)
        self._writable_region(second)
        one, two = self._known_size(first) or 0, self._known_size(second) or 0
        data_one, data_two = self.read(first, one) or b"", self.read(second, two) or b""
        self._store(first, data_two)
        self._store(second, data_one)

    def invoke(self, component_id: ComponentId, arguments: bytes | None) -> None:
        if self.ctx.mode != BOOT:
            raise _refuse(RefusalReason.OPERATION_FAILED, "invoke belongs to the bootloader")
        self.ctx.invoked.append((component_id, arguments))

    def unlink(self, component_id: ComponentId) -> None:
        self._writable_region(component_id)  # nothing is reference-counted here

    def wait(self, wait_info: bytes) -> bool:
        return False  # the loader does not wait for events (UM §5): the directive fails

    def begin_write(self, component_id: ComponentId, size: int) -> int | None:
        """Claim `size` bytes of the component's writable slot for a streamed write: the
        address to program from, or None when planning (nothing is written then)."""
        partition = self._writable_region(component_id)
        self._check_capacity(partition, size, "content")
        self.ctx.written[component_id] = size
        return None if self.ctx.mode == PLAN else self._start(partition, component_id)

    def _install_anchor(self, content: bytes) -> None:
        """Writing the trust-anchor store replaces it with the PEM key(s) in `content`
        (key rotation: the keys not listed are no longer trusted for updates)."""
        if self.ctx.mode == BOOT:
            raise _refuse(RefusalReason.COMPONENT_UNAUTHORISED, "trust anchors change only "
                                                                "in an update")
        keys = split_pem(content)
        try:
            if not keys:
                raise TrustAnchorError("new trust anchors: no PEM public key in the content")
            for index, key in enumerate(keys):
                TrustAnchor.from_pem(key, f"new trust anchor {index}")
        except ManifestError as exc:
            raise _refuse(RefusalReason.OPERATION_FAILED, str(exc)) from exc
        self.ctx.new_anchors = keys

    def _writable_region(self, component_id: ComponentId) -> Partition:
        """The partition to write; refuses the active slot and, at boot, any image."""
        partition = self.layout.find(component_id)
        if partition is None:
            raise _refuse(RefusalReason.COMPONENT_UNSUPPORTED, f"no component {component_id!r}")
        if partition.is_ab:
            slot = self.ctx.slots.get(component_id, 0)
            if self.ctx.mode == BOOT or self.ctx.active.get(component_id) == slot:
                raise _refuse(RefusalReason.COMPONENT_UNAUTHORISED,
                              f"{partition.name} slot {slot} is active and is never written")
        return partition

    def _check_capacity(self, partition: Partition, size: int, what: str) -> None:
        if size > partition.slot_size:
            raise _refuse(RefusalReason.TOO_LARGE,
                          f"{what}: {size} bytes do not fit the {partition.slot_size}-byte "
                          f"{partition.name} slot")

    def _store(self, component_id: ComponentId, data: bytes) -> None:
        """Erase what `data` needs in the component's writable slot and program it."""
        self.ctx.written[component_id] = len(data)
        if self.ctx.mode == PLAN:
            return
        partition = self._writable_region(component_id)
        program_region(self.flash, self._start(partition, component_id), data)


def program_region(flash: SimulatedFlash, start: int, data: bytes) -> None:
    """Erase the sectors `data` spans from `start` (sector-aligned) and program it in chunks."""
    profile = flash.profile
    end = start + max(len(data), 1)
    for sector in range(start // profile.sector_size, -(-end // profile.sector_size)):
        flash.erase_sector(sector)
    padded = pad(data, profile.write_unit)
    for offset in range(0, len(padded), profile.program_chunk):
        flash.program(start + offset, padded[offset:offset + profile.program_chunk])


def pad(data: bytes, unit: int) -> bytes:
    """`data` padded with erased bytes to a whole number of write units."""
    return data + b"\xff" * (-len(data) % unit)


def sha256(data: bytes) -> bytes:
    """SHA-256, the digest the slot table records."""
    return hashlib.sha256(data).digest()


def split_pem(blob: bytes) -> tuple[bytes, ...]:
    """Each PEM block of a bundle (``-----BEGIN ...`` to ``-----END ...-----``), in order."""
    blocks = []
    for match in _PEM_BLOCK.finditer(blob):
        blocks.append(match.group(0) + b"\n")
    return tuple(blocks)


_PEM_BLOCK: Final = re.compile(rb"-----BEGIN [^-]+-----.*?-----END [^-]+-----", re.DOTALL)
