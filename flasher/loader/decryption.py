"""Decrypting payloads on the virtual device (draft-ietf-suit-firmware-encryption §6).

The device holds its own keys (`DeviceConfig.decryption_keys`: a P-256 or X25519 private
key, an AES-KW key-encryption key, or a KEK that stays in a token and unwraps there). When
suit-parameter-encryption-info is in force, write and copy decrypt into the destination:

- The content key is unwrapped already while the update is planned (before any payload
  byte is sent), so a device without the right key refuses at once: WRONG_KEY.
- copy streams: ciphertext is read from the source slot in `CHUNK` bytes, decrypted and
  programmed into the candidate slot as it goes; memory is bounded by the chunk, not the
  payload.
- AES-GCM and ChaCha20-Poly1305 plaintext is written to the candidate slot before the tag
  can be checked; it is never activated before: a tag that does not match refuses the
  update (DECRYPTION_FAILED), the manifest's image-match then checks the plaintext digest
  (PAYLOAD_DIGEST_MISMATCH), and only an update that passed both becomes the candidate the
  bootloader verifies again and switches to. The active slot is never written (A/B).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import partial
from typing import Final, TypeVar

from cryptography.exceptions import UnsupportedAlgorithm as UnsupportedAlgorithmError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, x25519

from flasher.errors import FlasherError, RefusalReason, UpdateRefused
from flasher.loader.components import FlashStore, pad
from flasher.loader.flash import SimulatedFlash
from flasher.loader.layout import ComponentId
from suit import cbor
from suit.cose import CoseAlgorithm
from suit.encryption import (
    ContentDecryptor,
    ContentTampered,
    DecryptionError,
    RecipientKey,
    WrongKey,
    open_decryptor,
)
from suit.errors import ManifestError, UnsupportedAlgorithm
from suit.keys import ALG, KID, KTY, KTY_SYMMETRIC, K

logger = logging.getLogger(__name__)

#: Ciphertext read, decrypted and programmed per step of a decrypting copy.
CHUNK: Final = 64 * 1024

_T = TypeVar("_T")


class PayloadDecrypter:
    """Implements `suit.processor.Decrypter` over one run's `FlashStore`.

    Args:
        store: The run's store (its mode says whether this is the plan or the install).
        keys: The device's decryption keys.
    """

    def __init__(self, store: FlashStore, keys: Sequence[RecipientKey]) -> None:
        self.store = store
        self.keys = tuple(keys)

    def write_decrypted(self, component_id: ComponentId, content: bytes,
                        encryption_info: bytes) -> None:
        """The content parameter is ciphertext from the envelope: bounded by its size."""
        decryptor = self._open(encryption_info, len(content))
        plaintext = _guarded(lambda: decryptor.update(content) + decryptor.finalize())
        self.store.write(component_id, plaintext)

    def copy_decrypted(self, destination: ComponentId, source: ComponentId,
                       size: int | None, encryption_info: bytes) -> None:
        """Decrypt the source's ciphertext into the destination in `CHUNK`-byte steps.

        The ciphertext's length is what the source holds (what this update fetched into
        it); image-size only when the source's size is unknown, because the manifest's
        image-size for the destination is the plaintext's (FE §6: they differ by the tag).
        """
        length = self.store.known_size(source) or size
        if length is None:
            raise UpdateRefused(RefusalReason.OPERATION_FAILED,
                                "decrypting copy of a component of unknown size")
        decryptor = self._open(encryption_info, length)
        target = self.store.begin_write(destination, _guarded(
            lambda: decryptor.plaintext_size(length)))
        if target is None:
            return  # planning: capacity checked, key unwrapped, nothing written
        start = self.store.source_start(source, length)
        if start is None:
            raise UpdateRefused(RefusalReason.OPERATION_FAILED, "copy source larger than its slot")
        _stream(self.store.flash, start, length, target, decryptor)
        logger.info("decrypted %d bytes of ciphertext into %r", length, destination)

    def _open(self, encryption_info: bytes, length: int | None = None) -> ContentDecryptor:
        return _guarded(lambda: open_decryptor(encryption_info, self.keys, length))


def _stream(flash: SimulatedFlash, source: int, length: int, target: int,
            decryptor: ContentDecryptor) -> None:
    writer = RegionWriter(flash, target)
    for offset in range(0, length, CHUNK):
        chunk = flash.read(source + offset, min(CHUNK, length - offset))
        writer.write(_guarded(partial(decryptor.update, chunk)))
    writer.write(_guarded(decryptor.finalize))
    writer.close()


class RegionWriter:
    """Programs a stream of bytes into flash from a sector-aligned `start`, erasing each
    sector as the data reaches it and programming in the profile's chunks."""

    def __init__(self, flash: SimulatedFlash, start: int) -> None:
        self.flash = flash
        self.address = start
        self._erased_to = start  # every sector below this address is erased
        self._buffer = bytearray()

    def write(self, data: bytes) -> None:
        """Buffer `data`; program every whole chunk."""
        self._buffer += data
        chunk = self.flash.profile.program_chunk
        while len(self._buffer) >= chunk:
            self._program(bytes(self._buffer[:chunk]))
            del self._buffer[:chunk]

    def close(self) -> None:
        """Program what is left, padded to the write unit."""
        if self._buffer:
            self._program(pad(bytes(self._buffer), self.flash.profile.write_unit))
            self._buffer.clear()

    def _program(self, data: bytes) -> None:
        sector_size = self.flash.profile.sector_size
        while self._erased_to < self.address + len(data):
            self.flash.erase_sector(self._erased_to // sector_size)
            self._erased_to += sector_size
        self.flash.program(self.address, data)
        self.address += len(data)


def _guarded(action: Callable[[], _T]) -> _T:
    """Run a decryption step; its failures become refusals with their reason (§7)."""
    try:
        return action()
    except WrongKey as exc:
        raise UpdateRefused(RefusalReason.WRONG_KEY, exc.reason) from exc
    except ContentTampered as exc:
        raise UpdateRefused(RefusalReason.DECRYPTION_FAILED, exc.reason) from exc
    except DecryptionError as exc:
        raise UpdateRefused(RefusalReason.DECRYPTION_FAILED, exc.reason) from exc
    except UnsupportedAlgorithm as exc:
        raise UpdateRefused(RefusalReason.ALG_UNSUPPORTED, str(exc)) from exc
    except ManifestError as exc:  # encryption info that is not a well-formed COSE_Encrypt
        raise UpdateRefused(RefusalReason.DECRYPTION_FAILED, str(exc)) from exc


# -- the device's keys, from files (flasher/loader/device.py's DeviceConfig) -------------

class DecryptionKeyError(FlasherError):
    """A `--decryption-key` file the device cannot use.

    Attributes:
        name: The file's name as given.
        problem: What is wrong with it.
    """

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"decryption key {name}: {problem}",
                         hint="Give a PEM private key (P-256 or X25519), or an AES key-"
                              "encryption key of 16, 24 or 32 bytes (raw, hex, or the COSE_Key "
                              "`suitwb keys generate --alg A128KW` writes).")
        self.name = name
        self.problem = problem


_KEK_SIZES: Final = (16, 24, 32)
#: RFC 9053 §6.2.1: A128KW, A192KW, A256KW.
_KEY_WRAP_ALGS: Final = (int(CoseAlgorithm.A128KW), int(CoseAlgorithm.A192KW),
                         int(CoseAlgorithm.A256KW))


def load_decryption_key(blob: bytes, name: str) -> RecipientKey:
    """The device key in `blob`: a PEM private key (P-256 or X25519, for ECDH-ES), else an
    AES-KW key-encryption key given raw or as hex text (FE §5.1: 128, 192 or 256 bits)."""
    if b"-----BEGIN" in blob:
        return RecipientKey(private_key=_pem_private_key(blob, name))
    cose_key = _cose_kek(blob, name)
    if cose_key is not None:
        return cose_key
    text = blob.strip()
    try:
        kek = bytes.fromhex(text.decode("ascii")) if len(text) in (32, 48, 64) else blob
    except (UnicodeDecodeError, ValueError):
        kek = blob
    if len(kek) not in _KEK_SIZES:
        raise DecryptionKeyError(name, f"{len(blob)} bytes: neither a PEM private key nor "
                                       "an AES key of 16, 24 or 32 bytes")
    return RecipientKey(kek=kek)


def _cose_kek(blob: bytes, name: str) -> RecipientKey | None:
    """A COSE_Key of kty Symmetric (RFC 9053 §7.3), as `suitwb keys generate --alg A128KW`
    writes it, with its kid; None when `blob` is no CBOR map of kty 4 (a raw key, say)."""
    if len(blob) in _KEK_SIZES or not blob or blob[0] & 0xE0 != 0xA0:  # CBOR major type 5
        return None
    try:
        key = cbor.loads(blob, max_size=1024)
    except ManifestError:
        return None
    if not isinstance(key, dict) or key.get(KTY) != KTY_SYMMETRIC:
        return None
    secret, kid, alg = key.get(K), key.get(KID), key.get(ALG)
    if alg is not None and alg not in _KEY_WRAP_ALGS:  # an HMAC secret, say: not a KEK
        raise DecryptionKeyError(name, f"a COSE_Key for algorithm {alg!r}, not AES key wrap "
                                       "(A128KW, A192KW, A256KW)")
    if not isinstance(secret, bytes) or len(secret) not in _KEK_SIZES:
        raise DecryptionKeyError(name, "a COSE_Key whose k is no AES key of 16, 24 or 32 "
                                       "bytes")
    return RecipientKey(kid=kid if isinstance(kid, bytes) and kid else None, kek=secret)


def _pem_private_key(blob: bytes, name: str) -> ec.EllipticCurvePrivateKey | x25519.X25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(blob, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithmError) as exc:
        raise DecryptionKeyError(name, f"not a usable PEM private key ({exc})") from exc
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1":
        return key
    if isinstance(key, x25519.X25519PrivateKey):
        return key
    raise DecryptionKeyError(name, f"a {type(key).__name__}: ECDH-ES here needs P-256 or X25519")
