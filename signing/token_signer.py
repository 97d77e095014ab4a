"""Signing with a key held in a PKCS#11 token (an HSM, a smart card, SoftHSM2).

ECDSA is done as hash-then-CKM_ECDSA: SoftHSM2, like many HSMs, has no combined
ECDSA-with-SHA mechanism, and PKCS#11 returns r||s, already COSE's form (RFC 9053 §2.1).
EdDSA uses CKM_EDDSA over the whole message (RFC 8032 PureEdDSA), HMAC 256/256 uses
CKM_SHA256_HMAC with its full 32-byte output.
"""

from __future__ import annotations

import hashlib
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric import ec
from pkcs11 import Attribute, Mechanism, ObjectClass

from signing.algorithms import P256, P384, SECRET, choose_algorithm, ecdsa_signature_size
from signing.cose_key import thumbprint
from signing.errors import KeyNotFound, MechanismUnsupported, SigningError, TokenError
from signing.keyref import Pkcs11Uri
from signing.pin import PinProvider
from signing.signer import PublicKey, SignerIdentity
from signing.token import (
    close_quietly,
    find_key,
    find_token,
    load_module,
    module_path_for,
    open_session,
    translated,
)
from signing.token_keys import key_kind_of, public_key_of
from suit.cose import CoseAlgorithm

_MECHANISMS: Final = {"ecdsa": Mechanism.ECDSA, "eddsa": Mechanism.EDDSA,
                      "hmac": Mechanism.SHA256_HMAC}
_CURVE_BITS: Final = {P256: ec.SECP256R1.key_size, P384: ec.SECP384R1.key_size}


class Pkcs11Signer:
    """Signs with one token key through an open, logged-in session."""

    def __init__(self, session: Any, key: Any, identity: SignerIdentity, kind: str) -> None:
        self._session: Any = session
        self._key = key
        self._identity = identity
        self._mechanism = _MECHANISMS[identity.algorithm.family]
        self._size = ecdsa_signature_size(_CURVE_BITS[kind]) if kind in _CURVE_BITS else None

    @property
    def identity(self) -> SignerIdentity:
        """See `Signer.identity`."""
        return self._identity

    def sign(self, tbs: bytes) -> bytes:
        """See `Signer.sign`."""
        if self._session is None:
            raise TokenError("sign", "the signer was closed")
        alg = self._identity.algorithm
        data = tbs
        if alg.family == "ecdsa":
            data = hashlib.new(str(alg.hash_name), tbs).digest()
        with translated("sign", self._identity.key_reference):
            signature = bytes(self._key.sign(data, mechanism=self._mechanism))
        if self._size is not None and len(signature) != self._size:
            raise TokenError("sign", f"token returned {len(signature)} bytes, "
                                     f"expected r||s of {self._size}")
        return signature

    def close(self) -> None:
        """Log out and close the session."""
        if self._session is not None:
            close_quietly(self._session)
            self._session = None

    def __repr__(self) -> str:
        return f"Pkcs11Signer({self._identity.key_reference!r})"


def open_pkcs11_signer(uri: Pkcs11Uri, algorithm: CoseAlgorithm | None = None,
                       pins: PinProvider | None = None) -> Pkcs11Signer:
    """Log in to the token `uri` names and make a signer for its key.

    Raises:
        ModuleNotFound, TokenNotFound, KeyNotFound, PinIncorrect, PinUnavailable,
        MechanismUnsupported, WrongKeyType, TokenRemoved: as their names say.
    """
    token = find_token(load_module(module_path_for(uri)), uri)
    session = open_session(token, uri, pins)
    try:
        return _make_signer(session, uri, algorithm)
    except BaseException:
        close_quietly(session)
        raise


def _make_signer(session: Any, uri: Pkcs11Uri, algorithm: CoseAlgorithm | None) -> Pkcs11Signer:
    key = _private_or_secret(session, uri)
    name = uri.redacted()
    with translated("key inspection", name):
        kind = key_kind_of(key)
        info = choose_algorithm(kind, algorithm, name)
        public = None if kind == SECRET else _public_half(session, key)
        key_id = bytes(key[Attribute.ID])
    mechanism = _MECHANISMS[info.family]
    with translated("mechanism query", name):
        supported = mechanism in session.token.slot.get_mechanisms()
    if not supported:
        raise MechanismUnsupported(mechanism.name, f"token {session.token.label}")
    kid = key_id or _fallback_kid(public, key)
    return Pkcs11Signer(session, key, SignerIdentity(info, kid, name, public), kind)


def _private_or_secret(session: Any, uri: Pkcs11Uri) -> Any:
    if uri.object_type in ("private", "secret-key"):
        return find_key(session, uri, uri.object_type)
    if uri.object_type is not None:
        raise KeyNotFound(uri.redacted(), "type= must be private or secret-key to sign")
    try:
        return find_key(session, uri, "private")
    except KeyNotFound as private:
        if private.problem != "no such key":
            raise
    try:
        return find_key(session, uri, "secret-key")
    except KeyNotFound as secret:
        if secret.problem != "no such key":
            raise
    # Both types were looked for: name the reference as given, not the last type tried.
    raise KeyNotFound(uri.redacted(), "no such key (looked for private and secret keys)") from None


def _public_half(session: Any, private_key: Any) -> PublicKey | None:
    """The public key object with the same CKA_ID (PKCS#11 v2.40 §4.7 pairs keys by ID)."""
    key_id = bytes(private_key[Attribute.ID])
    if not key_id:
        return None
    matches = list(session.get_objects({Attribute.CLASS: ObjectClass.PUBLIC_KEY, Attribute.ID: key_id}))
    return public_key_of(matches[0]) if len(matches) == 1 else None


def _fallback_kid(public: PublicKey | None, key: Any) -> bytes:
    # A key without CKA_ID: the thumbprint of its public half, or its label for a secret.
    if public is not None:
        return thumbprint(public)
    label = str(key[Attribute.LABEL]).encode("utf-8")
    if not label:
        raise SigningError("the key has neither CKA_ID nor a label to use as kid",
                           hint="Set CKA_ID on the key with the token's tools.")
    return label
