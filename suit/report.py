"""SUIT reports (draft-ietf-suit-report-18, the CDDL of suit-wg/suit-report at 8c0426b:
the latest revision whose text we could read; the datatracker lists -23, whose text was not
available when this was checked) and MTI profiles.

A device's status tracker describes what happened to an update as a SUIT_Report: the
records of what ran and a result with a reason. The recovery loader reports every update
attempt in this shape (signed: suit/report_cose.py).

What this codec does, against the -18 CDDL:

- encodes `SUIT_Report` as a map with ``99`` suit-reference ``[uri, digest]`` (the uri is
  ``""`` when the manifest has none), ``3`` records (SUIT_Record arrays and
  system-property-claims maps, in order), ``4`` result (``true`` or the map of code 5,
  record 6 and reason 7, all three always present), ``2`` nonce when there is one and ``8``
  capability report when there is one (suit/report_capabilities.py); deterministic CBOR;
- decodes the same, and is lenient in three places: a reference of the digest alone
  (``[digest]``, read as uri ``""``), report keys it does not know
  ($$SUIT_Report_Extensions) and SUIT_Record elements after the fifth
  ($$SUIT_Record_Extensions) are accepted and ignored;
- raises DecodeError, with the path, for wrong types, a missing reference, records or
  result, a failure result without all of code, record and reason, a nonce that is not a
  byte string, a capability report outside its CDDL, and a SUIT_Report_Reason it does not
  know (a later revision's);
- does not check values against SUIT_Parameters: record properties and
  system-property-claims are kept as decoded (a claims map with no parameter, which the
  CDDL's ``+`` excludes, is accepted).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Final

from suit import cbor
from suit.checks import expect_bytes, expect_int, expect_list, expect_map, expect_text, expect_uint
from suit.commands import decode_digest_value, digest_value
from suit.errors import DecodeError
from suit.model import Digest, ManifestKey
from suit.report_capabilities import CapabilityReport, capabilities_json, decode_capabilities

#: system-property-claims: component id under this key (report draft, SUIT_Report).
SYSTEM_COMPONENT_ID: Final = 0


class ReportKey(IntEnum):
    NONCE = 2
    RECORDS = 3
    RESULT = 4
    CAPABILITY_REPORT = 8
    REFERENCE = 99


class ResultKey(IntEnum):
    CODE = 5
    RECORD = 6
    REASON = 7


class ReportReason(IntEnum):
    """SUIT_Report_Reason."""

    OK = 0
    CBOR_PARSE = 1
    COSE_UNSUPPORTED = 2
    ALG_UNSUPPORTED = 3
    UNAUTHORISED = 4
    COMMAND_UNSUPPORTED = 5
    COMPONENT_UNSUPPORTED = 6
    COMPONENT_UNAUTHORISED = 7
    PARAMETER_UNSUPPORTED = 8
    SEVERING_UNSUPPORTED = 9
    CONDITION_FAILED = 10
    OPERATION_FAILED = 11
    INVOKE_PENDING = 12


@dataclass(frozen=True)
class Record:
    """SUIT_Record: where in which manifest something happened, with the parameters then."""

    manifest_id: tuple[int, ...]
    section: int
    offset: int
    component_index: int
    properties: dict[int, Any] = field(default_factory=dict)

    def value(self) -> list[Any]:
        return [list(self.manifest_id), self.section, self.offset, self.component_index,
                dict(self.properties)]


@dataclass(frozen=True)
class SystemProperties:
    """system-property-claims: measured properties of one component, a map among the
    records (report draft §4.2: a recipient filters the maps out of the records)."""

    component_id: tuple[bytes, ...]
    properties: dict[int, Any] = field(default_factory=dict)

    def value(self) -> dict[int, Any]:
        return {SYSTEM_COMPONENT_ID: list(self.component_id), **self.properties}


#: The record of a failure before any command ran (authentication, device checks): it is
#: about suit-common (3), as `suitwb simulate` reports it. The CDDL requires a record in
#: every failure result, so one is always sent.
WHOLE_MANIFEST: Final = Record((), int(ManifestKey.COMMON), 0, 0)


@dataclass(frozen=True)
class Report:
    """SUIT_Report. `success` is the result `true`; else `reason`, `result_code` (an
    internal code for debugging, the reason's number unless given) and `failing_record`
    (WHOLE_MANIFEST when None)."""

    reference_uri: str
    manifest_digest: Digest
    records: tuple[Record | SystemProperties, ...] = ()
    success: bool = True
    reason: ReportReason = ReportReason.OK
    failing_record: Record | None = None
    nonce: bytes | None = None
    result_code: int | None = None
    capabilities: CapabilityReport | None = None

    def encode(self) -> bytes:
        """Deterministic CBOR of the unprotected SUIT_Report."""
        value: dict[int, Any] = {
            ReportKey.REFERENCE: [self.reference_uri, digest_value(self.manifest_digest)],
            ReportKey.RECORDS: [r.value() for r in self.records],
            ReportKey.RESULT: True if self.success else self._failure()}
        if self.nonce is not None:
            value[ReportKey.NONCE] = self.nonce
        if self.capabilities is not None:
            value[ReportKey.CAPABILITY_REPORT] = self.capabilities.value()
        return cbor.dumps(value)

    def _failure(self) -> dict[int, Any]:
        record = self.failing_record or WHOLE_MANIFEST
        code = int(self.reason) if self.result_code is None else self.result_code
        return {ResultKey.CODE: code, ResultKey.RECORD: record.value(),
                ResultKey.REASON: int(self.reason)}


def _record(value: Any, path: str) -> Record:
    parts = expect_list(value, path, min_len=5)  # more: $$SUIT_Record_Extensions, ignored
    ids = expect_list(parts[0], f"{path}/manifest-id")
    return Record(tuple(expect_uint(i, f"{path}/manifest-id") for i in ids),
                  expect_int(parts[1], f"{path}/section"), expect_uint(parts[2], f"{path}/offset"),
                  expect_uint(parts[3], f"{path}/component-index"), expect_map(parts[4], f"{path}/properties"))


def _record_entry(value: Any, path: str) -> Record | SystemProperties:
    if not isinstance(value, dict):
        return _record(value, path)
    component = expect_list(value.get(SYSTEM_COMPONENT_ID), f"{path}/system-component-id")
    return SystemProperties(tuple(expect_bytes(c, f"{path}/system-component-id") for c in component),
                            {expect_int(k, f"{path}/key"): v for k, v in value.items()
                             if k != SYSTEM_COMPONENT_ID})


def _reference(value: Any) -> tuple[str, Digest]:
    # SUIT_Reference = [? manifest-uri : tstr, manifest-digest : SUIT_Digest]
    parts = expect_list(value, "report/reference", min_len=1, max_len=2)
    uri = expect_text(parts[0], "report/reference/uri") if len(parts) == 2 else ""
    return uri, decode_digest_value(parts[-1], "report/reference/digest")


def _reason(value: Any) -> ReportReason:
    code = expect_int(value, "report/result/reason")
    try:
        return ReportReason(code)
    except ValueError:  # a reason from a later draft: say so, never a bare ValueError
        raise DecodeError("report/result/reason", f"unknown SUIT_Report_Reason {code}") from None


def decode_report(data: bytes) -> Report:
    """Decode a SUIT_Report (unprotected form) from untrusted bytes.

    Raises:
        DecodeError: Not CBOR, or not the draft's SUIT_Report; the path says where.
    """
    return decode_report_value(cbor.loads(data, path="report"))


def decode_report_value(decoded: Any) -> Report:
    """Decode an already CBOR-decoded SUIT_Report (the payload of a COSE_Sign1)."""
    value = expect_map(decoded, "report")
    uri, digest = _reference(value.get(ReportKey.REFERENCE))
    if ReportKey.RECORDS not in value or ReportKey.RESULT not in value:
        raise DecodeError("report", "records (3) and result (4) are required")
    records = tuple(_record_entry(r, f"report/records[{i}]")
                    for i, r in enumerate(expect_list(value[ReportKey.RECORDS], "report/records")))
    nonce = value.get(ReportKey.NONCE)
    if nonce is not None:
        nonce = expect_bytes(nonce, "report/nonce")
    capabilities = None if ReportKey.CAPABILITY_REPORT not in value else decode_capabilities(
        value[ReportKey.CAPABILITY_REPORT], "report/capability-report")
    result = value[ReportKey.RESULT]
    if result is True:
        return Report(uri, digest, records, nonce=nonce, capabilities=capabilities)
    detail = expect_map(result, "report/result")
    missing = [k.name.lower() for k in ResultKey if k not in detail]
    if missing:
        raise DecodeError("report/result", f"a failure result needs {', '.join(missing)}")
    reason = _reason(detail[ResultKey.REASON])
    code = expect_int(detail[ResultKey.CODE], "report/result/code")
    return Report(uri, digest, records, False, reason,
                  _record(detail[ResultKey.RECORD], "report/result/record"), nonce,
                  None if code == int(reason) else code,  # None: the reason's number
                  capabilities)


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value if isinstance(value, bool | int | str) or value is None else repr(value)


def record_json(record: Record) -> dict[str, Any]:
    """A SUIT_Record as JSON-ready values (bytes as hex; parameters by number)."""
    return {"manifest-id": list(record.manifest_id), "section": record.section,
            "offset": record.offset, "component-index": record.component_index,
            "properties": _jsonable(record.properties)}


def _entry_json(entry: Record | SystemProperties) -> dict[str, Any]:
    if isinstance(entry, Record):
        return {"record": record_json(entry)}
    return {"system-properties": {"component-id": [c.hex() for c in entry.component_id],
                                  "properties": _jsonable(entry.properties)}}


def report_json(report: Report) -> dict[str, Any]:
    """The report as JSON-ready values: what the factory record and `suitwb report
    inspect --format json` keep (the raw bytes are kept beside it)."""
    return {"reference-uri": report.reference_uri,
            "manifest-digest": {"algorithm": report.manifest_digest.algorithm,
                                "value": report.manifest_digest.value.hex()},
            "success": report.success,
            "reason": report.reason.name.lower().replace("_", "-"),
            "result-code": int(report.reason) if report.result_code is None
            else report.result_code,
            "failing-record": None if report.success
            else record_json(report.failing_record or WHOLE_MANIFEST),
            "records": [_entry_json(r) for r in report.records],
            "nonce": None if report.nonce is None else report.nonce.hex(),
            "capabilities": None if report.capabilities is None
            else capabilities_json(report.capabilities)}


@dataclass(frozen=True)
class MtiProfile:
    """A mandatory-to-implement algorithm profile (draft-ietf-suit-mti §3)."""

    name: str
    digest: int
    authentication: int
    key_exchange: int
    encryption: int


MTI_PROFILES: Final = (
    MtiProfile("suit-sha256-hmac-a128kw-a128ctr", -16, 5, -3, -65534),
    MtiProfile("suit-sha256-esp256-ecdh-a128ctr", -16, -9, -29, -65534),
    MtiProfile("suit-sha256-ed25519-ecdh-a128ctr", -16, -19, -29, -65534),
    MtiProfile("suit-sha256-esp256-ecdh-a128gcm", -16, -9, -29, 1),
    MtiProfile("suit-sha256-ed25519-ecdh-chacha-poly", -16, -19, -29, 24),
    MtiProfile("suit-sha256-hsslms-a256kw-a256ctr", -16, -46, -5, -65532),
)
