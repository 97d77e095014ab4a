"""Fixtures for the host-side tests: the real virtual device served on a real pty."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from flasher.loader.device import DeviceConfig, VirtualDevice
from flasher.loader.serve import PseudoTerminal
from flasher.loader.server import RecoveryServer, ServerConfig
from testsupport.envelopes import CLASS_ID, VENDOR_ID, spec_public_pem


@dataclass
class ServedDevice:
    """A virtual device served on a pty in a thread; `restart` is a device reset."""

    config: DeviceConfig
    pty: PseudoTerminal = field(default_factory=PseudoTerminal)
    device: VirtualDevice | None = None
    server: RecoveryServer | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    @property
    def path(self) -> str:
        return self.pty.path

    def start(self) -> None:
        self.device = VirtualDevice(self.config)
        self.server = RecoveryServer(self.pty.transport, self.device,
                                     ServerConfig(max_envelope=self.config.max_envelope_size),
                                     reboot=lambda: self.device.reboot() and None)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.server.serve, args=(self._stop,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.device is not None:
            self.device.close()
            self.device = None

    def restart(self) -> None:
        """A reset: the loader and everything in its RAM are gone; flash and state stay."""
        self.stop()
        self.start()


@pytest.fixture
def device_config(tmp_path: Path) -> DeviceConfig:
    """A device trusting the published spec key, with the published vendor and class ids."""
    return DeviceConfig(state_dir=tmp_path / "device", vendor_id=VENDOR_ID, class_id=CLASS_ID,
                        trust_anchors=[spec_public_pem()])


@pytest.fixture
def served(device_config: DeviceConfig) -> Iterator[ServedDevice]:
    served = ServedDevice(device_config)
    served.start()
    yield served
    served.stop()
    served.pty.close()


Factory = Callable[[], ServedDevice]
