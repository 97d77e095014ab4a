"""A noisy serial line between the host and a device, for fault tests.

The device serves on a real pseudo-terminal; the simulator holds the pty's slave side and
listens on a TCP port that the host opens as ``socket://127.0.0.1:PORT`` through pyserial.
Bytes are forwarded whole frames at a time (split on the 0x00 delimiter) so frames can be
dropped or duplicated; single bytes are corrupted at a given rate. Every random choice
comes from a seeded RNG so a failure reproduces. `disconnect` closes the host's TCP
connection as an unplugged USB adapter would.
"""

from __future__ import annotations

import os
import random
import select
import socket
import threading
import tty
from dataclasses import dataclass


@dataclass
class Faults:
    """Fault rates; each direction draws from its own seeded RNG."""

    corrupt_per_byte: float = 0.0
    drop_per_frame: float = 0.0
    duplicate_per_frame: float = 0.0
    seed: int = 1


class LineSimulator:
    """Bridges a device's pty (`device_path`) and one host TCP connection at a time."""

    def __init__(self, device_path: str, faults: Faults) -> None:
        self.faults = faults
        self._pty = os.open(device_path, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self._pty)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"socket://127.0.0.1:{self._listener.getsockname()[1]}"
        self._conn: socket.socket | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.counts = {"corrupted": 0, "dropped": 0, "duplicated": 0, "frames": 0}
        self._rng = {"up": random.Random(faults.seed), "down": random.Random(faults.seed + 1)}
        self._pending = {"up": bytearray(), "down": bytearray()}
        self._mangle_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True, name="line-simulator")
        self._thread.start()

    def disconnect(self) -> None:
        """Drop the host's connection (it sees the port fail); the next one is accepted."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            self._pending["up"].clear()

    def close(self) -> None:
        """Stop forwarding and close everything."""
        self._stop.set()
        self._thread.join(timeout=5)
        self.disconnect()
        self._listener.close()
        os.close(self._pty)

    def _run(self) -> None:
        # One thread per direction: a write that blocks on a full pty must not hold up
        # the acknowledgements flowing the other way.
        down = threading.Thread(target=self._run_down, daemon=True, name="line-down")
        down.start()
        while not self._stop.is_set():
            with self._lock:
                conn = self._conn
            ready, _, _ = select.select([self._listener] + ([conn] if conn else []), [], [], 0.05)
            if self._listener in ready:
                new, _ = self._listener.accept()
                with self._lock:
                    if self._conn is not None:
                        self._conn.close()
                    self._conn = new
            elif conn is not None and conn in ready:
                self._up(conn)
        down.join()

    def _up(self, conn: socket.socket) -> None:
        try:
            data = conn.recv(65536)
        except OSError:
            data = b""
        if not data:
            self.disconnect()
            return
        out = self._mangle("up", data)
        if out:
            os.write(self._pty, out)

    def _run_down(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._pty], [], [], 0.05)
            if not ready:
                continue
            out = self._mangle("down", os.read(self._pty, 65536))
            with self._lock:
                conn = self._conn
            if conn is not None and out:
                try:
                    conn.sendall(out)
                except OSError:
                    self.disconnect()

    def _mangle(self, direction: str, data: bytes) -> bytes:
        with self._mangle_lock:  # the counters are shared by both directions
            return self._mangle_locked(direction, data)

    def _mangle_locked(self, direction: str, data: bytes) -> bytes:
        pending = self._pending[direction]
        pending += data
        cut = pending.rfind(b"\x00")
        if cut < 0:
            return b""
        frames = bytes(pending[:cut + 1]).split(b"\x00")[:-1]
        del pending[:cut + 1]
        rng, faults, out = self._rng[direction], self.faults, bytearray()
        for frame in frames:
            self.counts["frames"] += 1
            if rng.random() < faults.drop_per_frame:
                self.counts["dropped"] += 1
                continue
            wire = self._corrupt(rng, frame + b"\x00")
            out += wire
            if rng.random() < faults.duplicate_per_frame:
                self.counts["duplicated"] += 1
                out += wire
        return bytes(out)

    def _corrupt(self, rng: random.Random, wire: bytes) -> bytes:
        rate = self.faults.corrupt_per_byte
        if rate <= 0:
            return wire
        damaged = bytearray(wire)
        position = int(rng.expovariate(rate))
        while position < len(damaged):
            damaged[position] ^= 1 << rng.randrange(8)
            self.counts["corrupted"] += 1
            position += 1 + int(rng.expovariate(rate))
        return bytes(damaged)
