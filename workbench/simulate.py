"""`suitwb simulate`: the real SUIT processor over a device described in a file (issue 14).

The device does what the virtual device does before and around the processor (RFC 9019
§4.3, flasher/loader/updater.py): authenticate the envelope with its trust anchors
(M37 §6.2), refuse a sequence number lower than one it has installed (M37 §8.4.2), then
run the Update procedure (TD §7) and, if the device file asks, the Invocation procedure as
at the next boot (M37 §8.4.6). Every command is traced with its component, the parameters
in force and its result; the outcome carries the SUIT reason (suit.report.ReportReason),
the device's refinement of it (flasher.errors.RefusalReason, one vocabulary), and the
SUIT_Report the device would send.

Payloads come from ``--payload URI=FILE`` or the envelope (integrated). A component
fetched from a URI with no payload given is *pending*: image checks on it are deferred,
as the processor's planning run does, and listed in the outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from fileio import read_limited
from flasher.errors import RefusalReason
from suit.codec import DEFAULT_MAX_SIZE, decode_envelope
from suit.encryption import DecryptionError, WrongKey
from suit.errors import DigestMismatch, ManifestError, UnsupportedAlgorithm
from suit.model import Command, Digest, Envelope, ManifestKey
from suit.processor import (
    Authenticated,
    Location,
    Procedure,
    ProcessingFailed,
    Processor,
    TraceStep,
    authenticate,
)
from suit.processor_model import record_of
from suit.report import Record, Report, ReportReason
from workbench.files import MAX_ENVELOPE, read_bytes
from workbench.simulate_device import DeviceDescription, load_device
from workbench.simulate_store import (
    PayloadMissing,
    SimulatedDecrypter,
    SimulatedStore,
    show_component,
)

logger = logging.getLogger(__name__)

#: Refinements the device reports for failed conditions (as the virtual device does).
_CONDITION_REFINEMENTS: Final[dict[int, RefusalReason]] = {
    Command.VENDOR_IDENTIFIER: RefusalReason.WRONG_VENDOR,
    Command.CLASS_IDENTIFIER: RefusalReason.WRONG_CLASS,
    Command.IMAGE_MATCH: RefusalReason.PAYLOAD_DIGEST_MISMATCH,
}
#: The checks the device makes outside the processor, named as steps of the trace.
AUTHENTICATE: Final = "authenticate"
SEQUENCE_NUMBER: Final = "sequence-number"
SUPPORTED: Final = "check-supported"


@dataclass(frozen=True)
class Step:
    """One step of the trace: a processor command, or a device check outside it.

    Attributes:
        procedure: ``update``, ``invocation``, or ``device`` for the checks before them.
        command: The command's spec name, or ``authenticate`` / ``sequence-number``.
        trace: The processor's step (None for the device's own checks).
        result: ``passed``, ``failed``, ``deferred`` or ``nested``.
        detail: Why it failed, else "".
    """

    procedure: str
    command: str
    trace: TraceStep | None
    result: str
    detail: str = ""


@dataclass(frozen=True)
class Outcome:
    """How the simulation ended.

    Attributes:
        passed: Whether the device would accept (and boot, if asked) the update.
        reason: The SUIT report reason (OK when passed).
        refusal: The device's refinement (``wrong-class``, ``rollback``...), else the reason.
        step: The index of the failing step in the trace, None when passed or before any.
        detail: What failed.
        location: Where in the manifest, when a command failed.
    """

    passed: bool
    reason: ReportReason
    refusal: RefusalReason
    step: int | None
    detail: str
    location: Location | None = None


@dataclass(frozen=True)
class Simulation:
    """The trace, the outcome and the report of one simulated update."""

    manifest_digest: Digest | None
    sequence_number: int
    steps: tuple[Step, ...]
    outcome: Outcome
    deferred: tuple[Location, ...]
    report: Report | None
    effects: tuple[str, ...]


class _Refused(Exception):
    """The device refused (control flow inside this module only)."""

    def __init__(self, reason: ReportReason, refusal: RefusalReason, detail: str,
                 location: Location | None = None) -> None:
        super().__init__(detail)
        self.reason, self.refusal, self.detail, self.location = reason, refusal, detail, location


@dataclass
class _Run:
    """One simulation in progress."""

    device: DeviceDescription
    store: SimulatedStore
    steps: list[Step] = field(default_factory=list)
    procedure: str = "device"
    deferred: list[Location] = field(default_factory=list)

    def record(self, step: TraceStep) -> None:
        self.steps.append(Step(self.procedure, Command(step.location.command).spec_name, step,
                               step.result, step.detail))

    def check(self, command: str, passed: bool, detail: str) -> None:
        self.steps.append(Step("device", command, None, "passed" if passed else "failed",
                               "" if passed else detail))


def simulate(envelope: bytes, device: DeviceDescription,
             payloads: Mapping[str, bytes]) -> Simulation:
    """Run the update (and boot, if the device asks) of `envelope` on `device`.

    Raises:
        DecodeError: `envelope` is not a SUIT envelope (bad input, not a refusal).
    """
    decoded = decode_envelope(envelope, max_size=DEFAULT_MAX_SIZE)
    run = _Run(device, SimulatedStore(device, payloads))
    digest: Digest | None = None
    try:
        authenticated = _authenticate(run, decoded)
        digest = authenticated.report.manifest_digest
        _check_rollback(run, decoded)
        _procedure(run, authenticated, Procedure.UPDATE)
        if device.boot:
            _procedure(run, authenticate(decoded, device.anchors), Procedure.INVOCATION)
        outcome = Outcome(True, ReportReason.OK, RefusalReason.OK, None, "")
    except _Refused as refused:
        outcome = _refusal_outcome(run, refused)
    logger.info("simulated %s: %s", "update", "passed" if outcome.passed else outcome.detail)
    return Simulation(digest, decoded.manifest.sequence_number, tuple(run.steps), outcome,
                      tuple(run.deferred), _report(decoded, digest, run, outcome),
                      tuple(run.store.effects))


def _authenticate(run: _Run, envelope: Envelope) -> Authenticated:
    """M37 §6.2: nothing is processed before the envelope is authentic."""
    try:
        authenticated = authenticate(envelope, run.device.anchors)
    except ManifestError as exc:
        run.check(AUTHENTICATE, False, str(exc))
        raise _Refused(*_authentication_reason(exc), str(exc)) from None
    unsupported = _unsupported_algorithms(authenticated, run.device.algorithms)
    if unsupported:
        detail = "the device does not support algorithm " + ", ".join(map(str, unsupported))
        run.check(AUTHENTICATE, False, detail)
        raise _Refused(ReportReason.ALG_UNSUPPORTED, RefusalReason.ALG_UNSUPPORTED, detail)
    run.check(AUTHENTICATE, True, "")
    return authenticated


def _authentication_reason(exc: ManifestError) -> tuple[ReportReason, RefusalReason]:
    if isinstance(exc, UnsupportedAlgorithm):
        return ReportReason.ALG_UNSUPPORTED, RefusalReason.ALG_UNSUPPORTED
    if isinstance(exc, DigestMismatch) and exc.member.startswith("#"):
        return ReportReason.CONDITION_FAILED, RefusalReason.PAYLOAD_DIGEST_MISMATCH
    return ReportReason.UNAUTHORISED, RefusalReason.UNAUTHORISED


def _unsupported_algorithms(authenticated: Authenticated,
                            supported: frozenset[int] | None) -> list[int]:
    """The digest and verifying algorithms the device lacks (None: it has them all)."""
    if supported is None:
        return []
    report = authenticated.report
    used = [report.manifest_digest.algorithm,
            *[b.algorithm for b in report.blocks if b.verified_by and isinstance(b.algorithm, int)]]
    return [a for a in dict.fromkeys(used) if a not in supported]


def _check_rollback(run: _Run, envelope: Envelope) -> None:
    # M37 §8.4.2: a sequence number lower than the one installed for any component it
    # names is a rollback; the device refuses before running anything.
    number = envelope.manifest.sequence_number
    installed = {c.id: c.sequence_number for c in run.device.components}
    for component in envelope.manifest.common.components:
        stored = installed.get(component)
        if stored is not None and number < stored:
            detail = (f"sequence number {number} is lower than {stored}, installed for "
                      f"component {show_component(component)}")
            run.check(SEQUENCE_NUMBER, False, detail)
            raise _Refused(ReportReason.CONDITION_FAILED, RefusalReason.ROLLBACK, detail)
    run.check(SEQUENCE_NUMBER, True, "")


def _procedure(run: _Run, authenticated: Authenticated, procedure: Procedure) -> None:
    run.procedure = procedure.name.lower()
    try:
        # A device file without decryption-keys describes a device that does not decrypt:
        # encryption info is then refused before anything runs (rule 10), as before.
        decrypter = SimulatedDecrypter(run.store, run.device.decryption_keys) \
            if run.device.decryption_keys else None
        processor = Processor(authenticated, run.store, run.device.anchors, trace=run.record,
                              decrypter=decrypter)
    except ProcessingFailed as failed:  # unsupported command, parameter or component
        run.check(SUPPORTED, False, failed.detail)
        raise _Refused(failed.reason, RefusalReason[failed.reason.name], failed.detail) from None
    try:
        result = processor.run(procedure)
        if procedure is Procedure.UPDATE and not result.sections:
            processor.run_shared()  # vendor and class first, as the device does
            raise ProcessingFailed(ReportReason.OPERATION_FAILED, "the manifest has no update "
                                   "sections (install or payload-fetch) for this device")
    except ProcessingFailed as failed:
        raise _Refused(failed.reason, _refinement(failed), failed.detail,
                       failed.location) from None
    run.deferred.extend(result.deferred)


def _refinement(failed: ProcessingFailed) -> RefusalReason:
    # FE §6: the virtual device's reasons for a decryption that failed (loader/decryption.py).
    if isinstance(failed.__cause__, WrongKey):
        return RefusalReason.WRONG_KEY
    if isinstance(failed.__cause__, DecryptionError):
        return RefusalReason.DECRYPTION_FAILED
    if failed.reason is ReportReason.CONDITION_FAILED and failed.location is not None:
        return _CONDITION_REFINEMENTS.get(failed.location.command,
                                          RefusalReason.CONDITION_FAILED)
    return RefusalReason[failed.reason.name]


def _refusal_outcome(run: _Run, refused: _Refused) -> Outcome:
    # Processing stops at the failure, so a failed last step is the one that ended it.
    last = len(run.steps) - 1
    failing = last if run.steps and run.steps[last].result == "failed" else None
    return Outcome(False, refused.reason, refused.refusal, failing, refused.detail,
                   refused.location)


def _report(envelope: Envelope, digest: Digest | None, run: _Run,
            outcome: Outcome) -> Report | None:
    """The SUIT_Report the device would send (draft-ietf-suit-report §4): its reference
    is the manifest it processed, so a manifest that did not authenticate has none."""
    if digest is None:
        return None
    failing = None if outcome.passed else _failing_record(run, outcome)
    return Report(envelope.manifest.reference_uri or "", digest, success=outcome.passed,
                  reason=outcome.reason, failing_record=failing)


def _failing_record(run: _Run, outcome: Outcome) -> Record:
    step = None if outcome.step is None else run.steps[outcome.step]
    if step is None or step.trace is None:  # a device check: the member it is about
        section = ManifestKey.SEQUENCE_NUMBER if step and step.command == SEQUENCE_NUMBER \
            else ManifestKey.COMMON
        return Record((), int(section), 0, 0)
    return record_of(step.trace)


__all__ = ["AUTHENTICATE", "SEQUENCE_NUMBER", "SUPPORTED", "Outcome", "PayloadMissing",
           "SimulatedStore", "Simulation", "Step", "simulate"]


#: Largest payload file read for a simulation (--payload, the GUI's payload table).
MAX_PAYLOAD: Final = 64 * 1024 * 1024


@dataclass(frozen=True)
class SimulatedFiles:
    """A simulation run from files, with what was read (the GUI inspects the envelope
    with the device's trust anchors)."""

    simulation: Simulation
    device: DeviceDescription
    envelope: bytes


def simulate_files(envelope: Path, device: Path,
                   payloads: Sequence[tuple[str, Path]]) -> SimulatedFiles:
    """The use case behind `suitwb simulate` and the GUI's Simulate panel: read the
    envelope, the device file and the payload files with their limits, then simulate.

    Raises:
        FileAccessError: an input cannot be read, is too large or is not a regular file.
        WorkbenchError: the device file or the envelope is malformed.
    """
    described = load_device(device)
    files = {uri: read_limited(path, MAX_PAYLOAD, regular_only=True) for uri, path in payloads}
    data = read_bytes(envelope, limit=MAX_ENVELOPE)
    return SimulatedFiles(simulate(data, described, files), described, data)
