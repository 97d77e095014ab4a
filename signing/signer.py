"""The `Signer` seam every backend satisfies (STYLE.md §4).

A signer turns to-be-signed bytes (a COSE Sig_structure or MAC_structure) into the bytes
COSE carries: raw r||s for ECDSA (RFC 9053 §2.1), the 64-byte signature for EdDSA, the
FIPS 204 signature for ML-DSA (RFC 9964), the full tag for HMAC 256/256. Assembling COSE structures is the format core's job
(`suit.cose`); `signing.envelope` joins the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from suit.cose import SignatureAlgorithm
from suit.hsslms import HssLmsPublicKey
from suit.mldsa import MLDSAPublicKey

PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | MLDSAPublicKey | HssLmsPublicKey


@dataclass(frozen=True)
class SignerIdentity:
    """What the envelope and the audit log say about a signer.

    Attributes:
        algorithm: The COSE algorithm it signs with.
        kid: The key identifier put in the protected header: CKA_ID for PKCS#11 keys,
            the RFC 9679 thumbprint of the public key otherwise.
        key_reference: The key's reference with any PIN removed.
        public_key: The public key, None for an HMAC secret.
    """

    algorithm: SignatureAlgorithm
    kid: bytes
    key_reference: str
    public_key: PublicKey | None


class Signer(Protocol):
    """Makes COSE-format signatures (or MAC tags) with one key and one algorithm."""

    @property
    def identity(self) -> SignerIdentity:
        """Algorithm, kid, redacted reference and public key."""
        ...

    def sign(self, tbs: bytes) -> bytes:
        """Sign the to-be-signed bytes; return the signature in COSE form.

        Raises:
            SigningError: a typed error (wrong PIN, token removed...) on failure.
        """
        ...

    def close(self) -> None:
        """Release the key (log out of the token, forget the secret)."""
        ...
