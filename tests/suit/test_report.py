"""SUIT reports round-trip; MTI profiles carry the published identifiers."""

from __future__ import annotations

import pytest

from suit.errors import DecodeError
from suit.model import Digest
from suit.report import MTI_PROFILES, Record, Report, ReportReason, decode_report


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
