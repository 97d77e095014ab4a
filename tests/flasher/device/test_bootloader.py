"""The bootloader verifies before it boots and falls back to the last good image
(RFC 9019 §4.1). Images are damaged by writing the flash file itself, as bit rot or an
attacker with flash access would."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from flasher.errors import RefusalReason, UpdateRefused
from flasher.loader.device import DeviceConfig, VirtualDevice
from flasher.loader.layout import APP
from suit.model import Command, Digest, Parameter
from tests.flasher.device.conftest import image_of, install
from testsupport.envelopes import app_update, new_key_pem, seq

Maker = Callable[..., VirtualDevice]
FIRST, SECOND = image_of(10_000, 1), image_of(11_000, 2)


def damage(device: VirtualDevice, slot: int, offset: int = 100) -> None:
    path = device.config.state_dir / "flash.bin"
    data = bytearray(path.read_bytes())
    data[device.layout.find(APP).slots[slot] + offset] ^= 0x40
    path.write_bytes(bytes(data))


def test_a_damaged_candidate_is_rejected_and_the_old_image_keeps_running(config: DeviceConfig) -> None:
    device = VirtualDevice(replace(config, reboot_after_update=False))
    install(device, app_update(1, FIRST), FIRST)
    device.reboot()
    install(device, app_update(2, SECOND), SECOND)
    assert device.status().slots["app/B"] == "candidate"
    damage(device, 1)
    result = device.reboot()
    assert result.booted.sequence_number == 1
    assert "does not hold the installed image" in result.rejected[0]
    status = device.status()
    assert status.slots["app/B"] == "free" and status.slots["app/A"] == "active"
    assert status.last_result.result == RefusalReason.OPERATION_FAILED
    device.close()


def test_a_damaged_active_image_falls_back_to_the_previous_one(make_device: Maker) -> None:
    device = make_device()
    install(device, app_update(1, FIRST), FIRST)
    install(device, app_update(2, SECOND), SECOND)
    assert device.status().components[0].active_slot == 1
    damage(device, 1)
    result = device.reboot()
    assert result.booted.sequence_number == 1
    assert device.status().components[0].active_slot == 0
    assert device.status().slots["app/B"] == "free"


def test_with_nothing_verifiable_the_device_stays_in_recovery(make_device: Maker) -> None:
    device = make_device()
    install(device, app_update(1, FIRST), FIRST)
    damage(device, 0)
    result = device.reboot()
    assert result.booted is None and result.invoked == ()
    # An update can still rescue it.
    install(device, app_update(2, SECOND), SECOND)
    assert device.last_boot.booted.sequence_number == 2


def test_an_image_whose_signer_is_no_longer_trusted_does_not_boot(make_device: Maker) -> None:
    device = make_device()
    install(device, app_update(1, FIRST), FIRST)
    _private, other = new_key_pem()
    device.state = replace(device.state, trust_anchors=(other,))
    result = device.reboot()
    assert result.booted is None
    assert "no authentication block verifies" in result.rejected[0]


def test_the_boot_runs_the_manifests_invoke_sequence(make_device: Maker) -> None:
    device = make_device()
    install(device, app_update(1, FIRST), FIRST)
    assert device.reboot().invoked == ((APP, b"go"),)


def test_an_update_whose_validate_fails_at_boot_is_reported_and_not_run(make_device: Maker) -> None:
    device = make_device()
    install(device, app_update(1, FIRST), FIRST)
    build = app_update(2, SECOND)
    build.validate = seq((Command.OVERRIDE_PARAMETERS,
                          {Parameter.IMAGE_DIGEST: Digest(-16, b"\x00" * 32)}),
                         (Command.IMAGE_MATCH, 15))
    with pytest.raises(UpdateRefused, match="bootloader rejected"):
        install(device, build, SECOND)
    assert device.last_boot.booted.sequence_number == 1
    assert device.status().slots["app/A"] == "active"
