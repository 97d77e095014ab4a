"""The lowest layer: a byte pipe to a device (STYLE.md §4, §5).

`Transport` is the seam; `SerialTransport` opens any pyserial URL (a real port such as
``/dev/ttyACM0`` or ``COM7``, USB CDC-ACM included, ``socket://host:port``, ``loop://``)
with `serial.serial_for_url`, or wraps an already-open port for tests. pyserial's and the
operating system's exceptions stop here and become `TransportError`.
"""

from __future__ import annotations

import errno
import os
import time
from typing import Protocol

import serial

from flasher.errors import NoSuchPort, TransportError

DEFAULT_BAUD = 115200


class Transport(Protocol):
    """A full-duplex byte pipe. `read` returns b"" when nothing arrived within `timeout`."""

    name: str

    def read(self, size: int, timeout: float) -> bytes: ...

    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...


class SerialTransport:
    """A pyserial port as a Transport.

    Args:
        port: An open `serial.Serial` (or any object with its read/write/close API).
        name: The name used in errors, usually the URL it was opened from.
    """

    def __init__(self, port: serial.SerialBase, name: str) -> None:
        self._port = port
        self.name = name

    @classmethod
    def open(cls, url: str, baudrate: int = DEFAULT_BAUD,
             write_timeout: float = 10.0) -> SerialTransport:
        """Open `url` with `serial.serial_for_url` (8N1, no flow control).

        `write_timeout` bounds how long a write may block on a line nobody reads (a device
        that died with the buffers full); it then fails as a TransportError.
        """
        try:
            port = serial.serial_for_url(url, baudrate=baudrate, timeout=0.05,
                                         write_timeout=write_timeout, exclusive=_exclusive(url))
        except (serial.SerialException, OSError, ValueError) as exc:
            if _missing(url, exc):
                raise NoSuchPort(url) from exc
            raise TransportError(url, f"cannot open: {exc}") from exc
        return cls(port, url)

    def _waiting(self) -> int:
        # Every port class serial_for_url returns (posix, rfc2217, socket://, loop://)
        # defines in_waiting; pyserial's SerialBase, the declared return type, does not.
        return int(self._port.in_waiting)  # type: ignore[attr-defined]

    def read(self, size: int, timeout: float) -> bytes:
        """Up to `size` bytes; b"" if none arrived within `timeout` seconds."""
        try:
            if self._port.timeout != timeout:
                self._port.timeout = timeout
            first = b"" if self._waiting() else self._port.read(1)
            waiting = self._waiting()
            if not first and not waiting:
                return b""
            return bytes(first) + bytes(self._port.read(min(waiting, size - len(first))))
        except (serial.SerialException, OSError, TypeError, AttributeError, ValueError) as exc:
            # TypeError/AttributeError: pyserial's socket:// raises them once closed;
            # ValueError: its select() on a socket closed under it (fd -1), as when the
            # session closes the port while its reader thread polls.
            raise TransportError(self.name, f"read failed: {exc}") from exc

    def write(self, data: bytes) -> None:
        """Write all of `data` (blocks while the line's buffer is full)."""
        try:
            self._port.write(data)
        except (serial.SerialException, OSError, TypeError, AttributeError, ValueError) as exc:
            raise TransportError(self.name, f"write failed: {exc}") from exc

    def close(self) -> None:
        """Close the port; closing twice is harmless."""
        try:
            self._port.close()
        except (serial.SerialException, OSError):  # already gone (unplugged): nothing to do
            pass


def _missing(url: str, exc: BaseException) -> bool:
    # pyserial re-raises the OS's ENOENT as a SerialException carrying the errno; a URL
    # handler (socket://, loop://) never names a device file.
    return "://" not in url and getattr(exc, "errno", None) == errno.ENOENT


def _exclusive(url: str) -> bool | None:
    # Local device files get an exclusive lock so two flashers never share a port;
    # URL handlers (socket://, loop://) do not support the option.
    return None if "://" in url or os.name != "posix" else True


class PacedTransport:
    """A transport that moves bytes no faster than a serial line at `baud` would (8N1).

    A UART sends 10 bits per byte (start, 8 data, stop), so the line carries baud/10 bytes
    per second each way. Reads and writes each draw from a token bucket refilled at that
    rate with a burst of a few milliseconds, so a pseudo-terminal or a socket behaves, for
    throughput, like the real line. Used by the virtual device (`suitwb device serve --baud`).

    Args:
        inner: The unpaced transport.
        baud: The line rate in bits per second.
    """

    def __init__(self, inner: Transport, baud: int) -> None:
        self.inner = inner
        self.name = inner.name
        self.rate = baud / 10.0
        self._read_bucket = _TokenBucket(self.rate)
        self._write_bucket = _TokenBucket(self.rate)

    def read(self, size: int, timeout: float) -> bytes:
        """Up to `size` bytes, never more than the line could have delivered by now."""
        allowed = self._read_bucket.take_up_to(size)
        data = self.inner.read(allowed, timeout)
        self._read_bucket.give_back(allowed - len(data))
        return data

    def write(self, data: bytes) -> None:
        """Write `data`, taking the line time it needs."""
        for start in range(0, len(data), 256):
            piece = data[start:start + 256]
            self._write_bucket.take_exactly(len(piece))
            self.inner.write(piece)

    def close(self) -> None:
        """Close the inner transport."""
        self.inner.close()


class _TokenBucket:
    """Bytes allowed by the line so far: refilled at `rate` per second, capped at 5 ms."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.burst = max(64.0, rate * 0.005)
        self.tokens = 0.0
        self.stamp = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def take_up_to(self, size: int) -> int:
        """Wait for at least one byte of allowance, then take up to `size` bytes of it."""
        self._refill()
        if self.tokens < 1.0:
            time.sleep((1.0 - self.tokens) / self.rate + 0.001)
            self._refill()
        granted = int(min(size, self.tokens))
        self.tokens -= granted
        return max(granted, 1)

    def take_exactly(self, size: int) -> None:
        """Wait until `size` bytes of allowance have accrued and take them."""
        self._refill()
        self.tokens -= size
        if self.tokens < 0:
            time.sleep(-self.tokens / self.rate)

    def give_back(self, unused: int) -> None:
        """Return allowance that a read did not use (nothing arrived)."""
        self.tokens = min(self.burst, self.tokens + unused)
