"""Key management over PKCS#11: list tokens and keys, generate keys inside a token
(non-extractable, sensitive), export public keys. Private and secret keys are never
exported; the token is asked to refuse too (CKA_EXTRACTABLE false, CKA_SENSITIVE true).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from pkcs11 import Attribute, KeyType, Mechanism, MechanismFlag, ObjectClass, TokenFlag
from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters

from signing.algorithms import ED25519, P256, P384, SECRET
from signing.errors import ExportRefused, KeyExists, KeyNotFound, MechanismUnsupported, WrongKeyType
from signing.keyref import Pkcs11Uri
from signing.signer import PublicKey
from signing.token import find_key, load_module, translated

# DER ECParameters (RFC 5480 §2.1.1 namedCurve; RFC 8410 §3 id-Ed25519).
CURVE_PARAMS: Final = {P256: encode_named_curve_parameters("secp256r1"),
                       P384: encode_named_curve_parameters("secp384r1"),
                       ED25519: encode_named_curve_parameters("1.3.101.112")}
# PKCS#11 v3.0 §2.3.5 also allows the curve name as a PrintableString; SoftHSM2 2.6 gives
# its Ed25519 private keys CKA_EC_PARAMS = PrintableString "edwards25519".
_KIND_BY_PARAMS: Final = {**{v: k for k, v in CURVE_PARAMS.items()},
                          b"\x13\x0cedwards25519": ED25519}
_TYPE_NAMES: Final = {ObjectClass.PRIVATE_KEY: "private", ObjectClass.PUBLIC_KEY: "public",
                      ObjectClass.SECRET_KEY: "secret-key"}
_PROTECTED: Final = {Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False,
                     Attribute.PRIVATE: True}


@dataclass(frozen=True)
class TokenInfo:
    """One token as `suitwb keys list` shows it."""

    module: str
    label: str
    manufacturer: str
    model: str
    serial: str


@dataclass(frozen=True)
class KeyInfo:
    """One key object on a token (no secret material)."""

    label: str
    key_id: bytes
    object_type: str
    kind: str


def list_tokens(module: str) -> list[TokenInfo]:
    """The initialised tokens a module presents (SoftHSM2's free slot is left out)."""
    lib = load_module(module)
    with translated("token listing", module):
        return [TokenInfo(module, t.label.strip(), t.manufacturer_id.strip(), t.model.strip(),
                          t.serial.decode("ascii", "replace").strip())
                for t in lib.get_tokens() if t.flags & TokenFlag.TOKEN_INITIALIZED]


def list_keys(session: Any) -> list[KeyInfo]:
    """Keys visible in `session` (private and secret ones only when logged in)."""
    keys = []
    with translated("key listing", str(session.token.label)):
        for obj in session.get_objects():
            cls = obj[Attribute.CLASS]
            if cls in _TYPE_NAMES:
                keys.append(KeyInfo(str(obj[Attribute.LABEL]), bytes(obj[Attribute.ID]),
                                    _TYPE_NAMES[cls], key_kind_of(obj)))
    return sorted(keys, key=lambda k: (k.label, k.object_type))


def key_kind_of(obj: Any) -> str:
    """P-256, P-384, Ed25519, secret or AES-128/256 (a KEK) for a key object; ``other`` for
    anything else."""
    key_type = obj[Attribute.KEY_TYPE]
    if key_type == KeyType.GENERIC_SECRET:
        return SECRET
    if key_type in (KeyType.EC, KeyType.EC_EDWARDS):
        return _KIND_BY_PARAMS.get(bytes(obj[Attribute.EC_PARAMS]), "other")
    if key_type == KeyType.AES:  # a key-encryption key of encrypted payloads (FE §5.1)
        return f"AES-{int(obj[Attribute.VALUE_LEN]) * 8}"
    return "other"


def public_key_of(obj: Any) -> PublicKey:
    """A token public-key object as a `cryptography` public key."""
    if obj[Attribute.KEY_TYPE] == KeyType.EC_EDWARDS:
        point = bytes(obj[Attribute.EC_POINT])
        # CKA_EC_POINT is a DER OCTET STRING around the 32-byte key (PKCS#11 v3.0 §2.3.6).
        return ed25519.Ed25519PublicKey.from_public_bytes(point[-32:])
    key = serialization.load_der_public_key(encode_ec_public_key(obj))
    return key  # type: ignore[return-value]


def generate_key(session: Any, uri: Pkcs11Uri, kind: str) -> KeyInfo:
    """Generate a key of `kind` named by `uri` (object= label, optional id=) in the token.

    The private or secret half is sensitive and non-extractable; a random 16-byte CKA_ID
    (the kid of its signatures) is chosen unless the URI gives one.

    Raises:
        KeyExists: a key with this label or id is already there.
    """
    label = uri.object_label
    if label is None:
        raise KeyNotFound(uri.redacted(), "give the new key a label with object=")
    key_id = uri.key_id or os.urandom(16)
    _refuse_existing(session, label, key_id)
    where = f"token {session.token.label}"
    with translated(f"{kind} key generation", where):
        if kind == SECRET:
            _require(session, Mechanism.GENERIC_SECRET_KEY_GEN, where)
            session.generate_key(KeyType.GENERIC_SECRET, 256, id=key_id, label=label, store=True,
                                 capabilities=MechanismFlag.SIGN | MechanismFlag.VERIFY,
                                 template=_PROTECTED)
        else:
            _generate_pair(session, kind, key_id, label, where)
    return KeyInfo(label, key_id, "secret-key" if kind == SECRET else "private", kind)


def _generate_pair(session: Any, kind: str, key_id: bytes, label: str, where: str) -> None:
    edwards = kind == ED25519
    mechanism = Mechanism.EC_EDWARDS_KEY_PAIR_GEN if edwards else Mechanism.EC_KEY_PAIR_GEN
    _require(session, mechanism, where)
    session.generate_keypair(
        KeyType.EC_EDWARDS if edwards else KeyType.EC, store=True, id=key_id, label=label,
        mechanism=mechanism, public_template={Attribute.EC_PARAMS: CURVE_PARAMS[kind],
                                              Attribute.PRIVATE: False},
        private_template=dict(_PROTECTED))


def _require(session: Any, mechanism: Mechanism, where: str) -> None:
    if mechanism not in session.token.slot.get_mechanisms():
        raise MechanismUnsupported(mechanism.name, where)


def _refuse_existing(session: Any, label: str, key_id: bytes) -> None:
    for attrs in ({Attribute.LABEL: label}, {Attribute.ID: key_id}):
        if any(o[Attribute.CLASS] in _TYPE_NAMES for o in session.get_objects(attrs)):
            raise KeyExists(f"token {session.token.label} already holds a key with "
                            f"{'label ' + label if Attribute.LABEL in attrs else 'id ' + key_id.hex()}")


def export_public_key(session: Any, uri: Pkcs11Uri) -> tuple[PublicKey, bytes]:
    """The public key named by `uri` and its CKA_ID (the kid our signatures carry).

    Raises:
        ExportRefused: the URI names a private or secret key.
        WrongKeyType: the key is not one of our kinds.
    """
    if uri.object_type in ("private", "secret-key"):
        raise ExportRefused(f"refusing to export a {uri.object_type} key: {uri.redacted()}")
    obj = find_key(session, uri, "public")
    if key_kind_of(obj) == "other":
        raise WrongKeyType(uri.redacted(), str(obj[Attribute.KEY_TYPE]), "any SUIT algorithm")
    with translated("public key export", uri.redacted()):
        return public_key_of(obj), bytes(obj[Attribute.ID])

