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
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from flasher.errors import RefusalReason
from suit import digest as digests
from suit.codec import DEFAULT_MAX_SIZE, decode_envelope
from suit.errors import DigestMismatch, ManifestError, UnsupportedAlgorithm, WorkbenchError
from suit.model import Command, ComponentId, Digest, Envelope, ManifestKey
from suit.processor import (
    DIGEST_PENDING,
    Authenticated,
    DeviceFacts,
    DigestPending,
    FetchRequest,
    Location,
    Procedure,
    ProcessingFailed,
    Processor,
    TraceStep,
    authenticate,
)
from suit.processor_model import SECTION_KEYS
from suit.report import Record, Report, ReportReason
from workbench.simulate_device import DeviceDescription

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


class PayloadMissing(WorkbenchError):
    """A dependency manifest the simulation was not given (a dependency cannot be pending:
    its manifest is what runs next)."""

    def __init__(self, uri: str) -> None:
        super().__init__(f"no payload for {uri}", hint=f"Give --payload {uri}=FILE.")


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


@dataclass
class SimulatedStore:
    """The described device as a `ComponentStore`, in memory: images it received, and the
    digests it was described with for images it holds but the simulation does not have."""

    device: DeviceDescription
    payloads: Mapping[str, bytes]
    images: dict[ComponentId, bytes] = field(default_factory=dict)
    pending: set[ComponentId] = field(default_factory=set)
    effects: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.known = {c.id: c for c in self.device.components}
        self.digests = {c.id: c.digest for c in self.device.components if c.digest}

    def supports(self, component_id: ComponentId) -> bool:
        return component_id in self.known

    def vendor_id(self) -> bytes | None:
        return self.device.vendor_id

    def class_id(self) -> bytes | frozenset[bytes] | None:
        return self.device.class_ids or None

    def device_id(self) -> bytes | None:
        return self.device.device_id

    def component_slot(self, component_id: ComponentId) -> int | None:
        known = self.known.get(component_id)
        return None if known is None else known.slot

    def image_digest(self, component_id: ComponentId, algorithm: int,
                     size: int | None) -> bytes | DigestPending | None:
        if component_id in self.pending:
            return DIGEST_PENDING
        image = self.images.get(component_id)
        if image is not None:
            return digests.compute(algorithm, image if size is None else image[:size])
        described = self.digests.get(component_id)
        return described.value if described and described.algorithm == algorithm else None

    def read(self, component_id: ComponentId, size: int) -> bytes | None:
        image = self.images.get(component_id)
        return None if image is None else image[:size]

    def fetch(self, component_id: ComponentId, request: FetchRequest) -> None:
        data = request.integrated if request.integrated is not None \
            else self.payloads.get(request.uri)
        self._effect("fetch", component_id, request.uri)
        self._put(component_id, data)

    def fetch_dependency(self, uri: str, max_size: int) -> bytes:
        self.effects.append(f"fetch-dependency {uri}")
        data = self.payloads.get(uri)
        if data is None:
            raise PayloadMissing(uri)
        return data

    def write(self, component_id: ComponentId, content: bytes) -> None:
        self._effect("write", component_id, f"{len(content)} bytes")
        self._put(component_id, content)

    def copy(self, destination: ComponentId, source: ComponentId, size: int | None) -> None:
        self._effect("copy", destination, f"from {_show(source)}")
        self._take(destination, source)

    def swap(self, first: ComponentId, second: ComponentId) -> None:
        self._effect("swap", first, f"with {_show(second)}")
        held = (self.images.get(first), self.digests.get(first), first in self.pending)
        self._take(first, second)
        self._restore(second, *held)

    def invoke(self, component_id: ComponentId, arguments: bytes | None) -> None:
        self._effect("invoke", component_id, "")

    def unlink(self, component_id: ComponentId) -> None:
        self._effect("unlink", component_id, "")
        self._restore(component_id, None, None, False)

    def wait(self, wait_info: bytes) -> bool:
        self.effects.append("wait")
        return True

    def facts(self) -> DeviceFacts:
        return self.device.facts

    def _effect(self, kind: str, component_id: ComponentId, what: str) -> None:
        self.effects.append(f"{kind} {_show(component_id)} {what}".rstrip())

    def _put(self, component_id: ComponentId, data: bytes | None) -> None:
        # No payload given for this URI: the image is pending, its checks deferred.
        self._restore(component_id, data, None, data is None)

    def _take(self, destination: ComponentId, source: ComponentId) -> None:
        self._restore(destination, self.images.get(source), self.digests.get(source),
                      source in self.pending)

    def _restore(self, component_id: ComponentId, image: bytes | None, digest: Digest | None,
                 pending: bool) -> None:
        self.images.pop(component_id, None)
        self.digests.pop(component_id, None)
        self.pending.discard(component_id)
        if image is not None:
            self.images[component_id] = image
        if digest is not None:
            self.digests[component_id] = digest
        if pending:
            self.pending.add(component_id)


def _show(component_id: ComponentId) -> str:
    return "[" + ", ".join(f"h'{part.hex()}'" for part in component_id) + "]"


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
                      f"component {_show(component)}")
            run.check(SEQUENCE_NUMBER, False, detail)
            raise _Refused(ReportReason.CONDITION_FAILED, RefusalReason.ROLLBACK, detail)
    run.check(SEQUENCE_NUMBER, True, "")


def _procedure(run: _Run, authenticated: Authenticated, procedure: Procedure) -> None:
    run.procedure = procedure.name.lower()
    try:
        processor = Processor(authenticated, run.store, run.device.anchors, trace=run.record)
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
    location = step.trace.location
    # The shared sequence is a member of suit-common (M37 §8.4.5), whichever section ran it.
    section = ManifestKey.COMMON if location.path.startswith("shared-sequence") \
        else SECTION_KEYS[location.section]
    return Record((), int(section),
                  location.offset, location.component_index or 0,
                  record_properties(step.trace.parameters))


def record_properties(parameters: Mapping[int, Any]) -> dict[int, Any]:
    """The parameters in force as SUIT_Parameters for a record (report §4.1): plain CBOR
    values as they are, digests as SUIT_Digest; anything else is left out."""
    from suit.commands import digest_value

    properties: dict[int, Any] = {}
    for key, value in parameters.items():
        if isinstance(value, Digest):
            properties[key] = digest_value(value)
        elif isinstance(value, bool | int | bytes | str):
            properties[key] = value
    return properties


__all__ = ["AUTHENTICATE", "SEQUENCE_NUMBER", "SUPPORTED", "Outcome", "PayloadMissing",
           "SimulatedStore", "Simulation", "Step", "record_properties", "simulate"]
