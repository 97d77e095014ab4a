"""Real SMP devices for tests and benchmarks: MCUboot + Zephyr in QEMU, Zephyr native_sim.

Both announce a host pseudo-terminal on their output; we wait for it (bounded), and always
kill the process on `stop` (QEMU waiting in serial recovery burns most of a core).
Facts: ../shared/firmware/README.md.
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from testsupport import firmware

_QEMU_PTY: Final = re.compile(rb"char device redirected to (/dev/pts/\d+)")
_SIM_PTY: Final = re.compile(rb"uart connected to pseudotty: (/dev/pts/\d+)")
SLOT0_LOAD: Final = "0x20050000"  # where the MPS2 build's slot 0 (image 0 primary) sits


class DeviceStartFailed(RuntimeError):
    """The emulator did not come up (no pseudo-terminal announced in time)."""


def _wait_for(process: subprocess.Popen[bytes], pattern: re.Pattern[bytes],
              timeout: float) -> str:
    assert process.stdout is not None
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.1)
        if ready:
            chunk = os.read(process.stdout.fileno(), 4096)
            seen += chunk
            found = pattern.search(seen)
            if found:
                return found.group(1).decode()
            if not chunk:
                break
    raise DeviceStartFailed(f"no pseudo-terminal announced within {timeout} s: {seen[-300:]!r}")


def _kill(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


@dataclass
class QemuDevice:
    """MCUboot (serial recovery) + Zephyr SMP server on an emulated MPS2 AN385.

    Args:
        workdir: Where the boot log (uart1) is written.
        hex_file: MCUboot + application .hex (firmware.RECOVERY_HEX).
        slot0_image: An image QEMU loads into slot 0 at every reset; None leaves slot 0
            empty, so MCUboot stays in serial recovery.
    """

    workdir: Path
    hex_file: Path
    slot0_image: Path | None = None
    pty: str = ""
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def boot_log(self) -> Path:
        """Everything MCUboot and the application print on the second UART."""
        return self.workdir / "uart1.log"

    def command(self) -> list[str]:
        """The QEMU command line (README: uart0 = SMP on a pty, uart1 = boot log)."""
        args = ["qemu-system-arm", "-cpu", "cortex-m3", "-machine", "mps2-an385", "-nographic",
                "-serial", "pty", "-serial", f"file:{self.boot_log}", "-monitor", "none",
                "-device", f"loader,file={self.hex_file}"]
        if self.slot0_image is not None:
            args += ["-device", f"loader,file={self.slot0_image},addr={SLOT0_LOAD}"]
        return args

    def start(self, timeout: float = 10.0) -> str:
        """Start QEMU; return the SMP pseudo-terminal's path."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(self.command(), stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        start_new_session=True)
        try:
            self.pty = _wait_for(self.process, _QEMU_PTY, timeout)
        except DeviceStartFailed:
            self.stop()
            raise
        return self.pty

    def stop(self) -> None:
        """Kill QEMU (idempotent)."""
        _kill(self.process)

    def log_text(self) -> str:
        """The boot log so far."""
        return self.boot_log.read_text(errors="replace") if self.boot_log.exists() else ""


@dataclass
class NativeSimDevice:
    """The Zephyr SMP server as a Linux program; it writes flash.bin into `workdir`."""

    workdir: Path
    program: Path
    pty: str = ""
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self, timeout: float = 10.0) -> str:
        """Start it; return its UART's pseudo-terminal path."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen([str(self.program)], cwd=self.workdir,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            self.pty = _wait_for(self.process, _SIM_PTY, timeout)
        except DeviceStartFailed:
            self.stop()
            raise
        return self.pty

    def stop(self) -> None:
        """Kill it (idempotent)."""
        _kill(self.process)


def recovery_qemu(workdir: Path, slot0_image: Path | None = None) -> QemuDevice:
    """A QemuDevice for the recorded MPS2 firmware (not started)."""
    return QemuDevice(workdir, firmware.firmware_dir() / firmware.RECOVERY_HEX, slot0_image)
