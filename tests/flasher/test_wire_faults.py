"""The protocol over a faulty line: noise, drops, duplicates, disconnects, resets.

These tests exercise the wire protocol alone, so the device is the in-memory fake of
tests/flasher/fakes.py (standing in for the virtual device); the end-to-end tests in
test_end_to_end.py run the same faults against the real virtual device.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import pytest

from flasher.errors import RefusalReason
from flasher.loader.serve import PseudoTerminal
from flasher.loader.server import RecoveryServer, ServerConfig
from flasher.operations import Bundle, FlashOptions, Progress, Stage, flash
from flasher.session import SessionConfig
from tests.flasher.fakes import FakeDevice, served_on_pty
from testsupport.linesim import Faults, LineSimulator

FAST = FlashOptions(SessionConfig(reply_timeout=0.3, stall_timeout=0.4, max_stalls=8),
                    reconnects=8, reconnect_delay=0.1)
ENVELOPE = b"not a real envelope: the fake device only compares bytes" * 4


@pytest.fixture
def image() -> bytes:
    return os.urandom(48 * 1024)


@pytest.fixture
def device(image: bytes) -> FakeDevice:
    return FakeDevice(payloads={"#app": image})


@pytest.fixture
def pty_path(device: FakeDevice) -> Iterator[str]:
    with served_on_pty(device, ServerConfig(inactivity_timeout=2.0)) as path:
        yield path


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_noise_drops_and_duplicates_still_deliver_the_right_bytes(
        pty_path: str, device: FakeDevice, image: bytes, seed: int) -> None:
    line = LineSimulator(pty_path, Faults(corrupt_per_byte=2e-4, drop_per_frame=0.02,
                                          duplicate_per_frame=0.02, seed=seed))
    try:
        outcome = flash(line.url, Bundle(ENVELOPE, {"#app": image}), options=FAST)
    finally:
        line.close()
    assert outcome.result == "ok", outcome.reason
    assert device.installed["#app"] == image
    assert line.counts["corrupted"] > 0 and line.counts["dropped"] > 0
    assert line.counts["duplicated"] > 0


def test_disconnect_mid_transfer_resumes_from_the_stored_offset(
        pty_path: str, device: FakeDevice, image: bytes) -> None:
    line = LineSimulator(pty_path, Faults())
    pulled = threading.Event()

    def unplug_once(progress: Progress) -> None:
        if progress.stage == Stage.PAYLOAD and progress.bytes_done > 20000 and not pulled.is_set():
            pulled.set()
            line.disconnect()

    try:
        outcome = flash(line.url, Bundle(ENVELOPE, {"#app": image}), options=FAST,
                        on_progress=unplug_once)
    finally:
        line.close()
    assert pulled.is_set()
    assert outcome.result == "ok", outcome.reason
    assert outcome.sessions >= 2
    assert device.installed["#app"] == image
    # The second session began where the device had stored bytes, not at zero.
    assert device.resumed_at and device.resumed_at[-1] > 0


def test_device_reset_mid_transfer_resumes(device: FakeDevice, image: bytes) -> None:
    pty = PseudoTerminal()
    stop = threading.Event()
    server = RecoveryServer(pty.transport, device, ServerConfig())
    thread = threading.Thread(target=server.serve, args=(stop,), daemon=True)
    thread.start()
    reset_done = threading.Event()

    def reset(progress: Progress) -> None:
        nonlocal server, thread, stop
        if progress.stage == Stage.PAYLOAD and progress.bytes_done > 16000 \
                and not reset_done.is_set():
            reset_done.set()
            stop.set()  # the loader dies: its session (envelope, windows) is gone
            thread.join()
            stop = threading.Event()
            server = RecoveryServer(pty.transport, device, ServerConfig())
            thread = threading.Thread(target=server.serve, args=(stop,), daemon=True)
            thread.start()

    try:
        outcome = flash(pty.path, Bundle(ENVELOPE, {"#app": image}), options=FAST,
                        on_progress=reset)
    finally:
        stop.set()
        thread.join()
        pty.close()
    assert reset_done.is_set()
    assert outcome.result == "ok", outcome.reason
    assert outcome.sessions >= 2
    assert device.installed["#app"] == image


def test_garbage_before_and_between_sessions_is_ignored(
        pty_path: str, device: FakeDevice, image: bytes) -> None:
    fd = os.open(pty_path, os.O_RDWR | os.O_NOCTTY)
    try:
        os.write(fd, os.urandom(5000) + b"\x00" + os.urandom(300) + b"\x00\x00")
    finally:
        os.close(fd)
    outcome = flash(pty_path, Bundle(ENVELOPE, {"#app": image}), options=FAST)
    assert outcome.result == "ok", outcome.reason
    assert device.installed["#app"] == image


def test_refusal_arrives_before_any_payload_byte(image: bytes) -> None:
    device = FakeDevice(payloads={"#app": image}, refuse=RefusalReason.ROLLBACK)
    with served_on_pty(device) as path:
        outcome = flash(path, Bundle(ENVELOPE, {"#app": image}), options=FAST)
    assert outcome.result == "refused"
    assert outcome.refusal == RefusalReason.ROLLBACK
    assert outcome.reason == "refused by the fake"
    assert outcome.bytes == len(ENVELOPE)  # the envelope went, no payload byte did
    assert device.writes == 0


def test_envelope_larger_than_the_device_accepts_is_refused_at_once(image: bytes) -> None:
    device = FakeDevice(payloads={"#app": image})
    with served_on_pty(device, ServerConfig(max_envelope=100)) as path:
        outcome = flash(path, Bundle(ENVELOPE, {"#app": image}), options=FAST)
    assert (outcome.result, outcome.refusal, outcome.bytes) == ("refused", RefusalReason.TOO_LARGE, 0)
    assert device.envelopes == []


def test_payload_larger_than_the_slot_is_refused_mid_stream(image: bytes) -> None:
    device = FakeDevice(payloads={"#app": image})
    device.slot_limit = 8192  # the device stops accepting after 8 KiB
    with served_on_pty(device) as path:
        outcome = flash(path, Bundle(ENVELOPE, {"#app": image}), options=FAST)
    assert (outcome.result, outcome.refusal) == ("refused", RefusalReason.TOO_LARGE)
    assert "#app" not in device.installed


def test_inactivity_timeout_leaves_the_session_and_a_new_one_works(image: bytes) -> None:
    device = FakeDevice(payloads={"#app": image})
    pty = PseudoTerminal()
    stop = threading.Event()
    server = RecoveryServer(pty.transport, device, ServerConfig(inactivity_timeout=0.3))
    thread = threading.Thread(target=server.serve, args=(stop,), daemon=True)
    thread.start()
    try:
        cancel = threading.Event()
        outcome = flash(pty.path, Bundle(ENVELOPE, {"#app": image}), options=FAST,
                        on_progress=lambda p: cancel.set() if p.bytes_done > 8000 else None,
                        cancel=cancel)
        assert outcome.result == "cancelled"
        assert device.aborted == 1
        deadline = time.monotonic() + 3
        while server.sessions_left == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.sessions_left == 1
        assert flash(pty.path, Bundle(ENVELOPE, {"#app": image}), options=FAST).result == "ok"
        assert device.installed["#app"] == image
    finally:
        stop.set()
        thread.join()
        pty.close()
