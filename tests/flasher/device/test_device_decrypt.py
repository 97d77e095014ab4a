"""Decryption on the virtual device (FE §6, issue 16): write and copy with encryption info.

Envelopes are encrypted by testsupport/encrypted.py from the draft's text with
`cryptography` primitives; the device decrypts with suit.encryption, streaming.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, x25519

from flasher.errors import RefusalReason, UpdateRefused
from flasher.loader import decryption
from flasher.loader.device import DeviceConfig, VirtualDevice
from flasher.loader.flash import PowerCut, PowerSwitch
from flasher.loader.layout import APP
from suit.encryption import RecipientKey
from tests.flasher.device.conftest import image_of, install, slot_bytes
from testsupport.encrypted import (
    A128CTR,
    A128GCM,
    A256CTR,
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
KEK256 = bytes(range(32))  # suit-sha256-hsslms-a256kw-a256ctr's A256KW
P256 = ec.generate_private_key(ec.SECP256R1())
X25519 = x25519.X25519PrivateKey.generate()
DEVICE_KEYS = (RecipientKey(kek=KEK), RecipientKey(kek=KEK256), RecipientKey(private_key=P256),
               RecipientKey(private_key=X25519))


@pytest.fixture
def device(tmp_path: Path, config: DeviceConfig) -> Callable[..., VirtualDevice]:
    started: list[VirtualDevice] = []

    def make(keys: tuple[RecipientKey, ...] = DEVICE_KEYS) -> VirtualDevice:
        made = VirtualDevice(replace(config, decryption_keys=keys))
        started.append(made)
        return made

    yield make
    for made in started:
        made.close()


def _with_running_image(make: Callable[..., VirtualDevice]) -> tuple[VirtualDevice, bytes]:
    device = make()
    running = image_of(9_000, 7)
    install(device, app_update(1, running), running)
    return device, running


def _assert_untouched(device: VirtualDevice, running: bytes) -> None:
    status = device.status()
    app = status.components[0]
    assert (app.sequence_number, app.active_slot) == (1, 0)
    assert app.digest == hashlib.sha256(running).digest()
    assert slot_bytes(device, APP, 0)[:len(running)] == running
    assert device.last_boot.booted.sequence_number == 1


@pytest.mark.parametrize(("algorithm", "recipient"), [
    (A128GCM, kw_recipient(KEK)),
    (A128CTR, kw_recipient(KEK)),
    (A128GCM, ecdh_recipient(P256.public_key())),
    (A128CTR, ecdh_recipient(P256.public_key())),
    (CHACHA20_POLY1305, ecdh_recipient(X25519.public_key())),
    (A128GCM, ecdh_recipient(X25519.public_key())),
    (A256CTR, kw_recipient(KEK256)),
], ids=["kw-gcm", "kw-ctr", "p256-gcm", "p256-ctr", "x25519-chacha", "x25519-gcm",
        "a256kw-a256ctr"])
def test_fetch_and_copy_decrypts_into_the_candidate_slot(device, algorithm, recipient) -> None:
    target, _running = _with_running_image(device)
    image = image_of(150_000, 2)  # more than two CHUNKs: the copy streams
    encrypted = encrypt(image, recipient, algorithm)
    install(target, fetch_and_decrypt(2, image, encrypted), encrypted.ciphertext)
    app = target.status().components[0]
    assert (app.sequence_number, app.active_slot, app.size) == (2, 1, len(image))
    assert app.digest == hashlib.sha256(image).digest()  # `device status` shows this digest
    assert slot_bytes(target, APP, 1)[:len(image)] == image
    assert target.last_boot.booted.sequence_number == 2  # the bootloader re-verified it


def test_write_decrypts_the_content_parameter(device) -> None:
    target = device()
    image = image_of(3_000, 3)
    encrypted = encrypt(image, kw_recipient(KEK), CHACHA20_POLY1305)
    assert target.begin_update(write_decrypted(1, image, encrypted).envelope()) == []
    result = target.finish_update()
    assert result.components[0].digest == hashlib.sha256(image).digest()


def test_a_wrong_key_is_refused_before_any_payload_byte(device) -> None:
    target, running = _with_running_image(device)
    image = image_of(20_000, 4)
    encrypted = encrypt(image, kw_recipient(bytes(16)))  # a KEK the device does not hold
    with pytest.raises(UpdateRefused) as caught:
        target.begin_update(fetch_and_decrypt(2, image, encrypted).envelope())
    assert caught.value.reason is RefusalReason.WRONG_KEY
    assert target.status().last_result.result == RefusalReason.WRONG_KEY
    _assert_untouched(target, running)


def test_a_device_with_other_ecdh_keys_refuses_with_wrong_key(device) -> None:
    target, running = _with_running_image(device)
    stranger = ec.generate_private_key(ec.SECP256R1())
    image = image_of(20_000, 4)
    encrypted = encrypt(image, ecdh_recipient(stranger.public_key()))
    with pytest.raises(UpdateRefused) as caught:
        target.begin_update(fetch_and_decrypt(2, image, encrypted).envelope())
    assert caught.value.reason is RefusalReason.WRONG_KEY
    _assert_untouched(target, running)


@pytest.mark.parametrize("where", [0, 70_000, -1], ids=["first-byte", "middle", "tag"])
@pytest.mark.parametrize("algorithm", [A128GCM, CHACHA20_POLY1305])
def test_tampered_ciphertext_or_tag_is_refused_and_the_image_stays(device, where,
                                                                   algorithm) -> None:
    target, running = _with_running_image(device)
    image = image_of(100_000, 5)
    encrypted = encrypt(image, kw_recipient(KEK), algorithm)
    tampered = bytearray(encrypted.ciphertext)
    tampered[where] ^= 0x01
    build = fetch_and_decrypt(2, image, encrypted)
    with pytest.raises(UpdateRefused) as caught:
        install(target, build, bytes(tampered))
    assert caught.value.reason is RefusalReason.DECRYPTION_FAILED
    assert target.status().last_result.result == RefusalReason.DECRYPTION_FAILED
    _assert_untouched(target, running)
    assert target.state.pending is None  # nothing waits for the bootloader


def test_tampered_ctr_ciphertext_fails_the_plaintext_digest(device) -> None:
    target, running = _with_running_image(device)
    image = image_of(40_000, 6)
    encrypted = encrypt(image, kw_recipient(KEK), A128CTR)
    tampered = bytearray(encrypted.ciphertext)
    tampered[123] ^= 0x80
    with pytest.raises(UpdateRefused) as caught:
        install(target, fetch_and_decrypt(2, image, encrypted), bytes(tampered))
    assert caught.value.reason is RefusalReason.PAYLOAD_DIGEST_MISMATCH  # FE §6.2
    _assert_untouched(target, running)


def test_plaintext_whose_digest_differs_is_refused(device) -> None:
    target, running = _with_running_image(device)
    image, other = image_of(30_000, 8), image_of(30_000, 9)
    encrypted = encrypt(other, kw_recipient(KEK))  # authentic, but not the manifest's image
    with pytest.raises(UpdateRefused) as caught:
        install(target, fetch_and_decrypt(2, image, encrypted), encrypted.ciphertext)
    assert caught.value.reason is RefusalReason.PAYLOAD_DIGEST_MISMATCH
    _assert_untouched(target, running)


def test_malformed_encryption_info_is_refused(device) -> None:
    target, running = _with_running_image(device)
    image = image_of(1_000, 1)
    bad = Encrypted(b"\xd8\x60\x84\x40\xa0\xf6\x80", b"x" * 1_016)  # 96([h'', {}, nil, []])
    with pytest.raises(UpdateRefused) as caught:
        target.begin_update(fetch_and_decrypt(2, image, bad).envelope())
    assert caught.value.reason in (RefusalReason.WRONG_KEY, RefusalReason.DECRYPTION_FAILED)
    _assert_untouched(target, running)


def test_copy_reads_and_programs_in_bounded_chunks(device, monkeypatch) -> None:
    target = device()
    image = image_of(200_000, 10)
    encrypted = encrypt(image, kw_recipient(KEK), A128GCM)
    reads: list[int] = []
    original = target.flash.read

    def counting(address: int, length: int) -> bytes:
        reads.append(length)
        return original(address, length)

    monkeypatch.setattr(target.flash, "read", counting)
    install(target, fetch_and_decrypt(1, image, encrypted), encrypted.ciphertext)
    assert target.status().components[0].digest == hashlib.sha256(image).digest()
    # The decrypting copy read the 200 016-byte ciphertext as 3 whole CHUNKs and a rest,
    # never all at once (image-match afterwards reads the plaintext image whole).
    assert reads.count(decryption.CHUNK) == 3
    assert len(encrypted.ciphertext) not in reads


def test_a_decrypting_copy_into_the_fallback_slot_forgets_the_fallback(device) -> None:
    """The copy writes the slot that is not active, which holds the fallback: from the
    moment the update begins, the status no longer offers it (the bootloader would refuse
    it anyway, its digest no longer matching)."""
    target = device()
    first, second, third = image_of(9_000, 1), image_of(9_000, 2), image_of(9_000, 3)
    install(target, app_update(1, first), first)
    install(target, app_update(2, second), second)
    assert target.status().slots["app/A"] == "fallback"
    encrypted = encrypt(third, kw_recipient(KEK), A128GCM)
    tampered = bytearray(encrypted.ciphertext)
    tampered[-1] ^= 1
    with pytest.raises(UpdateRefused):
        install(target, fetch_and_decrypt(3, third, encrypted), bytes(tampered))
    status = target.status()
    assert target.state.fallback is None and status.slots["app/A"] != "fallback"
    assert status.components[0].sequence_number == 2


FE = Path(__file__).resolve().parents[2] / "vectors" / "firmware-encryption"


@pytest.mark.parametrize("name", ["aes-kw-aes-gcm", "aes-kw-aes-ctr", "es-ecdh-aes-gcm",
                                  "es-ecdh-aes-ctr"])
def test_the_published_examples_install_on_the_device(tmp_path: Path, config: DeviceConfig,
                                                      name: str) -> None:
    """FE's own encryption info and ciphertext (KEK-1 = 'a' x 16 with kid 'kid-1'; the
    ECDH-2 P-256 key, whose recipient carries no kid) in an envelope the device trusts."""
    from cryptography.hazmat.primitives import serialization

    keys = json.loads((FE / "keys" / "symmetric-and-cose-keys.json").read_text())
    plaintext = bytes.fromhex(keys["plaintext"]["hex"])
    ecdh2 = serialization.load_pem_private_key(
        (FE / "keys" / "ecdh-recipient-kid-2-private.pem").read_bytes(), password=None)
    device_keys = (RecipientKey(kid=b"kid-1", kek=bytes.fromhex(keys["a128kw-kek-kid-1"]["k_hex"])),
                   RecipientKey(private_key=ecdh2))  # type: ignore[arg-type]
    target = VirtualDevice(replace(config, decryption_keys=device_keys))
    try:
        published = Encrypted((FE / f"suit-encryption-info-{name}.cbor").read_bytes(),
                              (FE / f"encrypted-payload-{name}.bin").read_bytes())
        install(target, fetch_and_decrypt(1, plaintext, published), published.ciphertext)
        app = target.status().components[0]
        assert (app.size, app.digest) == (30, hashlib.sha256(plaintext).digest())
        assert slot_bytes(target, APP, 0)[:30] == b"This is a real firmware image."
    finally:
        target.close()


def test_power_cut_at_every_step_of_a_decrypting_install(tmp_path: Path,
                                                         config: DeviceConfig) -> None:
    """Cut the power at each write step of an encrypted update (fetch into staging, the
    decrypting copy into the candidate slot, the saves, the slot switch): the device then
    boots the old or the new image, verified from flash, and the retried update succeeds."""
    base = replace(config, state_dir=tmp_path / "template", decryption_keys=(RecipientKey(kek=KEK),))
    old, new = image_of(6_000, 1), image_of(9_000, 2)
    with closing(VirtualDevice(base)) as device:
        install(device, app_update(1, old), old)
    encrypted = encrypt(new, kw_recipient(KEK), A128GCM)
    build = fetch_and_decrypt(2, new, encrypted)

    def copy(name: str) -> DeviceConfig:
        shutil.copytree(base.state_dir, tmp_path / name)
        return replace(base, state_dir=tmp_path / name)

    with closing(VirtualDevice(copy("count"))) as device:
        install(device, build, encrypted.ciphertext)
        kinds = [step.kind for step in device.power.steps]
    assert {"erase", "program", "progress", "candidate", "slot-switch"} <= set(kinds)
    assert kinds.count("program") >= 10, kinds  # the copy programmed chunk by chunk
    booted_new = 0
    for cut in range(len(kinds)):
        cut_config = copy(f"cut{cut}")
        with closing(VirtualDevice(cut_config, power=PowerSwitch(cut_at=cut))) as device, \
                pytest.raises(PowerCut):
            install(device, build, encrypted.ciphertext)
        with closing(VirtualDevice(cut_config)) as device:
            booted = device.last_boot.booted
            assert booted is not None, device.last_boot.rejected
            expected = new if booted.sequence_number == 2 else old
            booted_new += booted.sequence_number == 2
            [image] = booted.images
            assert slot_bytes(device, APP, image.slot)[:len(expected)] == expected
            install(device, build, encrypted.ciphertext)  # the retried update succeeds
            assert device.status().components[0].digest == hashlib.sha256(new).digest()
        shutil.rmtree(cut_config.state_dir)
    assert 0 < booted_new < len(kinds)
