"""Fixtures for the device tests: a virtual device in a temporary state directory."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from flasher.loader.device import DeviceConfig, VirtualDevice
from flasher.loader.flash import PowerSwitch
from testsupport.envelopes import CLASS_ID, VENDOR_ID, Build, spec_public_pem


@pytest.fixture
def config(tmp_path: Path) -> DeviceConfig:
    """A device trusting the published spec key, with the published vendor and class."""
    return DeviceConfig(state_dir=tmp_path / "device", vendor_id=VENDOR_ID, class_id=CLASS_ID,
                        trust_anchors=[spec_public_pem()])


@pytest.fixture
def make_device(config: DeviceConfig) -> Callable[..., VirtualDevice]:
    """Start (or restart) the device on the same state directory."""
    started: list[VirtualDevice] = []

    def make(power: PowerSwitch | None = None) -> VirtualDevice:
        device = VirtualDevice(config, power=power)
        started.append(device)
        return device

    yield make
    for device in started:
        device.close()


def install(device: VirtualDevice, build: Build, image: bytes, chunk: int = 4096) -> None:
    """Send `build` and its one remote payload (`image`) the way the host would."""
    requests = device.begin_update(build.envelope())
    for request in requests:
        for offset in range(request.received, request.size, chunk):
            device.write_payload(request.uri, offset, image[offset:offset + chunk])
    device.finish_update()


def image_of(size: int, seed: int = 0) -> bytes:
    """A deterministic pseudo-random firmware image."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size]) if seed >= 0 else os.urandom(size)


def slot_bytes(device: VirtualDevice, component: tuple[bytes, ...], slot: int) -> bytes:
    """The raw contents of one slot, read from the flash file itself."""
    partition = device.layout.find(component)
    assert partition is not None
    data = (device.config.state_dir / "flash.bin").read_bytes()
    start = partition.slots[slot]
    return data[start:start + partition.slot_size]
