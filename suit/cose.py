"""COSE structures as SUIT uses them (RFC 9052, RFC 9053, RFC 9864; manifest-37 §8.3).

Plain dataclasses with the raw protected-header bytes kept exactly as received (they are
signed over), the to-be-signed structures, the algorithm table, and ECDSA's raw r||s form.
Only tagged messages occur in SUIT (MTI profile rule), so decoding requires the tag.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from functools import cached_property
from typing import Any, Final, TypeVar

from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
)

from suit import cbor
from suit.checks import expect_bytes, expect_list, expect_map
from suit.errors import DecodeError, UnsupportedAlgorithm
from suit.frozen import quick_init


class CoseTag(IntEnum):
    """CBOR tags of COSE messages (RFC 9052 §2)."""

    ENCRYPT0 = 16
    MAC0 = 17
    SIGN1 = 18
    ENCRYPT = 96
    MAC = 97
    SIGN = 98


class CoseHeader(IntEnum):
    """COSE header labels (RFC 9052 §3.1, RFC 9053 §6.4)."""

    ALG = 1
    CRIT = 2
    CONTENT_TYPE = 3
    KID = 4
    IV = 5
    PARTIAL_IV = 6
    EPHEMERAL_KEY = -1


class CoseAlgorithm(IntEnum):
    """COSE algorithm identifiers that appear in SUIT (SUIT-FACTS.md §7)."""

    ES256 = -7
    EDDSA = -8
    ESP256 = -9
    ED25519 = -19
    ES384 = -35
    ESP384 = -51
    HSS_LMS = -46
    ML_DSA_44 = -48  # RFC 9964 §6 (draft-ietf-cose-dilithium): pure ML-DSA, FIPS 204
    ML_DSA_65 = -49
    ML_DSA_87 = -50
    HMAC_256_256 = 5
    HMAC_384_384 = 6
    HMAC_512_512 = 7
    A128KW = -3
    A192KW = -4
    A256KW = -5
    ECDH_ES_A128KW = -29
    ECDH_ES_A192KW = -30
    ECDH_ES_A256KW = -31
    A128GCM = 1
    A192GCM = 2
    A256GCM = 3
    CHACHA20_POLY1305 = 24
    A128CTR = -65534
    A192CTR = -65533
    A256CTR = -65532


@quick_init
@dataclass(frozen=True)
class SignatureAlgorithm:
    """What it takes to sign or verify with one COSE algorithm.

    Attributes:
        algorithm: The COSE identifier.
        family: ``ecdsa``, ``eddsa``, ``mldsa``, ``hss-lms`` or ``hmac``.
        curve: The kind of key it needs: ``P-256``, ``P-384``, ``Ed25519``, the ML-DSA
            parameter set (``ML-DSA-65``...), ``HSS-LMS`` (the key kind), or None (HMAC).
        hash_name: The hash the algorithm applies (``sha256``...), None for EdDSA.
        deprecated: Deprecated by RFC 9864 in favour of a fully specified identifier.
    """

    algorithm: CoseAlgorithm
    family: str
    curve: str | None
    hash_name: str | None
    deprecated: bool = False


SIGNATURE_ALGORITHMS: Final[Mapping[int, SignatureAlgorithm]] = {
    a.algorithm: a for a in (
        SignatureAlgorithm(CoseAlgorithm.ESP256, "ecdsa", "P-256", "sha256"),
        SignatureAlgorithm(CoseAlgorithm.ES256, "ecdsa", "P-256", "sha256", deprecated=True),
        SignatureAlgorithm(CoseAlgorithm.ESP384, "ecdsa", "P-384", "sha384"),
        SignatureAlgorithm(CoseAlgorithm.ES384, "ecdsa", "P-384", "sha384", deprecated=True),
        SignatureAlgorithm(CoseAlgorithm.ED25519, "eddsa", "Ed25519", None),
        SignatureAlgorithm(CoseAlgorithm.EDDSA, "eddsa", "Ed25519", None, deprecated=True),
        SignatureAlgorithm(CoseAlgorithm.HMAC_256_256, "hmac", None, "sha256"),
        # RFC 9964 §4: pure ML-DSA over the Sig_structure (no pre-hash), empty context.
        SignatureAlgorithm(CoseAlgorithm.ML_DSA_44, "mldsa", "ML-DSA-44", None),
        SignatureAlgorithm(CoseAlgorithm.ML_DSA_65, "mldsa", "ML-DSA-65", None),
        SignatureAlgorithm(CoseAlgorithm.ML_DSA_87, "mldsa", "ML-DSA-87", None),
        # RFC 8778: hash-based and stateful; the key kind names the family (suit.hsslms).
        SignatureAlgorithm(CoseAlgorithm.HSS_LMS, "hss-lms", "HSS-LMS", "sha256"),
    )
}


def signature_algorithm(alg: object) -> SignatureAlgorithm:
    """Look up a signing or MAC algorithm; raise `UnsupportedAlgorithm` if we have none."""
    if isinstance(alg, int) and not isinstance(alg, bool) and alg in SIGNATURE_ALGORITHMS:
        return SIGNATURE_ALGORITHMS[alg]
    raise UnsupportedAlgorithm("signature", alg)


def algorithm_name(alg: object) -> str:
    """The registered name of a COSE algorithm, or its number as text."""
    try:
        return CoseAlgorithm(alg).name.replace("_", "-")  # type: ignore[arg-type]
    except ValueError:
        return str(alg)


def encode_protected(header: Mapping[int, Any]) -> bytes:
    """The protected-header bstr content: empty for an empty map (RFC 9052 §3)."""
    return cbor.dumps(dict(header)) if header else b""


def decode_protected(data: bytes, path: str) -> dict[Any, Any]:
    """Decode a protected header; the empty bstr stands for an empty map."""
    if not data:
        return {}
    value = cbor.loads(data, path=path)
    if not isinstance(value, dict):
        raise DecodeError(path, f"expected a header map, found {type(value).__name__}")
    return check_header_types(value, path)


#: RFC 9052 §3.1: the types of the common header parameters we read.
_HEADER_TYPES: Final[dict[int, tuple[type, ...]]] = {
    CoseHeader.ALG: (int, str), CoseHeader.KID: (bytes,), CoseHeader.IV: (bytes,),
    CoseHeader.PARTIAL_IV: (bytes,)}


def check_header_types(header: dict[Any, Any], path: str) -> dict[Any, Any]:
    """Refuse a header whose alg, kid, IV or partial IV has the wrong CBOR type, so that
    code past the decoder can trust `kid` to be bytes (a fuzzed kid of 5 crashed a view)."""
    if not header:
        return header  # the usual unprotected header: nothing to look up
    for label, kinds in _HEADER_TYPES.items():
        value = header.get(label)
        if value is not None and (not isinstance(value, kinds) or isinstance(value, bool)):
            raise DecodeError(f"{path}/{CoseHeader(label).name.lower()}",
                              f"expected {' or '.join(k.__name__ for k in kinds)}, "
                              f"found {type(value).__name__}")
    return header


#: RFC 9052 §4.4: a 4-element array, then the context "Signature1" as a text string.
_SIGNATURE1_HEAD: Final = b"\x84\x6aSignature1"


def sig_structure(context: str, body_protected: bytes, payload: bytes, *,
                  sign_protected: bytes | None = None, external_aad: bytes = b"") -> bytes:
    """The bytes a COSE signature covers (RFC 9052 §4.4).

    Args:
        context: ``"Signature1"`` for COSE_Sign1, ``"Signature"`` for COSE_Sign.
        body_protected: The message's protected header bytes, as sent.
        payload: The (detached) payload; in SUIT the encoded SUIT_Digest.
        sign_protected: The signer's protected header bytes (COSE_Sign only).
        external_aad: Externally supplied data, empty in SUIT.
    """
    if (context == "Signature1" and sign_protected is None and not external_aad
            and type(body_protected) is bytes and type(payload) is bytes):
        # SUIT's one case, written out: the same bytes as the general encoding below
        # (a test compares them), at a quarter of the cost.
        return (_SIGNATURE1_HEAD + cbor.bstr_head(len(body_protected)) + body_protected
                + b"\x40" + cbor.bstr_head(len(payload)) + payload)
    parts: list[Any] = [context, body_protected]
    if sign_protected is not None:
        parts.append(sign_protected)
    parts += [external_aad, payload]
    return cbor.dumps(parts)


def mac_structure(context: str, protected: bytes, payload: bytes, *,
                  external_aad: bytes = b"") -> bytes:
    """The bytes a COSE MAC covers (RFC 9052 §6.3); context ``"MAC0"`` or ``"MAC"``."""
    return cbor.dumps([context, protected, external_aad, payload])


def ecdsa_der_to_raw(der: bytes, key_size_bits: int) -> bytes:
    """DER ECDSA signature -> COSE's r||s, each the curve's byte length (RFC 9053 §2.1)."""
    r, s = decode_dss_signature(der)
    n = (key_size_bits + 7) // 8
    return r.to_bytes(n, "big") + s.to_bytes(n, "big")


def ecdsa_raw_to_der(raw: bytes) -> bytes:
    """COSE r||s -> DER, for libraries that verify DER.

    The same bytes as `encode_dss_signature` of the two integers, put together here
    without making the integers (one verification in six of its Python work, issue 12).
    """
    half = len(raw) // 2
    if len(raw) % 2 or not raw:
        raise ValueError("raw ECDSA signature must have an even, non-zero length")
    body = _der_integer(raw[:half]) + _der_integer(raw[half:])
    # X.690 §8.1.3: short form below 128 bytes; P-521's may take one length byte more.
    size = len(body)
    return (bytes((0x30, size)) if size < 0x80 else bytes((0x30, 0x81, size))) + body


def _der_integer(magnitude: bytes) -> bytes:
    """An unsigned big-endian integer as a DER INTEGER (X.690 §8.3: minimal two's
    complement, so no leading zero byte unless the next byte's high bit is set)."""
    digits = magnitude.lstrip(b"\x00") or b"\x00"
    if digits[0] & 0x80:
        digits = b"\x00" + digits
    return bytes((0x02, len(digits))) + digits


@quick_init
@dataclass(frozen=True)
class _Headers:
    """The headers every COSE structure has (RFC 9052 §3): the protected header as the
    exact bytes signed over, and the unprotected header map."""

    protected: bytes
    unprotected: Mapping[Any, Any] = field(default_factory=dict)

    @cached_property
    def protected_header(self) -> Mapping[Any, Any]:
        """The protected header decoded (it was validated when the message was decoded).

        Decoded once per message: verification asks for alg and kid several times.
        """
        return decode_protected(self.protected, "protected")

    def header(self, label: int) -> Any:
        """A header value, protected first (RFC 9052 §3: a label must not be in both)."""
        value = self.protected_header.get(label)
        return value if value is not None else self.unprotected.get(label)

    @property
    def algorithm(self) -> Any:
        """The ``alg`` header."""
        return self.header(CoseHeader.ALG)

    @property
    def kid(self) -> bytes | None:
        """The ``kid`` header, if any (bytes: the decoder checked its type)."""
        value = self.header(CoseHeader.KID)
        return value if isinstance(value, bytes) else None


@quick_init
@dataclass(frozen=True)
class CoseSign1(_Headers):
    """COSE_Sign1 (tag 18)."""

    payload: bytes | None = None
    signature: bytes = b""

    def encode(self) -> bytes:
        return cbor.dumps(cbor.CBORTag(CoseTag.SIGN1, [self.protected, dict(self.unprotected),
                                                       self.payload, self.signature]))


@quick_init
@dataclass(frozen=True)
class CoseSignature(_Headers):
    """One signer of a COSE_Sign."""

    signature: bytes = b""


@quick_init
@dataclass(frozen=True)
class CoseSign(_Headers):
    """COSE_Sign (tag 98): one body, several signers."""

    payload: bytes | None = None
    signatures: tuple[CoseSignature, ...] = ()

    def encode(self) -> bytes:
        sigs = [[s.protected, dict(s.unprotected), s.signature] for s in self.signatures]
        return cbor.dumps(cbor.CBORTag(CoseTag.SIGN, [self.protected, dict(self.unprotected),
                                                      self.payload, sigs]))


@quick_init
@dataclass(frozen=True)
class CoseRecipient(_Headers):
    """A COSE_recipient (RFC 9052 §5.1): a wrapped key for one recipient."""

    ciphertext: bytes | None = None
    recipients: tuple[CoseRecipient, ...] = ()


@quick_init
@dataclass(frozen=True)
class CoseMac0(_Headers):
    """COSE_Mac0 (tag 17)."""

    payload: bytes | None = None
    tag: bytes = b""

    def encode(self) -> bytes:
        return cbor.dumps(cbor.CBORTag(CoseTag.MAC0, [self.protected, dict(self.unprotected),
                                                      self.payload, self.tag]))


@quick_init
@dataclass(frozen=True)
class CoseMac(_Headers):
    """COSE_Mac (tag 97): a MAC with the key delivered to recipients."""

    payload: bytes | None = None
    tag: bytes = b""
    recipients: tuple[CoseRecipient, ...] = ()


@quick_init
@dataclass(frozen=True)
class CoseEncrypt(_Headers):
    """COSE_Encrypt (tag 96), as SUIT_Encryption_Info (firmware-encryption §4)."""

    ciphertext: bytes | None = None
    recipients: tuple[CoseRecipient, ...] = ()


CoseMessage = CoseSign1 | CoseSign | CoseMac0 | CoseMac | CoseEncrypt
#: What may stand in a SUIT_Authentication_Block (M37 §8.3): signatures and MACs only.
AuthenticationMessage = CoseSign1 | CoseSign | CoseMac0 | CoseMac
# The same as a tuple, which `isinstance` checks faster than a union.
_AUTHENTICATION_TYPES: Final = (CoseSign1, CoseSign, CoseMac0, CoseMac)


# --- decoding -------------------------------------------------------------------------



def _protected(value: Any, path: str) -> bytes:
    return _protected_header(value, path)[0]


def _protected_header(value: Any, path: str) -> tuple[bytes, dict[Any, Any]]:
    """The protected header's bytes, checked by decoding, and the decoded header."""
    where = f"{path}/protected"
    data = expect_bytes(value, where)
    return data, decode_protected(data, where)


_Message = TypeVar("_Message", bound=_Headers)


def _knowing_header(message: _Message, header: dict[Any, Any]) -> _Message:
    """`message` with its `protected_header` already known: the decoder has just decoded
    it, and verification asks for alg and kid (functools.cached_property keeps its value
    in the instance dictionary, where this puts it)."""
    message.__dict__["protected_header"] = header
    return message


def _unprotected(value: Any, path: str) -> dict[Any, Any]:
    where = f"{path}/unprotected"
    return check_header_types(expect_map(value, where), where)


def _optional_bytes(value: Any, path: str) -> bytes | None:
    return None if value is None else expect_bytes(value, path)


def _recipients(value: Any, path: str) -> tuple[CoseRecipient, ...]:
    items = expect_list(value, path, min_len=1)
    return tuple(_recipient(item, f"{path}[{i}]") for i, item in enumerate(items))


def _recipient(value: Any, path: str) -> CoseRecipient:
    parts = expect_list(value, path, min_len=3, max_len=4)
    nested = _recipients(parts[3], f"{path}/recipients") if len(parts) == 4 else ()
    return CoseRecipient(_protected(parts[0], path), _unprotected(parts[1], path),
                         _optional_bytes(parts[2], f"{path}/ciphertext"), nested)


def _sign1(parts: list[Any], path: str) -> CoseSign1:
    protected, header = _protected_header(parts[0], path)
    unprotected, payload, signature = parts[1], parts[2], parts[3]
    # The usual types are checked in place; a path is built only for an error.
    unprotected = (unprotected if type(unprotected) is dict and not unprotected
                   else _unprotected(unprotected, path))
    if payload is not None and type(payload) is not bytes:
        payload = expect_bytes(payload, f"{path}/payload")
    if type(signature) is not bytes:
        signature = expect_bytes(signature, f"{path}/signature")
    return _knowing_header(CoseSign1(protected, unprotected, payload, signature), header)


def _sign(parts: list[Any], path: str) -> CoseSign:
    sigs = expect_list(parts[3], f"{path}/signatures", min_len=1)
    signers = []
    for i, raw in enumerate(sigs):
        sp = f"{path}/signatures[{i}]"
        s = expect_list(raw, sp, min_len=3, max_len=3)
        signers.append(CoseSignature(_protected(s[0], sp), _unprotected(s[1], sp),
                                     expect_bytes(s[2], f"{sp}/signature")))
    return CoseSign(_protected(parts[0], path), _unprotected(parts[1], path),
                    _optional_bytes(parts[2], f"{path}/payload"), tuple(signers))


def _mac0(parts: list[Any], path: str) -> CoseMac0:
    protected, header = _protected_header(parts[0], path)
    return _knowing_header(CoseMac0(protected, _unprotected(parts[1], path),
                                    _optional_bytes(parts[2], f"{path}/payload"),
                                    expect_bytes(parts[3], f"{path}/tag")), header)


def _mac(parts: list[Any], path: str) -> CoseMac:
    return CoseMac(_protected(parts[0], path), _unprotected(parts[1], path),
                   _optional_bytes(parts[2], f"{path}/payload"),
                   expect_bytes(parts[3], f"{path}/tag"), _recipients(parts[4], f"{path}/recipients"))


def _encrypt(parts: list[Any], path: str) -> CoseEncrypt:
    return CoseEncrypt(_protected(parts[0], path), _unprotected(parts[1], path),
                       _optional_bytes(parts[2], f"{path}/ciphertext"),
                       _recipients(parts[3], f"{path}/recipients"))


# Keyed by plain int: the tag of a decoded message is an int, looked up without Enum calls.
_DECODERS: Final[dict[int, tuple[int, Callable[[list[Any], str], CoseMessage]]]] = {
    int(CoseTag.SIGN1): (4, _sign1), int(CoseTag.SIGN): (4, _sign),
    int(CoseTag.MAC0): (4, _mac0), int(CoseTag.MAC): (5, _mac),
    int(CoseTag.ENCRYPT): (4, _encrypt)}


def decode_cose_value(value: Any, path: str) -> CoseMessage:
    """A decoded CBOR value -> a COSE message; it must be tagged (MTI: tagged only)."""
    if not isinstance(value, cbor.CBORTag):
        raise DecodeError(path, "expected a tagged COSE message")
    if value.tag not in _DECODERS:
        raise DecodeError(path, f"unsupported COSE tag {value.tag}",
                          hint="SUIT authentication blocks are COSE_Sign1, COSE_Sign, "
                               "COSE_Mac0 or COSE_Mac.")
    length, decode = _DECODERS[value.tag]
    parts = expect_list(value.value, path, min_len=length, max_len=length)
    return decode(parts, path)


#: M37 §8.3: SUIT_Authentication_Block is COSE_Sign1, COSE_Sign, COSE_Mac0 or COSE_Mac.
AUTHENTICATION_TAGS: Final = frozenset({CoseTag.SIGN1, CoseTag.SIGN, CoseTag.MAC0, CoseTag.MAC})
_STRUCTURE_NAMES: Final = {CoseTag.ENCRYPT0: "COSE_Encrypt0", CoseTag.MAC0: "COSE_Mac0",
                           CoseTag.SIGN1: "COSE_Sign1", CoseTag.ENCRYPT: "COSE_Encrypt",
                           CoseTag.MAC: "COSE_Mac", CoseTag.SIGN: "COSE_Sign"}


def decode_authentication_block(value: Any, path: str) -> AuthenticationMessage:
    """A decoded CBOR value -> the COSE signature or MAC of an authentication block.

    Anything else, a COSE_Encrypt included, is refused here, so no later step (verify,
    render) ever meets a message that has no payload or signature (M37 §8.3).
    """
    tag = value.tag if isinstance(value, cbor.CBORTag) else None
    if tag in _STRUCTURE_NAMES and tag not in AUTHENTICATION_TAGS:
        raise DecodeError(path, f"{_STRUCTURE_NAMES[CoseTag(tag)]} (tag {tag}) is not an "
                                "authentication structure",
                          hint="SUIT authentication blocks are COSE_Sign1, COSE_Sign, "
                               "COSE_Mac0 or COSE_Mac.")
    message = decode_cose_value(value, path)
    if not isinstance(message, _AUTHENTICATION_TYPES):  # unreachable: tags checked above
        raise DecodeError(path, "not an authentication structure")
    return message


def decode_cose(data: bytes, path: str = "cose") -> CoseMessage:
    """Decode a tagged COSE message from untrusted bytes."""
    return decode_cose_value(cbor.loads(data, path=path), path)
