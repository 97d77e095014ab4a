"""The virtual device: a recovery loader over the SUIT processor and a simulated flash.

Construct it from a `DeviceConfig`::

    VirtualDevice(DeviceConfig(state_dir=Path("dev1"), vendor_id=vid, class_id=cid,
                               profile="nrf52840", trust_anchors=[pem_bytes]))

- ``state_dir``: where the flash image (``flash.bin``) and the two state copies live; all
  of it persists across restarts (``suitwb device serve --state``).
- ``profile``: a flash profile name (`flasher.loader.profiles`), default ``nrf52840``.
- ``flash_size``: optional; the profile's part with this much flash (same sectors and
  timings), for images larger than its own slots hold.
- ``trust_anchors``: PEM public keys (a blob may hold several PEM blocks), or one COSE_Key
  (how HSS-LMS public keys come, issue 16). They are added
  to the trust-anchor store at each start until a signed manifest rotates the store;
  from then on only signed manifests change it (key rotation).
- ``vendor_id``, ``class_id``: the 16-byte UUIDs the manifests' conditions check.
- ``device_id``: optional; a random one is chosen at the first start and kept.
- ``realtime``: pace flash work in real time (benchmarks); tests leave it off.
- ``authorized_priority``: optional; updates whose update-priority is at most this are
  authorised (UM §5 condition update-authorized; lower is more urgent). None: the
  condition fails, as for a device that cannot ask anyone.
- ``root_layout``: ``direct`` (files at DIR/<path>) or ``ab`` (two release trees,
  DIR/releases/a and b, and a DIR/current symlink switched per release).
- ``root``: optional; the folder file components (``['fs', ...]`` ids) are installed
  under (``suitwb device serve --root``; flasher/loader/files.py). None: such components
  are unsupported, as on a microcontroller.
- ``battery_mwh``: the simulated battery's charge, which minimum-battery conditions
  (UM §5) compare against; default 4000 mWh (a charged coin-cell-class pack); None
  simulates a device without a gauge, where such conditions fail.
- ``signature_policy``: ``any`` (default: one block verifies with one anchor) or ``all``
  (every anchor in the store must verify a block, so a hybrid ESP256 + ML-DSA envelope
  with either signature removed is refused). It governs installs; the bootloader's
  check of an installed image at start stays ``any`` over current and retired anchors,
  since after a key rotation the installed image is signed by keys since retired.

It implements `DeviceBehaviour` (flasher/loader/contract.py), manifest first (RFC 9019 §3):
`begin_update` authenticates, checks rollback, support and capacity and runs the Update
procedure as a plan before a payload byte is requested; `write_payload` streams into the
candidate slot; `finish_update` runs the Update procedure for real, records the candidate
and, by default, reboots so the bootloader verifies and switches to it (RFC 9019 §4.1).
The update logic lives in `flasher.loader.updater`; this module holds identity, status
and start-up.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

from flasher.errors import FlasherError, RefusalReason, UpdateRefused
from flasher.loader.bootloader import Bootloader, BootResult
from flasher.loader.components import split_pem
from flasher.loader.files import FileTree
from flasher.loader.flash import FlashTimer, PowerSwitch, SimulatedFlash
from flasher.loader.layout import default_layout, slot_name
from flasher.loader.profiles import DEFAULT_PROFILE, get_profile
from flasher.loader.reporting import device_capabilities, load_device_key
from flasher.loader.state import DeviceState, StateStore
from flasher.loader.updater import Updater
from flasher.messages import (
    ComponentStatus,
    DeviceIdentity,
    DeviceStatus,
    PayloadRequest,
    UpdateRecord,
    UpdateResult,
)
from suit import cbor
from suit.encryption import RecipientKey
from suit.keys import TrustAnchor
from suit.verify import VerificationPolicy

MAX_ENVELOPE_SIZE: Final = 64 * 1024


class DeviceConfigError(FlasherError):
    """A virtual device configuration that cannot work (an id of the wrong length).

    Attributes:
        field: The configuration field.
        problem: What is wrong with it.
    """

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"device configuration: {field}: {problem}",
                         hint="Give vendor and class ids as 16-byte UUIDs.")
        self.field = field
        self.problem = problem


DEFAULT_BATTERY_MWH: Final = 4000
ROOT_LAYOUTS: Final = ("direct", "ab")


@dataclass(frozen=True, kw_only=True)
class DeviceConfig:
    """How to build a `VirtualDevice` (see the module docstring for each field)."""

    state_dir: Path
    vendor_id: bytes
    class_id: bytes
    profile: str = DEFAULT_PROFILE
    flash_size: int | None = None
    battery_mwh: int | None = DEFAULT_BATTERY_MWH
    trust_anchors: Sequence[bytes] = ()
    device_id: bytes | None = None
    realtime: bool = False
    reboot_after_update: bool = True
    max_envelope_size: int = MAX_ENVELOPE_SIZE
    #: PEM private key the device signs its SUIT reports with (None: reports go unsigned).
    device_key: bytes | None = None
    #: Which trust anchors must verify an envelope before it is installed (module docstring).
    signature_policy: VerificationPolicy = VerificationPolicy.ANY
    root: Path | None = None
    root_layout: str = "direct"
    authorized_priority: int | None = None
    #: The keys it decrypts payloads with (FE §6; flasher/loader/decryption.py).
    decryption_keys: Sequence[RecipientKey] = ()

    def __post_init__(self) -> None:
        for name in ("vendor_id", "class_id"):
            if len(getattr(self, name)) != 16:
                raise DeviceConfigError(name, f"{len(getattr(self, name))} bytes, not 16")
        if self.root_layout not in ROOT_LAYOUTS:
            raise DeviceConfigError("root_layout", f"{self.root_layout!r} is not one of "
                                    + ", ".join(ROOT_LAYOUTS))
        if self.device_id is not None and len(self.device_id) != 16:
            raise DeviceConfigError("device_id", f"{len(self.device_id)} bytes, not 16")


class VirtualDevice:
    """A simulated SUIT device with A/B slots, a verifying bootloader and persistent state.

    Args:
        config: What device to be and where to keep its state.
        power: The power switch for fault injection (a fresh one never cuts).

    Raises:
        StateCorrupt: The state directory holds no valid state copy.
        UnknownProfile: The profile name is not defined.
        TrustAnchorError: A configured trust anchor is not a usable PEM key.
    """

    def __init__(self, config: DeviceConfig, *, power: PowerSwitch | None = None) -> None:
        self.config = config
        self.power = power or PowerSwitch()
        self.profile = get_profile(config.profile, config.flash_size)
        self.timer = FlashTimer(self.profile, realtime=config.realtime)
        self.flash = SimulatedFlash(config.state_dir / "flash.bin", self.profile, self.power,
                                    self.timer)
        self.layout = default_layout(self.profile)
        self.store = StateStore(config.state_dir, self.power)
        self.files = None if config.root is None else FileTree(
            config.root, self.power, ab=config.root_layout == "ab")
        self.state = self._load_or_provision()
        self.bootloader = Bootloader(self.flash, self.layout, self.store, self._identity(),
                                     self.files)
        self.updater = Updater(self, None if config.device_key is None
                               else load_device_key(config.device_key))
        self.updater.settle_files()  # finish file changes a cut interrupted after commit
        self.last_boot = self.reboot()

    def _load_or_provision(self) -> DeviceState:
        state = self.store.load() if self.store.exists() else DeviceState(
            device_id=self.config.device_id or os.urandom(16))
        # A blob is PEM block(s) or one COSE_Key (HSS-LMS keys have no PEM form here).
        configured = [key for blob in self.config.trust_anchors
                      for key in (split_pem(blob) or (blob,))]
        for index, pem in enumerate(configured):
            TrustAnchor.load(pem, f"trust anchor {index}")  # refuse a bad key at start
        # After a key rotation the store belongs to the signed manifests: start-up anchors
        # (perhaps the rotated-out key, still on the command line) are no longer added.
        added = () if state.anchors_rotated else tuple(
            dict.fromkeys(pem for pem in configured if pem not in state.trust_anchors))
        if added or not self.store.exists():
            state = self.store.save(replace(state, trust_anchors=state.trust_anchors + added),
                                    "provision")
        return state

    def _identity(self) -> tuple[bytes, bytes, bytes]:
        return (self.config.vendor_id, self.config.class_id,
                self.config.device_id or self.state.device_id)

    def close(self) -> None:
        """Release the flash file."""
        self.flash.close()

    # -- DeviceBehaviour ------------------------------------------------------------------

    def identity(self) -> DeviceIdentity:
        """Vendor, class and device id."""
        return DeviceIdentity(*self._identity())

    def status(self) -> DeviceStatus:
        """Identity, installed components, slot states and the last update's result."""
        return DeviceStatus(self.identity(), self.components(), self.slot_states(),
                            self._last_record())

    def last_report(self, nonce: bytes | None) -> bytes | None:
        """The SUIT report of the last update attempt, kept across resets and power cuts
        (COSE_Sign1 when the device has a key, with the host's `nonce` when given), None
        before any attempt."""
        return self.updater.last_report(nonce)

    def capabilities(self) -> bytes:
        """The encoded SUIT_Capability_Report of this device (report draft §6)."""
        report = device_capabilities(tuple(p.component_id for p in self.layout.partitions))
        return cbor.dumps(report.value())

    def begin_update(self, envelope: bytes) -> list[PayloadRequest]:
        """See `DeviceBehaviour.begin_update`."""
        return self.updater.begin(envelope)

    def write_payload(self, uri: str, offset: int, data: bytes) -> None:
        """See `DeviceBehaviour.write_payload`."""
        self.updater.write(uri, offset, data)

    def finish_update(self) -> UpdateResult:
        """See `DeviceBehaviour.finish_update`; reboots into the new image by default."""
        return self.updater.finish()

    def abort_update(self) -> None:
        """Forget the update in progress; the candidate slot is simply not used."""
        self.updater.abort()

    # -- beyond the seam ------------------------------------------------------------------

    def reboot(self) -> BootResult:
        """Run the bootloader: verify, switch or fall back, and 'boot'."""
        self.updater.forget_session()
        self.state, self.last_boot = self.bootloader.boot(self.state)
        return self.last_boot

    def components(self) -> tuple[ComponentStatus, ...]:
        """The components that run now, with digest and sequence number."""
        active = self.state.active
        statuses = []
        for partition in self.layout.partitions:
            image = next((i for i in active.images if i.component_id == partition.component_id),
                         None) if active else None
            statuses.append(ComponentStatus(
                partition.component_id,
                self.state.sequence_numbers.get(partition.component_id, 0),
                image.digest if image else None, image.size if image else 0,
                image.slot if image and partition.is_ab else None))
        return tuple(statuses) + self._file_components()

    def _file_components(self) -> tuple[ComponentStatus, ...]:
        """Installed files as they are now on disk: digest, size and mode read back."""
        if self.files is None:
            return ()
        statuses = []
        slot = self.files.active_slot()
        for component_id, record in sorted(self.state.files.items()):
            segments = tuple(record.path.split("/"))
            try:
                found = self.files.stat(segments)
                digest = self.files.digest(segments) if found and record.digest else None
            except UpdateRefused:  # replaced by a symlink or unreadable: report it missing
                found, digest = None, None
            statuses.append(ComponentStatus(
                component_id, self.state.sequence_numbers.get(component_id, 0), digest,
                found.st_size if found and record.digest else 0, slot, path=record.path,
                mode=None if found is None else found.st_mode & 0o7777))
        return tuple(statuses)

    def slot_states(self) -> dict[str, str]:
        """Slot name -> ``active``, ``candidate``, ``fallback``, ``receiving`` or ``free``."""
        states = {slot_name(p, s): "free" for p in self.layout.partitions
                  for s in range(len(p.slots))}
        roles = (("fallback", self.state.fallback), ("candidate", self.state.pending),
                 ("active", self.state.active))
        for role, installation in roles:
            for image in installation.images if installation else ():
                partition = self.layout.find(image.component_id)
                if partition is not None:
                    states[slot_name(partition, image.slot)] = role
        for payload in self.state.update.payloads if self.state.update else ():
            partition = self.layout.find(payload.component_id)
            if partition is not None:
                states[slot_name(partition, payload.slot)] = "receiving"
        return states

    def _last_record(self) -> UpdateRecord | None:
        last = self.state.last_result
        if last is None:
            return None
        # A state file from another loader version may hold a reason this one lacks.
        return UpdateRecord(RefusalReason.from_wire(last.result), last.detail,
                            last.sequence_number, last.manifest_digest, last.time)
