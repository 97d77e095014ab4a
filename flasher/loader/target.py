"""What the updater needs of the device it updates (flasher/loader/updater.py).

Protocols, not the device class: device.py builds the Updater, so the updater naming
`VirtualDevice` would close an import cycle (issue 12). `VirtualDevice` satisfies these
structurally; an import-linter contract in pyproject.toml keeps updater.py from importing
device.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from flasher.loader.bootloader import BootResult
from flasher.loader.files import FileTree
from flasher.loader.flash import FlashTimer, SimulatedFlash
from flasher.loader.layout import Layout
from flasher.loader.profiles import FlashProfile
from flasher.loader.state import DeviceState, StateStore
from flasher.messages import ComponentStatus, DeviceIdentity
from suit.encryption import RecipientKey
from suit.verify import VerificationPolicy


class UpdateSettings(Protocol):
    """The parts of the device's configuration an update reads (`DeviceConfig` has them)."""

    @property
    def max_envelope_size(self) -> int: ...

    @property
    def battery_mwh(self) -> int | None: ...

    @property
    def authorized_priority(self) -> int | None: ...

    @property
    def reboot_after_update(self) -> bool: ...

    @property
    def signature_policy(self) -> VerificationPolicy: ...

    @property
    def decryption_keys(self) -> Sequence[RecipientKey]:
        """The keys payloads are decrypted with (FE §6)."""
        ...


class UpdateTarget(Protocol):
    """What the updater needs of the device it updates; `VirtualDevice` satisfies it."""

    state: DeviceState

    @property
    def config(self) -> UpdateSettings: ...

    @property
    def store(self) -> StateStore: ...

    @property
    def flash(self) -> SimulatedFlash: ...

    @property
    def layout(self) -> Layout: ...

    @property
    def files(self) -> FileTree | None:
        """The file tree under ``--root`` (None: the device installs no files)."""
        ...

    @property
    def profile(self) -> FlashProfile: ...

    @property
    def timer(self) -> FlashTimer: ...

    def identity(self) -> DeviceIdentity: ...

    def components(self) -> tuple[ComponentStatus, ...]: ...

    def reboot(self) -> BootResult: ...
