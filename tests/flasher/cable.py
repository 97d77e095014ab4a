"""A serial cable made of two real pseudo-terminals that can be unplugged and plugged back.

The host opens `Cable.host_path` (a pty slave that stays, like the flasher's own port).
The device's port is `link`, a symlink to the slave of a second pty, as /dev/ttyGS0 is the
device's end of a USB gadget serial link. Unplugging closes that pty's master (the loader's
reads fail with EIO, as a hung-up tty's do) and removes the link (opening it fails with
ENOENT, as when the gadget is unbound); plugging makes a NEW pty and points the link at it.
A thread copies bytes between the two masters; while unplugged, what the host sends is lost,
as on a cable lying on the desk.
"""

from __future__ import annotations

import os
import select
import threading
import tty
from pathlib import Path


class _Pty:
    """Both ends of a raw pty; the slave stays open here so the master never sees EIO."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)

    def close(self) -> None:
        os.close(self.master)
        os.close(self.slave)


class Cable:
    """See the module docstring.

    Args:
        link: The device's port path (created by `plug`).
        cut_after: Unplug by itself once this many host-to-device bytes went through.
    """

    def __init__(self, link: Path, cut_after: int | None = None) -> None:
        self.link = link
        self.cut_after = cut_after
        self.carried = 0  # host-to-device bytes delivered
        self.plugged = threading.Event()
        self.cut = threading.Event()  # set when cut_after unplugged the cable
        self._host = _Pty()
        self._device: _Pty | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._pump, daemon=True, name="cable")
        self._thread.start()

    @property
    def host_path(self) -> str:
        return self._host.path

    def plug(self) -> None:
        """A new device-side pty, and the link pointing at its slave."""
        with self._lock:
            self._device = _Pty()
            os.symlink(self._device.path, self.link)
            self.plugged.set()

    def unplug(self) -> None:
        """The device-side pty's master closed, the link removed."""
        with self._lock:
            self._unplug()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        with self._lock:
            if self._device is not None:
                self._unplug()
            self._host.close()

    def _unplug(self) -> None:
        if self._device is not None:
            self._device.close()
            self._device = None
        self.link.unlink(missing_ok=True)
        self.plugged.clear()

    def _pump(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                device = self._device
                ends = [self._host.master] + ([device.master] if device else [])
                ready, _, _ = select.select(ends, [], [], 0.02)
                for fd in ready:
                    self._copy(fd)

    def _copy(self, source: int) -> None:
        try:
            data = os.read(source, 65536)
        except (BlockingIOError, OSError):
            return
        device = self._device
        if source != self._host.master:
            _write(self._host.master, data)
            return
        if device is None:
            return  # the cable is out: the host's bytes are lost
        if self.cut_after is not None and self.carried + len(data) >= self.cut_after:
            data = data[:self.cut_after - self.carried]
            self.cut_after = None
            _write(device.master, data)
            self.carried += len(data)
            self.cut.set()
            self._unplug()
            return
        _write(device.master, data)
        self.carried += len(data)


def _write(fd: int, data: bytes) -> None:
    # A wire never blocks its sender for long: what the far side leaves unread for a second
    # is dropped (the protocol's retransmission copes, as with a noisy line).
    view = memoryview(data)
    while view:
        _, ready, _ = select.select([], [fd], [], 1.0)
        if not ready:
            return
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:
            continue
        except OSError:
            return
