"""Whole updates over SMP: the two ways an MCUboot device takes a new image.

- Serial recovery (MCUboot waiting in its bootloader): upload into the primary slot, reset,
  and check the application now runs the uploaded image.
- Application mode (an SMP server in the running firmware): upload into the secondary slot,
  mark it for a test boot, reset, check the new image runs, confirm it. A bootloader in
  RAM-load or direct-XIP mode picks the highest version itself and does not support test
  and confirm; then `tested`/`confirmed` are False and the check after the reset decides.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from flasher.errors import SmpError, SmpImageNotBooted
from flasher.smp import images, operations
from flasher.smp.operations import ImageSlot
from flasher.smp.session import SmpSession
from flasher.smp.upload import (
    ProgressCallback,
    SessionOpener,
    UploadOptions,
    UploadResult,
    upload,
)

logger = logging.getLogger(__name__)
_ENOTSUP = 8


@dataclass(frozen=True)
class UpdateOutcome:
    """How an update went.

    Attributes:
        upload: The upload's figures.
        running: The slot the device runs after the reset.
        tested: The device accepted the test mark (application mode only).
        confirmed: The device accepted the confirmation (application mode only).
    """

    upload: UploadResult
    running: ImageSlot
    tested: bool = False
    confirmed: bool = False


@dataclass(frozen=True)
class SmpDetails:
    """What a station's SMP flash checked and found, for the outcome and its factory record.

    Attributes:
        mode: ``serial recovery`` or ``application``, as identified before the upload.
        device_kind: The device profile entry the device matched, None without one.
        host_checks: ``passed``, ``refused`` or ``skipped`` (forced past, for engineering).
        image_version: The uploaded (or offered) MCUboot image's version.
        image_hash: Its SHA-256 TLV, what the device reports for it once it runs.
        image_match: After the reset, whether the running image is the one sent; None when
            the flash did not get that far.
        running_version: The version the device runs after the reset, if known.
    """

    mode: str
    device_kind: str | None = None
    host_checks: str = "passed"
    image_version: str | None = None
    image_hash: bytes | None = None
    image_match: bool | None = None
    running_version: str | None = None


@dataclass(frozen=True)
class UpdateOptions:
    """How patient an update is.

    Attributes:
        upload: The upload's options.
        boot_timeout: Seconds the device may take to answer after its reset.
    """

    upload: UploadOptions = field(default_factory=UploadOptions)
    boot_timeout: float = 30.0


def update_in_recovery(open_session: SessionOpener, image: bytes, *,
                       options: UpdateOptions | None = None,
                       on_progress: ProgressCallback | None = None,
                       cancel: threading.Event | None = None) -> UpdateOutcome:
    """Upload `image` to MCUboot's serial recovery, reset, and check it runs."""
    options = options or UpdateOptions()
    result = upload(open_session, image, options=options.upload, on_progress=on_progress,
                    cancel=cancel)
    with open_session() as session:
        operations.reset_and_wait(session, options.boot_timeout)
        running = _check_running(session.port, operations.read_image_state(session), image)
    return UpdateOutcome(result, running)


def update_application(open_session: SessionOpener, image: bytes, *,
                       options: UpdateOptions | None = None,
                       on_progress: ProgressCallback | None = None,
                       cancel: threading.Event | None = None) -> UpdateOutcome:
    """Upload `image` to the secondary slot, test, reset, check it runs, confirm."""
    options = options or UpdateOptions()
    result = upload(open_session, image, options=options.upload, on_progress=on_progress,
                    cancel=cancel)
    with open_session() as session:
        tested = _optional(lambda: operations.mark_test(session, _candidate_hash(session, image)))
        operations.reset_and_wait(session, options.boot_timeout)
        running = _check_running(session.port, operations.read_image_state(session), image)
        confirmed = _optional(lambda: operations.confirm(session))
    return UpdateOutcome(result, running, tested, confirmed)


def _candidate_hash(session: SmpSession, image: bytes) -> bytes:
    # The uploaded image's hash as the device computed it: its SHA-256 TLV, else the
    # hash of the slot that is not running.
    known = images.image_hash(image)
    if known is not None:
        return known
    for slot in operations.read_image_state(session):
        if not slot.active and slot.hash is not None:
            return slot.hash
    return b""


def _optional(step: Callable[[], object]) -> bool:
    """Run a step a device may not support (rc 8, ENOTSUP); say whether it did."""
    try:
        step()
    except SmpError as exc:
        if exc.rc != _ENOTSUP:
            raise
        logger.info("%s", exc)
        return False
    return True


def _check_running(port: str, slots: tuple[ImageSlot, ...], image: bytes) -> ImageSlot:
    active = [slot for slot in slots if slot.active]
    expected_hash = images.image_hash(image)
    expected_version = images.image_version(image) or "the uploaded image"
    for slot in active:
        if slot.hash == expected_hash or (expected_hash is None
                                          and slot.version == expected_version):
            return slot
    raise SmpImageNotBooted(port, expected_version, active[0].version if active else None)
