"""Which algorithms an envelope uses, and which MTI profile (if any) they make up.

Read by `suitwb inspect` (profile, algorithms, recipients) and by `suit.lint` (mixed
profiles, deprecated ids). Pure: an envelope in, facts out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from suit.cose import CoseEncrypt, CoseHeader, CoseSign, algorithm_name, decode_cose
from suit.errors import ManifestError
from suit.model import Command, CommandSequence, Digest, EmbeddedCbor, Envelope, Parameter
from suit.payloads import manifest_sequences
from suit.profiles import AlgorithmsUsed, Profile, matching_profiles


@dataclass(frozen=True)
class RecipientSummary:
    """One recipient of an encryption info: its key-distribution algorithm, kid and, for
    ECDH-ES, the curve of the ephemeral key."""

    algorithm: int
    kid: bytes | None
    ephemeral_curve: str | None


@dataclass(frozen=True)
class EncryptionSummary:
    """One suit-parameter-encryption-info found in a sequence (FE §4).

    Attributes:
        where: The sequence and component index (``install, component 0``).
        algorithm: The content-encryption algorithm, None when it cannot be read.
        detached: The ciphertext is not inside the COSE_Encrypt.
        recipients: Its recipients.
        problem: Why it could not be read (not a COSE_Encrypt...), else None.
    """

    where: str
    algorithm: int | None
    detached: bool
    recipients: tuple[RecipientSummary, ...]
    problem: str | None = None


def encryption_infos(envelope: Envelope) -> list[EncryptionSummary]:
    """Every encryption info the manifest sets, in sequence order."""
    return [_summary(f"{name}, component {index}", value)
            for name, index, value in _parameters(envelope, Parameter.ENCRYPTION_INFO)]


def _sequences(envelope: Envelope) -> list[tuple[str, CommandSequence]]:
    sequences: list[tuple[str, CommandSequence]] = []
    shared = envelope.manifest.common.shared_sequence
    if shared is not None:
        sequences.append(("shared", shared))
    sequences.extend(manifest_sequences(envelope.manifest, envelope))
    return sequences


def _parameters(envelope: Envelope, key: int) -> Iterator[tuple[str, int, Any]]:
    """Every value the sequences give parameter `key`: (sequence, component index, value)."""
    for name, sequence in _sequences(envelope):
        for index, value in _values(sequence, key, [0]):
            yield name, index, value


def _values(sequence: CommandSequence, key: int, selected: list[int]) -> Iterator[tuple[int, Any]]:
    for item in sequence.commands:
        arg = item.argument
        if item.command == Command.SET_COMPONENT_INDEX and isinstance(arg, int) and not isinstance(arg, bool):
            selected[:] = [arg]
        elif item.command in (Command.OVERRIDE_PARAMETERS, Command.SET_PARAMETERS) and isinstance(arg, dict):
            if key in arg:
                yield (selected[0] if selected else 0), arg[key]
        elif item.command == Command.TRY_EACH and isinstance(arg, tuple):
            for alternative in arg:
                if isinstance(alternative, CommandSequence):
                    yield from _values(alternative, key, list(selected))


def _summary(where: str, value: Any) -> EncryptionSummary:
    data = value.data if isinstance(value, EmbeddedCbor) else value
    try:
        message = decode_cose(data, "encryption-info") if isinstance(data, bytes) else None
    except ManifestError as exc:
        return EncryptionSummary(where, None, True, (), str(exc))
    if not isinstance(message, CoseEncrypt):
        return EncryptionSummary(where, None, True, (), "not a COSE_Encrypt")
    alg = message.algorithm
    return EncryptionSummary(where, alg if isinstance(alg, int) else None, message.ciphertext is None,
                             tuple(_recipient(r) for r in message.recipients))


def _recipient(recipient: Any) -> RecipientSummary:
    alg = recipient.algorithm
    key = recipient.header(CoseHeader.EPHEMERAL_KEY)
    curve = None
    if isinstance(key, dict) or hasattr(key, "get"):
        curve = {(2, 1): "P-256", (1, 4): "X25519"}.get((key.get(1), key.get(-1)), "other")
    return RecipientSummary(alg if isinstance(alg, int) else 0, recipient.kid, curve)


def algorithms_used(envelope: Envelope, infos: list[EncryptionSummary] | None = None) -> AlgorithmsUsed:
    """The digest, authentication, key-distribution and content algorithms the envelope uses."""
    infos = encryption_infos(envelope) if infos is None else infos
    auth: set[int] = set()
    for block in envelope.authentication.blocks:
        message = block.message
        # COSE_Sign carries its algorithms per signer (RFC 9052 §4.1).
        headers = message.signatures if isinstance(message, CoseSign) else (message,)
        auth.update(h.algorithm for h in headers if isinstance(h.algorithm, int))
    return AlgorithmsUsed(
        # MTI §3: the profile's digest is every SUIT_Digest's, manifest and images alike.
        digests=frozenset({envelope.authentication.digest.algorithm} | {
            d.algorithm for _, _, d in _parameters(envelope, Parameter.IMAGE_DIGEST)
            if isinstance(d, Digest)}),
        auth=frozenset(auth),
        key_exchange=frozenset(r.algorithm for i in infos for r in i.recipients),
        encryption=frozenset(i.algorithm for i in infos if i.algorithm is not None))


def envelope_profiles(envelope: Envelope) -> list[Profile]:
    """The MTI profiles the envelope's algorithms all fit (empty: it mixes or uses others)."""
    return matching_profiles(algorithms_used(envelope))


def describe(summary: EncryptionSummary) -> str:
    """One line: ``A128GCM (1), detached, recipients: ECDH-ES+A128KW (-29) P-256 kid 'k'``."""
    if summary.problem:
        return f"unreadable ({summary.problem})"
    parts = [f"{algorithm_name(r.algorithm)} ({r.algorithm})"
             + (f" {r.ephemeral_curve}" if r.ephemeral_curve else "")
             + (f" kid {r.kid.hex()}" if r.kid else "") for r in summary.recipients]
    return (f"{algorithm_name(summary.algorithm)} ({summary.algorithm}), "
            f"{'detached' if summary.detached else 'embedded'}, recipients: " + "; ".join(parts))
