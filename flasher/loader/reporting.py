"""The virtual device's SUIT report of each update attempt (report draft; issue 14).

The device's manifest processor calls `ReportLog.step` with every command as it runs; the
log keeps the records the manifest's reporting policy asks for (M37 §8.4.7: bit 0 record
on success, bit 1 record on failure, bits 2 and 3 system information on success and on
failure). At the end of the attempt the updater turns the log into a SUIT_Report with the
result (true, or the reason and the failing command's record), and the device signs it
with its own key (COSE_Sign1) when it has one, so the station can prove what it said.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import IntFlag
from typing import Final

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from flasher.errors import FlasherError
from suit.codec import decode_envelope
from suit.cose import SIGNATURE_ALGORITHMS, CoseAlgorithm, ecdsa_der_to_raw
from suit.digest import digest_of
from suit.errors import ManifestError
from suit.model import Command, Digest, DigestAlgorithm
from suit.processor import Location, TraceStep
from suit.processor_commands import SUPPORTED_COMMANDS, SUPPORTED_PARAMETERS
from suit.processor_model import record_of, record_properties, section_key
from suit.report import Record, Report, ReportReason, SystemProperties, decode_report
from suit.report_capabilities import CapabilityReport, ComponentCapability
from suit.report_cose import sign_report

logger = logging.getLogger(__name__)

#: Commands whose argument is not a reporting policy (M37 §8.4.9; SUIT-FACTS §3).
_NOT_POLICY: Final = frozenset({Command.SET_COMPONENT_INDEX})
#: Records kept per attempt: a manifest of many reported commands cannot grow the report
#: past what REPORT_REPLY carries (the failing record is always kept, in the result).
MAX_RECORDS: Final = 64


class ReportingPolicy(IntFlag):
    """SUIT_Reporting_Policy bits (M37 §8.4.7)."""

    RECORD_ON_SUCCESS = 1
    RECORD_ON_FAILURE = 2
    SYSINFO_SUCCESS = 4
    SYSINFO_FAILURE = 8


class DeviceKeyError(FlasherError):
    """The device's report key cannot be used."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"device key: {problem}",
                         hint="Give a PEM private key: EC P-256, P-384 or Ed25519.")


def _policy(step: TraceStep) -> ReportingPolicy:
    argument = step.argument
    if step.location.command in _NOT_POLICY or type(argument) is not int or argument < 0:
        return ReportingPolicy(0)
    return ReportingPolicy(argument & 0xF)


@dataclass
class ReportLog:
    """The records of one processor run, as the reporting policy asks."""

    records: list[Record | SystemProperties] = field(default_factory=list)
    last: TraceStep | None = None

    def step(self, step: TraceStep) -> None:
        """The processor's tracer: keep what the command's policy asks for."""
        if step.depth or step.result not in ("passed", "failed"):
            return  # dependencies and nested markers: only the root manifest is recorded
        self.last = step
        passed = step.result == "passed"
        policy = _policy(step)
        wanted = ReportingPolicy.RECORD_ON_SUCCESS if passed else ReportingPolicy.RECORD_ON_FAILURE
        sysinfo = ReportingPolicy.SYSINFO_SUCCESS if passed else ReportingPolicy.SYSINFO_FAILURE
        if policy & wanted:
            self._keep(record_of(step))
        if policy & sysinfo and step.component is not None:
            self._keep(SystemProperties(step.component, record_properties(step.parameters)))

    def _keep(self, entry: Record | SystemProperties) -> None:
        if len(self.records) < MAX_RECORDS:
            self.records.append(entry)

    def failing_record(self, location: Location | None) -> Record | None:
        """The record of the command that failed at `location` (None: before any ran)."""
        if location is None:
            return None
        if self.last is not None and self.last.location == location:
            return record_of(self.last)
        return Record((), section_key(location), location.offset, location.component_index or 0)


@dataclass(frozen=True)
class ReportSigner:
    """The device's own key and its COSE algorithm."""

    algorithm: CoseAlgorithm
    sign: Callable[[bytes], bytes]

    def seal(self, report: Report) -> bytes:
        return sign_report(report, self.algorithm, self.sign)


def sealed(stored: bytes, nonce: bytes | None, signer: ReportSigner | None) -> bytes:
    """The report to send for a stored (unsigned) SUIT_Report: with the host's nonce
    (report draft §4: suit-report-nonce, freshness), signed when the device has a key.

    The signature is made per request, after the nonce is known, so a recorded reply
    cannot be replayed to a host that asked with a fresh nonce.
    """
    report = decode_report(stored)
    if nonce is not None:
        report = replace(report, nonce=nonce)
    return report.encode() if signer is None else signer.seal(report)


def load_device_key(pem: bytes) -> ReportSigner:
    """A signer for reports from a PEM private key (ES256, ES384 or EdDSA).

    Raises:
        DeviceKeyError: Not a PEM private key of a supported kind.
    """
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise DeviceKeyError(f"not a usable PEM private key ({exc})") from exc
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return ReportSigner(CoseAlgorithm.EDDSA, key.sign)
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name in _EC:
        algorithm, digest = _EC[key.curve.name]
        bits = key.curve.key_size
        return ReportSigner(algorithm, lambda tbs: ecdsa_der_to_raw(
            key.sign(tbs, ec.ECDSA(digest())), bits))
    raise DeviceKeyError(f"{type(key).__name__} keys cannot sign reports")


_EC: Final[dict[str, tuple[CoseAlgorithm, type[hashes.HashAlgorithm]]]] = {
    "secp256r1": (CoseAlgorithm.ES256, hashes.SHA256),
    "secp384r1": (CoseAlgorithm.ES384, hashes.SHA384)}


#: Refusals for something the processor does not implement: the report draft (§4) names
#: these as when a capability report is worth its bytes without being asked for.
UNSUPPORTED: Final = frozenset({
    ReportReason.COSE_UNSUPPORTED, ReportReason.ALG_UNSUPPORTED,
    ReportReason.COMMAND_UNSUPPORTED, ReportReason.COMPONENT_UNSUPPORTED,
    ReportReason.PARAMETER_UNSUPPORTED, ReportReason.SEVERING_UNSUPPORTED})


def failure_report(reference: tuple[str, Digest], log: ReportLog, reason: ReportReason,
                   failing: Record | None,
                   capabilities: CapabilityReport | None = None) -> Report:
    """The report of a refused attempt: the records kept, the reason, the failing record,
    and `capabilities` when the reason is one of UNSUPPORTED (else they are left out)."""
    return Report(reference[0], reference[1], tuple(log.records), False, reason, failing,
                  capabilities=capabilities if reason in UNSUPPORTED else None)


def success_report(reference: tuple[str, Digest], log: ReportLog) -> Report:
    """The report of an installed update."""
    return Report(reference[0], reference[1], tuple(log.records))


def unauthenticated_reference(envelope: bytes, max_size: int) -> tuple[str, Digest]:
    """The suit-reference of an attempt whose manifest did not authenticate.

    The report draft (§4) requires suit-reference in every report and defines its digest
    as the one in SUIT_Authentication element 0; a refusal before authentication has no
    authenticated manifest to refer to. So the device refers to what it was given: the
    digest the envelope's wrapper states, when the envelope decodes that far (bad
    signature, untrusted key, manifest digest that does not match), else the SHA-256 of
    the bytes received (not CBOR, not an envelope, too large), which the host can match
    against what it sent. No uri: nothing from an unauthenticated manifest is repeated.
    """
    if len(envelope) <= max_size:
        try:
            return "", decode_envelope(envelope, max_size=max_size).authentication.digest
        except ManifestError:
            logger.debug("refused envelope does not decode: the report refers to its bytes")
    return "", digest_of(envelope, DigestAlgorithm.SHA256)


def device_capabilities(components: tuple[tuple[bytes, ...], ...]) -> CapabilityReport:
    """What this loader's manifest processor can process (report draft §6): the device's
    components, the commands and parameters the processor runs, and the COSE signature
    and MAC algorithms it verifies (digest algorithms are SUIT_Digest's, not COSE's)."""
    return CapabilityReport(
        tuple(ComponentCapability(c) for c in components),
        tuple(sorted(int(c) for c in SUPPORTED_COMMANDS)),
        tuple(sorted(int(p) for p in SUPPORTED_PARAMETERS)),
        tuple(sorted(SIGNATURE_ALGORITHMS)))
