"""The host's side of SUIT reports: ask the device for the report of the attempt that just
ended (REPORT, docs/recovery-protocol.md §3), verify it with the device's key, summarise it
for the factory record.

How the host knows the device's key: the operator gives it (`suitwb flash --device-key
PEM`), pinned per station from the device's provisioning; a key the device announced
itself (in HELLO_ACK) would prove nothing. Without a key the report is stored unverified.

Freshness: each REPORT carries a fresh random nonce, the device puts it in the report it
signs (suit-report-nonce, report draft §4), and the host accepts only a report carrying
that nonce, so a recorded report replayed by a device (or a man in the middle) is refused.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Any

from flasher import protocol
from flasher.errors import DeviceNotResponding, ProtocolError, TransportError
from flasher.protocol import MessageType
from flasher.session import RecoverySession
from suit import cbor
from suit.errors import ManifestError
from suit.keys import TrustAnchor
from suit.report import report_json
from suit.report_capabilities import CapabilityReport, decode_capabilities
from suit.report_cose import open_report

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeviceReport:
    """A SUIT report as the host received it.

    Attributes:
        raw: The bytes the device sent (COSE_Sign1 or a bare SUIT_Report), stored as is.
        verified: True when it verified with the device key, False when it did not (or
            did not decode), None when no key was given.
        result: The decoded report as JSON-ready values (suit.report.report_json), None
            when it did not decode.
        problem: Why it did not decode or verify, else None.
    """

    raw: bytes
    verified: bool | None
    result: dict[str, Any] | None
    problem: str | None = None


#: Bytes of the nonce the host sends with REPORT (128 bits: never repeats in practice).
NONCE_SIZE = 16


def read_report(raw: bytes, key: TrustAnchor | None, nonce: bytes | None = None) -> DeviceReport:
    """Decode and verify report bytes; never raises for bad bytes (they are recorded).

    With `nonce`, the report must carry exactly it (a report without it, or with another,
    is a replay or an answer to another request: not verified).
    """
    try:
        opened = open_report(raw, key)
    except ManifestError as exc:
        logger.warning("device report does not check: %s", exc)
        try:  # the content, for the record, when only the signature was wrong
            result: dict[str, Any] | None = report_json(open_report(raw).report)
        except ManifestError:
            result = None
        return DeviceReport(raw, False, result, str(exc))
    result = report_json(opened.report)
    if nonce is not None and opened.report.nonce != nonce:
        logger.warning("device report does not carry the nonce sent: refused as a replay")
        return DeviceReport(raw, False, result, "the report does not carry the nonce the "
                            "host sent (a replayed or stale report)")
    return DeviceReport(raw, opened.verified, result)


def fetch_report(session: RecoverySession, key: TrustAnchor | None) -> DeviceReport | None:
    """The report of the attempt that just ended, or None when the device has none or
    does not know REPORT (a loader older than the message answers ERROR)."""
    nonce = secrets.token_bytes(NONCE_SIZE)
    try:
        reply = session.request(MessageType.REPORT, protocol.encode_report_request(nonce),
                                expect=MessageType.REPORT_REPLY)
        raw = protocol.decode_report(reply.body)
    except (ProtocolError, DeviceNotResponding, TransportError) as exc:
        logger.info("%s: no SUIT report (%s)", session.transport.name, exc)
        return None
    return None if raw is None else read_report(raw, key, nonce)


def fetch_capabilities(session: RecoverySession) -> CapabilityReport:
    """What the device can process: its SUIT_Capability_Report (CAPABILITIES).

    Raises:
        ProtocolError: The device does not know CAPABILITIES, or its reply is malformed.
        DecodeError: The reply is not a SUIT_Capability_Report.
        DeviceNotResponding, TransportError: As for any request.
    """
    reply = session.request(MessageType.CAPABILITIES, b"", expect=MessageType.CAPABILITIES_REPLY)
    raw = protocol.decode_capabilities(reply.body)
    return decode_capabilities(cbor.loads(raw, path="capability-report", max_size=protocol.MAX_CAPABILITIES),
                               "capability-report")
