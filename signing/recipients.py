"""Recipients of an encrypted payload (draft-ietf-suit-firmware-encryption §5): device
public keys for ECDH-ES+A128KW and AES key-encryption keys for AES-KW, read from files or
used inside a PKCS#11 token (the KEK never leaves it: the token wraps the content key).

Files: a PEM ``PUBLIC KEY`` (P-256 or X25519: a device's key); a COSE_Key with kty
Symmetric (RFC 9053 §7.3) holding a 16-, 24- or 32-byte KEK and its kid. A private key is
refused: the author encrypts to the device's public half.
"""

from __future__ import annotations

import logging
import os
from contextlib import ExitStack
from typing import Any, Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from pkcs11 import Attribute, KeyType, Mechanism, MechanismFlag, ObjectClass

from signing.errors import KeyFileError, KeyNotFound, WrongRecipientKey
from signing.files import read_key_file
from signing.keyref import FileKeyRef, Pkcs11Uri, parse_key_reference
from signing.pin import PinProvider
from signing.token import (
    close_quietly,
    find_key,
    find_token,
    load_module,
    module_path_for,
    open_session,
    token_session,
    translated,
)
from suit import cbor
from suit.cose import CoseAlgorithm
from suit.encrypt import KEK_SIZES, DeviceKey, EncryptionError, Recipient, SoftwareKek
from suit.errors import DecodeError
from suit.keys import ALG, KID, KTY, KTY_SYMMETRIC, K

logger = logging.getLogger(__name__)

_HMAC: Final = frozenset({CoseAlgorithm.HMAC_256_256, CoseAlgorithm.HMAC_384_384, CoseAlgorithm.HMAC_512_512})


def open_recipient(ref: str, kid: bytes | None, pins: PinProvider | None, stack: ExitStack) -> Recipient:
    """The recipient a key file or ``pkcs11:`` URI names; token sessions close with `stack`.

    Args:
        ref: The key reference as written in the project.
        kid: The key id to put in the recipient (over the key file's own).
        pins: Asked for a token PIN.
        stack: Owns the token session of a PKCS#11 KEK.

    Raises:
        KeyFileError, KeyReferenceError, KeyNotFound, PinIncorrect, ...: as for signing keys.
    """
    parsed = parse_key_reference(ref)
    if isinstance(parsed, FileKeyRef):
        return read_recipient_file(str(parsed.path), kid)
    kek = Pkcs11Kek.open(parsed, pins, kid)
    stack.callback(kek.close)
    return kek


def read_recipient_file(path: str, kid: bytes | None = None) -> Recipient:
    """A device public key (PEM) or a KEK (COSE_Key) from a file."""
    data = read_key_file(path)
    if b"-----BEGIN" in data:
        return DeviceKey(_device_public_key(data, path), kid)
    try:
        key = cbor.loads(data, path=path)
    except DecodeError as exc:
        raise KeyFileError(path, "neither a PEM public key nor a COSE_Key") from exc
    return _kek(key, path, kid)


def _device_public_key(data: bytes, path: str) -> Any:
    if b"PRIVATE KEY" in data:
        raise KeyFileError(path, "a private key: encrypt to the device's public key",
                           hint="Export its public half: suitwb keys export --key FILE -o FILE.pub.pem")
    try:
        public = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise KeyFileError(path, "not a PEM public key") from exc
    if isinstance(public, x25519.X25519PublicKey):
        return public
    if isinstance(public, ec.EllipticCurvePublicKey) and isinstance(public.curve, ec.SECP256R1):
        return public
    raise WrongRecipientKey(path, type(public).__name__, "ECDH-ES+A128KW (P-256 or X25519)")


def _kek(key: Any, path: str, kid: bytes | None) -> SoftwareKek:
    if not isinstance(key, dict) or key.get(KTY) != KTY_SYMMETRIC or not isinstance(key.get(K), bytes):
        raise KeyFileError(path, "a COSE_Key that is not a symmetric key (kty 4 with k)")
    alg = key.get(ALG)
    if alg is not None and (not isinstance(alg, int | str) or isinstance(alg, bool)):
        # RFC 9052 §7.1: alg is an int or a tstr; an array there was TypeError (unhashable).
        raise KeyFileError(path, f"a COSE_Key whose alg is a {type(alg).__name__}, not an "
                                 "AES key wrap algorithm")
    if alg in _HMAC:
        raise WrongRecipientKey(path, "HMAC secret", "AES key wrap (A128KW, A256KW)")
    if len(key[K]) not in KEK_SIZES.values():
        raise WrongRecipientKey(path, f"{len(key[K])}-byte secret", "AES key wrap (16, 24 or 32 bytes)")
    own_kid = key.get(KID)
    return SoftwareKek(key[K], kid if kid is not None else own_kid if isinstance(own_kid, bytes) else None)


class Pkcs11Kek:
    """An AES KEK inside a token: CKM_AES_KEY_WRAP (RFC 3394) runs on the token.

    The content key enters the token as a session object only for the wrap and is
    destroyed right after; the KEK stays non-extractable.
    """

    def __init__(self, session: Any, key: Any, name: str, kid: bytes | None) -> None:
        self._session, self._key, self._name, self._kid = session, key, name, kid
        size = int(key[Attribute.VALUE_LEN])
        algorithms = {v: k for k, v in KEK_SIZES.items()}
        if size not in algorithms:
            raise WrongRecipientKey(name, f"{size}-byte secret key", "AES key wrap (16, 24 or 32 bytes)")
        self._algorithm = algorithms[size]

    @classmethod
    def open(cls, uri: Pkcs11Uri, pins: PinProvider | None, kid: bytes | None) -> Pkcs11Kek:
        """Log in and find the secret key `uri` names (kid: given, else its CKA_ID)."""
        session = open_session(find_token(load_module(module_path_for(uri)), uri), uri, pins)
        try:
            key = find_key(session, uri, "secret-key")
            with translated("key inspection", uri.redacted()):
                own_id = bytes(key[Attribute.ID])
                return cls(session, key, uri.redacted(), kid if kid is not None else own_id or None)
        except BaseException:
            close_quietly(session)
            raise

    @property
    def algorithm(self) -> CoseAlgorithm:
        return self._algorithm

    @property
    def kid(self) -> bytes | None:
        return self._kid

    def wrap(self, cek: bytes) -> bytes:
        """Wrap `cek` on the token."""
        if self._session is None:
            raise EncryptionError(f"{self._name}: the token session was closed")
        with translated("key wrap", self._name):
            content_key = self._session.create_object({
                Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.KEY_TYPE: KeyType.AES,
                Attribute.VALUE: cek, Attribute.TOKEN: False, Attribute.EXTRACTABLE: True,
                Attribute.SENSITIVE: False})
            try:
                return bytes(self._key.wrap_key(content_key, mechanism=Mechanism.AES_KEY_WRAP))
            finally:
                content_key.destroy()

    def close(self) -> None:
        """Close the token session."""
        if self._session is not None:
            close_quietly(self._session)
            self._session = None



#: What `suitwb keys generate --alg` makes for a recipient: device key kinds and KEK sizes.
DEVICE_KEY_KINDS: Final = {"X25519": "X25519", "ECDH-P256": "P-256", "P-256-ECDH": "P-256"}
KEK_KINDS: Final = {"A128KW": CoseAlgorithm.A128KW, "A192KW": CoseAlgorithm.A192KW,
                    "A256KW": CoseAlgorithm.A256KW}


def new_device_key(kind: str) -> tuple[bytes, bytes]:
    """A device's ECDH key pair (``X25519`` or ``P-256``) as PKCS#8 PEM and public PEM."""
    private: Any = x25519.X25519PrivateKey.generate() if kind == "X25519" \
        else ec.generate_private_key(ec.SECP256R1())
    return (private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()),
            private.public_key().public_bytes(serialization.Encoding.PEM,
                                              serialization.PublicFormat.SubjectPublicKeyInfo))


def new_kek_file(algorithm: CoseAlgorithm, kid: bytes) -> bytes:
    """A fresh KEK as a COSE_Key (RFC 9053 §7.3: kty Symmetric, kid, alg, k)."""
    return cbor.dumps({KTY: KTY_SYMMETRIC, KID: kid, ALG: int(algorithm),
                       K: os.urandom(KEK_SIZES[algorithm])})


def generate_token_kek(uri: Pkcs11Uri, algorithm: CoseAlgorithm, pins: PinProvider | None) -> bytes:
    """Generate an AES KEK inside the token (sensitive, never extractable, wrap/unwrap
    only); returns its CKA_ID, the kid recipients carry."""
    label = uri.object_label
    if label is None:
        raise KeyNotFound(uri.redacted(), "give the new key a label with object=")
    key_id = uri.key_id or os.urandom(8)
    with token_session(uri, pins, rw=True) as session, translated("KEK generation", uri.redacted()):
        session.generate_key(KeyType.AES, KEK_SIZES[algorithm] * 8, id=key_id, label=label, store=True,
                             capabilities=MechanismFlag.WRAP | MechanismFlag.UNWRAP,
                             template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False})
    logger.info("generated %s KEK %r on token %r", algorithm.name, label, uri.token)
    return bytes(key_id)
