"""MCUboot serial recovery in QEMU, slot 0 empty (issue 13): the real bootloader, real pty."""

from __future__ import annotations

import time

import pytest

from flasher.smp import images
from flasher.smp import operations as ops
from flasher.smp.session import SmpSession
from flasher.smp.update import update_in_recovery
from flasher.smp.upload import UploadOptions, UploadProgress, upload
from testsupport import mcuboot
from testsupport.pacedrelay import PacedRelay
from testsupport.smpdevices import QemuDevice


def test_identify_in_serial_recovery(qemu_recovery: QemuDevice) -> None:
    with SmpSession.open(qemu_recovery.pty) as session:
        ops.wait_ready(session, timeout=30)
        info = ops.identify(session)
    assert info.mode == "serial recovery"
    assert info.has_image_group is True
    assert info.os_info is None  # the bootloader has no OS group beyond reset
    assert "Enter the serial recovery mode" in qemu_recovery.log_text()


@pytest.mark.slow
def test_upload_into_slot0_reset_and_mcuboot_boots_it(qemu_recovery: QemuDevice,
                                                      shipped_image: bytes) -> None:
    image = mcuboot.sign(mcuboot.raw_application(shipped_image), "1.2.3")
    reports: list[UploadProgress] = []
    with SmpSession.open(qemu_recovery.pty) as session:
        ops.wait_ready(session, timeout=30)
    outcome = update_in_recovery(lambda: SmpSession.open(qemu_recovery.pty), image,
                                 on_progress=reports.append)
    assert outcome.upload.size == len(image) and outcome.upload.sessions == 1
    assert reports[-1].bytes_done == len(image) and reports[-1].eta == 0
    assert all(r.rate > 0 for r in reports[1:])
    assert [r.bytes_done for r in reports] == sorted(r.bytes_done for r in reports)
    assert outcome.running.slot == 0 and outcome.running.version == "1.2.3"
    assert outcome.running.hash == images.image_hash(image)
    with SmpSession.open(qemu_recovery.pty) as session:
        info = ops.identify(session)
    # The application now runs from slot 0, and MCUboot's log on uart1 says it booted it.
    assert info.mode == "application"
    slot0 = [slot for slot in info.images if slot.slot == 0]
    assert len(slot0) == 1 and slot0[0].version == "1.2.3" and slot0[0].active
    log = _wait_for_log(qemu_recovery, "Jumping to the first image slot")
    assert "Primary slot: version=1.2.3+0" in log
    assert "Image version: v1.2.3" in log


def _wait_for_log(device: QemuDevice, text: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while text not in device.log_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    return device.log_text()


def test_a_relay_killed_mid_upload_is_resumed_by_mcuboot(qemu_recovery: QemuDevice,
                                                         shipped_image: bytes) -> None:
    # The cable is a relay process; killing it mid-frame is an unplugged USB adapter.
    # A valid image, short to keep the test quick (uploaded, not booted).
    image = mcuboot.sign(mcuboot.raw_application(shipped_image)[:24_000], "4.0.0")
    relay = PacedRelay(qemu_recovery.pty, rate=40_000)
    relay.start()
    replugged: list[str] = []

    def unplug_midway(report: UploadProgress) -> None:
        if not replugged and report.bytes_done > len(image) // 3:
            relay.stop()
            replugged.append(relay.start())  # a new process, a new port path

    try:
        with SmpSession.open(relay.path) as session:
            ops.wait_ready(session, timeout=30)
        result = upload(lambda: SmpSession.open(relay.path), image, on_progress=unplug_midway,
                        options=UploadOptions(reconnect_delay=0.2))
    finally:
        relay.stop()
    assert replugged and result.sessions >= 2
    # MCUboot kept its upload state: it resumed past the point of the unplugging.
    assert result.resumed_at[0] > len(image) // 3
