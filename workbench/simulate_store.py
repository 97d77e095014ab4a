"""The described device as a `ComponentStore` in memory, for `suitwb simulate`.

suit/ stays free of I/O: this store holds what the simulated device received, and the
digests it was described with for images it holds that the simulation does not have. A
component fetched from a URI with no payload given is pending: the processor's image checks
on it are deferred (`DIGEST_PENDING`), as in the processor's planning run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from suit import digest as digests
from suit.encryption import RecipientKey, decrypt, open_decryptor
from suit.errors import WorkbenchError
from suit.model import ComponentId, Digest
from suit.processor import DIGEST_PENDING, DeviceFacts, DigestPending, FetchRequest
from workbench.simulate_device import DeviceDescription


class PayloadMissing(WorkbenchError):
    """A dependency manifest the simulation was not given (a dependency cannot be pending:
    its manifest is what runs next)."""

    def __init__(self, uri: str) -> None:
        super().__init__(f"no payload for {uri}", hint=f"Give --payload {uri}=FILE.")


@dataclass
class SimulatedStore:
    """The described device as a `ComponentStore`, in memory: images it received, and the
    digests it was described with for images it holds but the simulation does not have."""

    device: DeviceDescription
    payloads: Mapping[str, bytes]
    images: dict[ComponentId, bytes] = field(default_factory=dict)
    pending: set[ComponentId] = field(default_factory=set)
    effects: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.known = {c.id: c for c in self.device.components}
        self.digests = {c.id: c.digest for c in self.device.components if c.digest}

    def supports(self, component_id: ComponentId) -> bool:
        return component_id in self.known

    def vendor_id(self) -> bytes | None:
        return self.device.vendor_id

    def class_id(self) -> bytes | frozenset[bytes] | None:
        return self.device.class_ids or None

    def device_id(self) -> bytes | None:
        return self.device.device_id

    def component_slot(self, component_id: ComponentId) -> int | None:
        known = self.known.get(component_id)
        return None if known is None else known.slot

    def image_digest(self, component_id: ComponentId, algorithm: int,
                     size: int | None) -> bytes | DigestPending | None:
        if component_id in self.pending:
            return DIGEST_PENDING
        image = self.images.get(component_id)
        if image is not None:
            return digests.compute(algorithm, image if size is None else image[:size])
        described = self.digests.get(component_id)
        return described.value if described and described.algorithm == algorithm else None

    def read(self, component_id: ComponentId, size: int) -> bytes | None:
        image = self.images.get(component_id)
        return None if image is None else image[:size]

    def fetch(self, component_id: ComponentId, request: FetchRequest) -> None:
        data = request.integrated if request.integrated is not None \
            else self.payloads.get(request.uri)
        self._effect("fetch", component_id, request.uri)
        self._put(component_id, data)

    def fetch_dependency(self, uri: str, max_size: int) -> bytes:
        self.effects.append(f"fetch-dependency {uri}")
        data = self.payloads.get(uri)
        if data is None:
            raise PayloadMissing(uri)
        return data

    def write(self, component_id: ComponentId, content: bytes, *,
              metadata: bytes | None = None) -> None:
        self._effect("write", component_id, f"{len(content)} bytes")
        self._put(component_id, content)

    def copy(self, destination: ComponentId, source: ComponentId, size: int | None) -> None:
        self._effect("copy", destination, f"from {show_component(source)}")
        self._take(destination, source)

    def swap(self, first: ComponentId, second: ComponentId) -> None:
        self._effect("swap", first, f"with {show_component(second)}")
        held = (self.images.get(first), self.digests.get(first), first in self.pending)
        self._take(first, second)
        self._restore(second, *held)

    def invoke(self, component_id: ComponentId, arguments: bytes | None) -> None:
        self._effect("invoke", component_id, "")

    def unlink(self, component_id: ComponentId) -> None:
        self._effect("unlink", component_id, "")
        self._restore(component_id, None, None, False)

    def wait(self, wait_info: bytes) -> bool:
        self.effects.append("wait")
        return True

    def facts(self) -> DeviceFacts:
        return self.device.facts

    def received(self, component_id: ComponentId, image: bytes | None, effect: str) -> None:
        """`component_id` now holds `image` (None: pending); `effect` says how it came."""
        self.effects.append(effect)
        self._put(component_id, image)

    def _effect(self, kind: str, component_id: ComponentId, what: str) -> None:
        self.effects.append(f"{kind} {show_component(component_id)} {what}".rstrip())

    def _put(self, component_id: ComponentId, data: bytes | None) -> None:
        # No payload given for this URI: the image is pending, its checks deferred.
        self._restore(component_id, data, None, data is None)

    def _take(self, destination: ComponentId, source: ComponentId) -> None:
        self._restore(destination, self.images.get(source), self.digests.get(source),
                      source in self.pending)

    def _restore(self, component_id: ComponentId, image: bytes | None, digest: Digest | None,
                 pending: bool) -> None:
        self.images.pop(component_id, None)
        self.digests.pop(component_id, None)
        self.pending.discard(component_id)
        if image is not None:
            self.images[component_id] = image
        if digest is not None:
            self.digests[component_id] = digest
        if pending:
            self.pending.add(component_id)


class SourceMissing(WorkbenchError):
    """A decrypting copy from a component the simulation holds no image of."""

    def __init__(self, source: ComponentId) -> None:
        super().__init__(f"copy source {show_component(source)} holds no ciphertext here",
                         hint="Fetch the ciphertext into it first (or give --payload URI=FILE).")


@dataclass
class SimulatedDecrypter:
    """Implements `suit.processor.Decrypter` over a `SimulatedStore` with the device file's
    ``decryption-keys`` (FE §6): write and copy with encryption-info decrypt for real, so a
    wrong key (WrongKey) or a changed ciphertext or tag (ContentTampered) fails at the
    command that decrypts. A copy from a pending source (no payload given) still unwraps
    the content key, so the key is checked; the destination is then pending too."""

    store: SimulatedStore
    keys: tuple[RecipientKey, ...]

    def write_decrypted(self, component_id: ComponentId, content: bytes,
                        encryption_info: bytes) -> None:
        plaintext = decrypt(encryption_info, self.keys, content)
        self.store.received(component_id, plaintext, f"write {show_component(component_id)} "
                            f"{len(content)} bytes, decrypted to {len(plaintext)}")

    def copy_decrypted(self, destination: ComponentId, source: ComponentId,
                       size: int | None, encryption_info: bytes) -> None:
        what = f"copy {show_component(destination)} from {show_component(source)}, decrypted"
        if source in self.store.pending:
            open_decryptor(encryption_info, self.keys)  # the content key unwraps (FE §5)
            self.store.received(destination, None, what + " (pending: no payload given)")
            return
        ciphertext = self.store.images.get(source)
        if ciphertext is None:
            raise SourceMissing(source)
        self.store.received(destination, decrypt(encryption_info, self.keys, ciphertext), what)


def show_component(component_id: ComponentId) -> str:
    """A component id as CBOR diagnostic notation: ``[h'00']``."""
    return "[" + ", ".join(f"h'{part.hex()}'" for part in component_id) + "]"


__all__ = ["PayloadMissing", "SimulatedDecrypter", "SimulatedStore", "SourceMissing",
           "show_component"]
