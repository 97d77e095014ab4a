"""A KEK in a SoftHSM2 token unwraps content keys there (issue 16, FE §5.1 AES-KW)."""

from __future__ import annotations

import os

import pkcs11
import pytest
from cryptography.hazmat.primitives.keywrap import aes_key_wrap
from pkcs11 import Attribute, KeyType, ObjectClass

from signing.keyref import parse_pkcs11_uri
from signing.token_unwrap import TokenKeyUnwrapper
from suit.cose import CoseAlgorithm
from suit.encryption import DecryptionError, RecipientKey, WrongKey, open_decryptor
from tests.fixtures.softhsm import SoftHsm
from testsupport.encrypted import A128GCM, encrypt, kw_recipient


def import_kek(hsm: SoftHsm, label: str, value: bytes) -> str:
    """Put an AES KEK with `value` in the release token; its URI."""
    token = pkcs11.lib(hsm.module).get_token(token_label="release")
    with token.open(rw=True, user_pin=hsm.user_pin) as session:
        session.create_object({
            Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.KEY_TYPE: KeyType.AES,
            Attribute.VALUE: value, Attribute.LABEL: label, Attribute.TOKEN: True,
            Attribute.UNWRAP: True, Attribute.WRAP: True, Attribute.SENSITIVE: True,
            Attribute.EXTRACTABLE: False, Attribute.PRIVATE: True})
    return hsm.uri(object=label, type="secret-key")


@pytest.fixture(scope="module")
def kek(softhsm: SoftHsm) -> tuple[bytes, str]:
    value = os.urandom(16)
    return value, import_kek(softhsm, f"device-kek-{os.getpid()}", value)


def test_the_token_unwraps_a_content_key(kek: tuple[bytes, str]) -> None:
    value, uri = kek
    cek = os.urandom(16)
    unwrapper = TokenKeyUnwrapper(parse_pkcs11_uri(uri))
    assert unwrapper.unwrap(CoseAlgorithm.A128KW, aes_key_wrap(value, cek)) == cek


def test_a_content_key_wrapped_under_another_kek_is_refused(kek: tuple[bytes, str]) -> None:
    _, uri = kek
    unwrapper = TokenKeyUnwrapper(parse_pkcs11_uri(uri))
    with pytest.raises(DecryptionError):
        unwrapper.unwrap(CoseAlgorithm.A128KW, aes_key_wrap(os.urandom(16), os.urandom(16)))
    with pytest.raises(DecryptionError, match="not for algorithm"):  # A256KW needs 32 bytes
        unwrapper.unwrap(CoseAlgorithm.A256KW, aes_key_wrap(os.urandom(32), os.urandom(16)))


def test_a_payload_decrypts_through_the_token(kek: tuple[bytes, str]) -> None:
    value, uri = kek
    image = os.urandom(5000)
    encrypted = encrypt(image, kw_recipient(value), A128GCM)
    key = RecipientKey(unwrapper=TokenKeyUnwrapper(parse_pkcs11_uri(uri)))
    decryptor = open_decryptor(encrypted.info, [key])
    assert decryptor.update(encrypted.ciphertext) + decryptor.finalize() == image
    stranger = encrypt(image, kw_recipient(os.urandom(16)), A128GCM)
    with pytest.raises(WrongKey):
        open_decryptor(stranger.info, [key])
