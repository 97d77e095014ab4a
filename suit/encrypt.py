"""Payload encryption, the author's side (draft-ietf-suit-firmware-encryption §4–§6).

A fresh content-encryption key (CEK) and IV per payload; the CEK reaches each recipient
wrapped (AES-KW under a shared key-encryption key, or ECDH-ES+A128KW under a key agreed
with the device's public key, P-256 or X25519); the content is AES-CTR, AES-GCM or
ChaCha20/Poly1305. The result is the SUIT_Encryption_Info (a tagged COSE_Encrypt, FE §4)
and the ciphertext, detached (nil in the COSE_Encrypt, delivered by URI or integrated in
the envelope) or embedded in the COSE_Encrypt.

`suit.encryption` is the decrypting side; the COSE_KDF_Context is its `kdf_context`.
Randomness comes through `Randomness` so that the published examples, whose CEK and IV are
stated, can be reproduced byte for byte.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import aes_key_wrap

from suit import cbor
from suit.cose import CoseAlgorithm, CoseEncrypt, CoseHeader, CoseRecipient, CoseTag, encode_protected
from suit.encryption import kdf_context
from suit.errors import ManifestError, UnsupportedAlgorithm
from suit.keys import cose_key_value

#: Content algorithms -> (key bytes, IV bytes). RFC 9053 §4.1 (GCM: 96-bit nonce), §4.3
#: (ChaCha20/Poly1305: 96-bit nonce), RFC 9459 §4 (CTR: the 128-bit initial counter).
CONTENT_ALGORITHMS: Final = {
    CoseAlgorithm.A128CTR: (16, 16), CoseAlgorithm.A192CTR: (24, 16), CoseAlgorithm.A256CTR: (32, 16),
    CoseAlgorithm.A128GCM: (16, 12), CoseAlgorithm.A192GCM: (24, 12), CoseAlgorithm.A256GCM: (32, 12),
    CoseAlgorithm.CHACHA20_POLY1305: (32, 12)}
_CTR: Final = frozenset({CoseAlgorithm.A128CTR, CoseAlgorithm.A192CTR, CoseAlgorithm.A256CTR})
#: AES-KW key-encryption key sizes (RFC 9053 §6.2.1).
KEK_SIZES: Final = {CoseAlgorithm.A128KW: 16, CoseAlgorithm.A192KW: 24, CoseAlgorithm.A256KW: 32}
# COSE_Key members for an X25519 key (RFC 9053 §7.2: kty OKP, crv X25519 = 4).
_KTY, _CRV, _X, _KTY_OKP, _CRV_X25519 = 1, -1, -2, 1, 4

DevicePublicKey = ec.EllipticCurvePublicKey | x25519.X25519PublicKey


class EncryptionError(ManifestError):
    """A payload that cannot be encrypted as asked (a key of the wrong size or kind)."""

    default_hint = "Check the recipients' keys against the profile (docs/project-format.md)."


class KeyWrapper(Protocol):
    """Wraps a content key for one recipient under a shared key-encryption key (AES-KW).

    Software keys and PKCS#11 tokens (the KEK never leaves the token) both satisfy it.
    """

    @property
    def algorithm(self) -> CoseAlgorithm:
        """A128KW, A192KW or A256KW."""
        ...

    @property
    def kid(self) -> bytes | None:
        """The key id the device finds its KEK by."""
        ...

    def wrap(self, cek: bytes) -> bytes:
        """RFC 3394 key wrap of `cek`."""
        ...


@dataclass(frozen=True)
class SoftwareKek:
    """A KEK held in memory (read from a key file)."""

    kek: bytes
    kid: bytes | None = None

    @property
    def algorithm(self) -> CoseAlgorithm:
        for alg, size in KEK_SIZES.items():
            if size == len(self.kek):
                return alg
        raise EncryptionError(f"a {len(self.kek)}-byte key is not an AES-KW key (16, 24 or 32)")

    def wrap(self, cek: bytes) -> bytes:
        return aes_key_wrap(self.kek, cek)


@dataclass(frozen=True)
class DeviceKey:
    """A device's public key for ECDH-ES+A128KW (FE §5): P-256 or X25519."""

    public_key: DevicePublicKey
    kid: bytes | None = None


Recipient = KeyWrapper | DeviceKey


@dataclass
class Randomness:
    """Where the fresh values come from: the OS, unless a test states them (the published
    examples give the CEK and IV; their ECDH ephemeral keys are not published)."""

    cek: bytes | None = None
    iv: bytes | None = None
    ephemeral: Callable[[DevicePublicKey], Any] | None = None
    random: Callable[[int], bytes] = field(default=os.urandom)


@dataclass(frozen=True)
class EncryptedPayload:
    """The encryption info (tagged COSE_Encrypt bytes) and the ciphertext.

    Attributes:
        info: SUIT_Encryption_Info, the value of suit-parameter-encryption-info.
        ciphertext: The encrypted payload (also inside `info` when not detached).
        message: `info` as a structure.
    """

    info: bytes
    ciphertext: bytes
    message: CoseEncrypt


def encrypt(plaintext: bytes, algorithm: CoseAlgorithm, recipients: Sequence[Recipient], *,
            detached: bool = True, randomness: Randomness | None = None) -> EncryptedPayload:
    """Encrypt a payload for `recipients` with a fresh CEK (FE §4).

    Raises:
        EncryptionError: no recipients, or a recipient key that cannot be used.
        UnsupportedAlgorithm: a content algorithm this module does not implement.
    """
    setup = prepare(algorithm, recipients, randomness)
    ciphertext = _encrypt_content(algorithm, setup.cek, setup.iv, plaintext, setup.protected)
    message = CoseEncrypt(setup.protected, setup.unprotected, None if detached else ciphertext,
                          setup.recipients)
    return EncryptedPayload(encode_encryption_info(message), ciphertext, message)


@dataclass(frozen=True)
class Setup:
    """What one payload's encryption fixes before any content: the fresh CEK and IV, the
    content headers and the recipients (each holding the wrapped CEK)."""

    algorithm: CoseAlgorithm
    cek: bytes
    iv: bytes
    protected: bytes
    unprotected: dict[int, Any]
    recipients: tuple[CoseRecipient, ...]

    def detached_info(self) -> bytes:
        """The SUIT_Encryption_Info with a detached (nil) ciphertext."""
        return encode_encryption_info(CoseEncrypt(self.protected, self.unprotected, None, self.recipients))


def prepare(algorithm: CoseAlgorithm, recipients: Sequence[Recipient],
            randomness: Randomness | None = None) -> Setup:
    """A fresh CEK and IV, wrapped for every recipient (FE §4, §5).

    Raises:
        EncryptionError: no recipients, or a recipient key that cannot be used.
        UnsupportedAlgorithm: a content algorithm this module does not implement.
    """
    if algorithm not in CONTENT_ALGORITHMS:
        raise UnsupportedAlgorithm("encryption", algorithm)
    if not recipients:
        raise EncryptionError("an encrypted payload needs at least one recipient",
                              hint="Give recipients = [...] (device keys or KEKs).")
    rng = randomness or Randomness()
    key_size, iv_size = CONTENT_ALGORITHMS[algorithm]
    cek = rng.cek if rng.cek is not None else rng.random(key_size)
    iv = rng.iv if rng.iv is not None else rng.random(iv_size)
    if len(cek) != key_size or len(iv) != iv_size:
        raise EncryptionError(f"{algorithm.name} needs a {key_size}-byte key and a {iv_size}-byte IV")
    protected, unprotected = _content_headers(algorithm, iv)
    return Setup(algorithm, cek, iv, protected, unprotected,
                 tuple(_recipient(r, cek, rng) for r in recipients))


def encode_encryption_info(message: CoseEncrypt) -> bytes:
    """A COSE_Encrypt as tagged CBOR (tag 96: SUIT uses tagged messages only, MTI §3)."""
    return cbor.dumps(cbor.CBORTag(CoseTag.ENCRYPT, [
        message.protected, dict(message.unprotected), message.ciphertext,
        [[r.protected, dict(r.unprotected), r.ciphertext] for r in message.recipients]]))


def _content_headers(algorithm: CoseAlgorithm, iv: bytes) -> tuple[bytes, dict[int, Any]]:
    # RFC 9459 §4 / FE §6.2: AES-CTR gives no integrity, so nothing is protected and the
    # alg sits in the unprotected header (as the FE AES-CTR examples carry it); the AEADs
    # protect their alg (FE §6.1 examples: protected << {1: 1} >>, IV unprotected).
    if algorithm in _CTR:
        return b"", {CoseHeader.ALG: int(algorithm), CoseHeader.IV: iv}
    return encode_protected({CoseHeader.ALG: int(algorithm)}), {CoseHeader.IV: iv}


def _encrypt_content(algorithm: CoseAlgorithm, cek: bytes, iv: bytes, plaintext: bytes,
                     protected: bytes) -> bytes:
    if algorithm in _CTR:
        encryptor = Cipher(algorithms.AES(cek), modes.CTR(iv)).encryptor()
        return encryptor.update(plaintext) + encryptor.finalize()
    # RFC 9052 §5.3: AAD = Enc_structure ["Encrypt", protected, external_aad = h''].
    aad = cbor.dumps(["Encrypt", protected, b""])
    if algorithm == CoseAlgorithm.CHACHA20_POLY1305:
        return ChaCha20Poly1305(cek).encrypt(iv, plaintext, aad)
    return AESGCM(cek).encrypt(iv, plaintext, aad)


def _recipient(recipient: Recipient, cek: bytes, rng: Randomness) -> CoseRecipient:
    if isinstance(recipient, DeviceKey):
        return _ecdh_recipient(recipient, cek, rng)
    unprotected: dict[int, Any] = {CoseHeader.ALG: int(recipient.algorithm)}
    if recipient.kid is not None:
        unprotected[CoseHeader.KID] = recipient.kid
    # FE §5.1: AES-KW recipient, empty protected header.
    return CoseRecipient(b"", unprotected, recipient.wrap(cek))


def _ecdh_recipient(device: DeviceKey, cek: bytes, rng: Randomness) -> CoseRecipient:
    """FE §5.2: an ephemeral key pair per recipient; KEK = HKDF-SHA256(Z, COSE_KDF_Context)."""
    ephemeral = rng.ephemeral(device.public_key) if rng.ephemeral else _new_ephemeral(device.public_key)
    protected = encode_protected({CoseHeader.ALG: int(CoseAlgorithm.ECDH_ES_A128KW)})
    shared = _agree(ephemeral, device.public_key)
    kek = HKDF(hashes.SHA256(), 16, salt=None,
               info=kdf_context(int(CoseAlgorithm.A128KW), protected)).derive(shared)
    unprotected: dict[int, Any] = {CoseHeader.EPHEMERAL_KEY: ephemeral_cose_key(ephemeral.public_key())}
    if device.kid is not None:
        unprotected[CoseHeader.KID] = device.kid
    return CoseRecipient(protected, unprotected, aes_key_wrap(kek, cek))


def _new_ephemeral(public_key: DevicePublicKey) -> Any:
    if isinstance(public_key, x25519.X25519PublicKey):
        return x25519.X25519PrivateKey.generate()
    if not isinstance(public_key.curve, ec.SECP256R1):
        raise EncryptionError(f"ECDH-ES+A128KW with a {public_key.curve.name} key",
                              hint="Give the device's P-256 or X25519 public key.")
    return ec.generate_private_key(ec.SECP256R1())


def _agree(ephemeral: Any, public_key: DevicePublicKey) -> bytes:
    if isinstance(public_key, x25519.X25519PublicKey):
        if not isinstance(ephemeral, x25519.X25519PrivateKey):
            raise EncryptionError("the ephemeral key is not an X25519 key")
        return ephemeral.exchange(public_key)
    if not isinstance(ephemeral, ec.EllipticCurvePrivateKey):
        raise EncryptionError("the ephemeral key is not an EC key")
    return ephemeral.exchange(ec.ECDH(), public_key)


def ephemeral_cose_key(public_key: Any) -> dict[int, Any]:
    """The ephemeral public key as a COSE_Key (RFC 9053 §7.1 EC2, §7.2 OKP X25519)."""
    if isinstance(public_key, x25519.X25519PublicKey):
        raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {_KTY: _KTY_OKP, _CRV: _CRV_X25519, _X: raw}
    return cose_key_value(public_key)
