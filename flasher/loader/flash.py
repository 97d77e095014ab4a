"""A file-backed simulated NOR flash with timings and power-cut fault injection.

The flash is one file of `profile.size` bytes. It behaves like NOR flash: erasing a sector
sets it to 0xFF, programming can only clear bits (the stored value is ``old & new``), and
writes must be aligned to the profile's write unit.

Timing is *device-time accounting*: every erase and program adds its duration to
`device_seconds` and advances a "flash busy until" clock. With ``realtime=False`` (tests)
nothing sleeps. With ``realtime=True`` the caller is blocked only when the work queued
ahead of it exceeds what the profile's RAM buffer can hide (see `FlashTimer.wait_for_room`),
so programming overlaps with reception the way a double-buffered loader does it.

Power cuts: every erase, program and state write is a *write step* reported to a
`PowerSwitch`. A switch armed with ``cut_at=N`` cuts the power at the N-th step: the
step is left half done (a torn erase leaves part of the sector unerased, a torn program
leaves part of the data unwritten) and `PowerCut` unwinds everything, like a CPU that
stops. `PowerCut` derives from BaseException on purpose: no ``except Exception`` in the
device may swallow a power loss.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from fileio import write_atomic
from flasher.errors import FlasherError
from flasher.loader.profiles import FlashProfile

logger = logging.getLogger(__name__)

ERASED: Final = 0xFF


class PowerCut(BaseException):  # noqa: N818 - an event, not an error
    """The simulated power was cut during a write step (fault injection only).

    Attributes:
        step: The step during which the power went.
    """

    def __init__(self, step: WriteStep) -> None:
        super().__init__(f"power cut during step {step.index} ({step.kind} {step.detail})")
        self.step = step


class FlashAccessError(FlasherError):
    """An access outside the flash or not aligned to its write unit (a loader bug).

    Attributes:
        address: The first byte addressed.
        length: How many bytes.
        problem: What was wrong.
    """

    def __init__(self, address: int, length: int, problem: str) -> None:
        super().__init__(f"flash access at 0x{address:x}+{length}: {problem}",
                         hint="This is a defect of the simulated loader; report it.")
        self.address = address
        self.length = length
        self.problem = problem


@dataclass(frozen=True)
class WriteStep:
    """One step that changes persistent state.

    Attributes:
        index: Its number, counting from 0 since the switch was made.
        kind: ``erase``, ``program``, or a state-write kind such as ``slot-switch``.
        detail: Where: an address or what the state write records.
    """

    index: int
    kind: str
    detail: str


@dataclass
class PowerSwitch:
    """Counts write steps and cuts the power at step `cut_at` (never if None).

    Attributes:
        cut_at: The index of the step to interrupt.
        steps: Every step seen so far, the interrupted one included.
    """

    cut_at: int | None = None
    steps: list[WriteStep] = field(default_factory=list)

    def step(self, kind: str, detail: str) -> WriteStep | None:
        """Record a step; return it if the power goes now (the caller tears it and raises)."""
        step = WriteStep(len(self.steps), kind, detail)
        self.steps.append(step)
        return step if step.index == self.cut_at else None


class KillSwitch(PowerSwitch):
    """A `PowerSwitch` for power-cut tests of a real process: at step `cut_at` the process
    SIGKILLs itself before the step's write begins, as abruptly as a power cut (nothing is
    flushed, no handler runs). ``suitwb device serve`` uses it when the environment sets
    ``SUITWB_LOADER_KILL_AT_STEP``; each step is logged at debug level so a test can count
    them."""

    def step(self, kind: str, detail: str) -> WriteStep | None:
        step = WriteStep(len(self.steps), kind, detail)
        self.steps.append(step)
        logger.debug("write step %d: %s %s", step.index, kind, detail)
        if step.index == self.cut_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return None


class FlashTimer:
    """Device-time accounting for erase and program work, optionally paced in real time.

    Args:
        profile: Supplies the buffer size used for pacing.
        realtime: Block callers so that the flash never falls more than a buffer behind.
        clock: The monotonic clock (seconds).
        sleep: How to wait.
    """

    def __init__(self, profile: FlashProfile, *, realtime: bool = False,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.profile = profile
        self.realtime = realtime
        self.device_seconds = 0.0
        self._clock = clock
        self._sleep = sleep
        self._busy_until = clock()

    def account(self, seconds: float) -> None:
        """Queue `seconds` of flash work behind whatever is already queued."""
        self.device_seconds += seconds
        self._busy_until = max(self._clock(), self._busy_until) + seconds

    def backlog(self) -> float:
        """Seconds of queued flash work not yet done."""
        return max(0.0, self._busy_until - self._clock())

    def wait_for_room(self) -> None:
        """In real time, block while the queued work exceeds what the buffer can hide.

        The buffer holds `buffer_size` bytes; at the sustained rate that is the work the
        loader may have queued while it keeps receiving (a double buffer).
        """
        if not self.realtime:
            return
        allowed = self.profile.buffer_size / self.profile.sustained_write_rate
        excess = self.backlog() - allowed
        if excess > 0:
            self._sleep(excess)

    def drain(self) -> None:
        """In real time, block until all queued work is done (before reporting success)."""
        if self.realtime and self.backlog() > 0:
            self._sleep(self.backlog())


class SimulatedFlash:
    """NOR flash kept in a file; created erased if the file does not exist.

    Args:
        path: The backing file (persists across restarts of the device).
        profile: Geometry and timings.
        power: Counts write steps and injects power cuts.
        timer: Device-time accounting; a non-pacing one is made if not given.
    """

    def __init__(self, path: Path, profile: FlashProfile, power: PowerSwitch,
                 timer: FlashTimer | None = None) -> None:
        self.path = path
        self.profile = profile
        self.power = power
        self.timer = timer or FlashTimer(profile)
        self.erase_count = 0
        self.program_count = 0
        if not path.exists() or path.stat().st_size != profile.size:
            _create_erased(path, profile.size)
        self._fd = os.open(path, os.O_RDWR)

    def close(self) -> None:
        """Release the backing file."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def read(self, address: int, length: int) -> bytes:
        """`length` bytes from `address`."""
        self._check_range(address, length)
        return os.pread(self._fd, length, address)

    def erase_sector(self, sector: int) -> None:
        """Erase sector number `sector` (all bytes become 0xFF). One write step."""
        size = self.profile.sector_size
        self._check_range(sector * size, size)
        cut = self.power.step("erase", f"sector {sector} @0x{sector * size:x}")
        if cut is not None:
            # An interrupted erase leaves the sector's bits undefined; model that as the
            # first half erased and the second half as it was.
            os.pwrite(self._fd, bytes([ERASED]) * (size // 2), sector * size)
            raise PowerCut(cut)
        os.pwrite(self._fd, bytes([ERASED]) * size, sector * size)
        self.erase_count += 1
        self.timer.account(self.profile.erase_time)

    def program(self, address: int, data: bytes) -> None:
        """Program `data` at `address` (bits can only go from 1 to 0). One write step."""
        self._check_range(address, len(data))
        unit = self.profile.write_unit
        if address % unit or len(data) % unit:
            raise FlashAccessError(address, len(data), f"not aligned to {unit} bytes")
        cut = self.power.step("program", f"@0x{address:x}+{len(data)}")
        if cut is not None:
            half = (len(data) // 2) // unit * unit
            self._and_write(address, data[:half])
            raise PowerCut(cut)
        self._and_write(address, data)
        self.program_count += 1
        self.timer.account(self.profile.program_seconds(len(data)))

    def is_erased(self, address: int, length: int) -> bool:
        """Whether every byte in the range reads 0xFF."""
        return self.read(address, length).count(ERASED) == length

    def _and_write(self, address: int, data: bytes) -> None:
        old = os.pread(self._fd, len(data), address)
        new = (int.from_bytes(old, "big") & int.from_bytes(data, "big")).to_bytes(
            len(data), "big")
        os.pwrite(self._fd, new, address)

    def _check_range(self, address: int, length: int) -> None:
        if address < 0 or length < 0 or address + length > self.profile.size:
            raise FlashAccessError(address, length, f"outside the {self.profile.size}-byte flash")


def _create_erased(path: Path, size: int) -> None:
    """Write a fresh, fully erased flash image atomically and durably (`fileio`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, _erased_chunks(size))


def _erased_chunks(size: int, chunk: int = 1 << 20) -> Iterator[bytes]:
    """`size` bytes of 0xFF in chunks, so a big flash never needs one big buffer."""
    block = bytes([ERASED]) * min(size, chunk)
    for start in range(0, size, chunk):
        yield block[:min(chunk, size - start)]
