"""Checking a transcript: its structure, its hash chain, and the new key's signature.

`suitwb ceremony verify` calls `verify_transcript`. The public key is the one recorded in
the chain by the export step; when the caller gives a trust anchor (the exported PEM or
COSE_Key, or the one a device holds) it must be that same key.

Without a trust anchor a transcript can only be self-consistent: whoever edits its history
can recompute the chain, record a key of their own in the export entry and sign with it.
The report says so (`authenticity`) and names the signing key's RFC 9679 thumbprint, the
one the witness read aloud at the export step, so a person can compare it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import fileio
from signing.ceremony.errors import TranscriptError
from signing.ceremony.transcript import (
    COMPLETED,
    CONTENT_TYPE,
    FORMAT,
    Transcript,
    entry_hash,
)
from signing.cose_key import thumbprint
from suit.cose import CoseHeader, CoseSign1, decode_cose, sig_structure
from suit.errors import ManifestError
from suit.keys import TrustAnchor, cose_key_value
from suit.verify import verify_signature

ANCHORED: Final = "anchored"
SELF_CONSISTENT: Final = "self-consistent"
UNKNOWN: Final = "unknown"


@dataclass(frozen=True)
class TranscriptReport:
    """What a transcript check found.

    Attributes:
        ceremony: The ceremony's name.
        status: ``completed``, ``aborted`` or ``in-progress``.
        entries: How many entries the chain holds.
        head: The final chain hash, hex.
        signer_kid: The signing key's kid, hex, when signed.
        signer_key: The key that signed (a trust anchor), when signed.
        abort_reason: Why it was aborted, when it was.
        signer_fingerprint: The RFC 9679 thumbprint (hex) of the signing key, when signed.
        anchored: Whether the signing key is the trust anchor the caller gave.
    """

    ceremony: str
    status: str
    entries: int
    head: str
    signer_kid: str | None
    signer_key: TrustAnchor | None
    abort_reason: str | None
    signer_fingerprint: str | None = None
    anchored: bool = False

    @property
    def authenticity(self) -> str:
        """``anchored`` (signed by the given trust anchor), ``self-consistent`` (signed,
        but by a key only the transcript vouches for) or ``unknown`` (not signed)."""
        if self.signer_key is None:
            return UNKNOWN
        return ANCHORED if self.anchored else SELF_CONSISTENT


def load_transcript(data: bytes) -> Transcript:
    """Parse a transcript file (structure only; `verify_transcript` checks the chain).

    Raises:
        TranscriptError: not JSON, or not a transcript of this format.
    """
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TranscriptError(f"not JSON ({exc})") from exc
    except RecursionError:  # json recurses into nested arrays; a transcript nests 3 deep
        raise TranscriptError("not a transcript: arrays or objects nested too deep") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise TranscriptError(f"not a {FORMAT} document")
    header, entries = document.get("header"), document.get("entries")
    if not isinstance(header, dict) or not isinstance(entries, list) or \
            not all(isinstance(e, dict) for e in entries):
        raise TranscriptError("header or entries missing or malformed")
    signature = document.get("signature")
    transcript = Transcript(header, entries, signature if isinstance(signature, dict) else None)
    if document.get("status") != transcript.status or document.get("head") != _head(transcript):
        raise TranscriptError("the stated status or head does not match the entries")
    return transcript


def _head(transcript: Transcript) -> str | None:
    try:
        return transcript.head
    except (KeyError, TypeError):
        return None


def check_chain(transcript: Transcript) -> None:
    """Raise `TranscriptError` at the first entry whose hash or link does not hold."""
    prev = transcript.genesis
    for index, entry in enumerate(transcript.entries):
        if entry.get("seq") != index:
            raise TranscriptError(f"entry {index}: sequence number {entry.get('seq')!r}")
        if entry.get("prev") != prev:
            raise TranscriptError(f"entry {index}: does not chain to the entry before it")
        if not isinstance(entry.get("hash"), str) or entry_hash(prev, entry) != entry["hash"]:
            raise TranscriptError(f"entry {index} ({entry.get('step')}): hash does not match "
                                  "its content (the entry was altered)")
        prev = entry["hash"]


def verify_transcript(data: bytes, anchor: TrustAnchor | None = None) -> TranscriptReport:
    """Check a transcript's chain and, when completed, its signature.

    An aborted or unfinished transcript whose chain holds is reported, not raised: the
    caller decides (the CLI exits 1).

    Raises:
        TranscriptError: malformed, a broken chain, a missing or bad signature, or a
            signing key that is not `anchor`.
    """
    transcript = load_transcript(data)
    check_chain(transcript)
    name = str(transcript.header.get("ceremony", {}).get("name", "?"))
    last = transcript.entries[-1] if transcript.entries else {}
    reason = last.get("data", {}).get("reason") if transcript.status != COMPLETED else None
    if transcript.status != COMPLETED:
        return TranscriptReport(name, transcript.status, len(transcript.entries),
                                transcript.head, None, None, reason)
    key, kid = _check_signature(transcript)
    if anchor is not None and not same_key(anchor, key):
        raise TranscriptError("the transcript was signed by another key than the trust anchor "
                              f"{anchor.name}")
    fingerprint = thumbprint(key.public_key).hex() if key.public_key is not None else None
    return TranscriptReport(name, transcript.status, len(transcript.entries), transcript.head,
                            kid.hex(), key, None, fingerprint, anchor is not None)


def _check_signature(transcript: Transcript) -> tuple[TrustAnchor, bytes]:
    block = transcript.signature
    if block is None:
        raise TranscriptError("completed but not signed")
    if block.get("head") != transcript.head:
        raise TranscriptError("the signature covers another chain head than the entries'")
    try:
        message = decode_cose(bytes.fromhex(str(block["cose_sign1"])), "signature")
        key = TrustAnchor.from_cose_key(bytes.fromhex(str(block["cose_key"])), "transcript key")
    except (KeyError, ValueError, ManifestError) as exc:
        raise TranscriptError(f"signature block unreadable ({exc})") from exc
    if not isinstance(message, CoseSign1) or \
            message.protected_header.get(CoseHeader.CONTENT_TYPE) != CONTENT_TYPE:
        raise TranscriptError("the signature is not a transcript COSE_Sign1")
    if str(block["cose_key"]) not in _recorded_keys(transcript):
        raise TranscriptError("the signing key is not one the ceremony created and recorded")
    tbs = sig_structure("Signature1", message.protected, bytes.fromhex(transcript.head))
    if not verify_signature(message.algorithm, key, tbs, message.signature):
        raise TranscriptError("the signature does not verify: the transcript was altered "
                              "after signing, or signed by another key")
    return key, message.kid or b""


def _recorded_keys(transcript: Transcript) -> set[str]:
    """COSE_Keys (hex) the export steps recorded in the chain."""
    found = set()
    for entry in transcript.entries:
        data: Any = entry.get("data", {})
        if entry.get("kind") == "artefact" and isinstance(data, dict) and "cose_key" in data:
            found.add(str(data["cose_key"]))
    return found


def same_key(anchor: TrustAnchor, other: TrustAnchor) -> bool:
    """Whether two trust anchors hold the same public key (kid aside)."""
    if anchor.public_key is None or other.public_key is None:
        return False
    return cose_key_value(anchor.public_key) == cose_key_value(other.public_key)


def check_artefacts(transcript: Transcript, directory: Path) -> dict[str, str]:
    """Compare the files in `directory` with the digests the transcript recorded.

    Returns:
        Output name to ``ok``, ``missing`` or ``differs``, for every artefact recorded
        (a transcript whose ceremony aborted records files it then removed: ``missing``).
    """
    found: dict[str, str] = {}
    for entry in transcript.entries:
        data = entry.get("data", {})
        if entry.get("kind") != "artefact" or not isinstance(data, dict):
            continue
        name = str(data.get("file"))
        path = directory / name
        digest = _sha256(path)
        found[name] = "missing" if digest is None else \
            "ok" if digest == data.get("sha256") else "differs"
    return found


def _sha256(path: Path) -> str | None:
    """The file's SHA-256 in hex, streamed (bounded memory whatever its size), or None
    when it is absent, unreadable or not a regular file (a FIFO is never opened)."""
    try:
        with fileio.open_regular(path) as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except (fileio.FileAccessError, OSError):
        return None
