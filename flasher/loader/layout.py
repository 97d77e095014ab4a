"""Where the simulated device keeps its components: the partition map of its flash.

Components are named by SUIT component identifiers (M37 §8.4.5.1), as in the published
examples: ``[h'00']`` is the application image, ``[h'01']`` a second image, ``[h'02']``
a staging area ("external storage" in M37 Example 4).

- An *A/B* component has two slots; an update always writes the slot that is not active,
  and the bootloader switches to it only after verifying it (RFC 9019 §4.1).
- A *scratch* component has one region and holds no bootable image (staging, or the
  target of a load): writing it never endangers what boots.
- The *trust-anchor store* is not in the flash map: it lives in the persistent state, and a
  signed manifest may write a new anchor to it with the write directive (key rotation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from flasher.loader.profiles import FlashProfile

ComponentId = tuple[bytes, ...]

#: The component id that names the trust-anchor store (write/content installs a PEM key).
TRUST_ANCHOR_COMPONENT: Final[ComponentId] = (b"suitwb", b"trust-anchors")

APP: Final[ComponentId] = (b"\x00",)
SECOND: Final[ComponentId] = (b"\x01",)
STAGING: Final[ComponentId] = (b"\x02",)


@dataclass(frozen=True)
class Partition:
    """One component's place in flash.

    Attributes:
        component_id: The SUIT component identifier.
        name: A short name for people (``app``).
        slots: The start address of each slot: two for A/B, one for scratch.
        slot_size: Bytes per slot (a multiple of the sector size).
        bootable: Whether the bootloader invokes it.
    """

    component_id: ComponentId
    name: str
    slots: tuple[int, ...]
    slot_size: int
    bootable: bool = False

    @property
    def is_ab(self) -> bool:
        """Whether updates go to a second slot (A/B) rather than in place."""
        return len(self.slots) == 2


@dataclass(frozen=True)
class Layout:
    """The partition map: every component the device supports."""

    partitions: tuple[Partition, ...]

    def find(self, component_id: ComponentId) -> Partition | None:
        """The partition of `component_id`, or None if the device has no such component."""
        for partition in self.partitions:
            if partition.component_id == component_id:
                return partition
        return None


def default_layout(profile: FlashProfile) -> Layout:
    """Split the flash in eighths: app A/B (2/8 each), second image A/B (1/8 each) and
    staging (2/8). With 1 MiB that is 256 KiB app slots, 128 KiB second-image slots and a
    256 KiB staging area, enough for the published examples' 34768- and 76834-byte images.
    The bootloader itself is modelled as ROM outside the simulated flash."""
    eighth = profile.size // 8
    eighth -= eighth % profile.sector_size
    app = Partition(APP, "app", (0, 2 * eighth), 2 * eighth, bootable=True)
    second = Partition(SECOND, "second", (4 * eighth, 5 * eighth), eighth)
    staging = Partition(STAGING, "staging", (6 * eighth,), 2 * eighth)
    return Layout((app, second, staging))


def slot_name(partition: Partition, slot: int) -> str:
    """A slot's display name, like ``app/A`` or ``staging``."""
    if not partition.is_ab:
        return partition.name
    return f"{partition.name}/{'AB'[slot]}"
