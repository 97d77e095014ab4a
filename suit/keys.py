"""Trust anchors: the public keys and secrets a verifier trusts (PEM or COSE_Key, RFC 9052 §7).

ML-DSA keys (RFC 9964) load from PEM SubjectPublicKeyInfo or an AKP COSE_Key (`suit.mldsa`).
"""

from __future__ import annotations

import binascii
import sys
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Final, Union, cast

from cryptography.exceptions import UnsupportedAlgorithm as _CryptoUnsupported
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric import mldsa as mldsa_keys

from suit import cbor
from suit.checks import expect_bytes, expect_int, expect_map
from suit.errors import DecodeError, TrustAnchorError

if TYPE_CHECKING:
    # suit.hsslms and suit.mldsa are imported where such a key is met (a COSE_Key of kty 5
    # or 7, an ML-DSA PEM key, such a key's anchor): inspect and ECDSA verification start
    # without them (start-up, issue 12).
    from suit.hsslms import HssLmsPublicKey
    from suit.mldsa import MLDSAPublicKey

PublicKey = Union[ec.EllipticCurvePublicKey, ed25519.Ed25519PublicKey, "MLDSAPublicKey",
                  "HssLmsPublicKey"]

# COSE_Key labels and values (RFC 9052 §7.1, RFC 9053 §7).
KTY, KID, ALG = 1, 2, 3
CRV, X, Y, K = -1, -2, -3, -1
KTY_OKP, KTY_EC2, KTY_SYMMETRIC = 1, 2, 4
# RFC 8778 §2.2: key type HSS-LMS (5) with its public key under label -1 ("pub").
KTY_HSS_LMS, HSS_LMS_PUB = 5, -1
KTY_AKP, AKP_PUB = 7, -1  # RFC 9964 §5: ML-DSA's Algorithm Key Pair (alg names the set)
_EC_CURVES: Final = {1: ec.SECP256R1(), 2: ec.SECP384R1(), 3: ec.SECP521R1()}
_CURVE_IDS: Final = {"secp256r1": 1, "secp384r1": 2, "secp521r1": 3}
CRV_ED25519: Final = 6
CURVE_NAMES: Final = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}

# RFC 5480 §2 / RFC 8410 §4: the DER SubjectPublicKeyInfo of an EC key on a named curve and
# of an Ed25519 key is a fixed prefix (algorithm, curve, BIT STRING head) and the key's
# bytes, so these keys load without the serialization module, whose import is most of the
# start-up cost of `suitwb verify` left in cryptography (issue 12). Anything else takes
# the general path.
_SPKI_PREFIXES: Final = {
    bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200"): (ec.SECP256R1, 65),
    bytes.fromhex("3076301006072a8648ce3d020106052b81040022036200"): (ec.SECP384R1, 97),
    bytes.fromhex("30819b301006072a8648ce3d020106052b8104002303818600"): (ec.SECP521R1, 133),
    bytes.fromhex("302a300506032b6570032100"): (None, 32),
}
_PEM_PUBLIC_BEGIN: Final = b"-----BEGIN PUBLIC KEY-----"
_PEM_PUBLIC_END: Final = b"-----END PUBLIC KEY-----"


@dataclass(frozen=True)
class TrustAnchor:
    """A key the verifier trusts: a public key for signatures, or a secret for MACs.

    Attributes:
        name: Where it came from (a file name), for reports.
        public_key: The public key, or None for a secret.
        secret: The MAC secret, or None for a public key.
        kid: The key id it is known by, if any.
    """

    name: str
    public_key: PublicKey | None = None
    secret: bytes | None = None
    kid: bytes | None = None

    @cached_property
    def curve(self) -> str | None:
        """``P-256``, ``P-384``, ``Ed25519``, ``ML-DSA-65``..., or None for a secret (worked
        out once: every verification with this anchor asks)."""
        if isinstance(self.public_key, ec.EllipticCurvePublicKey):
            return CURVE_NAMES.get(self.public_key.curve.name, self.public_key.curve.name)
        if isinstance(self.public_key, ed25519.Ed25519PublicKey):
            return "Ed25519"
        if self.public_key is None:
            return None
        from suit import mldsa
        params = mldsa.parameter_set_of(self.public_key)
        if params is not None:
            return params.name
        return "HSS-LMS" if _is_hss_lms(self.public_key) else None

    @classmethod
    def from_pem(cls, data: bytes, name: str = "PEM key") -> TrustAnchor:
        """A PEM public key, or a private key whose public half is taken."""
        try:
            key: Any = _public_key_from_pem(data)
            if key is None:
                from cryptography.hazmat.primitives import serialization
                if b"PRIVATE KEY" in data:
                    key = serialization.load_pem_private_key(data, password=None).public_key()
                else:
                    key = serialization.load_pem_public_key(data)
        except (ValueError, TypeError, _CryptoUnsupported) as exc:
            raise TrustAnchorError(f"{name}: not a usable PEM key ({exc})") from exc
        if not isinstance(key, (ec.EllipticCurvePublicKey, ed25519.Ed25519PublicKey,
                                mldsa_keys.MLDSA44PublicKey, mldsa_keys.MLDSA65PublicKey,
                                mldsa_keys.MLDSA87PublicKey)):
            raise TrustAnchorError(f"{name}: {type(key).__name__} keys are not used by SUIT")
        return cls(name, public_key=key)

    @classmethod
    def from_secret(cls, secret: bytes, name: str = "secret", kid: bytes | None = None) -> TrustAnchor:
        """An HMAC secret (COSE_Mac0 with HMAC 256/256)."""
        if not secret:
            raise TrustAnchorError(f"{name}: empty secret")
        return cls(name, secret=bytes(secret), kid=kid)

    @classmethod
    def from_cose_key(cls, data: bytes, name: str = "COSE_Key") -> TrustAnchor:
        """A COSE_Key: EC2 (P-256/384/521), OKP (Ed25519), AKP (ML-DSA) or Symmetric."""
        try:
            return _from_cose_key_map(expect_map(cbor.loads(data, path=name), name), name)
        except DecodeError as exc:
            raise TrustAnchorError(f"{name}: not a usable COSE_Key ({exc.problem})") from exc

    @classmethod
    def load(cls, data: bytes, name: str) -> TrustAnchor:
        """PEM if it looks like PEM, else a COSE_Key."""
        return cls.from_pem(data, name) if data.lstrip().startswith(b"-----") else cls.from_cose_key(data, name)


def _public_key_from_pem(data: bytes) -> PublicKey | None:
    """The key of a PEM ``PUBLIC KEY`` holding one P-256/384/521 or Ed25519 key, or None
    for any other PEM (which `serialization` then reads or refuses).

    Raises:
        ValueError: the key bytes are not a point of the curve.
    """
    text = data.strip()
    if not (text.startswith(_PEM_PUBLIC_BEGIN) and text.endswith(_PEM_PUBLIC_END)):
        return None
    body = text[len(_PEM_PUBLIC_BEGIN):-len(_PEM_PUBLIC_END)]
    if b"-" in body or b":" in body:  # a second PEM block, or RFC 1421 headers
        return None
    try:
        der = binascii.a2b_base64(body, strict_mode=False)
    except binascii.Error:
        return None
    for prefix, (curve, size) in _SPKI_PREFIXES.items():
        if der.startswith(prefix) and len(der) == len(prefix) + size:
            raw = der[len(prefix):]
            if curve is None:
                return ed25519.Ed25519PublicKey.from_public_bytes(raw)
            return ec.EllipticCurvePublicKey.from_encoded_point(curve(), raw)
    return None


def _from_cose_key_map(key: dict[Any, Any], name: str) -> TrustAnchor:
    kty = expect_int(key.get(KTY), f"{name}/kty")
    kid = key.get(KID)
    kid = expect_bytes(kid, f"{name}/kid") if kid is not None else None
    if kty == KTY_SYMMETRIC:
        return TrustAnchor.from_secret(expect_bytes(key.get(K), f"{name}/k"), name, kid)
    if kty == KTY_AKP:
        return _akp_anchor(key, name, kid)
    if kty == KTY_HSS_LMS:
        from suit.hsslms import HssLmsPublicKey
        pub = expect_bytes(key.get(HSS_LMS_PUB), f"{name}/pub")
        return TrustAnchor(name, public_key=HssLmsPublicKey.parse(pub, f"{name}/pub"), kid=kid)
    crv = expect_int(key.get(CRV), f"{name}/crv")
    x = expect_bytes(key.get(X), f"{name}/x")
    try:
        if kty == KTY_EC2 and crv in _EC_CURVES:
            y = expect_bytes(key.get(Y), f"{name}/y")
            public: Any = ec.EllipticCurvePublicKey.from_encoded_point(_EC_CURVES[crv], b"\x04" + x + y)
        elif kty == KTY_OKP and crv == CRV_ED25519:
            public = ed25519.Ed25519PublicKey.from_public_bytes(x)
        else:
            raise TrustAnchorError(f"{name}: unsupported key type {kty} / curve {crv}")
    except ValueError as exc:
        raise TrustAnchorError(f"{name}: invalid public key ({exc})") from exc
    return TrustAnchor(name, public_key=public, kid=kid)


def _akp_anchor(key: dict[Any, Any], name: str, kid: bytes | None) -> TrustAnchor:
    """RFC 9964 §5: an AKP key names its algorithm (alg is required) and holds ``pub``."""
    from suit import mldsa
    pub = expect_bytes(key.get(AKP_PUB), f"{name}/pub")
    try:
        public = mldsa.public_key_from_akp(key.get(ALG), pub)
    except ValueError as exc:
        raise TrustAnchorError(f"{name}: invalid AKP key ({exc})") from exc
    return TrustAnchor(name, public_key=public, kid=kid)


def _is_hss_lms(key: object) -> bool:
    """Whether `key` is an HSS-LMS public key, without importing suit.hsslms for the others:
    an HSS-LMS key exists only once that module has been imported to make it."""
    module = sys.modules.get("suit.hsslms")
    return module is not None and isinstance(key, module.HssLmsPublicKey)


def cose_key_value(public_key: PublicKey, kid: bytes | None = None) -> dict[int, Any]:
    """A public key -> a COSE_Key map (no private members, ever)."""
    key: dict[int, Any]
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        from cryptography.hazmat.primitives import serialization
        raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        key = {KTY: KTY_OKP, CRV: CRV_ED25519, X: raw}
    elif not isinstance(public_key, ec.EllipticCurvePublicKey):
        from suit import mldsa
        params = mldsa.parameter_set_of(public_key)
        key = mldsa.akp_cose_key(cast("MLDSAPublicKey", public_key)) \
            if params is not None else \
            {KTY: KTY_HSS_LMS, HSS_LMS_PUB: cast("HssLmsPublicKey", public_key).encoded}
    else:
        numbers = public_key.public_numbers()
        size = (public_key.curve.key_size + 7) // 8
        key = {KTY: KTY_EC2, CRV: _CURVE_IDS[public_key.curve.name],
               X: numbers.x.to_bytes(size, "big"), Y: numbers.y.to_bytes(size, "big")}
    if kid is not None:
        key[KID] = kid
    return key


def encode_cose_key(public_key: PublicKey, kid: bytes | None = None) -> bytes:
    """A public key -> COSE_Key bytes, deterministic."""
    return cbor.dumps(cose_key_value(public_key, kid))
