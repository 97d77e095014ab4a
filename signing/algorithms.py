"""Which key can make which COSE signature, and the names people type for algorithms.

The algorithm table itself (curve, hash, family) is the format core's
(`suit.cose.SIGNATURE_ALGORITHMS`); this module adds key kinds and choice rules.
"""

from __future__ import annotations

from typing import Final

from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from signing.errors import KeyReferenceError, WrongKeyType
from suit import mldsa
from suit.cose import SIGNATURE_ALGORITHMS, CoseAlgorithm, SignatureAlgorithm, algorithm_name
from suit.hsslms import HssLmsPublicKey

#: Key kinds: the curve of an asymmetric key, or ``secret`` for an HMAC key.
P256: Final = "P-256"
P384: Final = "P-384"
ED25519: Final = "Ed25519"
SECRET: Final = "secret"  # noqa: S105 - the name of a key kind, not a password
#: ML-DSA keys (RFC 9964): the kind is the parameter set, each key makes one algorithm.
ML_DSA_44: Final = "ML-DSA-44"
ML_DSA_65: Final = "ML-DSA-65"
ML_DSA_87: Final = "ML-DSA-87"
ML_DSA_KINDS: Final = (ML_DSA_44, ML_DSA_65, ML_DSA_87)
HSS_LMS: Final = "HSS-LMS"  # stateful hash-based keys (signing.hsslms)
KEY_KINDS: Final = (P256, P384, ED25519, SECRET, *ML_DSA_KINDS, HSS_LMS)

#: The algorithm used when none is asked for: the fully specified one (RFC 9864).
DEFAULT_ALGORITHM: Final[dict[str, CoseAlgorithm]] = {
    P256: CoseAlgorithm.ESP256,
    P384: CoseAlgorithm.ESP384,
    ED25519: CoseAlgorithm.ED25519,
    SECRET: CoseAlgorithm.HMAC_256_256,
    ML_DSA_44: CoseAlgorithm.ML_DSA_44,
    ML_DSA_65: CoseAlgorithm.ML_DSA_65,
    ML_DSA_87: CoseAlgorithm.ML_DSA_87,
    HSS_LMS: CoseAlgorithm.HSS_LMS,
}

_CURVE_NAMES: Final = {"secp256r1": P256, "secp384r1": P384}
_ALIASES: Final = {"HMAC256/256": CoseAlgorithm.HMAC_256_256,
                   "HMAC-256": CoseAlgorithm.HMAC_256_256,
                   "HMAC256": CoseAlgorithm.HMAC_256_256}


def parse_algorithm(text: str) -> CoseAlgorithm:
    """Turn ``ESP256``, ``es256``, ``Ed25519``, ``EdDSA``, ``HMAC-256-256``, ``ML-DSA-65``
    or ``-9`` into a signing algorithm.

    Raises:
        KeyReferenceError: for a name that is not one of the signing algorithms.
    """
    key = text.strip().upper().replace("_", "-")
    found: CoseAlgorithm | None = _ALIASES.get(key)
    for alg in SIGNATURE_ALGORITHMS:
        if key in (algorithm_name(alg).upper(), str(int(alg))):
            found = CoseAlgorithm(alg)
    if found is None:
        names = ", ".join(algorithm_name(a) for a in SIGNATURE_ALGORITHMS)
        raise KeyReferenceError(f"unknown algorithm {text!r}", hint=f"Use one of {names}.")
    return found


def key_kind(public_key: object) -> str:
    """The kind of a `cryptography` public or private key, or raise `WrongKeyType`."""
    if isinstance(public_key, (ec.EllipticCurvePublicKey, ec.EllipticCurvePrivateKey)):
        kind = _CURVE_NAMES.get(public_key.curve.name)
        if kind is not None:
            return kind
        raise WrongKeyType("key", f"{public_key.curve.name} EC", "any SUIT algorithm")
    if isinstance(public_key, (ed25519.Ed25519PublicKey, ed25519.Ed25519PrivateKey)):
        return ED25519
    if isinstance(public_key, HssLmsPublicKey):
        return HSS_LMS
    params = mldsa.parameter_set_of(public_key)
    if params is not None:
        return params.name
    raise WrongKeyType("key", type(public_key).__name__, "any SUIT algorithm")


def kind_for_algorithm(alg: CoseAlgorithm) -> str:
    """The key kind an algorithm needs (ES256 and ESP256 need P-256, and so on)."""
    info = SIGNATURE_ALGORITHMS[alg]
    return SECRET if info.family == "hmac" else str(info.curve)


def choose_algorithm(kind: str, requested: CoseAlgorithm | None, key_name: str) -> SignatureAlgorithm:
    """The algorithm a key of `kind` signs with: `requested` if the key can make it, else
    the kind's default.

    Raises:
        WrongKeyType: when `requested` needs another kind of key.
    """
    alg = DEFAULT_ALGORITHM.get(kind) if requested is None else requested
    # An algorithm with no signer here (HSS-LMS, asked for by an MTI profile) is one this
    # key cannot make either: a typed refusal, not a KeyError.
    if alg is None or alg not in SIGNATURE_ALGORITHMS or kind_for_algorithm(alg) != kind:
        raise WrongKeyType(key_name, kind, algorithm_name(alg) if alg else "any SUIT algorithm")
    return SIGNATURE_ALGORITHMS[alg]


def ecdsa_signature_size(key_size_bits: int) -> int:
    """Bytes in a raw r||s signature for a curve of `key_size_bits` (RFC 9053 §2.1)."""
    return 2 * ((key_size_bits + 7) // 8)
