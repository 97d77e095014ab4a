"""Signing use cases shared by the CLI and the GUI: file in, signed file out, one audit
record per signature.

Order of effects, so that nothing is half-done: the signature is made, then recorded in
the audit log, then the output is written atomically. If the audit log cannot be written,
no output appears; if the output cannot be written, the record still says a signature was
made (it was), with the digest of the bytes that were not delivered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from signing.audit import SigningAuditLog, new_record
from signing.backends import open_signer
from signing.envelope import BlockPolicy, SignedEnvelope, ToBeSigned, sign_envelope
from signing.errors import EnvelopeFileError, SigningError
from signing.external import (
    export_to_be_signed,
    external_identity,
    import_signature,
    load_public_key,
)
from signing.files import write_atomic
from signing.pin import PinProvider
from signing.signer import Signer
from suit.codec import DEFAULT_MAX_SIZE, decode_envelope
from suit.cose import CoseAlgorithm, algorithm_name
from suit.errors import SignatureInvalid
from suit.keys import TrustAnchor
from suit.model import Envelope
from suit.verify import VerificationReport, verify_envelope
from workbench import files
from workbench.errors import FileAccessError

#: progress(done, total, what); it may raise to cancel.
Progress = Callable[[int, int, str], None]


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
        return files.read_envelope(path, limit=DEFAULT_MAX_SIZE)
    except FileAccessError as exc:
        raise EnvelopeFileError(str(path), f"cannot read: {exc.reason}") from exc


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


# --- signing a release: several signers in turn, verified before it is saved ------------

@dataclass(frozen=True)
class ReleaseSigned:
    """What `sign_release` did.

    Attributes:
        output: The file written.
        signatures: One per signer, in order.
        report: The verification of the written bytes against the signers' public keys.
        audit_seqs: The audit log's sequence numbers of the signatures.
    """

    output: Path
    signatures: tuple[SignedEnvelope, ...]
    report: VerificationReport
    audit_seqs: tuple[int, ...]


def sign_release(progress: Progress, source: Path, output: Path, keys: Sequence[str],
                 pins: PinProvider | None, policy: BlockPolicy = BlockPolicy.REFUSE,
                 audit: SigningAuditLog | None = None) -> ReleaseSigned:
    """Add one authentication block per key in `keys` (key files or PKCS#11 URIs), in turn;
    verify the result with the signers' public keys; then record and write it.

    Nothing is written, and nothing recorded, unless every signer signed and the result
    verifies. `progress` is called before each step (and may raise to cancel).

    Raises:
        SigningError: a signer failed (wrong PIN, missing key...).
        VerificationError: the signed envelope does not verify.
    """
    if not keys:
        raise SigningError("no signing key chosen", hint="Add a key file or a token key.")
    envelope = read_envelope(source)
    total, signed = 2 * len(keys) + 1, []
    for index, key in enumerate(keys):
        progress(2 * index, total, f"step {index + 1}: opening {key}")
        signer = open_signer(key, pins=pins)
        try:
            progress(2 * index + 1, total, f"step {index + 1}: signing with {key}")
            signed.append(sign_envelope(envelope, signer, policy))
        finally:
            signer.close()
        envelope = decode_envelope(signed[-1].data)
    progress(total - 1, total, "verifying the signed envelope")
    data = signed[-1].data
    anchors = [TrustAnchor(s.identity.key_reference, public_key=s.identity.public_key,
                           kid=s.identity.kid) for s in signed if s.identity.public_key]
    report = verify_envelope(data, anchors)
    _every_new_block_verified(report, signed)
    seqs = _record(audit or SigningAuditLog(), signed, output, data)
    output.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(output, data)
    progress(total, total, f"saved {output.name}")
    return ReleaseSigned(output, tuple(signed), report, seqs)


def _every_new_block_verified(report: VerificationReport, signed: Sequence[SignedEnvelope]) -> None:
    # verify_envelope accepts an envelope when any block verifies; a release we sign must
    # carry no block of ours that fails (MAC blocks need the secret: they are not checked).
    new_blocks = report.blocks[len(report.blocks) - len(signed):]
    failures = [f"block {block.index} ({one.identity.key_reference}): {block.reason or 'no match'}"
                for block, one in zip(new_blocks, signed)
                if one.identity.public_key is not None and not block.verified_by]
    if failures:
        raise SignatureInvalid(failures)


def _record(audit: SigningAuditLog, signed: Sequence[SignedEnvelope], output: Path,
            data: bytes) -> tuple[int, ...]:
    manifest = decode_envelope(data)
    seqs = []
    for one in signed:
        identity = one.identity
        seqs.append(audit.append(new_record(
            key_reference=identity.key_reference, kid=identity.kid,
            algorithm=algorithm_name(identity.algorithm.algorithm),
            manifest_digest=manifest.authentication.digest.value,
            sequence_number=manifest.manifest.sequence_number,
            output_path=str(output.resolve()), output=data)))
    return tuple(seqs)
