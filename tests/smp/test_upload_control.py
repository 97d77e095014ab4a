"""Upload progress and cancel, against a fake image group on a real pty."""

from __future__ import annotations

import threading

import pytest

from flasher.errors import BundleError, OperationCancelled
from flasher.smp.session import SmpSession
from flasher.smp.upload import UploadOptions, UploadProgress, upload
from tests.smp.fakes import FakeSmpDevice, upload_device


def test_progress_reports_bytes_rate_and_eta_and_cancel_stops() -> None:
    device = FakeSmpDevice(upload_device).start()
    cancel = threading.Event()
    reports: list[UploadProgress] = []

    def on_progress(report: UploadProgress) -> None:
        reports.append(report)
        if report.bytes_done > 20_000:
            cancel.set()

    try:
        with pytest.raises(OperationCancelled):
            upload(lambda: SmpSession.open(device.path), bytes(200_000),
                   options=UploadOptions(buffer_size=1024), on_progress=on_progress,
                   cancel=cancel)
        sent = len(device.requests)
        result = upload(lambda: SmpSession.open(device.path), bytes(30_000),
                        options=UploadOptions(buffer_size=1024))
    finally:
        device.stop()
    assert 20_000 < reports[-1].bytes_done < 30_000  # stopped within a window of the cancel
    assert sent < 40
    moving = [r for r in reports if r.bytes_done]
    assert all(r.bytes_total == 200_000 and r.rate > 0 and r.eta is not None for r in moving)
    assert moving[-1].eta == pytest.approx((200_000 - moving[-1].bytes_done) / moving[-1].rate)
    assert result.size == 30_000 and result.sessions == 1


def test_an_empty_image_is_a_typed_error_before_any_port_is_opened() -> None:
    opened: list[str] = []
    with pytest.raises(BundleError, match="empty"):
        upload(lambda: opened.append("x") or SmpSession.open("/nonexistent"), b"")
    assert opened == []


def test_a_corrupted_reply_is_resent_not_fatal() -> None:
    answers = {"count": 0}

    def corrupt_the_third(request: bytes) -> bytes:
        answers["count"] += 1
        wire = upload_device(request)
        if answers["count"] == 3:  # one bit flipped inside the base64: the CRC fails
            wire = wire[:5] + bytes([wire[5] ^ 0x01]) + wire[6:]
        return wire

    device = FakeSmpDevice(corrupt_the_third).start()
    try:
        result = upload(lambda: SmpSession.open(device.path), bytes(8_000),
                        options=UploadOptions(buffer_size=1024, first_timeout=0.5))
    finally:
        device.stop()
    assert result.size == 8_000 and result.sessions == 1
    assert answers["count"] > 9  # the lost acknowledgement's chunk went again
