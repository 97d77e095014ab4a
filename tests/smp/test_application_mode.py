"""Zephyr's SMP server running under MCUboot in QEMU (issue 13): update, refusal, resume."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from flasher.errors import SmpError
from flasher.smp import images
from flasher.smp import operations as ops
from flasher.smp.session import SmpSession
from flasher.smp.update import update_application
from flasher.smp.upload import UploadProgress, upload
from tests.fixtures.firmware import start_qemu
from testsupport import mcuboot
from testsupport.smpdevices import QemuDevice


@pytest.fixture
def qemu_app(tmp_path: Path, shipped_image: bytes) -> Iterator[QemuDevice]:
    """MCUboot booting the shipped application (0.0.0) from slot 0."""
    device = start_qemu(tmp_path / "qemu", slot0_image=shipped_image)
    try:
        with SmpSession.open(device.pty) as session:
            ops.wait_ready(session, timeout=30)
        yield device
    finally:
        device.stop()


def _opener(device: QemuDevice) -> SmpSession:
    return SmpSession.open(device.pty)


@pytest.mark.slow
def test_upload_to_slot1_test_reset_runs_and_confirm(qemu_app: QemuDevice,
                                                     shipped_image: bytes) -> None:
    image = mcuboot.sign(mcuboot.raw_application(shipped_image), "2.0.0")
    outcome = update_application(lambda: _opener(qemu_app), image)
    assert outcome.running.version == "2.0.0"
    assert outcome.running.hash == images.image_hash(image)
    assert outcome.running.slot == 1 and outcome.running.active
    # This MCUboot is built for RAM load: it boots the highest version by itself and
    # answers "not supported" to test and confirm (README); the outcome says so.
    assert (outcome.tested, outcome.confirmed) == (False, False)
    assert "Image version: v2.0.0" in qemu_app.log_text()
    assert "Image 0 loaded from the secondary slot" in qemu_app.log_text()


def test_a_random_file_is_refused_as_not_an_mcuboot_image(qemu_app: QemuDevice) -> None:
    with pytest.raises(SmpError) as caught:
        upload(lambda: _opener(qemu_app), os.urandom(4096))
    error = caught.value
    assert (error.rc, error.group, error.group_error) == (23, 1, True)
    assert "the device says this is not an MCUboot image" in str(error)
    assert "imgtool" in error.hint


def test_test_mark_unsupported_says_what_to_do(qemu_app: QemuDevice,
                                               shipped_image: bytes) -> None:
    with SmpSession.open(qemu_app.pty) as session, pytest.raises(SmpError) as caught:
        ops.mark_test(session, images.image_hash(shipped_image) or b"")
    assert caught.value.rc == 8
    assert "does not mark images for test or confirm" in str(caught.value)
    assert "reset it to run the new image" in caught.value.hint


def test_an_upload_survives_a_disconnect_and_resumes(qemu_app: QemuDevice,
                                                     shipped_image: bytes) -> None:
    # A valid image, small enough to keep the test short (it is uploaded, not booted).
    image = mcuboot.sign(mcuboot.raw_application(shipped_image)[:24_000], "3.0.0")
    sessions: list[SmpSession] = []
    reports: list[UploadProgress] = []

    def open_session() -> SmpSession:
        sessions.append(_opener(qemu_app))
        return sessions[-1]

    def unplug_midway(report: UploadProgress) -> None:
        reports.append(report)
        if len(sessions) == 1 and report.bytes_done > len(image) // 2:
            sessions[0].transport.close()  # the cable comes out

    result = upload(open_session, image, on_progress=unplug_midway)
    assert result.sessions == 2
    assert len(result.resumed_at) == 1 and result.resumed_at[0] > len(image) // 2
    assert any(r.reconnecting for r in reports)
    assert reports[-1].bytes_done == len(image)
    with SmpSession.open(qemu_app.pty) as session:
        slots = ops.read_image_state(session)
    slot1 = [slot for slot in slots if slot.slot == 1]
    assert slot1 and slot1[0].version == "3.0.0" and slot1[0].hash == images.image_hash(image)
