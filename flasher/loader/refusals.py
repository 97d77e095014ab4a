"""How the loader names its refusals: processor and authentication failures as wire
reasons (recovery protocol §7), one vocabulary with the SUIT report (`RefusalReason`)."""

from __future__ import annotations

from typing import Final

from flasher.errors import RefusalReason, wire_reason
from suit.errors import (
    DecodeError,
    DigestMismatch,
    ManifestError,
    NoAuthenticationBlock,
    SignatureInvalid,
    UnsupportedAlgorithm,
)
from suit.model import Command
from suit.processor import ProcessingFailed
from suit.report import ReportReason


def authentication_reason(exc: ManifestError) -> RefusalReason:
    """The wire reason for an envelope that did not authenticate (or decode)."""
    if isinstance(exc, DecodeError):
        return RefusalReason.CBOR_PARSE
    if isinstance(exc, UnsupportedAlgorithm):
        return RefusalReason.ALG_UNSUPPORTED
    if isinstance(exc, DigestMismatch) and exc.member.startswith("#"):
        return RefusalReason.PAYLOAD_DIGEST_MISMATCH  # a tampered integrated payload
    if isinstance(exc, (NoAuthenticationBlock, SignatureInvalid, DigestMismatch)):
        return RefusalReason.UNAUTHORISED
    return RefusalReason.UNAUTHORISED


_CONDITION_REASONS: Final[dict[int, RefusalReason]] = {
    Command.VENDOR_IDENTIFIER: RefusalReason.WRONG_VENDOR,
    Command.CLASS_IDENTIFIER: RefusalReason.WRONG_CLASS,
    Command.IMAGE_MATCH: RefusalReason.PAYLOAD_DIGEST_MISMATCH,
}


def processing_refusal(exc: ProcessingFailed) -> RefusalReason:
    """The wire reason for a processor refusal: the loader's refinement of a failed
    condition where it has one (§7), else the SUIT reason itself (the mapping is total)."""
    if exc.location is not None and exc.reason is ReportReason.CONDITION_FAILED:
        return _CONDITION_REASONS.get(exc.location.command, RefusalReason.CONDITION_FAILED)
    return wire_reason(exc.reason)
