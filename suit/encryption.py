"""Payload decryption (draft-ietf-suit-firmware-encryption §4–§6), in bounded chunks.

SUIT_Encryption_Info is a COSE_Encrypt (tag 96) whose recipients carry the content key:
wrapped with AES-KW under a shared key-encryption key, or with ECDH-ES+AES-KW (P-256 or
X25519), where the key-encryption key comes from HKDF-SHA256 over the ECDH secret and a
COSE_KDF_Context. Content is AES-GCM or ChaCha20-Poly1305 (AAD: Enc_structure, the tag at
the end of the ciphertext) or AES-CTR (no integrity: the manifest must give an image
digest, FE §6.2).

`open_decryptor` unwraps the content key and returns a `ContentDecryptor` whose
update()/finalize() take the ciphertext in chunks of any size, holding back only the
16-byte tag: memory stays bounded whatever the payload's size. For the AEAD modes the
plaintext that update() returns is NOT authenticated until finalize() returns; a caller
must not use it (activate it) before then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap

from suit import cbor
from suit.content_ciphers import TAG_LENGTH, StreamCipher, open_cipher
from suit.cose import CoseAlgorithm, CoseEncrypt, CoseHeader, CoseRecipient, decode_cose
from suit.errors import ManifestError, UnsupportedAlgorithm

_KEY_WRAP_BITS: Final = {CoseAlgorithm.A128KW: 128, CoseAlgorithm.A192KW: 192, CoseAlgorithm.A256KW: 256}
_ECDH_WRAP: Final = {CoseAlgorithm.ECDH_ES_A128KW: CoseAlgorithm.A128KW,
                     CoseAlgorithm.ECDH_ES_A192KW: CoseAlgorithm.A192KW,
                     CoseAlgorithm.ECDH_ES_A256KW: CoseAlgorithm.A256KW}
KDF_OTHER: Final = b"SUIT Payload Encryption"  # FE §5.2: SuppPubInfo.other
_OKP: Final = 1  # RFC 9053 §7.2: kty OKP
_X25519: Final = 4  # RFC 9053 §7.1: crv X25519

PrivateKey = ec.EllipticCurvePrivateKey | x25519.X25519PrivateKey


class DecryptionError(ManifestError):
    """A payload that cannot be decrypted with the keys given.

    Attributes:
        reason: Why (no matching recipient, unwrap failed, authentication tag wrong).
    """

    default_hint = "Check that the device's decryption key matches the envelope's recipient."

    def __init__(self, reason: str) -> None:
        super().__init__(f"cannot decrypt the payload: {reason}")
        self.reason = reason


class WrongKey(DecryptionError):
    """No recipient's content key unwraps with any key held (FE §5: wrong or absent key)."""


class ContentTampered(DecryptionError):
    """The AEAD tag does not match: the ciphertext, the tag or the protected header changed
    (or the content key is not the one the author used)."""

    default_hint = "The encrypted payload was altered in transit or storage; fetch it again."


class KeyUnwrapper(Protocol):
    """A key-encryption key that never leaves its store (a PKCS#11 token): it unwraps.

    `unwrap` returns the content key, or raises `DecryptionError` when this key does not
    unwrap `wrapped` (RFC 3394 integrity check failed).
    """

    def unwrap(self, algorithm: int, wrapped: bytes) -> bytes: ...


@dataclass(frozen=True)
class RecipientKey:
    """A key a recipient holds: an AES-KW key-encryption key (its bytes, or a store that
    unwraps with it), or a P-256 / X25519 private key for ECDH-ES."""

    kid: bytes | None = None
    kek: bytes | None = None
    private_key: PrivateKey | None = None
    unwrapper: KeyUnwrapper | None = None


def kdf_context(wrap_alg: int, recipient_protected: bytes) -> bytes:
    """The COSE_KDF_Context for an ECDH-ES+AES-KW recipient (FE §5.2, RFC 9053 §5.2)."""
    bits = _KEY_WRAP_BITS[CoseAlgorithm(wrap_alg)]
    return cbor.dumps([wrap_alg, [None, None, None], [None, None, None],
                       [bits, recipient_protected, KDF_OTHER]])


class ContentDecryptor:
    """Decrypts one payload in chunks; finalize() checks the tag of the AEAD modes.

    When the ciphertext's size is known (`ciphertext_size`, as a device knows it from the
    bytes it fetched), chunks go to the cipher as they are and only the chunk holding the
    tag is split; otherwise the last `tag_length` bytes seen are held back, at the cost of
    one copy per chunk.

    Attributes:
        algorithm: The content-encryption algorithm (COSE id).
        tag_length: Bytes of tag at the end of the ciphertext (0 for AES-CTR).
    """

    def __init__(self, cipher: StreamCipher, algorithm: int,
                 ciphertext_size: int | None = None) -> None:
        self._cipher = cipher
        self.algorithm = algorithm
        self.tag_length = TAG_LENGTH.get(CoseAlgorithm(algorithm), 0)
        self._tail = b""  # the tag, or the last tag_length bytes seen: perhaps the tag
        self._body_left = None if ciphertext_size is None or not self.tag_length \
            else self.plaintext_size(ciphertext_size)

    def plaintext_size(self, ciphertext_size: int) -> int:
        """How many plaintext bytes `ciphertext_size` bytes of ciphertext hold."""
        if ciphertext_size < self.tag_length:
            raise DecryptionError(f"{ciphertext_size}-byte ciphertext is shorter than its "
                                  f"{self.tag_length}-byte tag")
        return ciphertext_size - self.tag_length

    def update(self, data: bytes) -> bytes:
        """Plaintext of `data` (less the bytes that are, or may be, the tag)."""
        if not self.tag_length:
            return self._cipher.update(data)
        if self._body_left is not None:
            return self._update_sized(data)
        if len(data) >= self.tag_length:  # the held-back bytes were not the tag after all
            view, held = memoryview(data), self._tail
            self._tail = bytes(view[-self.tag_length:])
            return self._cipher.update(held) + self._cipher.update(view[:-self.tag_length])
        joined = self._tail + data  # short input: at most 2 x tag_length bytes
        self._tail = joined[-self.tag_length:]
        return self._cipher.update(joined[:-self.tag_length] if len(joined) > self.tag_length
                                   else b"")

    def _update_sized(self, data: bytes) -> bytes:
        assert self._body_left is not None  # noqa: S101 - the caller checked
        if len(data) <= self._body_left:  # the common case: no copy at all
            self._body_left -= len(data)
            return self._cipher.update(data)
        view = memoryview(data)
        body, self._body_left = view[:self._body_left], 0
        self._tail += bytes(view[len(body):])
        if len(self._tail) > self.tag_length:
            raise DecryptionError("more ciphertext than its stated size")
        return self._cipher.update(body)

    def finalize(self) -> bytes:
        """The last plaintext bytes; raises `ContentTampered` if the tag does not match."""
        if len(self._tail) < self.tag_length or self._body_left:
            raise ContentTampered("the ciphertext ends before its authentication tag")
        try:
            return self._cipher.finalize(self._tail)
        except (InvalidTag, InvalidSignature) as exc:
            raise ContentTampered("authentication tag does not match (tampered or wrong "
                                  "key)") from exc


def open_decryptor(info: CoseEncrypt | bytes, keys: Sequence[RecipientKey],
                   ciphertext_size: int | None = None) -> ContentDecryptor:
    """Unwrap the content key of `info` and start decrypting (`ciphertext_size`, the tag
    included, when known: then no chunk is copied).

    Raises:
        WrongKey: no recipient could be unwrapped with `keys`.
        DecryptionError: the encryption info is malformed (no IV, wrong key length).
        UnsupportedAlgorithm: an algorithm this processor does not implement.
    """
    message = _message(info)
    cek = _content_key(message.recipients, keys)
    aad = cbor.dumps(["Encrypt", message.protected, b""])  # RFC 9052 §5.3 Enc_structure
    iv = message.header(CoseHeader.IV)
    if not isinstance(iv, bytes):
        raise DecryptionError("no IV in the encryption info")
    try:
        cipher = open_cipher(message.algorithm, cek, iv, aad)
    except ValueError as exc:  # cryptography's own refusal of a key or IV length
        raise DecryptionError(str(exc)) from exc
    return ContentDecryptor(cipher, message.algorithm, ciphertext_size)


def decrypt(info: CoseEncrypt | bytes, keys: Sequence[RecipientKey], ciphertext: bytes | None = None) -> bytes:
    """Decrypt a payload held in memory (one update over `open_decryptor`).

    Args:
        info: The SUIT_Encryption_Info (parameter 19), decoded or as bytes.
        keys: The keys this recipient holds.
        ciphertext: The detached ciphertext; None when it travels inside `info`.

    Raises:
        DecryptionError: no recipient could be unwrapped, or the content does not decrypt.
        UnsupportedAlgorithm: an algorithm this processor does not implement.
    """
    message = _message(info)
    data = ciphertext if ciphertext is not None else message.ciphertext
    if data is None:
        raise DecryptionError("no ciphertext: it is detached and none was given")
    decryptor = open_decryptor(message, keys, len(data))
    return decryptor.update(data) + decryptor.finalize()


def _message(info: CoseEncrypt | bytes) -> CoseEncrypt:
    message = decode_cose(info, "encryption-info") if isinstance(info, bytes) else info
    if not isinstance(message, CoseEncrypt):
        raise DecryptionError("encryption info is not a COSE_Encrypt")
    return message


def _content_key(recipients: Sequence[CoseRecipient], keys: Sequence[RecipientKey]) -> bytes:
    reasons = []
    for recipient in recipients:
        for key in keys:
            if recipient.kid is not None and key.kid is not None and recipient.kid != key.kid:
                continue
            try:
                cek = _unwrap(recipient, key)
            except (InvalidUnwrap, ValueError, DecryptionError) as exc:
                why = exc.reason if isinstance(exc, DecryptionError) else str(exc)
                reasons.append(f"recipient {_name(recipient)}: {why or 'unwrap failed'}")
                continue
            if cek is not None:
                return cek
    raise WrongKey("no recipient's content key unwraps with the keys held"
                   + (f" ({'; '.join(reasons)})" if reasons else ""))


def _name(recipient: CoseRecipient) -> str:
    kid = recipient.kid
    return repr(kid.decode("ascii", "replace")) if isinstance(kid, bytes) else "without kid"


def _unwrap(recipient: CoseRecipient, key: RecipientKey) -> bytes | None:
    alg = recipient.algorithm
    wrapped = recipient.ciphertext or b""
    if alg in _KEY_WRAP_BITS:
        return _unwrap_kw(CoseAlgorithm(alg), key, wrapped)
    if alg in _ECDH_WRAP and key.private_key is not None:
        secret = _agree(key.private_key, recipient)
        if secret is None:
            return None  # a key on another curve: not for this recipient
        wrap_alg = _ECDH_WRAP[CoseAlgorithm(alg)]
        kek = HKDF(hashes.SHA256(), _KEY_WRAP_BITS[wrap_alg] // 8, salt=None,
                   info=kdf_context(wrap_alg, recipient.protected)).derive(secret)
        return aes_key_unwrap(kek, wrapped)
    if alg not in _ECDH_WRAP:
        raise UnsupportedAlgorithm("key wrap", alg)
    return None


def _unwrap_kw(alg: CoseAlgorithm, key: RecipientKey, wrapped: bytes) -> bytes | None:
    if key.unwrapper is not None:
        return key.unwrapper.unwrap(alg, wrapped)
    # FE §5.1: the KEK's size is the algorithm's; a KEK of another size is another key.
    if key.kek is None or len(key.kek) * 8 != _KEY_WRAP_BITS[alg]:
        return None
    return aes_key_unwrap(key.kek, wrapped)


def _agree(private_key: PrivateKey, recipient: CoseRecipient) -> bytes | None:
    """The ECDH shared secret with the recipient's ephemeral key, or None when the
    ephemeral key is on another curve than `private_key`."""
    value: Any = recipient.header(CoseHeader.EPHEMERAL_KEY)
    if not hasattr(value, "items"):
        raise DecryptionError("ECDH recipient without an ephemeral key")
    cose_key = dict(value)
    if cose_key.get(1) == _OKP:
        if not isinstance(private_key, x25519.X25519PrivateKey):
            return None
        try:
            return private_key.exchange(_x25519_public(cose_key))
        except ValueError:  # the library's refusal of an all-zero result
            # RFC 7748 §6.1: a low-order public key gives the all-zero shared secret, which
            # must be refused (it would make the KEK one anybody can compute).
            raise DecryptionError("ephemeral X25519 key of low order (all-zero shared "
                                  "secret, RFC 7748 §6.1)") from None
    if not isinstance(private_key, ec.EllipticCurvePrivateKey):
        return None
    public = _ec_public(cose_key)
    if public.curve.name != private_key.curve.name:
        return None
    return private_key.exchange(ec.ECDH(), public)


def _x25519_public(cose_key: dict[Any, Any]) -> x25519.X25519PublicKey:
    x = cose_key.get(-2)
    if cose_key.get(-1) != _X25519 or not isinstance(x, bytes) or len(x) != 32:
        raise DecryptionError("ephemeral OKP key is not a 32-byte X25519 key")
    return x25519.X25519PublicKey.from_public_bytes(x)


def _ec_public(cose_key: dict[Any, Any]) -> ec.EllipticCurvePublicKey:
    from suit.keys import TrustAnchor
    anchor = TrustAnchor.from_cose_key(cbor.dumps(cose_key), "ephemeral key")
    if not isinstance(anchor.public_key, ec.EllipticCurvePublicKey):
        raise DecryptionError("ephemeral key is not an EC2 key")
    return anchor.public_key
