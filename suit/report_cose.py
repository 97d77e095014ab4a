"""SUIT reports in COSE_Sign1 (report draft, "SUIT_Report container": SUIT_Report_COSE_Sign1).

The device signs the report with its own key so the station can prove what the device
said. The payload is attached (unlike a manifest's detached digest): the report is the
payload, `bstr .cbor SUIT_Report`. Bytes in, bytes out: the private-key operation is a
callable given by the caller, so this module holds no key and does no I/O.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from suit import cbor
from suit.cose import (
    CoseAlgorithm,
    CoseHeader,
    CoseSign1,
    CoseTag,
    decode_cose_value,
    encode_protected,
    sig_structure,
)
from suit.errors import DecodeError, SignatureInvalid
from suit.keys import TrustAnchor
from suit.report import Report, decode_report, decode_report_value
from suit.verify import verify_signature

logger = logging.getLogger(__name__)

#: A signed report is small; anything larger is refused before decoding.
MAX_REPORT_SIZE: Final = 64 * 1024

Sign = Callable[[bytes], bytes]
"""Signs the Sig_structure bytes; returns the COSE signature (raw r||s for ECDSA)."""


@dataclass(frozen=True)
class OpenedReport:
    """A report read from bytes.

    Attributes:
        report: The decoded SUIT_Report.
        signed: Whether it came in a COSE_Sign1.
        verified: True when the signature verified with the given key; None when no key
            was given or the report is not signed (nothing proven).
        algorithm: The COSE alg of the signature, None when unsigned.
        payload: The SUIT_Report bytes (the Sign1 payload when signed).
    """

    report: Report
    signed: bool
    verified: bool | None
    algorithm: int | None
    payload: bytes


def sign_report(report: Report, algorithm: CoseAlgorithm, sign: Sign) -> bytes:
    """COSE_Sign1_Tagged over the encoded report (RFC 9052 §4.4: Signature1 context)."""
    payload = report.encode()
    protected = encode_protected({CoseHeader.ALG: int(algorithm)})
    signature = sign(sig_structure("Signature1", protected, payload))
    return CoseSign1(protected, {}, payload, signature).encode()


def open_report(data: bytes, key: TrustAnchor | None = None) -> OpenedReport:
    """Decode a SUIT report, bare or in a COSE_Sign1, and verify it with `key`.

    Raises:
        DecodeError: Not a SUIT_Report or a COSE_Sign1 carrying one.
        SignatureInvalid: A key was given and the signature does not verify with it, or
            the report is unsigned (a key asks for proof).
    """
    value = cbor.loads(data, path="report", max_size=MAX_REPORT_SIZE)
    if not isinstance(value, cbor.CBORTag):
        if key is not None:
            raise SignatureInvalid([f"{key.name}: the report is not signed (no COSE_Sign1)"])
        return OpenedReport(decode_report_value(value), False, None, None, data)
    message = _sign1(value)
    payload = message.payload or b""
    report = decode_report(payload)
    if key is None:
        return OpenedReport(report, True, None, message.algorithm, payload)
    tbs = sig_structure("Signature1", message.protected, payload)
    if not verify_signature(message.algorithm, key, tbs, message.signature):
        raise SignatureInvalid([f"{key.name}: the report's signature does not verify"])
    return OpenedReport(report, True, True, message.algorithm, payload)


def _sign1(value: cbor.CBORTag) -> CoseSign1:
    if value.tag != CoseTag.SIGN1:
        raise DecodeError("report", f"CBOR tag {value.tag}: a signed report is a "
                                    "COSE_Sign1 (tag 18)")
    message: Any = decode_cose_value(value, "report")
    if not isinstance(message, CoseSign1) or not isinstance(message.payload, bytes):
        raise DecodeError("report/payload", "a signed report carries the report as its "
                                            "payload (bstr), not detached")
    if not isinstance(message.algorithm, int):
        raise DecodeError("report/protected/alg", "missing or not an integer")
    return message
