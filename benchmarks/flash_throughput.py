"""Payload throughput of `suitwb flash` as a percentage of the serial line's rate.

The line rate is baud/10 bytes per second (8N1: 10 bits per byte). Three figures:

1. **Protocol, 1 MiB**: a 1 MiB payload over a line paced at 115200 and 921600 baud, into
   the recovery server backed by a device that only keeps the bytes (the protocol's own
   efficiency: framing, window, acknowledgements, handshake, install round trip).
2. **Virtual device, default flash profile, 1 MiB**: `suitwb device serve --pty --baud N
   --flash-size 4M` (a separate process, flash timed in real time): the nRF52840 profile's
   sectors and timings on a 4 MiB part, so that its app slot holds a 1 MiB image. Where the
   flash is slower than the line (921600 baud), the figure that matters is the percentage
   of the flash's sustained rate.
3. **Slow flash**: the ``slow`` profile at 115200 baud, as a percentage of its sustained rate.
4. **Noisy line**: the protocol figure again with one byte in 10^4 corrupted (both ways)
   by the test suite's line simulator; the clean figure through the same simulator is the
   reference, since the simulator's own forwarding costs some throughput.

Slow: about 5 minutes (1 MiB at 115200 baud takes 91 s of line time, twice).
`python -m benchmarks flash_throughput [--quick]` (--quick: 1/8 of every size, about 40 s).
Targets: >= 95 % of the line; >= 90 % of the flash's sustained write rate when it is slower.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flasher.loader.contract import (
    DeviceIdentity,
    DeviceStatus,
    PayloadRequest,
    UpdateResult,
)
from flasher.loader.profiles import DEFAULT_PROFILE, get_profile
from flasher.loader.serve import PseudoTerminal
from flasher.loader.server import RecoveryServer, ServerConfig
from flasher.operations import Bundle, flash
from testsupport.envelopes import app_update
from testsupport.linesim import Faults, LineSimulator
from testsupport.vectors import SPEC_KEY_PUBLIC  # the published key signs the bundles

ROOT = Path(__file__).resolve().parents[1]
URI = "http://example.com/app.bin"
MIB = 1024 * 1024


class SinkDevice:
    """A device that accepts one payload of `size` bytes and keeps only its digest."""

    def __init__(self, size: int) -> None:
        self.size, self.hash, self.received = size, hashlib.sha256(), 0

    def identity(self) -> DeviceIdentity:
        return DeviceIdentity(b"\x00" * 16, b"\x00" * 16, b"sink")

    def status(self) -> DeviceStatus:
        return DeviceStatus(self.identity(), ())

    def begin_update(self, envelope: bytes) -> list[PayloadRequest]:
        return [PayloadRequest(URI, self.size, self.received)]

    def write_payload(self, uri: str, offset: int, data: bytes) -> None:
        self.hash.update(data)
        self.received = offset + len(data)

    def finish_update(self) -> UpdateResult:
        return UpdateResult(1, self.hash.digest(), ())

    def abort_update(self) -> None:
        self.received = 0

    def last_report(self, nonce: bytes | None) -> bytes | None:
        return None

    def capabilities(self) -> bytes:
        return b"\xa0"  # an empty map: the sink claims no capabilities


def image(size: int) -> bytes:
    """Deterministic incompressible bytes."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(counter.to_bytes(8, "big")).digest()
        counter += 1
    return bytes(out[:size])


def signed_bundle(data: bytes, number: int = 1) -> Bundle:
    """A bundle signed by the published spec key, fetching `data` from URI."""
    return Bundle.from_bytes(app_update(number, data, uri=URI).envelope(), {URI: data})


def timed_flash(port: str, bundle: Bundle) -> float:
    """Seconds for a complete flash (handshake to DONE); raises if it did not succeed."""
    began = time.perf_counter()
    outcome = flash(port, bundle)
    elapsed = time.perf_counter() - began
    if outcome.result != "ok":
        raise RuntimeError(f"{port}: {outcome.result}: {outcome.reason}")
    return elapsed


def protocol_figure(size: int, baud: int, noise: float | None = None) -> float:
    """Payload bytes per second over a paced line into a sink device; with `noise` set,
    through the line simulator corrupting that fraction of bytes."""
    data = image(size)
    pty = PseudoTerminal()
    stop = threading.Event()
    sink = SinkDevice(size)
    server = RecoveryServer(pty.transport, sink, ServerConfig(baud=baud))
    thread = threading.Thread(target=server.serve, args=(stop,), daemon=True)
    thread.start()
    line = None if noise is None else LineSimulator(pty.path, Faults(corrupt_per_byte=noise))
    try:
        elapsed = timed_flash(line.url if line else pty.path,
                              Bundle(b"\xd8\x6b\xa0" * 100, {URI: data}))
    finally:
        if line is not None:
            line.close()
        stop.set()
        thread.join()
        pty.close()
    if sink.hash.digest() != hashlib.sha256(data).digest():
        raise RuntimeError("the sink received other bytes")
    return size / elapsed


@contextmanager
def served_devices(count: int, baud: int, profile: str, folder: Path,
                   flash_size: int | None = None) -> Iterator[list[str]]:
    """`count` processes of `suitwb device serve --pty --baud BAUD`; yields their ptys."""
    size = ["--flash-size", str(flash_size)] if flash_size else []
    processes = [subprocess.Popen(
        [sys.executable, "-m", "workbench.cli.main", "device", "serve", "--pty",
         "--baud", str(baud), "--profile", profile, "--state", str(folder / f"device-{i}"),
         "--trust-anchor", str(SPEC_KEY_PUBLIC), *size],
        cwd=ROOT, stdout=subprocess.PIPE, text=True) for i in range(count)]
    try:
        yield [p.stdout.readline().strip() for p in processes]  # type: ignore[union-attr]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)


def device_figure(size: int, baud: int, profile: str, flash_size: int | None = None) -> float:
    """Payload bytes per second into a `suitwb device serve` process."""
    with tempfile.TemporaryDirectory() as folder, \
            served_devices(1, baud, profile, Path(folder), flash_size) as [port]:
        return size / timed_flash(port, signed_bundle(image(size)))


def _line(label: str, rate: float, reference: float, what: str) -> None:
    print(f"{label:<48} {rate / 1024:8.2f} KiB/s  {100 * rate / reference:5.1f} % of {what}",
          flush=True)


def kib(size: int) -> str:
    """A size as the figures' labels show it."""
    return f"{size / 1024:g} KiB"


@dataclass(frozen=True)
class Sizes:
    """What each figure sends. Labels are made from these, so --quick says what it sends."""

    protocol: int
    device: int
    slow: int
    simulated: int


def sizes(quick: bool) -> Sizes:
    """The full sizes, or 1/8 of each with --quick."""
    scale = 8 if quick else 1
    return Sizes(protocol=MIB // scale, device=MIB // scale, slow=32 * 1024 // scale,
                 simulated=256 * 1024 // scale)


def main(argv: list[str] | None = None) -> None:
    plan = sizes("--quick" in (sys.argv[1:] if argv is None else argv))
    for baud in (115200, 921600):
        _line(f"protocol, {kib(plan.protocol)} payload, {baud} baud",
              protocol_figure(plan.protocol, baud), baud / 10, "line")
    default = get_profile(DEFAULT_PROFILE)
    for baud in (115200, 921600):
        rate = device_figure(plan.device, baud, DEFAULT_PROFILE, flash_size=4 * MIB)
        line_rate = baud / 10
        _line(f"virtual device ({default.name}, 4 MiB part), {kib(plan.device)}, {baud} baud",
              rate, line_rate, "line")
        if default.sustained_write_rate < line_rate:
            _line("  the flash is slower than this line:", rate, default.sustained_write_rate,
                  f"flash ({default.sustained_write_rate / 1024:.1f} KiB/s)")
    slow = get_profile("slow")
    rate = device_figure(plan.slow, 115200, "slow")
    _line(f"virtual device (slow), {kib(plan.slow)}, 115200 baud", rate, slow.sustained_write_rate,
          f"flash ({slow.sustained_write_rate / 1024:.1f} KiB/s)")
    clean = protocol_figure(plan.simulated, 921600, noise=0.0)
    _line(f"protocol via line simulator, {kib(plan.simulated)}, 921600 baud", clean, 92160, "line")
    noisy = protocol_figure(plan.simulated, 921600, noise=1e-4)
    _line(f"  same, {kib(plan.simulated)}, 1e-4 of bytes corrupted", noisy, clean,
          "the clean simulated line")


if __name__ == "__main__":
    main()
