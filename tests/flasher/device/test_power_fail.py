"""Power-fail safety: cut the power at every write step of an update, then boot.

A device runs a signed image (sequence 1). An update to sequence 2 is started on a copy
of that device once per write step, and the power is cut at that step: during the begin
save, any sector erase, any chunk program, any progress save, the candidate save, the
sequence-number save, or the bootloader's slot switch. After each cut the device restarts
and must boot a valid signed image (the old or the new one, verified from the flash file
itself), never anything else; then the same update, retried, must succeed.
"""

from __future__ import annotations

import hashlib
import shutil
from collections import Counter
from pathlib import Path

import pytest

from flasher.loader.device import DeviceConfig, VirtualDevice
from flasher.loader.flash import PowerCut, PowerSwitch
from flasher.loader.layout import APP
from suit.keys import TrustAnchor
from suit.processor import authenticate
from tests.flasher.device.conftest import image_of, install, slot_bytes
from testsupport.envelopes import Build, app_update, spec_public_pem, staged_update

OLD, NEW = image_of(24_000, 1), image_of(150_000, 2)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[DeviceConfig, bytes]:
    """A device running OLD, and OLD's manifest digest."""
    from testsupport.envelopes import CLASS_ID, VENDOR_ID
    config = DeviceConfig(state_dir=tmp_path_factory.mktemp("template"), vendor_id=VENDOR_ID,
                          class_id=CLASS_ID, trust_anchors=[spec_public_pem()])
    device = VirtualDevice(config)
    install(device, app_update(1, OLD), OLD)
    old_digest = device.last_boot.booted.manifest_digest
    device.close()
    return config, old_digest


def fresh_copy(config: DeviceConfig, target: Path) -> DeviceConfig:
    shutil.copytree(config.state_dir, target)
    return DeviceConfig(state_dir=target, vendor_id=config.vendor_id, class_id=config.class_id,
                        trust_anchors=config.trust_anchors)


def update_steps(config: DeviceConfig, tmp_path: Path, build: Build, image: bytes) -> list[str]:
    """The kinds of write steps an uninterrupted update takes (index = cut point)."""
    device = VirtualDevice(fresh_copy(config, tmp_path / "count"))
    start = len(device.power.steps)
    install(device, build, image)
    assert device.last_boot.booted.sequence_number == 2
    device.close()
    assert start == 0  # restarting a provisioned device with nothing pending writes nothing
    return [step.kind for step in device.power.steps]


def check_boots_a_signed_image(device: VirtualDevice, images: dict[bytes, bytes]) -> None:
    booted = device.last_boot.booted
    assert booted is not None, device.last_boot.rejected
    expected = images[booted.manifest_digest]
    [image] = booted.images
    assert hashlib.sha256(slot_bytes(device, APP, image.slot)[:len(expected)]).digest() == \
        hashlib.sha256(expected).digest()
    anchor = TrustAnchor.from_pem(spec_public_pem())
    envelope = device.state.envelopes[booted.manifest_digest]
    assert authenticate(envelope, [anchor]).report.manifest_digest.value == booted.manifest_digest


def cut_everywhere(config: DeviceConfig, old: bytes, tmp_path: Path, build: Build,
                   image: bytes) -> tuple[Counter[str], Counter[str]]:
    """Cut at every step of `build`, restart, check the boot, retry; return the step kinds
    and how many cuts booted the old and the new image."""
    anchor = TrustAnchor.from_pem(spec_public_pem())
    new = authenticate(build.envelope(), [anchor]).report.manifest_digest.value
    kinds = update_steps(config, tmp_path, build, image)
    outcomes: Counter[str] = Counter()
    for cut in range(len(kinds)):
        copy = fresh_copy(config, tmp_path / f"cut{cut}")
        device = VirtualDevice(copy, power=PowerSwitch(cut_at=cut))
        with pytest.raises(PowerCut) as caught:
            install(device, build, image)
        assert caught.value.step.kind == kinds[cut]
        device.close()
        device = VirtualDevice(copy)  # power returns: the bootloader runs
        check_boots_a_signed_image(device, {old: OLD, new: image})
        outcomes["new" if device.last_boot.booted.manifest_digest == new else "old"] += 1
        install(device, build, image)  # the retried update succeeds
        assert device.last_boot.booted.manifest_digest == new
        assert device.status().components[0].sequence_number == 2
        device.close()
        shutil.rmtree(copy.state_dir)
    # Cuts before the candidate save boot the old image; cuts after it, the new one.
    assert outcomes["old"] > 0 and outcomes["new"] > 0
    return Counter(kinds), outcomes


def test_power_cut_at_every_write_step(template: tuple[DeviceConfig, bytes], tmp_path: Path) -> None:
    config, old = template
    kinds, _outcomes = cut_everywhere(config, old, tmp_path, app_update(2, NEW), NEW)
    assert sum(kinds.values()) >= 200, kinds
    for kind in ("begin", "erase", "program", "progress", "candidate", "sequence-number",
                 "slot-switch"):
        assert kinds[kind] >= 1, kinds


@pytest.mark.parametrize("flow", ["integrated", "staged"])
def test_power_cut_during_install_time_writes(template: tuple[DeviceConfig, bytes],
                                              tmp_path: Path, flow: str) -> None:
    config, old = template
    image = image_of(18_000, 3)
    build = app_update(2, image, integrated=True) if flow == "integrated" \
        else staged_update(2, image)
    kinds, _outcomes = cut_everywhere(config, old, tmp_path, build, image)
    assert kinds["erase"] >= 5 and kinds["program"] >= 18
