"""The bootloader: verify before booting, fall back to the last good image (RFC 9019 §4.1).

At every start the bootloader considers, in order, the installation waiting to be tried
(the candidate), the active one, and the fallback. It boots the first that verifies:

1. its envelope, kept in the persistent state, still authenticates with the trust anchors
   (RFC 9019 §4.1: "fetch the manifest from nonvolatile storage ... for subsequent
   cryptographic verification"), or with a key rotated out after it was installed;
2. every image's slot hashes to the digest recorded when it was installed;
3. the manifest's Invocation procedure (validate, load, invoke) runs to the end, so its
   own image-match conditions pass too.

A candidate that verifies becomes active and the previously active installation becomes
the fallback, in one state save (the slot switch). A candidate that fails is dropped. An
image that does not verify is never booted; with nothing verifiable the device stays in
the recovery loader.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from flasher.errors import RefusalReason
from flasher.loader.components import BOOT, FlashStore, StoreContext
from flasher.loader.decryption import PayloadDecrypter
from flasher.loader.file_store import with_files
from flasher.loader.files import FileTree
from flasher.loader.flash import SimulatedFlash
from flasher.loader.layout import ComponentId, Layout
from flasher.loader.state import DeviceState, Installation, ResultRecord, StateStore
from suit import digest as digests
from suit.errors import WorkbenchError
from suit.keys import TrustAnchor
from suit.model import DigestAlgorithm
from suit.processor import Procedure, Processor, authenticate


@dataclass(frozen=True)
class BootResult:
    """What the bootloader did.

    Attributes:
        booted: The installation now running, or None (the device stays in recovery).
        invoked: The invoke directives run: component and invoke-args.
        rejected: Why installations were passed over, one line each.
    """

    booted: Installation | None
    invoked: tuple[tuple[ComponentId, bytes | None], ...] = ()
    rejected: tuple[str, ...] = ()


class Bootloader:
    """Chooses and verifies what to boot.

    Args:
        flash: The simulated flash.
        layout: The partition map.
        store: Persists the slot switch.
        identity: (vendor id, class id, device id) for the manifests' conditions.
        files: The file tree under ``--root``, for manifests that also name files (their
            validate sequence may check them; the bootloader never writes them).
    """

    def __init__(self, flash: SimulatedFlash, layout: Layout, store: StateStore,
                 identity: tuple[bytes, bytes, bytes], files: FileTree | None = None) -> None:
        self.files = files
        self.flash = flash
        self.layout = layout
        self.store = store
        self.identity = identity

    def boot(self, state: DeviceState) -> tuple[DeviceState, BootResult]:
        """Boot; return the state after any slot switch, and what booted."""
        rejected: list[str] = []
        if state.pending is not None:
            invoked = self._verify(state, state.pending, rejected)
            state = self._settle_candidate(state, invoked is not None, rejected)
            if invoked is not None:
                return state, BootResult(state.active, invoked, tuple(rejected))
        for role in ("active", "fallback"):
            installation = getattr(state, role)
            if installation is None:
                continue
            invoked = self._verify(state, installation, rejected)
            if invoked is not None:
                if role == "fallback":
                    state = self.store.save(replace(state, active=installation, fallback=None),
                                            "slot-switch")
                return state, BootResult(installation, invoked, tuple(rejected))
        return state, BootResult(None, (), tuple(rejected))

    def _settle_candidate(self, state: DeviceState, good: bool,
                          rejected: list[str]) -> DeviceState:
        candidate = state.pending
        assert candidate is not None  # noqa: S101 - checked by the caller
        if good:
            # The slot switch, and a repair of the sequence numbers in case the power went
            # between the candidate's save and the sequence-number save.
            numbers = dict(state.sequence_numbers)
            for image in candidate.images:
                numbers[image.component_id] = max(numbers.get(image.component_id, 0),
                                                  candidate.sequence_number)
            return self.store.save(replace(state, active=candidate, pending=None,
                                           fallback=state.active, sequence_numbers=numbers),
                                   "slot-switch")
        record = ResultRecord(int(RefusalReason.OPERATION_FAILED),
                              "candidate failed verification at boot: " + rejected[-1],
                              candidate.sequence_number, candidate.manifest_digest, _now())
        return self.store.save(replace(state, pending=None, last_result=record), "boot-reject")

    def _verify(self, state: DeviceState, installation: Installation,
                rejected: list[str]) -> tuple[tuple[ComponentId, bytes | None], ...] | None:
        """The invocations if `installation` verifies, else None (reason in `rejected`)."""
        label = f"sequence {installation.sequence_number}"
        envelope = state.envelopes.get(installation.manifest_digest)
        if envelope is None:
            rejected.append(f"{label}: its manifest is not stored")
            return None
        for image in installation.images:
            if not self._image_ok(image.component_id, image.slot, image.size, image.digest):
                rejected.append(f"{label}: {image.component_id!r} slot {image.slot} does not "
                                "hold the installed image")
                return None
        try:
            # Keys rotated out still verify the images installed while they were trusted;
            # they are never used for a new update (docs/loader.md, key rotation).
            anchors = [TrustAnchor.load(pem, f"anchor {i}") for i, pem in
                       enumerate(state.trust_anchors + state.retired_anchors)]
            authenticated = authenticate(envelope, anchors)
            if authenticated.report.manifest_digest.value != installation.manifest_digest:
                rejected.append(f"{label}: stored manifest does not match the slot table")
                return None
            context = self._context(installation)
            flash_store = FlashStore(self.flash, self.layout, context)
            # A manifest that decrypted its payloads at install still boots: the static
            # check accepts its encryption info; boot writes no image, so it needs no key.
            Processor(authenticated, with_files(flash_store, context, self.files), anchors,
                      decrypter=PayloadDecrypter(flash_store, ())).run(Procedure.INVOCATION)
        except WorkbenchError as exc:
            rejected.append(f"{label}: {exc}")
            return None
        return tuple(context.invoked)

    def _image_ok(self, component_id: ComponentId, slot: int, size: int, digest: bytes) -> bool:
        partition = self.layout.find(component_id)
        if partition is None or size > partition.slot_size:
            return False
        start = partition.slots[slot] if partition.is_ab else partition.slots[0]
        actual = digests.compute(DigestAlgorithm.SHA256, self.flash.read(start, size))
        return actual == digest

    def _context(self, installation: Installation) -> StoreContext:
        slots = {image.component_id: image.slot for image in installation.images}
        sizes = {image.component_id: image.size for image in installation.images}
        return StoreContext(BOOT, slots, dict(slots), sizes, {}, self.identity)


def _now() -> int:
    return int(time.time())
