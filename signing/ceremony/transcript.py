"""The ceremony transcript: a hash-chained JSON record, signed at the end by the new key.

Every entry (a step shown, each confirmation, each answer, each artefact's SHA-256, the
HSM's identity) carries the hash of the entry before it; the first entry's ``prev`` is the
hash of the header (the ceremony file's text, its roles). Each hash is SHA-256 over
``prev || canonical JSON of the entry without its hash`` (sorted keys, no spaces, UTF-8),
so changing, dropping or reordering any entry breaks every hash after it.

The last entry says how the ceremony ended (``completed`` or ``aborted``). A completed
transcript is signed: a COSE_Sign1 (RFC 9052 §4.2) over the final chain hash as detached
payload, made by the ceremony's new key in the token, with the new key's COSE_Key beside
it; the same key is recorded inside the chain by the export step, which binds the two.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Final

from signing.ceremony.errors import TranscriptError
from signing.signer import Signer
from suit.cose import CoseHeader, CoseSign1, encode_protected, sig_structure
from suit.keys import encode_cose_key

FORMAT: Final = "suitwb-ceremony-transcript/1"
#: COSE content type (RFC 9052 §3.1, label 3) naming what the signature is over, so a
#: transcript signature can never pass for any other COSE signature of the same key.
CONTENT_TYPE: Final = "application/vnd.suitwb.ceremony-transcript-head"
IN_PROGRESS: Final = "in-progress"
COMPLETED: Final = "completed"
ABORTED: Final = "aborted"


def canonical(value: Any) -> bytes:
    """The canonical JSON bytes that are hashed (sorted keys, compact, UTF-8)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(prev: str, entry: dict[str, Any]) -> str:
    """The hash of `entry` (without its ``hash`` member) chained to `prev`, hex."""
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(bytes.fromhex(prev) + canonical(body)).hexdigest()


@dataclass
class Transcript:
    """A transcript being written or read.

    Attributes:
        header: The ceremony's name, file text and hash, roles; hashed as the chain's start.
        entries: The chained entries, oldest first.
        signature: The signature block once signed, else None.
    """

    header: dict[str, Any]
    entries: list[dict[str, Any]] = field(default_factory=list)
    signature: dict[str, Any] | None = None

    @property
    def genesis(self) -> str:
        """The hash the first entry chains to: SHA-256 of the canonical header."""
        return hashlib.sha256(canonical(self.header)).hexdigest()

    @property
    def head(self) -> str:
        """The newest entry's hash (the genesis hash when there is none)."""
        return self.entries[-1]["hash"] if self.entries else self.genesis

    @property
    def status(self) -> str:
        """``completed`` or ``aborted`` once closed, else ``in-progress``."""
        last = self.entries[-1] if self.entries else {}
        return str(last.get("data", {}).get("status", IN_PROGRESS)) if last.get("kind") == "end" \
            else IN_PROGRESS

    def append(self, kind: str, step: str, time: str, data: dict[str, Any]) -> dict[str, Any]:
        """Add an entry chained to the current head and return it."""
        if self.status != IN_PROGRESS:
            raise TranscriptError(f"the transcript is already {self.status}")
        entry: dict[str, Any] = {"seq": len(self.entries), "time": time, "kind": kind,
                                 "step": step, "data": data, "prev": self.head}
        entry["hash"] = entry_hash(self.head, entry)
        self.entries.append(entry)
        return entry

    def to_json(self) -> bytes:
        """The transcript file's bytes (indented for people; hashes use canonical form)."""
        document = {"format": FORMAT, "status": self.status, "header": self.header,
                    "entries": self.entries, "head": self.head, "signature": self.signature}
        return json.dumps(document, indent=2, ensure_ascii=False).encode() + b"\n"


def sign_transcript(transcript: Transcript, signer: Signer) -> dict[str, Any]:
    """Sign the chain head with `signer` (the new key) and store the signature block."""
    identity = signer.identity
    if identity.public_key is None:
        raise TranscriptError("the transcript must be signed by a key pair, not a secret")
    protected = encode_protected({CoseHeader.ALG: int(identity.algorithm.algorithm),
                                  CoseHeader.KID: identity.kid,
                                  CoseHeader.CONTENT_TYPE: CONTENT_TYPE})
    payload = bytes.fromhex(transcript.head)
    signature = signer.sign(sig_structure("Signature1", protected, payload))
    transcript.signature = {
        "head": transcript.head,
        "cose_sign1": CoseSign1(protected, {}, None, signature).encode().hex(),
        "cose_key": encode_cose_key(identity.public_key, identity.kid).hex(),
    }
    return transcript.signature
