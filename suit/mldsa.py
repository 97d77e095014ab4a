"""ML-DSA (FIPS 204) as COSE uses it (RFC 9964, was draft-ietf-cose-dilithium).

RFC 9964 §3/§4: the algorithms ML-DSA-44 (-48), ML-DSA-65 (-49) and ML-DSA-87 (-50) are
*pure* ML-DSA over the COSE Sig_structure with the empty context string (no pre-hash, no
HashML-DSA), so the bytes signed are exactly those ECDSA or EdDSA would sign. Public keys
travel as the AKP key type (kty 7), whose ``pub`` (-1) holds the raw encoded public key
and whose ``alg`` (3) is required: the key is bound to one parameter set.

Only the format core's part lives here: which key class is which parameter set, sizes,
verification, and the AKP COSE_Key. Signing is the signing package's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import mldsa

from suit.keys import AKP_PUB, KTY_AKP

#: RFC 9964 §6 (COSE Key Types): Algorithm Key Pair, and its key type parameters.
AKP_PRIV: Final = -2  # KTY_AKP and AKP_PUB: suit.keys, with the other COSE_Key labels

MLDSAPublicKey = mldsa.MLDSA44PublicKey | mldsa.MLDSA65PublicKey | mldsa.MLDSA87PublicKey
MLDSAPrivateKey = mldsa.MLDSA44PrivateKey | mldsa.MLDSA65PrivateKey | mldsa.MLDSA87PrivateKey


@dataclass(frozen=True)
class ParameterSet:
    """One ML-DSA parameter set (FIPS 204 Table 2).

    Attributes:
        name: ``ML-DSA-44``, ``ML-DSA-65`` or ``ML-DSA-87`` (also the key kind's name).
        algorithm: Its COSE algorithm id (RFC 9964 §6).
        public_key_size: Bytes of the encoded public key.
        signature_size: Bytes of a signature (always exactly this many).
        public_class: The `cryptography` public key class.
        private_class: The `cryptography` private key class.
    """

    name: str
    algorithm: int
    public_key_size: int
    signature_size: int
    public_class: type[Any]
    private_class: type[Any]


PARAMETER_SETS: Final = (
    ParameterSet("ML-DSA-44", -48, 1312, 2420, mldsa.MLDSA44PublicKey, mldsa.MLDSA44PrivateKey),
    ParameterSet("ML-DSA-65", -49, 1952, 3309, mldsa.MLDSA65PublicKey, mldsa.MLDSA65PrivateKey),
    ParameterSet("ML-DSA-87", -50, 2592, 4627, mldsa.MLDSA87PublicKey, mldsa.MLDSA87PrivateKey),
)
BY_NAME: Final = {p.name: p for p in PARAMETER_SETS}
BY_ALGORITHM: Final = {p.algorithm: p for p in PARAMETER_SETS}


def parameter_set_of(key: object) -> ParameterSet | None:
    """The parameter set of an ML-DSA public or private key, None for any other key."""
    for params in PARAMETER_SETS:
        if isinstance(key, (params.public_class, params.private_class)):
            return params
    return None


def verify(key: object, signature: bytes, tbs: bytes) -> bool:
    """Verify a pure ML-DSA signature over `tbs` with the empty context (RFC 9964 §4).

    Returns False for a wrong signature, a signature of the wrong length (checked before
    the library sees it: a hostile envelope may carry any bytes) or a key that is not ML-DSA.
    """
    params = parameter_set_of(key)
    if params is None or len(signature) != params.signature_size:
        return False
    try:
        key.verify(signature, tbs)  # type: ignore[attr-defined]
    except (InvalidSignature, ValueError):
        return False
    return True


def generate(name: str) -> MLDSAPrivateKey:
    """A new private key of parameter set `name` (``ML-DSA-65``...); KeyError if unknown."""
    return BY_NAME[name].private_class.generate()  # type: ignore[no-any-return]


def akp_cose_key(public_key: MLDSAPublicKey) -> dict[int, Any]:
    """An ML-DSA public key as an AKP COSE_Key map: kty, alg, pub (RFC 9964 §5)."""
    params = parameter_set_of(public_key)
    if params is None:  # unreachable through the type; kept for untyped callers
        raise TypeError(f"{type(public_key).__name__} is not an ML-DSA key")
    return {1: KTY_AKP, 3: params.algorithm, AKP_PUB: public_key.public_bytes_raw()}


def public_key_from_akp(algorithm: object, pub: bytes) -> MLDSAPublicKey:
    """The public key of an AKP COSE_Key with `alg` and `pub`.

    Raises:
        ValueError: not an ML-DSA algorithm, or `pub` of the wrong length.
    """
    params = BY_ALGORITHM.get(algorithm) if isinstance(algorithm, int) else None
    if params is None:
        raise ValueError(f"AKP key with alg {algorithm!r}, not ML-DSA-44/65/87")
    if len(pub) != params.public_key_size:
        raise ValueError(f"{params.name} public key of {len(pub)} bytes, "
                         f"not {params.public_key_size}")
    return params.public_class.from_public_bytes(pub)  # type: ignore[no-any-return]
