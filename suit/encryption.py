"""Payload decryption (draft-ietf-suit-firmware-encryption §4–§6).

SUIT_Encryption_Info is a COSE_Encrypt (tag 96) whose recipients carry the content key:
wrapped with AES-KW under a shared key-encryption key, or with ECDH-ES+AES-KW, where the
key-encryption key comes from HKDF-SHA256 over the ECDH secret and a COSE_KDF_Context.
Content is AES-GCM (AAD: Enc_structure) or AES-CTR (no integrity: the manifest must give
an image digest, FE §6.2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap

from suit import cbor
from suit.cose import CoseAlgorithm, CoseEncrypt, CoseHeader, CoseRecipient, decode_cose
from suit.errors import ManifestError, UnsupportedAlgorithm

_KEY_WRAP_BITS: Final = {CoseAlgorithm.A128KW: 128, CoseAlgorithm.A192KW: 192, CoseAlgorithm.A256KW: 256}
_ECDH_WRAP: Final = {CoseAlgorithm.ECDH_ES_A128KW: CoseAlgorithm.A128KW,
                     CoseAlgorithm.ECDH_ES_A192KW: CoseAlgorithm.A192KW,
                     CoseAlgorithm.ECDH_ES_A256KW: CoseAlgorithm.A256KW}
_GCM: Final = frozenset({CoseAlgorithm.A128GCM, CoseAlgorithm.A192GCM, CoseAlgorithm.A256GCM})
_CTR: Final = frozenset({CoseAlgorithm.A128CTR, CoseAlgorithm.A192CTR, CoseAlgorithm.A256CTR})
KDF_OTHER: Final = b"SUIT Payload Encryption"  # FE §5.2: SuppPubInfo.other


class DecryptionError(ManifestError):
    """A payload that cannot be decrypted with the keys given.

    Attributes:
        reason: Why (no matching recipient, unwrap failed, authentication tag wrong).
    """

    default_hint = "Check that the device's decryption key matches the envelope's recipient."

    def __init__(self, reason: str) -> None:
        super().__init__(f"cannot decrypt the payload: {reason}")
        self.reason = reason


@dataclass(frozen=True)
class RecipientKey:
    """A key a recipient holds: an AES-KW key-encryption key, or an EC private key."""

    kid: bytes | None = None
    kek: bytes | None = None
    private_key: ec.EllipticCurvePrivateKey | None = None


def kdf_context(wrap_alg: int, recipient_protected: bytes) -> bytes:
    """The COSE_KDF_Context for an ECDH-ES+AES-KW recipient (FE §5.2, RFC 9053 §5.2)."""
    bits = _KEY_WRAP_BITS[CoseAlgorithm(wrap_alg)]
    return cbor.dumps([wrap_alg, [None, None, None], [None, None, None],
                       [bits, recipient_protected, KDF_OTHER]])


def decrypt(info: CoseEncrypt | bytes, keys: Sequence[RecipientKey], ciphertext: bytes | None = None) -> bytes:
    """Decrypt a payload.

    Args:
        info: The SUIT_Encryption_Info (parameter 19), decoded or as bytes.
        keys: The keys this recipient holds.
        ciphertext: The detached ciphertext; None when it travels inside `info`.

    Raises:
        DecryptionError: no recipient could be unwrapped, or the content does not decrypt.
        UnsupportedAlgorithm: an algorithm this processor does not implement.
    """
    message = decode_cose(info, "encryption-info") if isinstance(info, bytes) else info
    if not isinstance(message, CoseEncrypt):
        raise DecryptionError("encryption info is not a COSE_Encrypt")
    data = ciphertext if ciphertext is not None else message.ciphertext
    if data is None:
        raise DecryptionError("no ciphertext: it is detached and none was given")
    cek = _content_key(message.recipients, keys)
    return _decrypt_content(message, cek, data)


def _content_key(recipients: Sequence[CoseRecipient], keys: Sequence[RecipientKey]) -> bytes:
    reasons = []
    for recipient in recipients:
        for key in keys:
            if recipient.kid is not None and key.kid is not None and recipient.kid != key.kid:
                continue
            try:
                cek = _unwrap(recipient, key)
            except (InvalidUnwrap, ValueError) as exc:
                reasons.append(f"{recipient.kid!r}: {exc or 'unwrap failed'}")
                continue
            if cek is not None:
                return cek
    raise DecryptionError("; ".join(reasons) or "no key matches any recipient")


def _unwrap(recipient: CoseRecipient, key: RecipientKey) -> bytes | None:
    alg = recipient.algorithm
    wrapped = recipient.ciphertext or b""
    if alg in _KEY_WRAP_BITS and key.kek is not None:
        return aes_key_unwrap(key.kek, wrapped)
    if alg in _ECDH_WRAP and key.private_key is not None:
        wrap_alg = _ECDH_WRAP[alg]
        kek = HKDF(hashes.SHA256(), _KEY_WRAP_BITS[wrap_alg] // 8, salt=None,
                   info=kdf_context(wrap_alg, recipient.protected)).derive(
            key.private_key.exchange(ec.ECDH(), _ephemeral_key(recipient)))
        return aes_key_unwrap(kek, wrapped)
    if alg not in _KEY_WRAP_BITS and alg not in _ECDH_WRAP:
        raise UnsupportedAlgorithm("key wrap", alg)
    return None


def _ephemeral_key(recipient: CoseRecipient) -> ec.EllipticCurvePublicKey:
    from suit.keys import TrustAnchor
    value: Any = recipient.header(CoseHeader.EPHEMERAL_KEY)
    if not hasattr(value, "items"):
        raise DecryptionError("ECDH recipient without an ephemeral key")
    anchor = TrustAnchor.from_cose_key(cbor.dumps(dict(value)), "ephemeral key")
    if not isinstance(anchor.public_key, ec.EllipticCurvePublicKey):
        raise DecryptionError("ephemeral key is not an EC2 key")
    return anchor.public_key


def _decrypt_content(message: CoseEncrypt, cek: bytes, data: bytes) -> bytes:
    alg, iv = message.algorithm, message.header(CoseHeader.IV)
    if not isinstance(iv, bytes):
        raise DecryptionError("no IV in the encryption info")
    if alg in _GCM:
        aad = cbor.dumps(["Encrypt", message.protected, b""])
        try:
            return AESGCM(cek).decrypt(iv, data, aad)
        except InvalidTag as exc:
            raise DecryptionError("authentication tag does not match (tampered or wrong key)") from exc
    if alg in _CTR:
        decryptor = Cipher(algorithms.AES(cek), modes.CTR(iv)).decryptor()
        return decryptor.update(data) + decryptor.finalize()
    raise UnsupportedAlgorithm("encryption", alg)
