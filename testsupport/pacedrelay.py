"""A serial line between a client and a device pseudo-terminal, paced like a real UART.

Run as a separate process (``python -m testsupport.pacedrelay DEVICE_PTY --rate 11520``):
it makes a new pseudo-terminal for the client, prints its path on the first line of
stdout, and moves bytes each way no faster than `rate` bytes per second (115200 8N1 is
11,520 B/s: 10 bits a byte). Like a UART it holds at most a few hundred bytes: a writer
faster than the line blocks in the pty's own buffer. Killing it is an unplugged cable.
"""

from __future__ import annotations

import argparse
import os
import select
import subprocess
import sys
import time
import tty
from pathlib import Path
from typing import Final

_HELD: Final = 256  # bytes the relay holds per direction (a UART FIFO and a bit)
_BURST: Final = 64  # bytes the line may send at once after idling (5.6 ms at 115200)
_STEP: Final = 16  # wake when this much allowance has accrued (fewer, larger writes)


class _Direction:
    def __init__(self, source: int, sink: int, rate: float) -> None:
        self.source, self.sink, self.rate = source, sink, rate
        self.held = bytearray()
        self.clock = time.monotonic()  # when the line is free again

    def wants_input(self) -> bool:
        return len(self.held) < _HELD

    def pull(self) -> bool:
        try:
            data = os.read(self.source, _HELD - len(self.held))
        except OSError:  # EIO: nobody holds the other side (yet); not an end
            return False
        self.held += data
        return bool(data)

    def push(self, now: float) -> float | None:
        """Send what the line allows by `now`; return when to come back (None: idle)."""
        if not self.held:
            return None
        self.clock = max(self.clock, now - _BURST / self.rate)
        allowed = min(len(self.held), int((now - self.clock) * self.rate))
        if allowed > 0:
            try:
                sent = os.write(self.sink, bytes(self.held[:allowed]))
            except BlockingIOError:
                sent = 0
            except OSError:
                sent = len(self.held)  # the reader went away: the bytes fall off the line
            del self.held[:sent]
            self.clock += sent / self.rate
        return self.clock + min(len(self.held), _STEP) / self.rate if self.held else None


def _open_raw(path: str) -> int:
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    tty.setraw(fd)
    return fd


def serve(device_path: str, rate: float) -> None:
    """Relay until killed."""
    device = _open_raw(device_path)
    main, client = os.openpty()
    tty.setraw(main)
    tty.setraw(client)
    os.set_blocking(main, False)
    print(os.ttyname(client), flush=True)
    up, down = _Direction(main, device, rate), _Direction(device, main, rate)
    while True:
        readers = [d.source for d in (up, down) if d.wants_input()]
        now = time.monotonic()
        wakes = [w for w in (up.push(now), down.push(now)) if w is not None]
        timeout = max(0.0, min(wakes) - time.monotonic()) if wakes else 0.05
        ready, _, _ = select.select(readers, [], [], min(timeout, 0.05))
        for direction in (up, down):
            if direction.source in ready and not direction.pull():
                time.sleep(0.001)  # a pty with no reader signals readiness forever


class PacedRelay:
    """The relay as a child process; `start` returns the client's pty path, `stop` kills it."""

    def __init__(self, device_path: str, rate: float = 11520.0) -> None:
        self.device_path, self.rate = device_path, rate
        self.process: subprocess.Popen[str] | None = None
        self.path = ""

    def start(self, timeout: float = 10.0) -> str:
        """Start the relay process; return the path the client opens."""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "testsupport.pacedrelay", self.device_path,
             "--rate", str(self.rate)], stdout=subprocess.PIPE, text=True,
            cwd=Path(__file__).resolve().parent.parent, start_new_session=True)
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline().strip() if ready else ""
        if not line.startswith("/dev/"):
            self.stop()
            raise RuntimeError("the paced relay did not start")
        self.path = line
        return line

    def stop(self) -> None:
        """Kill the relay (an unplugged cable); idempotent."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("device", help="the device's pseudo-terminal")
    parser.add_argument("--rate", type=float, default=11520.0, help="bytes per second each way")
    args = parser.parse_args()
    serve(args.device, args.rate)


if __name__ == "__main__":
    main()
