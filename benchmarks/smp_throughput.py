"""SMP upload throughput to MCUboot's serial recovery in QEMU, ours against smpclient's.

The shipped ~129 KiB Zephyr application (an MCUboot image) goes into slot 0 of MCUboot
waiting in serial recovery (QEMU, MPS2 AN385), through a line paced at 115200 8N1
(11,520 B/s each way) by a separate relay process between the client's pty and QEMU's
(testsupport/pacedrelay.py). Each run uploads the same image with our client
(flasher.smp.upload: full 1024-byte frames, two in flight) and with smpclient 7.3.0's stock
`SMPClient.upload` (default framing), in alternating order, on the same QEMU and relay.

Figures are image bytes per second as a percentage of the line's 11,520 B/s. The console
framing's base64 caps any client near 71 % (a 1020-byte message takes 1,404 line bytes).
No firmware here speaks the raw (non-console) SMP framing, so that case is not measured.
Targets (issue 13): ours >= 68 % and never below smpclient's in a run.

Slow: about 2 minutes for 3 runs; `--quick` does one run. Needs the firmware
(`make firmware FROM=...`) and qemu-system-arm.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from flasher.smp import operations
from flasher.smp.session import SmpSession
from flasher.smp.upload import upload
from testsupport import firmware
from testsupport.pacedrelay import PacedRelay
from testsupport.smpdevices import recovery_qemu

LINE_RATE = 11520.0


def _ours(path: str, image: bytes) -> float:
    started = time.monotonic()
    upload(lambda: SmpSession.open(path), image)
    return time.monotonic() - started


def _smpclient(path: str, image: bytes) -> float:
    from smpclient import SMPClient
    from smpclient.transport.serial import SMPSerialTransport

    async def run() -> float:
        async with SMPClient(SMPSerialTransport(), path) as client:
            started = time.monotonic()
            async for _offset in client.upload(image):
                pass
            return time.monotonic() - started

    return asyncio.run(run())


def _settle(path: str) -> None:
    # A fresh line may swallow the first requests: get an answer before timing anything.
    with SmpSession.open(path) as session:
        operations.wait_ready(session, timeout=30)


def one_run(image: bytes, ours_first: bool) -> dict[str, float]:
    """Percent of the line for each client in one QEMU + relay session."""
    with tempfile.TemporaryDirectory() as folder:
        device = recovery_qemu(Path(folder))
        relay = PacedRelay(device.start(), LINE_RATE)
        try:
            path = relay.start()
            _settle(path)
            clients: list[tuple[str, Callable[[str, bytes], float]]] = [
                ("ours", _ours), ("smpclient", _smpclient)]
            figures = {}
            for name, client in clients if ours_first else reversed(clients):
                seconds = client(path, image)
                figures[name] = 100.0 * len(image) / seconds / LINE_RATE
                _settle(path)
            return figures
        finally:
            relay.stop()
            device.stop()


def main() -> None:
    runs = 1 if "--quick" in sys.argv[1:] else 3
    logging.getLogger("smpclient").setLevel(logging.CRITICAL)  # it logs MCUboot's rc 8 as an error
    problem = firmware.problem_with(firmware.RECOVERY_HEX) or firmware.problem_with(
        firmware.RECOVERY_IMAGE)
    if problem is not None or shutil.which("qemu-system-arm") is None:
        print(f"skipped: {problem or 'qemu-system-arm is not installed'}")
        return
    image = (firmware.firmware_dir() / firmware.RECOVERY_IMAGE).read_bytes()
    print(f"image {len(image)} B into MCUboot serial recovery (QEMU) at 115200 8N1 "
          f"({LINE_RATE:.0f} B/s), paced by a relay process")
    for run in range(runs):
        figures = one_run(image, ours_first=run % 2 == 0)
        print(f"run {run + 1}: ours {figures['ours']:.1f} % of the line, "
              f"smpclient {figures['smpclient']:.1f} %", flush=True)


if __name__ == "__main__":
    main()
