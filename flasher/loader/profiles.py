"""Named flash profiles for the simulated device: geometry and erase/program timings.

A profile describes one kind of flash the way a loader sees it: an erase unit (a *sector*,
which Nordic calls a page), the granularity of programming (`write_unit`), the chunk the
loader programs in one step (`program_chunk`), and how long erasing and programming take.

The default, ``nrf52840``, is a typical Cortex-M internal flash. Its figures are the
maximum values of the NVMC electrical specification in Nordic's nRF52840 Product
Specification (v1.x, "NVMC — Non-volatile memory controller", electrical specification):
1 MiB of flash in 4 KiB pages, 32-bit word writes, t_WRITE = 41 µs per word,
t_ERASEPAGE = 85 ms per page. Using the maxima makes the simulation pessimistic: a real
part is usually faster. ``stm32f4`` models the 128 KiB sectors of an STM32F405/407
(RM0090 / DS8626: word program 16 µs typical at x32 parallelism, 128 KiB sector erase
about 1 s typical). ``slow`` is deliberately slower than a 115200-baud line (not a real
part): it exists so benchmarks can show that throughput follows the flash when the flash,
not the line, is the bottleneck.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

from flasher.errors import FlasherError


@dataclass(frozen=True)
class FlashProfile:
    """One kind of flash: geometry and timings.

    Attributes:
        name: The profile's name, as given to ``--profile``.
        description: One line saying what it models.
        size: Total bytes of the simulated flash.
        sector_size: The erase unit in bytes.
        write_unit: The smallest programmable unit in bytes (alignment of writes).
        program_chunk: Bytes the loader programs in one step (a multiple of write_unit).
        erase_time: Seconds to erase one sector.
        program_time: Seconds to program one write unit.
        buffer_size: RAM the loader has for received-but-unprogrammed data (a double
            buffer); reception stalls only when more than this is pending.
    """

    name: str
    description: str
    size: int
    sector_size: int
    write_unit: int
    program_chunk: int
    erase_time: float
    program_time: float
    buffer_size: int

    def program_seconds(self, length: int) -> float:
        """Seconds to program `length` bytes (whole write units)."""
        units = -(-length // self.write_unit)
        return units * self.program_time

    @property
    def sustained_write_rate(self) -> float:
        """Bytes per second when erasing and programming whole sectors back to back."""
        per_sector = self.erase_time + self.program_seconds(self.sector_size)
        return self.sector_size / per_sector


NRF52840: Final = FlashProfile(
    name="nrf52840",
    description="nRF52840 internal flash: 1 MiB, 4 KiB pages, 32-bit words (NVMC maxima)",
    size=1024 * 1024, sector_size=4096, write_unit=4, program_chunk=1024,
    erase_time=0.085, program_time=41e-6, buffer_size=2 * 4096)

STM32F4: Final = FlashProfile(
    name="stm32f4",
    description="STM32F405/407 internal flash, 128 KiB sectors, x32 programming",
    size=1024 * 1024, sector_size=128 * 1024, write_unit=4, program_chunk=1024,
    erase_time=1.0, program_time=16e-6, buffer_size=2 * 16 * 1024)

SLOW: Final = FlashProfile(
    name="slow",
    description="deliberately slow flash (about 3.3 KiB/s), slower than a 115200-baud line",
    size=1024 * 1024, sector_size=4096, write_unit=256, program_chunk=256,
    erase_time=0.25, program_time=0.06, buffer_size=2 * 4096)

PROFILES: Final = {profile.name: profile for profile in (NRF52840, STM32F4, SLOW)}
DEFAULT_PROFILE: Final = NRF52840.name


class UnknownProfile(FlasherError):
    """A flash profile name that is not defined.

    Attributes:
        name: The name asked for.
    """

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown flash profile {name!r}",
                         hint="Choose one of: " + ", ".join(sorted(PROFILES)))
        self.name = name


class FlashSizeError(FlasherError):
    """A flash size the simulated part cannot have.

    Attributes:
        profile: The profile name.
        size: The size asked for.
        unit: What the size must be a multiple of.
    """

    def __init__(self, profile: str, size: int, unit: int) -> None:
        super().__init__(f"flash size {size} for {profile}: not a positive multiple of {unit} bytes",
                         hint=f"Give a multiple of {unit} (eight sectors), like {16 * unit}.")
        self.profile, self.size, self.unit = profile, size, unit


def get_profile(name: str, size: int | None = None) -> FlashProfile:
    """The profile called `name`, optionally with `size` bytes of flash instead of its own
    (a larger part of the same family: same sectors and timings, more of them).

    Raises:
        UnknownProfile: No profile has that name.
        FlashSizeError: `size` is not a positive multiple of eight sectors.
    """
    try:
        profile = PROFILES[name]
    except KeyError:
        raise UnknownProfile(name) from None
    if size is None:
        return profile
    # The default layout splits the flash in eighths of whole sectors.
    if size <= 0 or size % (8 * profile.sector_size):
        raise FlashSizeError(profile.name, size, 8 * profile.sector_size)
    return replace(profile, size=size)
