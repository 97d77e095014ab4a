"""Firmware-encryption vectors decrypt to the published plaintext (INDEX.md, FE)."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization

from suit.codec import decode_envelope
from suit.cose import CoseEncrypt, decode_cose
from suit.encryption import DecryptionError, RecipientKey, decrypt, kdf_context
from suit.model import Command, Parameter
from tests.fixtures.vectors import FIRMWARE_ENCRYPTION as FE

KEYS = json.loads((FE / "keys" / "symmetric-and-cose-keys.json").read_text())
PT = b"This is a real firmware image."
KEK1 = RecipientKey(kid=b"kid-1", kek=bytes.fromhex(KEYS["a128kw-kek-kid-1"]["k_hex"]))
ECDH2 = RecipientKey(kid=b"kid-2", private_key=serialization.load_pem_private_key(
    (FE / "keys" / "ecdh-recipient-kid-2-private.pem").read_bytes(), None))


@pytest.mark.parametrize("name,key", [("aes-kw-aes-gcm", KEK1), ("aes-kw-aes-ctr", KEK1),
                                      ("es-ecdh-aes-gcm", ECDH2), ("es-ecdh-aes-ctr", ECDH2)])
def test_standalone_examples_decrypt(name: str, key: RecipientKey) -> None:
    info = (FE / f"suit-encryption-info-{name}.cbor").read_bytes()
    ciphertext = (FE / f"encrypted-payload-{name}.bin").read_bytes()
    assert decrypt(info, [key], ciphertext) == PT == bytes.fromhex(KEYS["plaintext"]["hex"])


def test_gcm_iv_and_kdf_context_are_as_published() -> None:
    message = decode_cose((FE / "suit-encryption-info-aes-kw-aes-gcm.cbor").read_bytes())
    assert isinstance(message, CoseEncrypt)
    assert message.header(5).hex().upper() == KEYS["cek-aes-gcm-128"]["iv_in_cose_header"]
    assert message.recipients[0].kid == b"kid-1" and message.recipients[0].algorithm == -3
    ctr = decode_cose((FE / "suit-encryption-info-aes-kw-aes-ctr.cbor").read_bytes())
    assert ctr.algorithm == -65534 and ctr.header(5).hex().upper() == KEYS["cek-aes-ctr-128"]["iv_hex"]
    ecdh = decode_cose((FE / "suit-encryption-info-es-ecdh-aes-gcm.cbor").read_bytes())
    recipient = ecdh.recipients[0]
    assert recipient.algorithm == -29 and recipient.kid is None  # INDEX.md: no kid
    # a128kw-kdf-context.diag: [-3, [nil x3], [nil x3], [128, << {1: -29} >>, 'SUIT Payload Encryption']]
    assert kdf_context(-3, recipient.protected) == bytes.fromhex(
        "8422" "83f6f6f6" "83f6f6f6" "83" "1880" "44a101381c" "57") + b"SUIT Payload Encryption"


def test_unwrapped_cek_is_the_published_one() -> None:
    from cryptography.hazmat.primitives.keywrap import aes_key_unwrap
    message = decode_cose((FE / "suit-encryption-info-aes-kw-aes-gcm.cbor").read_bytes())
    cek = aes_key_unwrap(KEK1.kek, message.recipients[0].ciphertext)
    assert cek.hex().upper() == KEYS["cek-aes-gcm-128"]["k_hex"]


def _install_parameters(path: str) -> dict[int, object]:
    manifest = decode_envelope((FE / path).read_bytes()).manifest
    merged: dict[int, object] = {}
    for item in manifest.install.commands:
        if item.command == Command.OVERRIDE_PARAMETERS:
            merged.update(item.argument)
    return merged


def test_aes_kw_content_manifest_writes_decryptable_content() -> None:
    params = _install_parameters("suit-manifest-aes-kw-content.cbor")
    info = params[Parameter.ENCRYPTION_INFO].data
    assert decrypt(info, [KEK1], params[Parameter.CONTENT]) == PT


@pytest.mark.parametrize("manifest", ["suit-manifest-aes-kw.cbor", "suit-manifest-aes-kw-slot.cbor"])
def test_fetch_and_copy_manifests_decrypt_the_fetched_payload(manifest: str) -> None:
    params = _install_parameters(manifest)
    info = params[Parameter.ENCRYPTION_INFO].data
    fetched = (FE / "encrypted-payload-aes-kw-aes-gcm.bin").read_bytes()
    assert decrypt(info, [KEK1], fetched) == PT


def test_es_ecdh_content_manifest_decrypts() -> None:
    params = _install_parameters("suit-manifest-es-ecdh-content.cbor")
    assert decrypt(params[Parameter.ENCRYPTION_INFO].data, [ECDH2], params[Parameter.CONTENT]) == PT


def test_es_ecdh_dependency_manifest_decrypts() -> None:
    envelope = decode_envelope((FE / "suit-manifest-es-ecdh-dependency.cbor").read_bytes())
    infos = [c.argument[Parameter.ENCRYPTION_INFO].data
             for seq in (envelope.manifest.install, envelope.manifest.dependency_resolution)
             if seq is not None for c in seq.commands
             if c.command in (Command.OVERRIDE_PARAMETERS, Command.SET_PARAMETERS)
             and Parameter.ENCRYPTION_INFO in c.argument]
    contents = [c.argument[Parameter.CONTENT] for c in envelope.manifest.install.commands
                if c.command == Command.OVERRIDE_PARAMETERS and Parameter.CONTENT in c.argument]
    assert infos and contents
    assert decrypt(infos[0], [ECDH2], contents[0]) == PT


def test_wrong_key_and_tampered_ciphertext_are_typed_errors() -> None:
    info = (FE / "suit-encryption-info-aes-kw-aes-gcm.cbor").read_bytes()
    ciphertext = bytearray((FE / "encrypted-payload-aes-kw-aes-gcm.bin").read_bytes())
    with pytest.raises(DecryptionError):
        decrypt(info, [RecipientKey(kid=b"kid-1", kek=b"b" * 16)], bytes(ciphertext))
    ciphertext[0] ^= 1
    with pytest.raises(DecryptionError, match="authentication tag"):
        decrypt(info, [KEK1], bytes(ciphertext))
