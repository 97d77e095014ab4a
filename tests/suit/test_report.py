"""SUIT reports round-trip; MTI profiles carry the published identifiers."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from suit import cbor
from suit.cose import CoseAlgorithm, ecdsa_der_to_raw
from suit.errors import DecodeError, SignatureInvalid
from suit.keys import TrustAnchor
from suit.model import Digest
from suit.report import (
    MTI_PROFILES,
    Record,
    Report,
    ReportReason,
    SystemProperties,
    decode_report,
)
from suit.report_cose import open_report, sign_report


def test_success_and_failure_reports_round_trip() -> None:
    digest = Digest(-16, bytes(range(32)))
    ok = Report("https://example.com/fw.suit", digest, (Record((0,), 20, 4, 0, {14: 100}),))
    assert decode_report(ok.encode()) == ok
    failed = Report("https://example.com/fw.suit", digest, (), False, ReportReason.CONDITION_FAILED,
                    Record((0,), 7, 2, 1, {}), nonce=b"n0")
    assert decode_report(failed.encode()) == failed


def test_malformed_report_is_typed_error() -> None:
    with pytest.raises(DecodeError, match="report/reference"):
        decode_report(b"\xa0")


def test_mti_profiles_as_published() -> None:
    names = {p.name: (p.digest, p.authentication, p.key_exchange, p.encryption) for p in MTI_PROFILES}
    assert names["suit-sha256-esp256-ecdh-a128gcm"] == (-16, -9, -29, 1)
    assert names["suit-sha256-hsslms-a256kw-a256ctr"] == (-16, -46, -5, -65532)
    assert len(names) == 6


def test_unknown_report_reason_is_typed_error() -> None:
    """A reason outside SUIT_Report_Reason was a bare ValueError (issue 12)."""
    digest = Digest(-16, bytes(range(32)))
    failed = Report("https://example.com/fw.suit", digest, (), False, ReportReason.CONDITION_FAILED)
    body = failed.encode().replace(b"\x07\x0a", b"\x07\x18\x63")  # reason 10 -> 99
    assert body != failed.encode()
    with pytest.raises(DecodeError, match="report/result/reason"):
        decode_report(body)


# -- conformance with the report draft's CDDL (suit-wg/suit-report, SUIT_Report) ----------

DIGEST = Digest(-16, bytes(range(32)))


def test_failure_result_carries_code_record_and_reason_as_the_cddl_requires() -> None:
    """SUIT_Report's failure result is {5: int, 6: SUIT_Record, 7: reason}, all three
    required; a report made without a failing record still sends one."""
    failed = Report("u", DIGEST, (), False, ReportReason.OPERATION_FAILED)
    value = cbor.loads(failed.encode())
    assert set(value) == {3, 4, 99}  # records and result required; nonce absent
    assert set(value[4]) == {5, 6, 7}
    assert value[4][6] == [[], 3, 0, 0, {}]  # suit-common, the manifest's checks
    assert value[4][5] == value[4][7] == 11


def test_report_keys_and_record_layout_are_the_drafts() -> None:
    report = Report("https://x/fw.suit", DIGEST, (Record((1, 2), 20, 7, 3, {3: DIGEST.value}),),
                    nonce=b"\x01\x02")
    value = cbor.loads(report.encode())
    assert value[99] == ["https://x/fw.suit", [-16, DIGEST.value]]  # SUIT_Reference
    assert value[2] == b"\x01\x02" and value[4] is True
    assert value[3] == [[[1, 2], 20, 7, 3, {3: DIGEST.value}]]  # SUIT_Record
    assert cbor.is_deterministic(report.encode())


def test_decode_accepts_what_the_cddl_allows() -> None:
    """Reference without uri, system-property-claims among the records, record and
    report extensions, a result code other than the reason."""
    value = {99: [[-16, DIGEST.value]],
             3: [[[], 20, 0, 0, {}, "extension"], {0: [b"\x00"], 3: DIGEST.value}],
             4: {5: 4711, 6: [[], 9, 1, 0, {}], 7: 10},
             1000: "a later draft's member"}
    report = decode_report(cbor.dumps(value))
    assert report.reference_uri == "" and report.manifest_digest == DIGEST
    assert report.records == (Record((), 20, 0, 0, {}),
                              SystemProperties((b"\x00",), {3: DIGEST.value}))
    assert not report.success and report.reason is ReportReason.CONDITION_FAILED
    assert report.result_code == 4711
    assert report.failing_record == Record((), 9, 1, 0, {})


@pytest.mark.parametrize(("value", "where"), [
    ({99: [[-16, b"d"]], 4: True}, "report"),  # records missing
    ({99: [[-16, b"d"]], 3: []}, "report"),  # result missing
    ({99: [[-16, b"d"]], 3: [], 4: {5: 1, 7: 10}}, "report/result"),  # record missing
    ({99: [[-16, b"d"]], 3: [{1: 2}], 4: True}, "report/records[0]/system-component-id"),
    ({99: [[-16, b"d"]], 3: [], 4: True, 2: "nonce"}, "report/nonce"),
    ({99: [], 3: [], 4: True}, "report/reference"),
])
def test_decode_refuses_what_the_cddl_does_not_allow(value: dict[int, Any], where: str) -> None:
    with pytest.raises(DecodeError) as caught:
        decode_report(cbor.dumps(value))
    assert caught.value.path == where


def test_records_with_system_properties_round_trip() -> None:
    report = Report("u", DIGEST, (Record((), 3, 1, 0, {1: b"v"}),
                                  SystemProperties((b"\x00",), {14: 5})),
                    False, ReportReason.CONDITION_FAILED, Record((), 20, 2, 0, {}), None, 77)
    assert decode_report(report.encode()) == report


# -- the signed form (SUIT_Report_COSE_Sign1) ----------------------------------------------

def _signer() -> tuple[Any, TrustAnchor]:
    key = ec.generate_private_key(ec.SECP256R1())
    return key, TrustAnchor("device", public_key=key.public_key())


def test_signed_report_opens_and_verifies_with_the_device_key() -> None:
    key, anchor = _signer()
    report = Report("u", DIGEST, (), False, ReportReason.CONDITION_FAILED, Record((), 3, 1, 0, {}))
    signed = sign_report(report, CoseAlgorithm.ES256, lambda tbs: ecdsa_der_to_raw(
        key.sign(tbs, ec.ECDSA(hashes.SHA256())), 256))
    tag = cbor.loads(signed)
    assert tag.tag == 18 and tag.value[2] == report.encode()  # attached payload
    opened = open_report(signed, anchor)
    assert opened.report == report and opened.verified is True and opened.algorithm == -7
    assert open_report(signed).verified is None  # no key: nothing proven
    _other, wrong = _signer()
    with pytest.raises(SignatureInvalid):
        open_report(signed, wrong)
    tampered = cbor.dumps(cbor.CBORTag(18, [tag.value[0], {}, Report("u", DIGEST).encode(),
                                            tag.value[3]]))
    with pytest.raises(SignatureInvalid):
        open_report(tampered, anchor)


def test_unsigned_report_with_a_key_asked_for_is_refused() -> None:
    _key, anchor = _signer()
    with pytest.raises(SignatureInvalid):
        open_report(Report("u", DIGEST).encode(), anchor)


@pytest.mark.parametrize("data", [
    b"", b"\xff", cbor.dumps(cbor.CBORTag(17, [b"", {}, b"", b""])),
    cbor.dumps(cbor.CBORTag(18, [cbor.dumps({1: -7}), {}, None, b"s"])),  # detached
    cbor.dumps(cbor.CBORTag(18, [cbor.dumps({1: -7}), {}, b"\xa0", b"s"])),  # bad report
])
def test_bad_report_bytes_are_typed_errors(data: bytes) -> None:
    with pytest.raises(DecodeError):
        open_report(data)
