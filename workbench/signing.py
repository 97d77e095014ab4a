"""Signing use cases shared by the CLI and the GUI: file in, signed file out, one audit
record per signature.

Order of effects, so that nothing is half-done: the signature is made, then recorded in
the audit log, then the output is written atomically. If the audit log cannot be written,
no output appears; if the output cannot be written, the record still says a signature was
made (it was), with the digest of the bytes that were not delivered.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from signing.audit import SigningAuditLog, new_record
from signing.envelope import BlockPolicy, SignedEnvelope, ToBeSigned, sign_envelope
from signing.errors import EnvelopeFileError
from signing.external import (
    export_to_be_signed,
    external_identity,
    import_signature,
    load_public_key,
)
from signing.files import write_atomic
from signing.signer import Signer
from suit.codec import decode_envelope
from suit.cose import CoseAlgorithm, algorithm_name
from suit.model import Envelope


@dataclass(frozen=True)
class SignOutcome:
    """What a signing use case did.

    Attributes:
        signed: The new envelope and block.
        audit_seq: The audit log record's sequence number.
        blocks: How many authentication blocks the output carries.
    """

    signed: SignedEnvelope
    audit_seq: int
    blocks: int


def read_envelope(path: Path) -> Envelope:
    """Read and decode an envelope file (DecodeError for malformed bytes)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise EnvelopeFileError(str(path), f"cannot read: {exc.strerror}") from exc
    return decode_envelope(data)


def sign_file(source: Path, output: Path, signer: Signer, audit: SigningAuditLog,
              policy: BlockPolicy = BlockPolicy.REFUSE, operator: str | None = None) -> SignOutcome:
    """Add `signer`'s authentication block to the envelope in `source`, write `output`.

    `operator` names the person in the audit log (default: the OS user)."""
    envelope = read_envelope(source)
    return _finish(envelope, sign_envelope(envelope, signer, policy), output, audit, operator)


def export_tbs_file(source: Path, tbs_path: Path, public_key_path: Path,
                    algorithm: CoseAlgorithm | None = None) -> ToBeSigned:
    """Phase 1 of external signing: write the exact bytes to be signed to `tbs_path`."""
    envelope = read_envelope(source)
    identity = external_identity(load_public_key(public_key_path), str(public_key_path), algorithm)
    tbs = export_to_be_signed(envelope, identity)
    write_atomic(tbs_path, tbs.data)
    return tbs


def import_signature_file(source: Path, output: Path, signature_path: Path,
                          public_key_path: Path, audit: SigningAuditLog, *,
                          algorithm: CoseAlgorithm | None = None,
                          policy: BlockPolicy = BlockPolicy.REFUSE,
                          operator: str | None = None) -> SignOutcome:
    """Phase 2: check the external signature in `signature_path` and write `output`."""
    envelope = read_envelope(source)
    identity = external_identity(load_public_key(public_key_path),
                                 f"external:{public_key_path}", algorithm)
    try:
        signature = signature_path.read_bytes()
    except OSError as exc:
        raise EnvelopeFileError(str(signature_path), f"cannot read: {exc.strerror}") from exc
    return _finish(envelope, import_signature(envelope, identity, signature, policy),
                   output, audit, operator)


def _finish(envelope: Envelope, signed: SignedEnvelope, output: Path,
            audit: SigningAuditLog, operator: str | None) -> SignOutcome:
    identity = signed.identity
    record = new_record(
        key_reference=identity.key_reference, kid=identity.kid,
        algorithm=algorithm_name(identity.algorithm.algorithm),
        manifest_digest=envelope.authentication.digest.value,
        sequence_number=envelope.manifest.sequence_number, output_path=str(output.resolve()),
        output=signed.data, operator=operator)
    seq = audit.append(record)
    write_atomic(output, signed.data)
    return SignOutcome(signed, seq, len(decode_envelope(signed.data).authentication.blocks))
