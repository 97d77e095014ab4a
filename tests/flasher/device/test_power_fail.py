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
from tests.flasher.device.envelopes import app_update, spec_public_pem

OLD, NEW = image_of(24_000, 1), image_of(150_000, 2)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[DeviceConfig, bytes, bytes]:
    """A device running OLD, and the two manifest digests."""
    from tests.flasher.device.envelopes import CLASS_ID, VENDOR_ID
    config = DeviceConfig(state_dir=tmp_path_factory.mktemp("template"), vendor_id=VENDOR_ID,
                          class_id=CLASS_ID, trust_anchors=[spec_public_pem()])
    device = VirtualDevice(config)
    install(device, app_update(1, OLD), OLD)
    old_digest = device.last_boot.booted.manifest_digest
    device.close()
    anchor = TrustAnchor.from_pem(spec_public_pem())
    new_digest = authenticate(app_update(2, NEW).envelope(), [anchor]).report.manifest_digest.value
    return config, old_digest, new_digest


def fresh_copy(config: DeviceConfig, target: Path) -> DeviceConfig:
    shutil.copytree(config.state_dir, target)
    return DeviceConfig(state_dir=target, vendor_id=config.vendor_id, class_id=config.class_id,
                        trust_anchors=config.trust_anchors)


def update_steps(config: DeviceConfig, tmp_path: Path) -> list[str]:
    """The kinds of write steps an uninterrupted update takes (index = cut point)."""
    device = VirtualDevice(fresh_copy(config, tmp_path / "count"))
    start = len(device.power.steps)
    install(device, app_update(2, NEW), NEW)
    assert device.last_boot.booted.sequence_number == 2
    device.close()
    assert start == 0  # restarting a provisioned device with nothing pending writes nothing
    return [step.kind for step in device.power.steps]


def check_boots_a_signed_image(device: VirtualDevice, old: bytes, new: bytes) -> None:
    booted = device.last_boot.booted
    assert booted is not None, device.last_boot.rejected
    expected = {old: OLD, new: NEW}[booted.manifest_digest]
    [image] = booted.images
    assert hashlib.sha256(slot_bytes(device, APP, image.slot)[:len(expected)]).digest() == \
        hashlib.sha256(expected).digest()
    anchor = TrustAnchor.from_pem(spec_public_pem())
    envelope = device.state.envelopes[booted.manifest_digest]
    assert authenticate(envelope, [anchor]).report.manifest_digest.value == booted.manifest_digest


def test_power_cut_at_every_write_step(template: tuple[DeviceConfig, bytes, bytes],
                                       tmp_path: Path) -> None:
    config, old, new = template
    kinds = update_steps(config, tmp_path)
    counts = Counter(kinds)
    assert len(kinds) >= 200, counts
    for kind in ("begin", "erase", "program", "progress", "candidate", "sequence-number",
                 "slot-switch"):
        assert counts[kind] >= 1, counts
    outcomes: Counter[str] = Counter()
    for cut in range(len(kinds)):
        copy = fresh_copy(config, tmp_path / f"cut{cut}")
        device = VirtualDevice(copy, power=PowerSwitch(cut_at=cut))
        with pytest.raises(PowerCut) as caught:
            install(device, app_update(2, NEW), NEW)
        assert caught.value.step.kind == kinds[cut]
        device.close()
        device = VirtualDevice(copy)  # power returns: the bootloader runs
        check_boots_a_signed_image(device, old, new)
        outcomes["new" if device.last_boot.booted.manifest_digest == new else "old"] += 1
        install(device, app_update(2, NEW), NEW)  # the retried update succeeds
        assert device.last_boot.booted.manifest_digest == new
        assert device.status().components[0].sequence_number == 2
        device.close()
        shutil.rmtree(copy.state_dir)
    # Cuts before the candidate save boot the old image; cuts after it, the new one.
    assert outcomes["old"] > 0 and outcomes["new"] > 0
