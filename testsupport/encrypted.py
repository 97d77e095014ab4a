"""Encrypted payloads for device tests, written from the firmware-encryption draft's text
with `cryptography` primitives only (not with `suit.encryption`, the code under test).

COSE_Encrypt (tag 96, FE §4): protected {alg}, unprotected {IV}, detached ciphertext,
one recipient: AES-KW (FE §5.1: [h'', {alg -3, kid}, wrapped CEK]) or ECDH-ES+A128KW
(FE §5.2: protected {alg -29}, unprotected {ephemeral key -1, kid}, wrapped CEK, the KEK
from HKDF-SHA256 over the shared secret with the COSE_KDF_Context as info).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import aes_key_wrap

from suit.model import Command, EmbeddedCbor, Parameter
from testsupport.envelopes import APP, STAGING, Build, identity_shared, seq

A128KW, A256KW, ECDH_ES_A128KW = -3, -5, -29
A128GCM, A256GCM, CHACHA20_POLY1305, A128CTR, A256CTR = 1, 3, 24, -65534, -65532
_CEK_BYTES = {A128GCM: 16, A256GCM: 32, CHACHA20_POLY1305: 32, A128CTR: 16, A256CTR: 32}
_KW_BY_SIZE = {16: A128KW, 32: A256KW}


@dataclass(frozen=True)
class Encrypted:
    """The encryption info (bstr .cbor COSE_Encrypt) and the detached ciphertext."""

    info: bytes
    ciphertext: bytes


def kw_recipient(kek: bytes, kid: bytes = b"kid-1") -> Any:
    """A recipient maker: AES-KW under `kek` (A128KW or A256KW by its size)."""
    return lambda cek: [b"", {1: _KW_BY_SIZE[len(kek)], 4: kid}, aes_key_wrap(kek, cek)]


def ecdh_recipient(public_key: ec.EllipticCurvePublicKey | x25519.X25519PublicKey,
                   kid: bytes = b"kid-2") -> Any:
    """A recipient maker: ECDH-ES+A128KW to `public_key` (P-256 or X25519)."""
    def make(cek: bytes) -> list[Any]:
        protected = cbor2.dumps({1: ECDH_ES_A128KW})
        ephemeral_key, secret = _ephemeral(public_key)
        context = cbor2.dumps([A128KW, [None, None, None], [None, None, None],
                               [128, protected, b"SUIT Payload Encryption"]])
        kek = HKDF(hashes.SHA256(), 16, salt=None, info=context).derive(secret)
        return [protected, {-1: ephemeral_key, 4: kid}, aes_key_wrap(kek, cek)]
    return make


def _ephemeral(public_key: Any) -> tuple[dict[int, Any], bytes]:
    if isinstance(public_key, x25519.X25519PublicKey):
        private = x25519.X25519PrivateKey.generate()
        x = private.public_key().public_bytes(serialization.Encoding.Raw,
                                              serialization.PublicFormat.Raw)
        return {1: 1, -1: 4, -2: x}, private.exchange(public_key)
    ec_private = ec.generate_private_key(ec.SECP256R1())
    numbers = ec_private.public_key().public_numbers()
    return ({1: 2, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")},
            ec_private.exchange(ec.ECDH(), public_key))


def encrypt(plaintext: bytes, recipient: Any, algorithm: int = A128GCM) -> Encrypted:
    """Encrypt under a fresh content key for one recipient."""
    cek = os.urandom(_CEK_BYTES[algorithm])
    iv = os.urandom(16 if algorithm in (A128CTR, A256CTR) else 12)
    protected = cbor2.dumps({1: algorithm})
    aad = cbor2.dumps(["Encrypt", protected, b""])
    if algorithm in (A128CTR, A256CTR):
        context = Cipher(algorithms.AES(cek), modes.CTR(iv)).encryptor()
        ciphertext = context.update(plaintext) + context.finalize()
    elif algorithm == CHACHA20_POLY1305:
        ciphertext = ChaCha20Poly1305(cek).encrypt(iv, plaintext, aad)
    else:
        ciphertext = AESGCM(cek).encrypt(iv, plaintext, aad)
    info = cbor2.dumps(cbor2.CBORTag(96, [protected, {5: iv}, None, [recipient(cek)]]))
    return Encrypted(info, ciphertext)


def fetch_and_decrypt(number: int, image: bytes, encrypted: Encrypted, *,
                      uri: str = "http://host/app.enc") -> Build:
    """FE "Fetch + Copy": fetch the ciphertext into staging, copy with encryption info into
    the app slot, image-match the plaintext."""
    install = seq((Command.SET_COMPONENT_INDEX, 1),
                  (Command.OVERRIDE_PARAMETERS, {Parameter.URI: uri,
                                                 Parameter.IMAGE_SIZE: len(encrypted.ciphertext)}),
                  (Command.FETCH, 2),
                  (Command.SET_COMPONENT_INDEX, 0),
                  (Command.OVERRIDE_PARAMETERS, {
                      Parameter.ENCRYPTION_INFO: EmbeddedCbor(encrypted.info),
                      Parameter.SOURCE_COMPONENT: 1}),
                  (Command.COPY, 2), (Command.IMAGE_MATCH, 15))
    return Build(number, components=(APP, STAGING), shared=_app_shared(image), install=install,
                 validate=seq((Command.SET_COMPONENT_INDEX, 0), (Command.IMAGE_MATCH, 15)))


def write_decrypted(number: int, image: bytes, encrypted: Encrypted) -> Build:
    """FE "Write": the ciphertext is the content parameter, decrypted by write."""
    install = seq((Command.OVERRIDE_PARAMETERS, {
                      Parameter.CONTENT: encrypted.ciphertext,
                      Parameter.ENCRYPTION_INFO: EmbeddedCbor(encrypted.info)}),
                  (Command.WRITE, 15), (Command.IMAGE_MATCH, 15))
    return Build(number, shared=identity_shared(image), install=install,
                 validate=seq((Command.IMAGE_MATCH, 15)))


def _app_shared(image: bytes) -> Any:
    shared = identity_shared(image)
    return seq((Command.SET_COMPONENT_INDEX, 0),
               *((item.command, item.argument) for item in shared.commands))
