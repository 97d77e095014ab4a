"""Acceptance (issue 16): the virtual device decrypts over the real protocol. Every step is
a real `suitwb` subprocess: `device serve --decryption-key` on a pty, `flash`, `device
status`; the keys are files and a KEK in a SoftHSM2 token."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, x25519

from tests.fixtures.softhsm import SoftHsm
from tests.fixtures.vectors import SPEC_KEY_PUBLIC
from tests.flasher.cli import device_serve, suitwb
from tests.flasher.device.conftest import image_of
from tests.signing.test_token_unwrap import import_kek
from testsupport.encrypted import (
    A128CTR,
    A128GCM,
    CHACHA20_POLY1305,
    Encrypted,
    ecdh_recipient,
    encrypt,
    fetch_and_decrypt,
    kw_recipient,
)

URI = "http://host/app.enc"


def _pem(key: ec.EllipticCurvePrivateKey | x25519.X25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _flash(tmp_path: Path, port: str, number: int, image: bytes, encrypted: Encrypted, *,
           ciphertext: bytes | None = None) -> tuple[int, dict]:
    bundle = tmp_path / f"app-{number}.suit"
    bundle.write_bytes(fetch_and_decrypt(number, image, encrypted, uri=URI).envelope())
    payload = tmp_path / f"app-{number}.enc"
    payload.write_bytes(encrypted.ciphertext if ciphertext is None else ciphertext)
    done = suitwb("flash", bundle, "--port", port, "--payload", f"{URI}={payload}", "--json",
                  data_dir=tmp_path, check=False)
    assert "Traceback" not in done.stderr
    [outcome] = json.loads(done.stdout)
    return done.returncode, outcome


def _status(tmp_path: Path, port: str) -> dict:
    return json.loads(suitwb("device", "status", "--port", port, "--json",
                             data_dir=tmp_path).stdout)


def test_device_decrypts_and_refuses_wrong_key_and_tampering(tmp_path: Path) -> None:
    p256, x25519_key, kek = ec.generate_private_key(ec.SECP256R1()), \
        x25519.X25519PrivateKey.generate(), os.urandom(16)
    (tmp_path / "p256.pem").write_bytes(_pem(p256))
    (tmp_path / "x25519.pem").write_bytes(_pem(x25519_key))
    (tmp_path / "kek.hex").write_text(kek.hex() + "\n")
    first, second = image_of(40_000, 1), image_of(70_000, 2)
    with device_serve("--state", tmp_path / "state", "--trust-anchor", SPEC_KEY_PUBLIC,
                      "--decryption-key", tmp_path / "p256.pem", "--decryption-key",
                      tmp_path / "x25519.pem", "--decryption-key", tmp_path / "kek.hex",
                      data_dir=tmp_path) as port:
        code, outcome = _flash(tmp_path, port, 1, first,
                               encrypt(first, ecdh_recipient(p256.public_key()), A128GCM))
        assert (code, outcome["result"]) == (0, "ok"), outcome
        status = _status(tmp_path, port)
        app = status["components"][0]
        assert (app["sequence_number"], app["digest"]) == (1, hashlib.sha256(first).hexdigest())

        wrong = encrypt(second, kw_recipient(os.urandom(16)), A128GCM)
        code, outcome = _flash(tmp_path, port, 2, second, wrong)
        assert (code, outcome["refusal"]) == (1, "wrong_key"), outcome

        good = encrypt(second, kw_recipient(kek), A128GCM)
        tampered = bytearray(good.ciphertext)
        tampered[50_000] ^= 0x04
        code, outcome = _flash(tmp_path, port, 2, second, good, ciphertext=bytes(tampered))
        assert (code, outcome["refusal"]) == (1, "decryption_failed"), outcome

        ctr = encrypt(second, kw_recipient(kek), A128CTR)
        tampered = bytearray(ctr.ciphertext)
        tampered[7] ^= 0x01
        code, outcome = _flash(tmp_path, port, 2, second, ctr, ciphertext=bytes(tampered))
        assert (code, outcome["refusal"]) == (1, "payload_digest_mismatch"), outcome

        app = _status(tmp_path, port)["components"][0]  # the running image is untouched
        assert (app["sequence_number"], app["digest"]) == (1, hashlib.sha256(first).hexdigest())

        chacha = encrypt(second, ecdh_recipient(x25519_key.public_key()), CHACHA20_POLY1305)
        code, outcome = _flash(tmp_path, port, 2, second, chacha)
        assert (code, outcome["result"]) == (0, "ok"), outcome
        app = _status(tmp_path, port)["components"][0]
        assert (app["sequence_number"], app["digest"]) == (2, hashlib.sha256(second).hexdigest())


def test_device_unwraps_through_a_softhsm_token(tmp_path: Path, softhsm: SoftHsm) -> None:
    kek = os.urandom(16)
    uri = import_kek(softhsm, f"serve-kek-{os.getpid()}", kek)
    image = image_of(30_000, 3)
    with device_serve("--state", tmp_path / "state", "--trust-anchor", SPEC_KEY_PUBLIC,
                      "--decryption-key", uri, data_dir=tmp_path) as port:
        code, outcome = _flash(tmp_path, port, 1, image,
                               encrypt(image, kw_recipient(kek), A128GCM))
        assert (code, outcome["result"]) == (0, "ok"), outcome
        code, outcome = _flash(tmp_path, port, 2, image,
                               encrypt(image, kw_recipient(os.urandom(16)), A128GCM))
        assert (code, outcome["refusal"]) == (1, "wrong_key"), outcome


def test_an_unusable_decryption_key_is_refused_at_start_with_status_2(tmp_path: Path) -> None:
    (tmp_path / "short.key").write_bytes(b"0123456789")  # 10 bytes: no AES key, no PEM
    (tmp_path / "rsa.pem").write_bytes(b"-----BEGIN PRIVATE KEY-----\nnot base64\n"
                                       b"-----END PRIVATE KEY-----\n")
    for name in ("short.key", "rsa.pem", "missing.pem"):
        done = suitwb("device", "serve", "--pty", "--state", tmp_path / "state",
                      "--decryption-key", tmp_path / name, data_dir=tmp_path, check=False,
                      timeout=60)
        assert done.returncode == 2, (name, done.stderr)
        assert "Traceback" not in done.stderr and done.stdout == ""
        assert name in done.stderr
