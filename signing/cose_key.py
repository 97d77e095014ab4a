"""The kid of keys without a token-assigned id: the RFC 9679 COSE Key Thumbprint.

The thumbprint is SHA-256 over the deterministic encoding of the key's required COSE_Key
parameters only (RFC 9679 §3: kty, crv, x, y for EC2; kty, crv, x for OKP; kty, k for
symmetric), so any party holding the public key computes the same kid.
"""

from __future__ import annotations

import hashlib

from signing.signer import PublicKey
from suit import cbor
from suit.keys import KTY, KTY_SYMMETRIC, K, cose_key_value


def thumbprint(public_key: PublicKey) -> bytes:
    """RFC 9679 thumbprint (SHA-256) of a public key."""
    return hashlib.sha256(cbor.dumps(cose_key_value(public_key))).digest()


def secret_thumbprint(secret: bytes) -> bytes:
    """RFC 9679 thumbprint of a symmetric key ({kty: 4, k: secret}); reveals nothing
    usable about a 256-bit secret."""
    return hashlib.sha256(cbor.dumps({KTY: KTY_SYMMETRIC, K: secret})).digest()
