"""Line faults against the real virtual device: every transfer completes with the right
bytes or ends with a clear error, and the device always has a bootable image."""

from __future__ import annotations

import hashlib
import threading

import pytest

from flasher.operations import Bundle, FlashOptions, Progress, Stage, flash
from flasher.session import SessionConfig
from tests.flasher.conftest import ServedDevice
from tests.flasher.device.conftest import image_of
from testsupport.envelopes import app_update
from testsupport.linesim import Faults, LineSimulator

URI = "http://example.com/app.bin"
OLD = image_of(20 * 1024, seed=10)
NEW = image_of(64 * 1024, seed=11)
OPTIONS = FlashOptions(SessionConfig(reply_timeout=0.3, stall_timeout=0.4, max_stalls=8),
                       reconnects=8, reconnect_delay=0.1)


def bundle(number: int, image: bytes) -> Bundle:
    return Bundle.from_bytes(app_update(number, image, uri=URI).envelope(), {URI: image})


def app_status(served: ServedDevice) -> tuple[int, bytes | None]:
    """(sequence number, digest) of the running app, after checking it boots."""
    boot = served.device.reboot()  # the bootloader verifies the image before booting it
    assert boot.booted is not None, boot.rejected
    app = served.device.status().components[0]
    [booted] = [i for i in boot.booted.images if i.component_id == (b"\x00",)]
    assert booted.digest == app.digest
    return app.sequence_number, app.digest


@pytest.fixture
def running(served: ServedDevice) -> ServedDevice:
    assert flash(served.path, bundle(1, OLD), options=OPTIONS).result == "ok"
    return served


@pytest.mark.parametrize("seed", [7, 8])
def test_noisy_line_installs_the_exact_image(running: ServedDevice, seed: int) -> None:
    line = LineSimulator(running.path, Faults(corrupt_per_byte=1e-4, drop_per_frame=0.01,
                                              duplicate_per_frame=0.01, seed=seed))
    try:
        outcome = flash(line.url, bundle(2, NEW), options=OPTIONS)
    finally:
        line.close()
    assert outcome.result == "ok", outcome.reason
    assert app_status(running) == (2, hashlib.sha256(NEW).digest())
    assert line.counts["corrupted"] + line.counts["dropped"] + line.counts["duplicated"] > 0


def test_disconnect_then_resume(running: ServedDevice) -> None:
    line = LineSimulator(running.path, Faults())
    pulled = threading.Event()

    def unplug(progress: Progress) -> None:
        if progress.stage == Stage.PAYLOAD and progress.bytes_done > 30000 and not pulled.is_set():
            pulled.set()
            line.disconnect()

    try:
        outcome = flash(line.url, bundle(2, NEW), options=OPTIONS, on_progress=unplug)
    finally:
        line.close()
    assert pulled.is_set() and outcome.result == "ok" and outcome.sessions >= 2
    assert app_status(running) == (2, hashlib.sha256(NEW).digest())


def test_device_reset_mid_transfer_then_resume(running: ServedDevice) -> None:
    reset = threading.Event()

    def power_cycle(progress: Progress) -> None:
        if progress.stage == Stage.PAYLOAD and progress.bytes_done > 40000 and not reset.is_set():
            reset.set()
            running.restart()

    outcome = flash(running.path, bundle(2, NEW), options=OPTIONS, on_progress=power_cycle)
    assert reset.is_set() and outcome.result == "ok", outcome.reason
    assert outcome.sessions >= 2
    assert app_status(running) == (2, hashlib.sha256(NEW).digest())


def test_device_gone_for_good_is_a_clear_error_and_the_old_image_still_boots(
        running: ServedDevice) -> None:
    gone = threading.Event()

    def unplug_forever(progress: Progress) -> None:
        if progress.stage == Stage.PAYLOAD and progress.bytes_done > 30000 and not gone.is_set():
            gone.set()
            running.stop()

    options = FlashOptions(SessionConfig(reply_timeout=0.2, retries=2, stall_timeout=0.2,
                                         max_stalls=2), reconnects=1, reconnect_delay=0.05,
                           write_timeout=1.0)
    outcome = flash(running.path, bundle(2, NEW), options=options, on_progress=unplug_forever)
    assert outcome.result == "failed"
    assert running.path in outcome.reason  # "<port>: no answer to ..." or "write failed"
    running.start()  # power comes back: the bootloader picks the verified old image
    assert app_status(running) == (1, hashlib.sha256(OLD).digest())
    assert running.device.status().components[0].active_slot is not None
