"""Encrypting a detached payload chunk by chunk, in constant memory (a 1 GiB image never
needs to be held): the same bytes as `suit.encrypt.encrypt` for the same CEK and IV.

AES-CTR and AES-GCM stream through `cryptography`'s ciphers. `cryptography` has no
streaming ChaCha20/Poly1305 AEAD, so it is composed from its ChaCha20 and Poly1305 exactly
as RFC 8439 §2.8 builds the AEAD (the one-time Poly1305 key from block 0, the content from
block 1, the MAC over padded AAD and ciphertext and their lengths); the tests check it
against `cryptography`'s one-shot ChaCha20Poly1305.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Final

from cryptography.hazmat.primitives import poly1305
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from suit import cbor
from suit.cose import CoseAlgorithm
from suit.encrypt import Randomness, Recipient, Setup, prepare

_CTR: Final = frozenset({CoseAlgorithm.A128CTR, CoseAlgorithm.A192CTR, CoseAlgorithm.A256CTR})
_GCM: Final = frozenset({CoseAlgorithm.A128GCM, CoseAlgorithm.A192GCM, CoseAlgorithm.A256GCM})


class StreamEncryptor:
    """Encrypts one detached payload: `info` first, then `update` per chunk, then `finalize`
    (the AEAD tag, appended to the ciphertext as COSE does, RFC 9052 §5.3)."""

    def __init__(self, algorithm: CoseAlgorithm, recipients: Sequence[Recipient],
                 randomness: Randomness | None = None, *, setup: Setup | None = None) -> None:
        """A fresh CEK and IV for `recipients`; or, with `setup`, those of an earlier pass
        (the same key and IV give the same ciphertext again, so a second pass can write
        what the first only digested)."""
        self.setup: Setup = setup if setup is not None else prepare(algorithm, recipients, randomness)
        self.info: bytes = self.setup.detached_info()
        aad = cbor.dumps(["Encrypt", self.setup.protected, b""])  # Enc_structure
        self._content = _content(self.setup, aad)
        self.size = 0

    def update(self, chunk: bytes) -> bytes:
        """The ciphertext of the next plaintext chunk."""
        self.size += len(chunk)
        out: bytes = self._content.update(chunk)
        return out

    def finalize(self) -> bytes:
        """The last ciphertext bytes: the tag for AES-GCM and ChaCha20/Poly1305."""
        out: bytes = self._content.finalize()
        return out


def _content(setup: Setup, aad: bytes) -> Any:
    if setup.algorithm in _CTR:
        return _Plain(Cipher(algorithms.AES(setup.cek), modes.CTR(setup.iv)).encryptor())
    if setup.algorithm in _GCM:
        encryptor = Cipher(algorithms.AES(setup.cek), modes.GCM(setup.iv)).encryptor()
        encryptor.authenticate_additional_data(aad)
        return _Gcm(encryptor)
    return _ChaChaPoly(setup.cek, setup.iv, aad)


class _Plain:
    def __init__(self, encryptor: Any) -> None:
        self._encryptor = encryptor

    def update(self, chunk: bytes) -> bytes:
        return bytes(self._encryptor.update(chunk))

    def finalize(self) -> bytes:
        return bytes(self._encryptor.finalize())


class _Gcm(_Plain):
    def finalize(self) -> bytes:
        return bytes(self._encryptor.finalize()) + bytes(self._encryptor.tag)


class _ChaChaPoly:
    """RFC 8439 §2.8 AEAD_CHACHA20_POLY1305, streamed."""

    def __init__(self, key: bytes, nonce: bytes, aad: bytes) -> None:
        # cryptography's ChaCha20 takes a 16-byte nonce: 32-bit LE block counter || 96-bit nonce.
        otk = Cipher(algorithms.ChaCha20(key, struct.pack("<I", 0) + nonce), None).encryptor().update(bytes(32))
        self._mac = poly1305.Poly1305(otk)
        self._mac.update(aad + _pad16(len(aad)))
        self._aad_length = len(aad)
        self._stream = Cipher(algorithms.ChaCha20(key, struct.pack("<I", 1) + nonce), None).encryptor()
        self._length = 0

    def update(self, chunk: bytes) -> bytes:
        out = bytes(self._stream.update(chunk))
        self._mac.update(out)
        self._length += len(out)
        return out

    def finalize(self) -> bytes:
        self._mac.update(_pad16(self._length) + struct.pack("<QQ", self._aad_length, self._length))
        return bytes(self._mac.finalize())


def _pad16(length: int) -> bytes:
    return bytes(-length % 16)


def encrypt_chunks(setup: Setup, chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The ciphertext of `chunks` under an existing setup, chunk by chunk, tag last."""
    stream = StreamEncryptor(setup.algorithm, (), setup=setup)
    for chunk in chunks:
        yield stream.update(chunk)
    yield stream.finalize()
