"""Author-side payload encryption (suit.encrypt): the published FE examples reproduced byte
for byte where their inputs are stated, and what we encrypt decrypted by code we did not
write (pycose for AES-KW / ECDH-ES + AES-GCM; the `cryptography` primitives driven from the
draft's text for AES-CTR, ChaCha20/Poly1305 and X25519)."""

from __future__ import annotations

import json

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap

from suit.cose import CoseAlgorithm
from suit.encrypt import (
    CONTENT_ALGORITHMS,
    DeviceKey,
    EncryptionError,
    Randomness,
    SoftwareKek,
    encrypt,
)
from suit.encrypt_stream import StreamEncryptor
from suit.encryption import RecipientKey, decrypt
from suit.errors import UnsupportedAlgorithm
from tests.fixtures.vectors import FIRMWARE_ENCRYPTION as FE

KEYS = json.loads((FE / "keys" / "symmetric-and-cose-keys.json").read_text())
PT = bytes.fromhex(KEYS["plaintext"]["hex"])
KEK1 = SoftwareKek(bytes.fromhex(KEYS["a128kw-kek-kid-1"]["k_hex"]), b"kid-1")
GCM = Randomness(cek=bytes.fromhex(KEYS["cek-aes-gcm-128"]["k_hex"]),
                 iv=bytes.fromhex(KEYS["cek-aes-gcm-128"]["iv_in_cose_header"]))
CTR = Randomness(cek=bytes.fromhex(KEYS["cek-aes-ctr-128"]["k_hex"]),
                 iv=bytes.fromhex(KEYS["cek-aes-ctr-128"]["iv_hex"]))
ECDH2_PRIVATE = serialization.load_pem_private_key(
    (FE / "keys" / "ecdh-recipient-kid-2-private.pem").read_bytes(), None)


@pytest.mark.parametrize("name,alg,rng", [("aes-kw-aes-gcm", CoseAlgorithm.A128GCM, GCM),
                                          ("aes-kw-aes-ctr", CoseAlgorithm.A128CTR, CTR)])
def test_aes_kw_examples_reproduced_byte_for_byte(name: str, alg: CoseAlgorithm, rng: Randomness) -> None:
    # FE §6.1.2 / §6.2.2: KEK, CEK and IV are stated, and AES-KW is deterministic.
    out = encrypt(PT, alg, [KEK1], randomness=rng)
    assert out.info == (FE / f"suit-encryption-info-{name}.cbor").read_bytes()
    assert out.ciphertext == (FE / f"encrypted-payload-{name}.bin").read_bytes()


@pytest.mark.parametrize("name,alg,rng", [("es-ecdh-aes-gcm", CoseAlgorithm.A128GCM, GCM),
                                          ("es-ecdh-aes-ctr", CoseAlgorithm.A128CTR, CTR)])
def test_ecdh_examples_content_reproduced_and_structure_matches(name: str, alg: CoseAlgorithm,
                                                                rng: Randomness) -> None:
    # The ephemeral private key is not published: the ciphertext and every header but the
    # ephemeral key and wrapped CEK are compared; the recipient decrypts what we made.
    device = DeviceKey(ECDH2_PRIVATE.public_key())
    out = encrypt(PT, alg, [device], randomness=rng)
    assert out.ciphertext == (FE / f"encrypted-payload-{name}.bin").read_bytes()
    ours, theirs = cbor2.loads(out.info), cbor2.loads((FE / f"suit-encryption-info-{name}.cbor").read_bytes())
    assert ours.tag == theirs.tag == 96
    assert ours.value[:3] == theirs.value[:3]
    assert ours.value[3][0][0] == theirs.value[3][0][0] == bytes.fromhex("a101381c")  # << {1: -29} >>
    assert set(ours.value[3][0][1]) == set(theirs.value[3][0][1]) == {-1}
    assert decrypt(out.info, [RecipientKey(private_key=ECDH2_PRIVATE)], out.ciphertext) == PT


def test_fresh_cek_and_iv_per_payload() -> None:
    one, two = (encrypt(PT, CoseAlgorithm.A128GCM, [KEK1]) for _ in range(2))
    assert one.ciphertext != two.ciphertext and one.info != two.info


def test_pycose_decrypts_aes_kw_gcm() -> None:
    from pycose.keys import SymmetricKey
    out = encrypt(PT, CoseAlgorithm.A128GCM, [KEK1], detached=False)
    message = _pycose_message(out.info)
    kek = SymmetricKey(k=KEK1.kek, optional_params={"ALG": "A128KW", "KID": b"kid-1"})
    message.recipients[0].key = kek
    assert message.decrypt(message.recipients[0]) == PT


def test_pycose_decrypts_ecdh_es_a128kw_gcm() -> None:
    from pycose import headers
    from pycose.keys import EC2Key
    out = encrypt(PT, CoseAlgorithm.A128GCM, [DeviceKey(ECDH2_PRIVATE.public_key(), b"kid-2")],
                  detached=False)
    message = _pycose_message(out.info)
    numbers = ECDH2_PRIVATE.private_numbers()
    key = EC2Key(crv="P_256", d=numbers.private_value.to_bytes(32, "big"),
                 x=numbers.public_numbers.x.to_bytes(32, "big"),
                 y=numbers.public_numbers.y.to_bytes(32, "big"))
    recipient = message.recipients[0]
    recipient.key = key
    # FE §5.2: SuppPubInfo.other = 'SUIT Payload Encryption' (pycose's "SuppPubOther").
    recipient.local_attrs = {headers.SuppPubOther: b"SUIT Payload Encryption"}
    assert message.decrypt(recipient) == PT


def _pycose_message(info: bytes) -> object:
    """pycose's own decode expects cbor2 to return lists inside tags; this cbor2 returns
    tuples and frozendicts there, so the tag is checked here and the body thawed."""
    from pycose.messages import EncMessage
    tagged = cbor2.loads(info)
    assert tagged.tag == 96

    def thaw(value: object) -> object:
        if isinstance(value, (list, tuple)):
            return [thaw(v) for v in value]
        if isinstance(value, dict) or type(value).__name__ == "frozendict":
            return {k: thaw(v) for k, v in value.items()}  # type: ignore[attr-defined]
        return value
    return EncMessage.from_cose_obj(thaw(tagged.value), True)


def _kek_from_text(shared: bytes, protected: bytes) -> bytes:
    """FE §5.2 read literally: HKDF-SHA256, no salt, info = COSE_KDF_Context."""
    context = cbor2.dumps([-3, [None, None, None], [None, None, None],
                           [128, protected, b"SUIT Payload Encryption"]])
    return HKDF(hashes.SHA256(), 16, salt=None, info=context).derive(shared)


def test_x25519_chacha_poly_decrypts_with_primitives_from_the_draft_text() -> None:
    device = x25519.X25519PrivateKey.generate()
    out = encrypt(PT * 100, CoseAlgorithm.CHACHA20_POLY1305, [DeviceKey(device.public_key(), b"dev")])
    tag = cbor2.loads(out.info)
    protected, unprotected, ciphertext, recipients = tag.value
    assert cbor2.loads(protected) == {1: 24} and ciphertext is None
    r_protected, r_unprotected, wrapped = recipients[0]
    assert cbor2.loads(r_protected) == {1: -29} and r_unprotected[4] == b"dev"
    ephemeral = r_unprotected[-1]
    assert ephemeral[1] == 1 and ephemeral[-1] == 4  # OKP, X25519 (RFC 9053 §7.2)
    shared = device.exchange(x25519.X25519PublicKey.from_public_bytes(ephemeral[-2]))
    cek = aes_key_unwrap(_kek_from_text(shared, r_protected), wrapped)
    aad = cbor2.dumps(["Encrypt", protected, b""])
    assert ChaCha20Poly1305(cek).decrypt(unprotected[5], out.ciphertext, aad) == PT * 100


def test_p256_ctr_decrypts_with_primitives_from_the_draft_text() -> None:
    device = ec.generate_private_key(ec.SECP256R1())
    out = encrypt(PT, CoseAlgorithm.A128CTR, [DeviceKey(device.public_key())])
    protected, unprotected, _, recipients = cbor2.loads(out.info).value
    assert protected == b"" and unprotected[1] == -65534 and len(unprotected[5]) == 16
    r_protected, r_unprotected, wrapped = recipients[0]
    eph = r_unprotected[-1]
    peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + eph[-2] + eph[-3])
    cek = aes_key_unwrap(_kek_from_text(device.exchange(ec.ECDH(), peer), r_protected), wrapped)
    decryptor = Cipher(algorithms.AES(cek), modes.CTR(unprotected[5])).decryptor()
    assert decryptor.update(out.ciphertext) + decryptor.finalize() == PT


def test_a256kw_a256ctr_and_several_recipients() -> None:
    keks = [SoftwareKek(bytes(range(32)), b"a"), SoftwareKek(bytes(range(1, 33)), b"b")]
    out = encrypt(PT, CoseAlgorithm.A256CTR, keks)
    for kek in keks:
        assert decrypt(out.info, [RecipientKey(kid=kek.kid, kek=kek.kek)], out.ciphertext) == PT
    assert [cbor2.loads(out.info).value[3][i][1][1] for i in range(2)] == [-5, -5]


def test_embedded_ciphertext_and_gcm_aad() -> None:
    out = encrypt(PT, CoseAlgorithm.A128GCM, [KEK1], detached=False, randomness=GCM)
    protected, unprotected, ciphertext, _ = cbor2.loads(out.info).value
    assert ciphertext == out.ciphertext
    cek = GCM.cek
    assert cek is not None
    assert AESGCM(cek).decrypt(unprotected[5], ciphertext, cbor2.dumps(["Encrypt", protected, b""])) == PT


def test_bad_inputs_are_typed_errors() -> None:
    with pytest.raises(EncryptionError, match="at least one recipient"):
        encrypt(PT, CoseAlgorithm.A128GCM, [])
    with pytest.raises(EncryptionError, match="not an AES-KW key"):
        encrypt(PT, CoseAlgorithm.A128GCM, [SoftwareKek(b"short")])
    with pytest.raises(EncryptionError, match="secp384r1"):
        encrypt(PT, CoseAlgorithm.A128GCM, [DeviceKey(ec.generate_private_key(ec.SECP384R1()).public_key())])
    with pytest.raises(UnsupportedAlgorithm):
        encrypt(PT, CoseAlgorithm.ESP256, [KEK1])
    with pytest.raises(EncryptionError, match="16-byte key"):
        encrypt(PT, CoseAlgorithm.A128GCM, [KEK1], randomness=Randomness(cek=b"x", iv=b"y"))


@pytest.mark.parametrize("alg", list(CONTENT_ALGORITHMS))
def test_streamed_encryption_is_the_one_shot_bytes(alg: CoseAlgorithm) -> None:
    key_size, iv_size = CONTENT_ALGORITHMS[alg]
    rng = Randomness(cek=bytes(range(key_size)), iv=bytes(range(50, 50 + iv_size)))
    plaintext = bytes(range(256)) * 41 + b"odd"
    one_shot = encrypt(plaintext, alg, [KEK1], randomness=rng)
    stream = StreamEncryptor(alg, [KEK1], rng)
    pieces = [stream.update(plaintext[i:i + 1000]) for i in range(0, len(plaintext), 1000)]
    assert b"".join(pieces) + stream.finalize() == one_shot.ciphertext
    assert stream.info == one_shot.info and stream.size == len(plaintext)


def test_streamed_chacha_poly_is_rfc8439_as_cryptography_implements_it() -> None:
    # The one-shot path uses cryptography's ChaCha20Poly1305; the streamed one composes
    # ChaCha20 and Poly1305 itself: both must decrypt with the AEAD, any chunking.
    stream = StreamEncryptor(CoseAlgorithm.CHACHA20_POLY1305, [KEK1])
    data = bytes(range(256)) * 7
    out = b"".join(stream.update(data[i:i + 17]) for i in range(0, len(data), 17)) + stream.finalize()
    aad = cbor2.dumps(["Encrypt", stream.setup.protected, b""])
    assert ChaCha20Poly1305(stream.setup.cek).decrypt(stream.setup.iv, out, aad) == data


def test_streaming_memory_is_bounded() -> None:
    import tracemalloc
    stream = StreamEncryptor(CoseAlgorithm.A128GCM, [KEK1])
    chunk = bytes(1 << 20)
    tracemalloc.start()
    try:
        for _ in range(32):  # 32 MiB through, 1 MiB at a time
            stream.update(chunk)
        stream.finalize()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20
