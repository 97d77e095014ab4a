"""SUIT reports (draft-ietf-suit-report-18; docs/SUIT-FACTS.md §9) and MTI profiles.

A device's status tracker describes what happened to an update as a SUIT_Report: the
records of what ran and a result with a reason. The recovery loader reports its last
update in this shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Final

from suit import cbor
from suit.checks import expect_int, expect_list, expect_map, expect_text, expect_uint
from suit.commands import decode_digest_value, digest_value
from suit.errors import DecodeError
from suit.model import Digest


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
class Report:
    """SUIT_Report. `result` is True for success, else (code, reason, failing record)."""

    reference_uri: str
    manifest_digest: Digest
    records: tuple[Record, ...] = ()
    success: bool = True
    reason: ReportReason = ReportReason.OK
    failing_record: Record | None = None
    nonce: bytes | None = None

    def encode(self) -> bytes:
        result: Any = True
        if not self.success:
            result = {ResultKey.CODE: int(self.reason), ResultKey.REASON: int(self.reason)}
            if self.failing_record is not None:
                result[ResultKey.RECORD] = self.failing_record.value()
        value: dict[int, Any] = {
            ReportKey.REFERENCE: [self.reference_uri, digest_value(self.manifest_digest)],
            ReportKey.RECORDS: [r.value() for r in self.records],
            ReportKey.RESULT: result}
        if self.nonce is not None:
            value[ReportKey.NONCE] = self.nonce
        return cbor.dumps(value)


def _record(value: Any, path: str) -> Record:
    parts = expect_list(value, path, min_len=5, max_len=5)
    ids = expect_list(parts[0], f"{path}/manifest-id")
    return Record(tuple(expect_uint(i, f"{path}/manifest-id") for i in ids),
                  expect_int(parts[1], f"{path}/section"), expect_uint(parts[2], f"{path}/offset"),
                  expect_uint(parts[3], f"{path}/component-index"), expect_map(parts[4], f"{path}/properties"))


def _reason(value: Any) -> ReportReason:
    code = expect_int(value, "report/result/reason")
    try:
        return ReportReason(code)
    except ValueError:  # a reason from a later draft: say so, never a bare ValueError
        raise DecodeError("report/result/reason", f"unknown SUIT_Report_Reason {code}") from None


def decode_report(data: bytes) -> Report:
    """Decode a SUIT_Report (unprotected form) from untrusted bytes."""
    value = expect_map(cbor.loads(data, path="report"), "report")
    reference = expect_list(value.get(ReportKey.REFERENCE), "report/reference", min_len=2, max_len=2)
    records = tuple(_record(r, f"report/records[{i}]")
                    for i, r in enumerate(expect_list(value.get(ReportKey.RECORDS, []), "report/records")))
    result = value.get(ReportKey.RESULT, True)
    report = Report(expect_text(reference[0], "report/reference/uri"),
                    decode_digest_value(reference[1], "report/reference/digest"), records,
                    nonce=value.get(ReportKey.NONCE))
    if result is True:
        return report
    detail = expect_map(result, "report/result")
    failing = detail.get(ResultKey.RECORD)
    return Report(report.reference_uri, report.manifest_digest, records, False,
                  _reason(detail.get(ResultKey.REASON, ReportReason.OPERATION_FAILED)),
                  None if failing is None else _record(failing, "report/result/record"), report.nonce)


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
