"""Gang flashing: 8 virtual devices flashed at once at 115200 baud.

Each device is its own `suitwb device serve --pty --baud 115200` process (default flash
profile, flash timed in real time). The single-device figure is measured first in the
same run, with the same image; the gang's aggregate payload throughput is then compared
with 8x that figure (target >= 0.95). Host CPU use is the flashing process's CPU time
over the wall time (100 % = one core); the device processes' CPU is shown apart.

About 30 s. `python -m benchmarks.gang [--quick]` (--quick: 32 KiB instead of 128 KiB).
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.flash_throughput import image, served_devices, signed_bundle, timed_flash
from flasher.gang import GangFlash
from flasher.loader.profiles import DEFAULT_PROFILE

BAUD = 115200
DEVICES = 8


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> None:
    quick = "--quick" in (sys.argv[1:] if argv is None else argv)
    size = (32 if quick else 128) * 1024
    bundle = signed_bundle(image(size))
    with tempfile.TemporaryDirectory() as folder:
        with served_devices(1, BAUD, DEFAULT_PROFILE, Path(folder) / "single") as [port]:
            single = size / timed_flash(port, bundle)
        children_before = _children_cpu()
        with served_devices(DEVICES, BAUD, DEFAULT_PROFILE, Path(folder) / "gang") as ports:
            cpu, wall = time.process_time(), time.perf_counter()
            outcomes = GangFlash(ports, bundle).run()
            wall = time.perf_counter() - wall
            cpu = time.process_time() - cpu
        devices_cpu = _children_cpu() - children_before
    failed = [o for o in outcomes if o.result != "ok"]
    if failed:
        raise RuntimeError(f"gang failures: {[(o.port, o.reason) for o in failed]}")
    aggregate = DEVICES * size / wall
    print(f"single device, {size // 1024} KiB at {BAUD} baud   {single / 1024:8.2f} KiB/s "
          f"({100 * single / (BAUD / 10):.1f} % of line)")
    print(f"{DEVICES} devices at once                    {aggregate / 1024:8.2f} KiB/s aggregate, "
          f"{aggregate / (DEVICES * single):.3f} x {DEVICES} x single (target >= 0.95)")
    print(f"host CPU while flashing {DEVICES}              {100 * cpu / wall:6.1f} % of one core "
          f"({cpu:.2f} s CPU in {wall:.1f} s); device processes {devices_cpu:.1f} s CPU in all")


if __name__ == "__main__":
    main()
