"""The content-encryption ciphers of SUIT payloads as streams (FE §6, RFC 9053 §4, RFC 8439).

Each `StreamCipher` takes ciphertext in chunks (update) and the tag at the end (finalize).
AES-GCM uses `cryptography`'s streaming GCM mode. `cryptography` offers ChaCha20-Poly1305
only as a one-shot AEAD, which would need the whole payload in memory; so it is composed
here from its ChaCha20 stream cipher and its Poly1305 MAC exactly as RFC 8439 §2.8 defines
the AEAD (and checked against the one-shot AEAD in tests): memory stays bounded for every
mode, with no maximum payload size.
"""

from __future__ import annotations

from typing import Final, Protocol

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.poly1305 import Poly1305

from suit.cose import CoseAlgorithm
from suit.errors import UnsupportedAlgorithm

#: The tag each AEAD appends to its ciphertext (RFC 9053 §4.1: 128-bit GCM tags; §4.3).
TAG_LENGTH: Final = {CoseAlgorithm.A128GCM: 16, CoseAlgorithm.A192GCM: 16,
                     CoseAlgorithm.A256GCM: 16, CoseAlgorithm.CHACHA20_POLY1305: 16}
_KEY_BYTES: Final = {CoseAlgorithm.A128GCM: 16, CoseAlgorithm.A192GCM: 24,
                     CoseAlgorithm.A256GCM: 32, CoseAlgorithm.A128CTR: 16,
                     CoseAlgorithm.A192CTR: 24, CoseAlgorithm.A256CTR: 32,
                     CoseAlgorithm.CHACHA20_POLY1305: 32}
_GCM: Final = frozenset({CoseAlgorithm.A128GCM, CoseAlgorithm.A192GCM, CoseAlgorithm.A256GCM})
_CTR: Final = frozenset({CoseAlgorithm.A128CTR, CoseAlgorithm.A192CTR, CoseAlgorithm.A256CTR})


class StreamCipher(Protocol):
    """Decrypts a payload chunk by chunk; `finalize` checks the tag (if the mode has one)."""

    def update(self, data: bytes | memoryview) -> bytes: ...

    def finalize(self, tag: bytes) -> bytes:
        """The remaining plaintext. Raises InvalidTag or InvalidSignature on a bad tag."""
        ...


def open_cipher(algorithm: int, key: bytes, iv: bytes, aad: bytes) -> StreamCipher:
    """A decrypting stream for `algorithm` (a COSE content-encryption id).

    Raises:
        UnsupportedAlgorithm: not AES-GCM, AES-CTR or ChaCha20-Poly1305.
        ValueError: a key or IV of the wrong length for the algorithm.
    """
    if algorithm not in _KEY_BYTES:
        raise UnsupportedAlgorithm("encryption", algorithm)
    if len(key) != _KEY_BYTES[CoseAlgorithm(algorithm)]:
        raise ValueError(f"content key of {len(key)} bytes for algorithm {algorithm}")
    if algorithm in _GCM:
        return _Gcm(key, iv, aad)
    if algorithm in _CTR:
        return _Ctr(key, iv)
    return ChaChaPoly(key, iv, aad)


class _Ctr:
    """AES-CTR: the IV is the initial 128-bit counter block (FE §6.2)."""

    def __init__(self, key: bytes, iv: bytes) -> None:
        if len(iv) != 16:
            raise ValueError(f"AES-CTR needs a 16-byte IV, not {len(iv)}")
        self._context = Cipher(algorithms.AES(key), modes.CTR(iv)).decryptor()

    def update(self, data: bytes | memoryview) -> bytes:
        return self._context.update(data)

    def finalize(self, tag: bytes) -> bytes:
        return self._context.finalize()


class _Gcm:
    """AES-GCM with the Enc_structure as AAD (RFC 9053 §4.1)."""

    def __init__(self, key: bytes, iv: bytes, aad: bytes) -> None:
        if len(iv) != 12:
            raise ValueError(f"AES-GCM needs a 12-byte IV, not {len(iv)}")
        self._context = Cipher(algorithms.AES(key), modes.GCM(iv)).decryptor()
        self._context.authenticate_additional_data(aad)

    def update(self, data: bytes | memoryview) -> bytes:
        return self._context.update(data)

    def finalize(self, tag: bytes) -> bytes:
        return self._context.finalize_with_tag(tag)


class ChaChaPoly:
    """ChaCha20-Poly1305 (RFC 8439 §2.8) as a stream: the one-time Poly1305 key is block 0
    of the keystream, the content is block 1 on, and the MAC covers
    AAD | pad16 | ciphertext | pad16 | le64(len AAD) | le64(len ciphertext)."""

    def __init__(self, key: bytes, nonce: bytes, aad: bytes) -> None:
        if len(nonce) != 12:
            raise ValueError(f"ChaCha20-Poly1305 needs a 12-byte nonce, not {len(nonce)}")
        # cryptography's ChaCha20 takes a 16-byte nonce: a 32-bit little-endian block
        # counter, then the 96-bit nonce (RFC 8439 §2.3).
        block0 = Cipher(algorithms.ChaCha20(key, bytes(4) + nonce), None).encryptor()
        self._mac = Poly1305(block0.update(bytes(32)))
        self._mac.update(aad + _pad16(len(aad)))
        self._stream = Cipher(algorithms.ChaCha20(key, (1).to_bytes(4, "little") + nonce),
                              None).decryptor()
        self._aad_length, self._length = len(aad), 0

    def update(self, data: bytes | memoryview) -> bytes:
        self._mac.update(data)
        self._length += len(data)
        return self._stream.update(data)

    def finalize(self, tag: bytes) -> bytes:
        self._mac.update(_pad16(self._length) + self._aad_length.to_bytes(8, "little")
                         + self._length.to_bytes(8, "little"))
        self._mac.verify(tag)  # raises InvalidSignature
        return self._stream.finalize()


def _pad16(length: int) -> bytes:
    return bytes(-length % 16)
