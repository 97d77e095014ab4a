"""Signing use cases shared by the CLI and the GUI: file in, verified signed file out, one
audit record per signature.

Every path (`sign_release` for `suitwb sign` and the sign panel, `sign_file` for a signer
already open, `import_signature_file` for two-phase signing) ends in `_save`, whose order
of effects is chosen so that no record names an output that was never written and no
signature leaves the workbench unrecorded:

1. the output is checked before any key is opened or PIN asked for: its directory exists
   and is writable, and the target is absent or a regular file that is not the input;
2. the envelope is signed and the result verified in memory;
3. the bytes are written in full (fsync) to a temporary file beside the output by the one
   atomic writer (`fileio.write_atomic`), which proves the directory takes them;
4. just before that file is renamed onto the output, the signatures are recorded (the
   audit anchor's head moves inside that transaction); if that fails the temporary file is
   removed and nothing was delivered;
5. the temporary file is renamed onto the output (a rename within one directory).

Only a failure of the last rename, after the write in the same directory succeeded, could
leave a record whose output is missing; the bytes are then removed too, so the signature
did not escape (docs/signing.md, "Order of effects").
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import fileio
from signing.audit import SigningAuditLog, new_record
from signing.backends import open_signer
from signing.envelope import BlockPolicy, SignedEnvelope, ToBeSigned, sign_envelope
from signing.errors import EnvelopeFileError, OutputError, SigningError
from signing.external import (
    export_to_be_signed,
    external_identity,
    import_signature,
    load_public_key,
)
from signing.files import check_output, write_atomic
from signing.pin import PinProvider
from signing.signer import Signer
from suit.codec import DEFAULT_MAX_SIZE, decode_envelope
from suit.cose import CoseAlgorithm, algorithm_name
from suit.errors import DigestMismatch, SignatureInvalid
from suit.keys import TrustAnchor
from suit.model import Envelope
from suit.verify import VerificationReport, check_envelope, verify_envelope
from workbench import files
from workbench.errors import FileAccessError

logger = logging.getLogger(__name__)

#: Largest detached signature file read; ECDSA and EdDSA signatures are under 150 bytes,
#: ML-DSA-87 ones 4627 (FIPS 204).
MAX_SIGNATURE_FILE: Final = 64 * 1024

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


def prepare_output(output: Path, source: Path, *, make_directory: bool = False) -> None:
    """Refuse an output that cannot be written, before any key is opened.

    Raises:
        OutputError: the output is a directory or another non-regular file, or the input
            `source` itself, or its directory is missing (and not to be made) or not
            writable.
    """
    directory = output.parent
    if make_directory:
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(str(output), f"cannot make {directory}: {exc.strerror}") from exc
    if output.is_dir():
        raise OutputError(str(output), "is a directory")
    if not directory.is_dir():
        raise OutputError(str(output), f"the directory {directory} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise OutputError(str(output), f"the directory {directory} is not writable")
    check_output(output, (source,))


def sign_file(source: Path, output: Path, signer: Signer, audit: SigningAuditLog,
              policy: BlockPolicy = BlockPolicy.REFUSE, operator: str | None = None) -> SignOutcome:
    """Add `signer`'s authentication block to the envelope in `source`, verify it, record
    it and write `output` (see the module docstring for the order).

    `operator` names the person in the audit log (default: the OS user)."""
    prepare_output(output, source)
    envelope = read_envelope(source)
    return _finish(sign_envelope(envelope, signer, policy), source, output, audit, operator)


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
    prepare_output(output, source)
    envelope = read_envelope(source)
    identity = external_identity(load_public_key(public_key_path),
                                 f"external:{public_key_path}", algorithm)
    try:
        signature = fileio.read_limited(signature_path, MAX_SIGNATURE_FILE, regular_only=True)
    except fileio.FileAccessError as exc:
        raise EnvelopeFileError(str(signature_path), exc.problem) from exc
    return _finish(import_signature(envelope, identity, signature, policy), source, output,
                   audit, operator)


def _finish(signed: SignedEnvelope, source: Path, output: Path, audit: SigningAuditLog,
            operator: str | None) -> SignOutcome:
    report = verify_signed(signed.data, [signed])
    seqs = _save(signed.data, [signed], _Destination(source, output), audit, operator)
    logger.info("signed %s as %s with %s (kid %s), audit record %d", source, output,
                signed.identity.key_reference, signed.identity.kid.hex(), seqs[0])
    return SignOutcome(signed, seqs[0], len(report.blocks))


# --- signing a release: several signers in turn, verified before it is saved ------------

@dataclass(frozen=True)
class SignOptions:
    """Choices of a signing run beyond its files and keys.

    Attributes:
        algorithm: The COSE algorithm for every key (None: each key's default).
        operator: Who signs, for the audit log (None: the OS user).
        make_directory: Make the output's directory if missing (the GUI's default release
            folder); the CLI refuses a missing directory instead.
    """

    algorithm: CoseAlgorithm | None = None
    operator: str | None = None
    make_directory: bool = True


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
                 audit: SigningAuditLog | None = None,
                 options: SignOptions | None = None) -> ReleaseSigned:
    """Add one authentication block per key in `keys` (key files or PKCS#11 URIs), in turn;
    verify the result with the signers' public keys; then record and write it.

    Nothing is written, and nothing recorded, unless every signer signed and the result
    verifies. `progress` is called before each step (and may raise to cancel).

    Raises:
        OutputError: the output cannot be written (checked before any key is opened).
        SigningError: a signer failed (wrong PIN, missing key...).
        VerificationError: the signed envelope does not verify.
    """
    options = options or SignOptions()
    if not keys:
        raise SigningError("no signing key chosen", hint="Add a key file or a token key.")
    prepare_output(output, source, make_directory=options.make_directory)
    envelope = read_envelope(source)
    total, signed = 2 * len(keys) + 1, []
    for index, key in enumerate(keys):
        progress(2 * index, total, f"step {index + 1}: opening {key}")
        signer = open_signer(key, options.algorithm, pins)
        try:
            progress(2 * index + 1, total, f"step {index + 1}: signing with {key}")
            signed.append(sign_envelope(envelope, signer, policy))
        finally:
            signer.close()
        envelope = decode_envelope(signed[-1].data)
    progress(total - 1, total, "verifying the signed envelope")
    data = signed[-1].data
    report = verify_signed(data, signed)
    seqs = _save(data, signed, _Destination(source, output), audit or SigningAuditLog(pins=pins),
                 options.operator)
    progress(total, total, f"saved {output.name}")
    return ReleaseSigned(output, tuple(signed), report, seqs)


def verify_signed(data: bytes, signed: Sequence[SignedEnvelope]) -> VerificationReport:
    """Verify `data` with the public keys of the signers that just signed it.

    Raises:
        VerificationError: a new signature does not verify, or the manifest digest does
            not match (a MAC-only envelope: the secret stays in the signer, so only the
            digest and structure can be checked here).
    """
    anchors = [TrustAnchor(s.identity.key_reference, public_key=s.identity.public_key,
                           kid=s.identity.kid) for s in signed if s.identity.public_key]
    if not anchors:
        report = check_envelope(decode_envelope(data), [])
        if not report.digest_ok:
            raise DigestMismatch("manifest", report.manifest_digest.value,
                                 report.computed_digest or b"")
        return report
    report = verify_envelope(data, anchors)
    _every_new_block_verified(report, signed)
    return report


def _every_new_block_verified(report: VerificationReport, signed: Sequence[SignedEnvelope]) -> None:
    # verify_envelope accepts an envelope when any block verifies; a release we sign must
    # carry no block of ours that fails (MAC blocks need the secret: they are not checked).
    new_blocks = report.blocks[len(report.blocks) - len(signed):]
    failures = [f"block {block.index} ({one.identity.key_reference}): {block.reason or 'no match'}"
                for block, one in zip(new_blocks, signed, strict=True)
                if one.identity.public_key is not None and not block.verified_by]
    if failures:
        raise SignatureInvalid(failures)


@dataclass(frozen=True)
class _Destination:
    """Where a signed envelope goes, and the input it must not replace."""

    source: Path
    output: Path


def _save(data: bytes, signed: Sequence[SignedEnvelope], where: _Destination,
          audit: SigningAuditLog, operator: str | None) -> tuple[int, ...]:
    """Write, recording just before the output is published (the module docstring says
    why in this order)."""
    seqs: list[int] = []

    def record() -> None:
        seqs.extend(_record(audit, signed, where.output, data, operator))

    try:
        write_atomic(where.output, data, protect=(where.source,), before_publish=record)
    except OutputError:
        if seqs:
            logger.error("audit record(s) written for %s, which could not be put in place",
                         where.output)
        raise
    return tuple(seqs)


def _record(audit: SigningAuditLog, signed: Sequence[SignedEnvelope], output: Path,
            data: bytes, operator: str | None) -> tuple[int, ...]:
    manifest = decode_envelope(data)
    seqs = []
    for one in signed:
        identity = one.identity
        seqs.append(audit.append(new_record(
            key_reference=identity.key_reference, kid=identity.kid,
            algorithm=algorithm_name(identity.algorithm.algorithm),
            manifest_digest=manifest.authentication.digest.value,
            sequence_number=manifest.manifest.sequence_number,
            output_path=str(output.resolve()), output=data, operator=operator)))
    return tuple(seqs)
