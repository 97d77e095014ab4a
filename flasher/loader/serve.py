"""Putting the recovery server on a line: a new pseudo-terminal, or an existing port.

`suitwb device serve --pty` creates a pseudo-terminal, hands its path to the person (the
host opens it like any serial port) and serves on the master side; `--port URL` serves on
a port pyserial can open (a USB-serial loopback cable, a line simulator's socket).
"""

from __future__ import annotations

import logging
import os
import select
import threading
import time
from collections.abc import Callable
from typing import Final

from flasher.errors import TransportError
from flasher.loader.contract import DeviceBehaviour
from flasher.loader.server import RecoveryServer, ServerConfig
from flasher.transport import SerialTransport, Transport

logger = logging.getLogger(__name__)

#: Backoff between tries to open a port that is gone: the first wait, and the bound
#: (a replugged cable is served again within _BACKOFF_MAX seconds).
_BACKOFF_FIRST: Final = 0.1
_BACKOFF_MAX: Final = 2.0
#: A line that stayed up this long was a connection, not a flap of the same outage.
_STABLE_LINE: Final = 5.0
_WRITE_PATIENCE: Final = 0.5  # seconds a full pty may hold up the device's output


class FdTransport:
    """A transport over a raw file descriptor (the master side of a pseudo-terminal).

    Args:
        fd: The open descriptor; closed by `close`.
        name: The name used in errors.
    """

    def __init__(self, fd: int, name: str) -> None:
        self.fd = fd
        self.name = name
        os.set_blocking(fd, False)
        self._dropping = False

    def read(self, size: int, timeout: float) -> bytes:
        """Up to `size` bytes, b"" after `timeout` seconds without any."""
        try:
            ready, _, _ = select.select([self.fd], [], [], timeout)
            return os.read(self.fd, size) if ready else b""
        except BlockingIOError:
            return b""
        except OSError as exc:
            raise TransportError(self.name, f"read failed: {exc}") from exc

    def write(self, data: bytes) -> None:
        """Write `data`; what the other side leaves unread for too long is dropped.

        A UART transmits whether or not anyone listens, so a device must never block on
        its output: a pty whose other end is not being read fills up, and then the rest of
        the frame is lost as it would be on a wire with no receiver.
        """
        view = memoryview(data)
        try:
            while view:
                # Once output was dropped, later frames are dropped at once until the other
                # side reads again (else every reply would wait out the patience).
                patience = 0.0 if self._dropping else _WRITE_PATIENCE
                _, ready, _ = select.select([], [self.fd], [], patience)
                if not ready:
                    self._dropping = True
                    return
                self._dropping = False
                try:
                    view = view[os.write(self.fd, view):]
                except BlockingIOError:
                    continue
        except OSError as exc:
            raise TransportError(self.name, f"write failed: {exc}") from exc

    def close(self) -> None:
        """Close the descriptor (once)."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class PseudoTerminal:
    """A new pseudo-terminal in raw mode: the device holds the master, the host opens `path`.

    The device also keeps the slave side open, so a host closing and reopening the port
    (a disconnect) does not end the master's life with an I/O error.
    """

    def __init__(self) -> None:
        import tty  # POSIX only, imported here so the CLI still loads on Windows

        master, slave = os.openpty()
        tty.setraw(slave)  # 8-bit clean: no echo, no CR/LF translation, no signals
        self.path = os.ttyname(slave)
        self._slave = slave
        self.transport = FdTransport(master, self.path)

    def close(self) -> None:
        """Close both sides."""
        self.transport.close()
        if self._slave >= 0:
            os.close(self._slave)
            self._slave = -1


def serve_transport(transport: Transport, device: DeviceBehaviour, config: ServerConfig,
                    stop: threading.Event, reboot: Callable[[], None] | None = None) -> None:
    """Serve `device` on an open transport until `stop` is set or the line fails."""
    RecoveryServer(transport, device, config, reboot).serve(stop)


def serve_port(url: str, device: DeviceBehaviour, config: ServerConfig,
               stop: threading.Event, reboot: Callable[[], None] | None = None) -> None:
    """Serve on the port `url` until `stop` is set, reopening it whenever it goes away.

    A USB gadget port (``/dev/ttyGS0``) vanishes when the host unplugs the cable and comes
    back when it is plugged in again; a USB-serial adapter does the same, a socket peer
    hangs up. The loader does not exit: it closes the port, abandons the session (the
    update stays resumable), waits with a bounded backoff and serves the port again.
    """
    outage = Outage(url)
    while not stop.is_set():
        try:
            transport = SerialTransport.open(url, config.baud or 115200)
        except TransportError as exc:
            outage.open_failed(exc)
            stop.wait(outage.next_delay())
            continue
        outage.opened()
        server = RecoveryServer(transport, device, config, reboot)
        began = time.monotonic()
        try:
            server.serve(stop)
        finally:
            transport.close()
        if not stop.is_set():
            outage.lost(worked=server.frames_received > 0
                        or time.monotonic() - began >= _STABLE_LINE)
            stop.wait(outage.next_delay())


class Outage:
    """When the port is gone: how long to wait before the next try, and what to log.

    One warning when the port goes away and one line when it is back, however many
    retries lie between (a journal must not fill up while a cable lies on the desk). A
    line that opens and fails at once (a hung-up tty whose node stays) is the same outage.

    Args:
        url: The port, for the log.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.since: float | None = None  # monotonic start of the current outage
        self.announced_back = False
        self._delay = _BACKOFF_FIRST

    def open_failed(self, exc: TransportError) -> None:
        """The port cannot be opened (absent, busy, not a tty)."""
        if self.since is None:
            self._begin(f"port {self.url} is not available ({exc.problem}); waiting for it")
        else:
            logger.debug("port %s still unavailable: %s", self.url, exc.problem)

    def opened(self) -> None:
        """The port opened: announced once per outage."""
        if self.since is not None and not self.announced_back:
            logger.info("port %s is back after %.1f s; serving", self.url,
                        time.monotonic() - self.since)
            self.announced_back = True

    def lost(self, *, worked: bool) -> None:
        """The open line failed; `worked`: it carried frames or stayed up a while."""
        if worked or self.since is None:
            self._begin(f"port {self.url} is gone; waiting for it to come back")

    def next_delay(self) -> float:
        """Seconds to wait before the next try: doubling, at most `_BACKOFF_MAX`."""
        delay = self._delay
        self._delay = min(self._delay * 2, _BACKOFF_MAX)
        return delay

    def _begin(self, message: str) -> None:
        logger.warning("%s (retrying every %.1f s at most)", message, _BACKOFF_MAX)
        self.since, self.announced_back, self._delay = time.monotonic(), False, _BACKOFF_FIRST
