"""Helpers for the ML-DSA and hybrid tests: key files made by our generator, and envelope
surgery done with cbor2 alone (removing one authentication block), so no test relies on
our own codec to build the hostile input it checks our verifier with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cbor2
from cryptography.hazmat.primitives import serialization

from signing.management import generate_file_key


def key_pair(directory: Path, kind: str) -> tuple[Path, Path]:
    """A new software key of `kind` (``ML-DSA-65``, ``P-256``...): (private PEM, public PEM)."""
    private = directory / f"{kind.lower()}.pem"
    public = directory / f"{kind.lower()}.pub.pem"
    key, _kid = generate_file_key(private, kind)
    public.write_bytes(key.public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


def _thaw(value: Any) -> Any:
    if isinstance(value, dict) or hasattr(value, "items"):
        return {k: _thaw(v) for k, v in value.items()}
    return value


def without_block(data: bytes, index: int) -> bytes:
    """`data` with authentication block `index` (1 = the first after the digest) removed;
    the manifest bytes are untouched."""
    value = cbor2.loads(data)
    tagged = isinstance(value, cbor2.CBORTag)
    members = _thaw(value.value if tagged else value)
    auth = list(cbor2.loads(members[2]))
    del auth[index]
    members[2] = cbor2.dumps(auth)
    return cbor2.dumps(cbor2.CBORTag(value.tag, members) if tagged else members)


def blocks_of(data: bytes) -> list[bytes]:
    """The authentication blocks' bytes, by cbor2."""
    value = cbor2.loads(data)
    members = value.value if isinstance(value, cbor2.CBORTag) else value
    return list(cbor2.loads(members[2]))[1:]
