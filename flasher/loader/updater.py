"""The update flow of the virtual device: manifest first, stream, install (RFC 9019 §3).

Persistent steps of an update, each one write step for fault injection:

1. ``begin`` state save: the update in flight (targets, sizes, progress 0), the envelope.
2. For each payload: erase each sector of the candidate slot as the data reaches it,
   program it chunk by chunk, and save ``progress`` each time a sector is complete
   (a resumed update restarts at the last complete sector).
3. Install: integrated payloads, write, copy (more erase and program steps).
4. ``candidate`` state save: the new installation waits for the bootloader.
5. ``sequence-number`` state save: the anti-rollback numbers.
6. Reboot: the bootloader verifies the candidate and saves the ``slot-switch``.

Whatever step the power is cut at, the slot that boots was never written and every state
save is all or nothing, so the device boots a verified image afterwards.

File components (``--root``, flasher/loader/file_store.py) take ``file-stage`` steps
instead of erase and program, ``file-temp`` steps at install, commit their journal in the
``candidate`` save, then ``file-install``/``-unlink``/``-switch`` and a ``files`` save;
a cut after the commit is finished at the next start (docs/loader.md, *Installing files*).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from typing import Final, NoReturn

from flasher.errors import RefusalReason, UpdateRefused, report_reason
from flasher.loader.components import (
    INSTALL,
    PLAN,
    FlashStore,
    PlannedFetch,
    StoreContext,
    pad,
    sha256,
)
from flasher.loader.decryption import PayloadDecrypter
from flasher.loader.file_store import file_journal, settle_files, with_files
from flasher.loader.files import is_file_component
from flasher.loader.layout import ComponentId
from flasher.loader.refusals import authentication_reason, processing_refusal
from flasher.loader.reporting import (
    ReportLog,
    ReportSigner,
    device_capabilities,
    failure_report,
    sealed,
    success_report,
    unauthenticated_reference,
)
from flasher.loader.state import (
    ImageRecord,
    Installation,
    PayloadProgress,
    ResultRecord,
    UpdateInFlight,
)
from flasher.loader.target import UpdateTarget
from flasher.messages import (
    DeviceIdentity,
    PayloadRequest,
    UpdateResult,
)
from flasher.protocol import MAX_COMPONENTS
from suit.errors import (
    ManifestError,
)
from suit.keys import TrustAnchor
from suit.model import Digest, ManifestKey
from suit.processor import (
    Authenticated,
    Location,
    Procedure,
    ProcessingFailed,
    Processor,
    authenticate,
)
from suit.report import Record

logger = logging.getLogger(__name__)

#: Bytes of a file payload buffered before they are staged and the progress saved.
STAGE_CHUNK: Final = 16 * 1024


@dataclass
class _Session:
    """Reception in RAM: what has arrived but is not yet programmed."""

    next_offset: dict[str, int]
    buffers: dict[str, bytearray] = field(default_factory=dict)
    erased: set[int] = field(default_factory=set)


class Updater:
    """Carries out begin/write/finish/abort for a device (a `VirtualDevice`)."""

    def __init__(self, device: UpdateTarget, signer: ReportSigner | None = None) -> None:
        self.device = device
        self._session: _Session | None = None
        self._signer = signer
        self._log = ReportLog()
        self._reference: tuple[str, Digest] | None = None  # the manifest being processed

    def forget_session(self) -> None:
        """Drop what is only in RAM (a reset)."""
        self._session = None

    # -- begin ----------------------------------------------------------------------------

    def begin(self, envelope: bytes) -> list[PayloadRequest]:
        """Verify everything, plan, persist the update in flight, and say what to send."""
        # A new attempt: no reference and no records until it authenticates and runs.
        self._reference, self._log = None, ReportLog()
        if len(envelope) > self.device.config.max_envelope_size:
            self._reference = unauthenticated_reference(envelope,
                                                        self.device.config.max_envelope_size)
            self._refuse(RefusalReason.TOO_LARGE, f"envelope of {len(envelope)} bytes exceeds "
                         f"{self.device.config.max_envelope_size}")
        authenticated = self._authenticate(envelope)
        digest = authenticated.report.manifest_digest.value
        manifest = authenticated.envelope.manifest
        in_flight = self.device.state.update
        if in_flight is not None and in_flight.manifest_digest == digest:
            return self._resume(in_flight)
        self._check_rollback(manifest.sequence_number, manifest.common.components, digest)
        context = self._context(PLAN, {})
        self._run(authenticated, context, plan=True)
        self._check_reportable(context, manifest.sequence_number, digest)
        fetches = _unique(context.fetches)
        state = self.device.state
        update = UpdateInFlight(digest, manifest.sequence_number, tuple(
            PayloadProgress(f.uri, f.component_id, f.slot, f.size) for f in fetches))
        # The fallback is gone once this update writes its slot: by a fetch, or by a copy
        # or write (a staged or decrypting copy writes the slot that is not active).
        targets = {(f.component_id, f.slot) for f in fetches} | {
            (component, context.slots[component]) for component in context.written
            if component in context.slots}
        overwritten = state.fallback is not None and any(
            (i.component_id, i.slot) in targets for i in state.fallback.images)
        self.device.state = self.device.store.save(replace(
            state, update=update, pending=None, last_report=None,
            fallback=None if overwritten else state.fallback,
            envelopes={**state.envelopes, digest: bytes(envelope)}), "begin")
        self._session = _Session({f.uri: 0 for f in fetches})
        return [PayloadRequest(f.uri, f.size, 0) for f in fetches]

    def _resume(self, in_flight: UpdateInFlight) -> list[PayloadRequest]:
        self._session = _Session({p.uri: p.received for p in in_flight.payloads})
        return [PayloadRequest(p.uri, p.size, p.received) for p in in_flight.payloads]

    def _authenticate(self, envelope: bytes) -> Authenticated:
        anchors = [TrustAnchor.load(pem, f"anchor {i}")  # PEM, or COSE_Key for HSS-LMS
                   for i, pem in enumerate(self.device.state.trust_anchors)]
        try:
            authenticated = authenticate(envelope, anchors,
                                         max_size=self.device.config.max_envelope_size,
                                         policy=self.device.config.signature_policy)
        except ManifestError as exc:
            self._reference = unauthenticated_reference(
                envelope, self.device.config.max_envelope_size)
            self._refuse(authentication_reason(exc), str(exc))
            raise  # not reached: _refuse raises
        # Report draft: the reference is the root manifest's reference-uri and digest.
        self._reference = (authenticated.envelope.manifest.reference_uri or "",
                           authenticated.report.manifest_digest)
        return authenticated

    def _check_rollback(self, number: int, components: tuple[ComponentId, ...],
                        digest: bytes) -> None:
        # M37 §8.4.2: refuse a sequence number lower than the stored one.
        for component in components:
            stored = self.device.state.sequence_numbers.get(component)
            if stored is not None and number < stored:
                self._refuse(RefusalReason.ROLLBACK, f"sequence number {number} is lower than "
                             f"{stored}, installed for component {component!r}",
                             number=number, digest=digest)

    def _check_reportable(self, context: StoreContext, number: int, digest: bytes) -> None:
        # The status reply lists every component, at most MAX_COMPONENTS (§3): files past
        # that would make the device's status unreadable to every host from then on.
        files = self.device.files
        kept = set() if files is None or files.ab else set(self.device.state.files)
        written = {c for c in context.written if is_file_component(c)}
        total = len(self.device.layout.partitions) + len(kept | written)
        if total > MAX_COMPONENTS:
            self._refuse(RefusalReason.COMPONENT_UNSUPPORTED,
                         f"{total} components after this update; the device reports at most "
                         f"{MAX_COMPONENTS}", number=number, digest=digest)

    def _context(self, mode: str, received: dict[str, int]) -> StoreContext:
        """Which slot each A/B component uses in this update: the one not active."""
        active_installation = self.device.state.active
        active = {i.component_id: i.slot for i in active_installation.images} \
            if active_installation else {}
        sizes = {i.component_id: i.size for i in active_installation.images} \
            if active_installation else {}
        slots = {p.component_id: 1 - active.get(p.component_id, 1)
                 for p in self.device.layout.partitions if p.is_ab}
        return StoreContext(mode, slots, active, sizes, received, _identity_triple(self.device.identity()),
                            battery_mwh=self.device.config.battery_mwh,
                            authorized_priority=self.device.config.authorized_priority)

    def _run(self, authenticated: Authenticated, context: StoreContext, *, plan: bool) -> None:
        manifest = authenticated.envelope.manifest
        digest = authenticated.report.manifest_digest.value
        self._log = ReportLog()
        try:
            flash_store = FlashStore(self.device.flash, self.device.layout, context)
            # Without --root file components are unsupported, as on a microcontroller;
            # payloads are decrypted into flash components only (FE §6).
            processor = Processor(authenticated,
                                  with_files(flash_store, context, self.device.files),
                                  _anchors(self.device.state.trust_anchors),
                                  trace=self._log.step, decrypter=PayloadDecrypter(
                                      flash_store, self.device.config.decryption_keys))
            processor.run_shared()  # vendor and class first, even with no update sections
            # TD: a manifest with no update sections but an uninstall sequence is an
            # uninstall, run (planned, then carried out) in place of the Update procedure.
            if not processor.run(Procedure.UPDATE).sections \
                    and not processor.run_section("uninstall") and plan:
                self._refuse(RefusalReason.OPERATION_FAILED, "the manifest has no update "
                             "sections (install or payload-fetch) for this device to run")
        except ProcessingFailed as exc:
            self._refuse_processing(exc, manifest.sequence_number, digest)

    # -- write ----------------------------------------------------------------------------

    def write(self, uri: str, offset: int, data: bytes) -> None:
        """Buffer, then erase and program whole chunks of the candidate slot."""
        in_flight = self._in_flight()
        progress = next((p for p in in_flight.payloads if p.uri == uri), None)
        if progress is None:
            self._refuse(RefusalReason.OPERATION_FAILED, f"{uri} is not a payload of this update")
        session = self._session or self._resume_session(in_flight)
        expected = session.next_offset[uri]
        if offset != expected:
            self._refuse(RefusalReason.OPERATION_FAILED,
                         f"{uri}: data at offset {offset}, expected {expected}")
        if offset + len(data) > progress.size:
            self._refuse(RefusalReason.TOO_LARGE, f"{uri}: more than the {progress.size} bytes "
                         "the manifest states")
        buffer = session.buffers.setdefault(uri, bytearray())
        buffer += data
        session.next_offset[uri] = offset + len(data)
        self._program_ready(progress, session, buffer)
        self.device.timer.wait_for_room()

    def _resume_session(self, in_flight: UpdateInFlight) -> _Session:
        self._resume(in_flight)
        assert self._session is not None  # noqa: S101 - set by _resume
        return self._session

    def _program_ready(self, progress: PayloadProgress, session: _Session,
                       buffer: bytearray) -> None:
        if is_file_component(progress.component_id):
            self._stage_ready(progress, session, buffer)
            return
        flash, profile = self.device.flash, self.device.profile
        partition = self.device.layout.find(progress.component_id)
        assert partition is not None  # noqa: S101 - planned against the layout
        start = partition.slots[progress.slot]
        complete = session.next_offset[progress.uri] == progress.size
        while len(buffer) >= profile.program_chunk or (complete and buffer):
            done = session.next_offset[progress.uri] - len(buffer)
            chunk = bytes(buffer[:profile.program_chunk])
            address = start + done
            sector = address // profile.sector_size
            if sector not in session.erased:
                flash.erase_sector(sector)
                session.erased.add(sector)
            flash.program(address, pad(chunk, profile.write_unit))
            del buffer[:len(chunk)]
            done += len(chunk)
            if done % profile.sector_size == 0 or done == progress.size:
                self._save_progress(progress.uri, done)

    def _stage_ready(self, progress: PayloadProgress, session: _Session,
                     buffer: bytearray) -> None:
        """A file payload: append to its staged copy and save progress every `STAGE_CHUNK`
        bytes and at the end (a resumed transfer restarts at the last saved offset)."""
        end = session.next_offset[progress.uri]
        if len(buffer) < STAGE_CHUNK and end < progress.size:
            return
        assert self.device.files is not None  # noqa: S101 - planned by the file store
        self.device.files.stage(progress.uri, end - len(buffer), bytes(buffer))
        del buffer[:]
        self._save_progress(progress.uri, end)

    def _save_progress(self, uri: str, received: int) -> None:
        in_flight = self._in_flight()
        payloads = tuple(replace(p, received=received) if p.uri == uri else p
                         for p in in_flight.payloads)
        self.device.state = self.device.store.save(
            replace(self.device.state, update=replace(in_flight, payloads=payloads)), "progress")

    # -- finish and abort -----------------------------------------------------------------

    def finish(self) -> UpdateResult:
        """Install for real, record the candidate and the sequence number, reboot."""
        in_flight = self._in_flight()
        for p in in_flight.payloads:
            if p.received < p.size:
                self._refuse(RefusalReason.OPERATION_FAILED,
                             f"{p.uri}: {p.received} of {p.size} bytes received")
        envelope = self.device.state.envelopes[in_flight.manifest_digest]
        authenticated = self._authenticate(envelope)
        context = self._context(INSTALL, {p.uri: p.received for p in in_flight.payloads})
        try:
            self._run(authenticated, context, plan=False)
        except UpdateRefused:
            self._discard_files(context)
            self.device.state = self.device.store.save(
                replace(self.device.state, update=None), "abandon")
            raise
        installed = self._commit(in_flight, context,
                                 authenticated.envelope.manifest.common.components)
        self.settle_files()
        self.device.timer.drain()
        if self.device.config.reboot_after_update:
            try:
                self._reboot_into(installed)
            except UpdateRefused as exc:
                self.device.state = self.device.store.save(replace(
                    self.device.state, last_report=self._failure_report(exc.reason, None)),
                    "report")
                raise
        return UpdateResult(in_flight.sequence_number, in_flight.manifest_digest,
                            self.device.components())

    def _reboot_into(self, installed: Installation) -> None:
        """Reboot; refuse if the bootloader did not accept the new images."""
        result = self.device.reboot()
        booted = result.booted
        if installed.images and (booted is None
                                 or booted.manifest_digest != installed.manifest_digest):
            raise UpdateRefused(RefusalReason.OPERATION_FAILED,
                                "installed, but the bootloader rejected it: "
                                + "; ".join(result.rejected))

    def _commit(self, in_flight: UpdateInFlight, context: StoreContext,
                components: tuple[ComponentId, ...]) -> Installation:
        state = self.device.state
        images = tuple(self._image_record(component, size, context)
                       for component, size in context.written.items()
                       if self._is_ab(component))
        installation = Installation(in_flight.manifest_digest, in_flight.sequence_number, images)
        record = ResultRecord(int(RefusalReason.OK), "installed", in_flight.sequence_number,
                              in_flight.manifest_digest, int(time.time()))
        anchors, retired = state.trust_anchors, state.retired_anchors
        if context.new_anchors is not None:  # key rotation: the store is replaced
            anchors = context.new_anchors
            retired = retired + tuple(a for a in state.trust_anchors if a not in anchors)
        # The success report is saved with the result it reports (one atomic save).
        report = None if self._reference is None else success_report(self._reference,
                                                                      self._log).encode()
        state = self.device.store.save(replace(
            state, update=None, pending=installation if images else None, last_result=record,
            last_report=report,
            trust_anchors=anchors, retired_anchors=retired,
            anchors_rotated=state.anchors_rotated or context.new_anchors is not None,
            # The commit point of file changes: from here on they are applied, even after a
            # cut (settle_files replays the journal at start-up).
            file_journal=file_journal(in_flight.sequence_number, context)),
            "candidate")
        numbers = dict(state.sequence_numbers)
        # M37 §8.4.2: the sequence number now stands for every component the manifest names.
        for component in (*components, *context.written):
            numbers[component] = max(numbers.get(component, 0), in_flight.sequence_number)
        self.device.state = self.device.store.save(replace(state, sequence_numbers=numbers),
                                                   "sequence-number")
        return installation

    def settle_files(self) -> None:
        """Apply a committed file journal and save the files it installed."""
        files = self.device.files
        settled = None if files is None else settle_files(files, self.device.state)
        if settled is not None:
            self.device.state = self.device.store.save(settled, "files")

    def _discard_files(self, context: StoreContext) -> None:
        if self.device.files is not None:
            for action in context.file_actions:
                self.device.files.discard(action)

    def _image_record(self, component: ComponentId, size: int,
                      context: StoreContext) -> ImageRecord:
        partition = self.device.layout.find(component)
        assert partition is not None  # noqa: S101 - written through the layout
        slot = context.slots[component]
        data = self.device.flash.read(partition.slots[slot], size)
        return ImageRecord(component, slot, size, sha256(data))

    def _is_ab(self, component: ComponentId) -> bool:
        partition = self.device.layout.find(component)
        return partition is not None and partition.is_ab

    def abort(self) -> None:
        """Forget the update in flight (nothing else changes)."""
        self._session = None
        state = self.device.state
        if state.update is None:
            return
        if self.device.files is not None:
            self.device.files.clear_staging()
        record = ResultRecord(int(RefusalReason.OPERATION_FAILED), "aborted by the host",
                              state.update.sequence_number, state.update.manifest_digest,
                              int(time.time()))
        self.device.state = self.device.store.save(
            replace(state, update=None, last_result=record), "abort")

    # -- refusals -------------------------------------------------------------------------

    def _in_flight(self) -> UpdateInFlight:
        if self.device.state.update is None:
            self._refuse(RefusalReason.NO_UPDATE_IN_PROGRESS, "begin an update first")
        assert self.device.state.update is not None  # noqa: S101 - _refuse raised otherwise
        return self.device.state.update

    def _refuse_processing(self, exc: ProcessingFailed, number: int, digest: bytes) -> None:
        cause = exc.__cause__
        location = exc.location
        where = (f" ({location.section} command {location.offset}, component "
                 f"{location.component_index})") if location else ""
        if isinstance(cause, UpdateRefused):
            reason, detail = cause.reason, cause.detail
        else:
            reason, detail = processing_refusal(exc), exc.detail
        self._refuse(reason, detail + where, number=number, digest=digest, location=location)

    def _refuse(self, reason: RefusalReason, detail: str, *, number: int | None = None,
                digest: bytes | None = None, location: object = None) -> NoReturn:
        """Record the refusal as the last result (a state save) and raise it."""
        section = getattr(location, "section", None)
        record = ResultRecord(int(reason), detail, number, digest, int(time.time()), section,
                              getattr(location, "offset", None),
                              getattr(location, "component_index", None))
        # The report is saved with the result (one atomic save): after a power cut the
        # device still has the report of its last attempt.
        report = self._failure_report(reason, location)
        self.device.state = self.device.store.save(
            replace(self.device.state, last_result=record,
                    last_report=self.device.state.last_report if report is None else report),
            "result")
        raise UpdateRefused(reason, detail)

    # -- the SUIT report of the attempt (flasher/loader/reporting.py) -----------------------

    def _failure_report(self, reason: RefusalReason, location: object) -> bytes | None:
        """A refused attempt's report (encoded, unsigned). Before authentication the
        reference is what the envelope states (reporting.unauthenticated_reference) and
        the failing record is the whole manifest; None outside an attempt."""
        if self._reference is None:
            return None
        if reason is RefusalReason.ROLLBACK:  # M37 §8.4.2: about the sequence number
            failing: Record | None = Record((), int(ManifestKey.SEQUENCE_NUMBER), 0, 0)
        else:
            failing = self._log.failing_record(
                location if isinstance(location, Location) else None)
        capabilities = device_capabilities(
            tuple(p.component_id for p in self.device.layout.partitions))
        return failure_report(self._reference, self._log, report_reason(reason), failing,
                              capabilities).encode()

    def last_report(self, nonce: bytes | None) -> bytes | None:
        """The last attempt's report as sent: with `nonce`, signed when there is a key."""
        stored = self.device.state.last_report
        if stored is None:
            return None
        try:
            return sealed(stored, nonce, self._signer)
        except ManifestError as exc:  # written by this loader, so only damage gets here
            logger.error("the stored SUIT report does not decode (%s): none is sent", exc)
            return None


def _identity_triple(identity: DeviceIdentity) -> tuple[bytes, bytes, bytes]:
    return identity.vendor_id, identity.class_id, identity.device_id


def _unique(fetches: list[PlannedFetch]) -> list[PlannedFetch]:
    seen: dict[str, PlannedFetch] = {}
    for fetch in fetches:
        seen.setdefault(fetch.uri, fetch)
    return list(seen.values())


def _anchors(pems: tuple[bytes, ...]) -> list[TrustAnchor]:
    return [TrustAnchor.load(pem, f"anchor {i}") for i, pem in enumerate(pems)]
