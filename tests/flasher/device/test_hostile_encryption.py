"""Hostile encryption info and ciphertext (draft-ietf-suit-firmware-encryption, issue 16):
mutated COSE_Encrypt structures, ephemeral keys of low order (X25519, RFC 7748 §6.1) or off
the curve (P-256), tags cut short, sizes that lie. `suit.encryption` raises only typed
errors; the device refuses with a reason, leaves its running image alone and installs the
next good update."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, x25519

from flasher.errors import RefusalReason, UpdateRefused
from flasher.loader.device import DeviceConfig, VirtualDevice
from suit.encryption import DecryptionError, RecipientKey, WrongKey, decrypt, open_decryptor
from suit.errors import WorkbenchError
from tests.flasher.device.conftest import image_of, install
from testsupport.encrypted import (
    A128CTR,
    A128GCM,
    CHACHA20_POLY1305,
    Encrypted,
    ecdh_recipient,
    encrypt,
    fetch_and_decrypt,
    kw_recipient,
    write_decrypted,
)
from testsupport.envelopes import app_update

KEK = bytes(range(16))
P256 = ec.generate_private_key(ec.SECP256R1())
X25519 = x25519.X25519PrivateKey.generate()
KEYS = (RecipientKey(kek=KEK), RecipientKey(private_key=P256), RecipientKey(private_key=X25519))
#: RFC 7748 §6.1 / the "low order" points of Curve25519: 0, 1, and a point of order 8.
LOW_ORDER = (bytes(32), (1).to_bytes(32, "little"),
             bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"))
_HOSTILE: tuple[Any, ...] = (None, 0, -1, 2**64 - 1, -(2**64), True, b"", bytes(65), "t", [],
                             {}, [1], {1: 1}, cbor2.CBORTag(1, 0))


def _with_ephemeral(encrypted: Encrypted, ephemeral: dict[int, Any]) -> Encrypted:
    """`encrypted` with its one recipient's ephemeral key replaced."""
    tagged = cbor2.loads(encrypted.info)
    protected, unprotected, ciphertext, (recipient,) = tagged.value
    recipient = list(recipient)
    recipient[1] = {**recipient[1], -1: ephemeral}
    info = cbor2.dumps(cbor2.CBORTag(96, [protected, unprotected, ciphertext, [recipient]]))
    return Encrypted(info, encrypted.ciphertext)


@pytest.mark.parametrize("point", LOW_ORDER, ids=["zero", "one", "order-8"])
def test_an_x25519_ephemeral_key_of_low_order_is_refused(point: bytes) -> None:
    encrypted = _with_ephemeral(encrypt(b"p" * 40, ecdh_recipient(X25519.public_key())),
                                {1: 1, -1: 4, -2: point})
    with pytest.raises(WrongKey, match=r"low order \(all-zero shared secret, RFC 7748 §6.1\)"):
        decrypt(encrypted.info, KEYS, encrypted.ciphertext)


def test_a_p256_ephemeral_key_off_the_curve_is_refused() -> None:
    encrypted = _with_ephemeral(encrypt(b"p" * 40, ecdh_recipient(P256.public_key())),
                                {1: 2, -1: 1, -2: bytes(31) + b"\x01", -3: bytes(32)})
    with pytest.raises(WorkbenchError, match="invalid public key"):
        decrypt(encrypted.info, KEYS, encrypted.ciphertext)


@pytest.mark.parametrize("algorithm", [A128GCM, CHACHA20_POLY1305, A128CTR])
@pytest.mark.parametrize("size", [-1, 0, 15, 2**70])
def test_stated_sizes_that_lie_are_typed(algorithm: int, size: int) -> None:
    encrypted = encrypt(b"p" * 100, kw_recipient(KEK), algorithm)
    try:
        decryptor = open_decryptor(encrypted.info, KEYS, size)
        decryptor.update(encrypted.ciphertext)
        decryptor.finalize()
    except DecryptionError:
        pass  # a stated size shorter than the tag, or other than the bytes given


def _mutate(value: Any, rng: random.Random) -> Any:
    if isinstance(value, cbor2.CBORTag):
        return cbor2.CBORTag(value.tag, _mutate(value.value, rng))
    if isinstance(value, (list, tuple)) and value and rng.random() < 0.92:
        items = list(value)
        index = rng.randrange(len(items))
        items[index] = _mutate(items[index], rng)
        return items
    if isinstance(value, dict) and value and rng.random() < 0.9:
        members = dict(value)
        if rng.random() < 0.7:
            key = rng.choice(list(members))
            members[key] = _mutate(members[key], rng)
        else:
            members[rng.choice([1, 4, 5, -1, -2, -3, 33])] = rng.choice(_HOSTILE)
        return members
    if isinstance(value, bytes) and value and rng.random() < 0.5:
        try:  # a bstr that wraps CBOR (a protected header): mutate inside it
            return cbor2.dumps(_mutate(cbor2.loads(value), rng))
        except (cbor2.CBORError, ValueError, TypeError):
            flipped = bytearray(value)
            flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
            return bytes(flipped)
    return rng.choice(_HOSTILE)


def _mutated_infos(count: int, seed: int) -> Iterator[Encrypted]:
    rng = random.Random(seed)
    genuine = [encrypt(b"p" * 64, kw_recipient(KEK), A128GCM),
               encrypt(b"p" * 64, kw_recipient(KEK), A128CTR),
               encrypt(b"p" * 64, ecdh_recipient(X25519.public_key()), CHACHA20_POLY1305),
               encrypt(b"p" * 64, ecdh_recipient(P256.public_key()), A128GCM)]
    for _ in range(count):
        original = rng.choice(genuine)
        yield Encrypted(cbor2.dumps(_mutate(cbor2.loads(original.info), rng)),
                        original.ciphertext)


def test_mutated_encryption_info_raises_only_typed_errors() -> None:
    for encrypted in _mutated_infos(2_000, seed=96):
        for size in (None, len(encrypted.ciphertext)):
            try:
                decrypt(encrypted.info, KEYS, encrypted.ciphertext)
                decryptor = open_decryptor(encrypted.info, KEYS, size)
                decryptor.update(encrypted.ciphertext)
                decryptor.finalize()
            except WorkbenchError:
                pass


@pytest.fixture
def device(tmp_path: Path, config: DeviceConfig) -> Iterator[VirtualDevice]:
    started = VirtualDevice(replace(config, decryption_keys=KEYS))
    yield started
    started.close()


def test_the_device_refuses_hostile_encryption_info_and_installs_after(
        device: VirtualDevice) -> None:
    running = image_of(4_000, 7)
    install(device, app_update(1, running), running)
    image = image_of(64, 3)  # _mutated_infos encrypts 64 bytes of b"p"; digests differ
    reasons = set()
    makers: list[Callable[..., Any]] = [fetch_and_decrypt, write_decrypted]
    for number, encrypted in enumerate(_mutated_infos(60, seed=97), start=2):
        build = makers[number % 2](number, image, encrypted)
        try:
            install(device, build, encrypted.ciphertext)
        except UpdateRefused as refused:
            reasons.add(refused.reason)
        assert device.status().components[0].sequence_number in (1, number)
    assert reasons <= {RefusalReason.WRONG_KEY, RefusalReason.DECRYPTION_FAILED,
                       RefusalReason.ALG_UNSUPPORTED, RefusalReason.PAYLOAD_DIGEST_MISMATCH,
                       RefusalReason.PARAMETER_UNSUPPORTED, RefusalReason.OPERATION_FAILED}
    good = image_of(5_000, 9)
    install(device, app_update(100, good), good)
    assert device.status().components[0].sequence_number == 100
