"""Flash one MCUboot device over SMP, governed by SUIT (issue 13): the use case behind
`suitwb flash` for an SMP port, shared by the CLI and the GUI.

identify -> the station's checks (`workbench.smp_checks`, against the device profile) ->
upload (slot 0 in serial recovery, slot 1 in application mode) -> reset -> image-match
(the hash the device reports for the running image is the one sent). Every way it ends
is a `FlashOutcome` (never an exception for a device-side problem), so every attempt
becomes a factory record; a refusal always happens before the first byte is uploaded.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field, replace

from flasher.errors import (
    BundleError,
    FlasherError,
    OperationCancelled,
    RefusalReason,
    SmpError,
    SmpImageNotBooted,
)
from flasher.operations import Bundle, FlashOutcome, Progress, ProgressCallback, Stage
from flasher.smp import images
from flasher.smp import operations as smp_ops
from flasher.smp.session import SessionOptions, SmpSession
from flasher.smp.update import (
    SmpDetails,
    UpdateOptions,
    UpdateOutcome,
    update_application,
    update_in_recovery,
)
from flasher.smp.upload import UploadProgress
from suit.errors import WorkbenchError
from workbench.device_profile import DeviceProfile, NoProfileMatches
from workbench.smp_checks import HostCheckRefused, check_release

logger = logging.getLogger(__name__)

RECOVERY_MODE = "serial recovery"


@dataclass(frozen=True)
class SmpFlashSettings:
    """How SMP ports are flashed.

    Attributes:
        profile: The device profile; None refuses every SMP device (nothing to check
            against) unless host checks are skipped.
        skip_host_checks: Engineering only: upload without the station's SUIT checks
            (recorded as ``skipped``); the post-reset image-match check still runs.
        session: Timeouts and baud rate of each SMP session.
        update: The upload's and the reset's patience.
        ready_timeout: Seconds the device may take to answer at all (a fresh QEMU pty or a
            USB device just plugged in swallows the first requests).
    """

    profile: DeviceProfile | None = None
    skip_host_checks: bool = False
    session: SessionOptions = field(default_factory=SessionOptions)
    update: UpdateOptions = field(default_factory=UpdateOptions)
    ready_timeout: float = 10.0


class _NoProfile(WorkbenchError):
    exit_status = 2
    default_hint = "Pass --device-profile FILE (docs/smp.md, \"Device profiles\")."


def flash_smp(port: str, bundle: Bundle, settings: SmpFlashSettings, *,
              on_progress: ProgressCallback | None = None,
              cancel: threading.Event | None = None) -> FlashOutcome:
    """Check, upload, reset and verify on one SMP port; the outcome says how it ended."""
    run = _Run(port, bundle, settings, on_progress, cancel)
    try:
        return run.flash()
    except (HostCheckRefused, NoProfileMatches, _NoProfile) as exc:
        refusal = exc.reason if isinstance(exc, HostCheckRefused) else None
        return run.end("refused", exc, refusal=refusal, host_checks="refused")
    except SmpImageNotBooted as exc:
        return run.end("failed", exc, image_match=False, running=exc.running)
    except SmpError as exc:  # the device's own refusal (not an MCUboot image, too large...)
        return run.end("refused", exc)
    except OperationCancelled as exc:
        return run.end("cancelled", exc)
    except FlasherError as exc:  # silent device, lost port, malformed replies
        return run.end("failed", exc)


@dataclass
class _Run:
    port: str
    bundle: Bundle
    settings: SmpFlashSettings
    on_progress: ProgressCallback | None
    cancel: threading.Event | None
    started: float = field(default_factory=time.time)
    began: float = field(default_factory=time.monotonic)
    details: SmpDetails = field(default_factory=lambda: SmpDetails(mode="unknown"))
    sent: int = 0
    total: int = 0

    def open(self) -> SmpSession:
        return SmpSession.open(self.port, self.settings.session)

    def flash(self) -> FlashOutcome:
        self.report(Stage.CONNECTING)
        with self.open() as session:
            smp_ops.wait_ready(session, self.settings.ready_timeout)
            info = smp_ops.identify(session)
        self.details = replace(self.details, mode=info.mode)
        self.report(Stage.MANIFEST)
        image = self.checked_image(info)
        self.details = replace(self.details, image_version=images.image_version(image),
                               image_hash=images.image_hash(image))
        self.total = len(image)
        if self.cancel is not None and self.cancel.is_set():
            raise OperationCancelled("cancelled before the upload")
        update = update_in_recovery if info.mode == RECOVERY_MODE else update_application
        outcome = update(self.open, image, options=self.settings.update,
                         on_progress=self.uploaded, cancel=self.cancel)
        return self.ok(outcome)

    def checked_image(self, info: smp_ops.DeviceInfo) -> bytes:
        if self.settings.skip_host_checks:
            logger.warning("%s: uploading WITHOUT the station's SUIT checks "
                           "(--skip-host-checks)", self.port)
            self.details = replace(self.details, host_checks="skipped")
            return _sole_payload(self.bundle)
        if self.settings.profile is None:
            raise _NoProfile(f"{self.port}: an SMP device needs a device profile to check "
                             "the envelope against")
        kind = self.settings.profile.kind_for(info)
        self.details = replace(self.details, device_kind=kind.name)
        checked = check_release(self.bundle.envelope, self.bundle.payloads, kind, info.images)
        logger.info("%s: station checks passed for %s (sequence number %d)", self.port,
                    kind.name, checked.sequence_number)
        return checked.image

    def uploaded(self, progress: UploadProgress) -> None:
        self.sent = progress.bytes_done
        stage = Stage.RECONNECTING if progress.reconnecting else Stage.PAYLOAD
        if progress.bytes_done >= progress.bytes_total:
            stage = Stage.INSTALLING  # next: the reset and the image-match check
        self.report(stage, progress.rate, progress.eta)

    def report(self, stage: Stage, rate: float = 0.0, eta: float | None = None) -> None:
        if self.on_progress is not None:
            self.on_progress(Progress(self.port, stage, self.sent, self.total, rate, eta))

    def ok(self, outcome: UpdateOutcome) -> FlashOutcome:
        self.details = replace(self.details, image_match=True,
                               running_version=outcome.running.version)
        self.report(Stage.DONE)
        return self.outcome("ok", None, sessions=outcome.upload.sessions)

    def end(self, result: str, exc: Exception, *, refusal: RefusalReason | None = None,
            host_checks: str | None = None, image_match: bool | None = None,
            running: str | None = None) -> FlashOutcome:
        logger.info("%s: %s: %s", self.port, result, exc)
        self.details = replace(self.details, host_checks=host_checks or self.details.host_checks,
                               image_match=image_match, running_version=running)
        reason = str(exc)
        hint = getattr(exc, "hint", None)
        if hint and result != "cancelled":
            reason += f" ({hint})"
        return self.outcome(result, reason, refusal=refusal)

    def outcome(self, result: str, reason: str | None, *, sessions: int = 1,
                refusal: RefusalReason | None = None) -> FlashOutcome:
        return FlashOutcome(self.port, result, self.sent, time.monotonic() - self.began, reason,
                            refusal, sessions=sessions, started=self.started, protocol="smp",
                            smp=self.details)


def _sole_payload(bundle: Bundle) -> bytes:
    """The bundle's one payload (forced past the checks, there is no manifest run to say
    which image the manifest fetches)."""
    if len(bundle.payloads) != 1:
        raise BundleError(bundle.name, f"{len(bundle.payloads)} payloads; without the "
                                       "station's checks exactly one is needed (pass exactly "
                                       "one --payload URI=FILE)")
    return next(iter(bundle.payloads.values()))
