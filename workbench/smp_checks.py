"""The station's SUIT checks for an MCUboot device, before any byte is uploaded (issue 13).

An MCUboot device checks its image's hash (and signature, if it was built to) at boot; it
knows nothing of SUIT. So the station plays the SUIT recipient for it: the envelope's
authenticity against the profile's trust anchors, then the manifest's own Update procedure
run by the format core's `Processor` against `StationStore`, a store whose identity facts
come from the device profile and whose one component is the image about to be uploaded.
The vendor, class and image-digest conditions are therefore the processor's own
(suit/processor_conditions.py), not a second checker. The station adds what a processor
cannot know: the slot's size and the rollback rule against the installed image's version.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from flasher.errors import BundleError, RefusalReason
from flasher.loader.refusals import processing_refusal
from flasher.smp.operations import ImageSlot
from suit import digest as digests
from suit.errors import DecodeError, ManifestError, UnsupportedAlgorithm, WorkbenchError
from suit.model import ComponentId
from suit.processor import (
    DeviceFacts,
    FetchRequest,
    Procedure,
    ProcessingFailed,
    Processor,
    authenticate,
)
from workbench.device_profile import DeviceKind

logger = logging.getLogger(__name__)


class HostCheckRefused(WorkbenchError):
    """The station refused to upload: the envelope is not for this device (exit status 1).

    Attributes:
        reason: The refusal code (the recovery protocol's vocabulary, so records of both
            protocols read alike).
        detail: Why, in one line.
    """

    exit_status = 1

    def __init__(self, reason: RefusalReason, detail: str) -> None:
        super().__init__(f"refused by the station before upload: {reason.name.lower()}: "
                         f"{detail}", hint=_HINTS.get(reason, "The bundle is not for this "
                                                              "device."))
        self.reason = reason
        self.detail = detail


_HINTS = {
    RefusalReason.UNAUTHORISED: "Sign the bundle with a key the device profile trusts.",
    RefusalReason.WRONG_VENDOR: "The device profile maps this device to another vendor id.",
    RefusalReason.WRONG_CLASS: "The device profile maps this device to another class id.",
    RefusalReason.ROLLBACK: "Build the release with a higher sequence number.",
    RefusalReason.TOO_LARGE: "The image does not fit the device's slot (profile slot-size).",
    RefusalReason.PAYLOAD_DIGEST_MISMATCH: "The image file is not the one the manifest was "
                                           "signed for.",
}


class MissingPayload(BundleError):
    """The manifest fetches a payload the bundle does not carry (no --payload for it)."""

    def __init__(self, uri: str) -> None:
        super().__init__(uri, "the manifest fetches this payload and no --payload gives it")
        self.hint = (f"Pass --payload {uri}=FILE (`suitwb build` writes an MCUboot image as "
                     "<envelope stem>.<component>.signed.bin).")


class _StoreRefusal(WorkbenchError):
    """An effect an MCUboot target cannot carry out (reported by the processor)."""


@dataclass
class StationStore:
    """The processor's `ComponentStore` for an MCUboot target, seen from the station.

    Identity facts come from the device profile; a fetch takes the image from the bundle's
    payloads; image digests are of the fetched image. Nothing is written anywhere: the
    upload happens only after every check passed.
    """

    kind: DeviceKind
    payloads: Mapping[str, bytes]
    fetched: dict[ComponentId, bytes] = field(default_factory=dict)
    missing: str | None = None  # a fetched URI the bundle does not carry
    wrong_size: bool = False  # a payload longer or shorter than the stated image-size

    def supports(self, component_id: ComponentId) -> bool:
        return True  # the one image; a second fetched component is refused after the run

    def vendor_id(self) -> bytes | None:
        return self.kind.vendor_id.bytes

    def class_id(self) -> bytes | None:
        return self.kind.class_id.bytes

    def device_id(self) -> bytes | None:
        return None  # SMP reports no device id: a manifest conditioned on one is refused

    def component_slot(self, component_id: ComponentId) -> int | None:
        return None

    def image_digest(self, component_id: ComponentId, algorithm: int,
                     size: int | None) -> bytes | None:
        data = self.fetched.get(component_id)
        if data is None:
            return None
        return digests.compute(algorithm, data if size is None else data[:size])

    def read(self, component_id: ComponentId, size: int) -> bytes | None:
        data = self.fetched.get(component_id)
        return None if data is None else data[:size]

    def fetch(self, component_id: ComponentId, request: FetchRequest) -> None:
        data = request.integrated if request.integrated is not None \
            else self.payloads.get(request.uri)
        if data is None:
            self.missing = request.uri
            raise _StoreRefusal(f"the bundle does not carry payload {request.uri!r}")
        # The image-digest covers image-size bytes (M37 §8.4.8, image-size): bytes past them would be
        # uploaded unchecked, so the payload must be exactly that long.
        if request.size is not None and len(data) != request.size:
            self.wrong_size = True
            raise _StoreRefusal(f"payload {request.uri!r} has {len(data)} bytes, the manifest's "
                                f"image-size is {request.size}")
        self.fetched[component_id] = data

    def fetch_dependency(self, uri: str, max_size: int) -> bytes:
        raise _StoreRefusal("an MCUboot target takes no dependency manifests")

    def write(self, component_id: ComponentId, content: bytes, *,
              metadata: bytes | None = None) -> None:
        raise _StoreRefusal("an MCUboot target takes one uploaded image, not written content")

    def copy(self, destination: ComponentId, source: ComponentId, size: int | None) -> None:
        raise _StoreRefusal("an MCUboot target has no copy between components")

    def swap(self, first: ComponentId, second: ComponentId) -> None:
        raise _StoreRefusal("MCUboot swaps slots itself; a manifest's swap is not supported")

    def invoke(self, component_id: ComponentId, arguments: bytes | None) -> None:
        return None  # MCUboot boots the image after the reset

    def unlink(self, component_id: ComponentId) -> None:
        return None

    def wait(self, wait_info: bytes) -> bool:
        return True

    def facts(self) -> DeviceFacts:
        return DeviceFacts()


@dataclass(frozen=True)
class CheckedRelease:
    """What passed the station's checks: the image to upload and what it was checked as."""

    image: bytes
    sequence_number: int
    kind: DeviceKind


def check_release(envelope: bytes, payloads: Mapping[str, bytes], kind: DeviceKind,
                  installed: tuple[ImageSlot, ...]) -> CheckedRelease:
    """Check the envelope for the device `kind`, whose image state is `installed`.

    Order: authenticity (M37 §6.2: nothing of an unauthenticated manifest is used), the
    shared sequence's vendor and class conditions, rollback, the Update procedure (fetch
    and image-match), then the image's size against the slot.

    Raises:
        HostCheckRefused: the first check that failed, with its reason.
    """
    try:
        authenticated = authenticate(envelope, kind.trust_anchors)
    except ManifestError as exc:
        raise HostCheckRefused(_authentication_reason(exc), str(exc)) from exc
    store = StationStore(kind, payloads)
    try:
        processor = Processor(authenticated, store, kind.trust_anchors)
        processor.run_shared()
        number = authenticated.envelope.manifest.sequence_number
        check_rollback(number, installed, kind.rollback)
        processor.run(Procedure.UPDATE)
    except ProcessingFailed as exc:
        if store.missing is not None:  # the station's input, not the device's refusal
            raise MissingPayload(store.missing) from exc
        reason = RefusalReason.PAYLOAD_DIGEST_MISMATCH if store.wrong_size \
            else processing_refusal(exc)
        raise HostCheckRefused(reason, str(exc)) from exc
    image = _the_image(store)
    if len(image) > kind.slot_size:
        raise HostCheckRefused(RefusalReason.TOO_LARGE, f"the image has {len(image)} bytes, "
                               f"the slot {kind.slot_size}")
    return CheckedRelease(image, number, kind)


def _authentication_reason(exc: ManifestError) -> RefusalReason:
    if isinstance(exc, DecodeError):
        return RefusalReason.CBOR_PARSE
    if isinstance(exc, UnsupportedAlgorithm):
        return RefusalReason.ALG_UNSUPPORTED
    return RefusalReason.UNAUTHORISED


def _the_image(store: StationStore) -> bytes:
    if len(store.fetched) != 1:
        raise HostCheckRefused(RefusalReason.COMPONENT_UNSUPPORTED,
                               f"the manifest fetches {len(store.fetched)} images; an MCUboot "
                               "target takes exactly one")
    return next(iter(store.fetched.values()))


def check_rollback(number: int, installed: tuple[ImageSlot, ...], rule: str) -> None:
    """Refuse a sequence number lower than the one the installed image's version carries.

    The rule names the version field (``major.minor.revision+build``) a release process
    puts the SUIT sequence number in; equal is a reinstall and allowed, as on the virtual
    device (M37 §8.4.2 forbids going back, not repeating).
    """
    if rule == "none":
        return
    for slot in installed:
        if not slot.active and slot.slot != 0:
            continue
        stored = version_field(slot.version, rule)
        if stored is not None and number < stored:
            raise HostCheckRefused(RefusalReason.ROLLBACK, f"sequence number {number} is lower "
                                   f"than {stored}, the {rule} of the installed image "
                                   f"{slot.version} (slot {slot.slot})")


def version_field(version: str, rule: str) -> int | None:
    """The `rule` field of a reported ``major.minor.revision[.build]``; None if unreadable."""
    parts = version.replace("+", ".").split(".")
    index = ("major", "minor", "revision", "build").index(rule)
    if index >= len(parts):
        return 0  # SMP omits a zero build number
    try:
        return int(parts[index])
    except ValueError:
        logger.warning("unreadable image version %r: rollback not checked", version)
        return None
