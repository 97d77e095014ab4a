"""Software keys: plain and passphrase-protected PEM, COSE_Key secrets, and bad files."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from signing.backends import open_signer
from signing.errors import KeyFileError, PinIncorrect, PinUnavailable, WrongKeyType
from signing.pin import FixedPinProvider
from suit.cose import CoseAlgorithm
from tests.signing.independent import verify_with_cryptography


def _write(path: Path, key: object, password: bytes | None = None) -> Path:
    encryption = (serialization.BestAvailableEncryption(password) if password
                  else serialization.NoEncryption())
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,  # type: ignore[attr-defined]
                                       serialization.PrivateFormat.PKCS8, encryption))
    return path


def test_passphrase_protected_pem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SUITWB_PIN", raising=False)
    key = ec.generate_private_key(ec.SECP384R1())
    path = _write(tmp_path / "k.pem", key, b"correct horse")
    signer = open_signer(str(path), None, FixedPinProvider("correct horse"))
    signature = signer.sign(b"to be signed")
    assert signer.identity.algorithm.algorithm == CoseAlgorithm.ESP384 and len(signature) == 96
    verify_with_cryptography(-51, key.public_key(), b"to be signed", signature)
    with pytest.raises(PinIncorrect) as info:
        open_signer(str(path), None, FixedPinProvider("wrong horse"))
    assert "wrong horse" not in str(info.value)
    with pytest.raises(PinUnavailable):
        open_signer(str(path))
    monkeypatch.setenv("SUITWB_PIN", "correct horse")
    assert open_signer(str(path)).identity.kid == signer.identity.kid


def test_bad_key_files(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="no such file"):
        open_signer(str(tmp_path / "absent.pem"))
    (tmp_path / "junk").write_bytes(b"\xff\x00junk")
    with pytest.raises(KeyFileError):
        open_signer(str(tmp_path / "junk"))
    rsa_path = _write(tmp_path / "rsa.pem", rsa.generate_private_key(65537, 2048))
    with pytest.raises(KeyFileError, match="RSA"):
        open_signer(str(rsa_path))
    p521 = _write(tmp_path / "p521.pem", ec.generate_private_key(ec.SECP521R1()))
    with pytest.raises(WrongKeyType):
        open_signer(str(p521))


def test_closed_signer_refuses(software_keys) -> None:
    signer = open_signer(str(software_keys.path("P-256")))
    signer.close()
    with pytest.raises(KeyFileError, match="closed"):
        signer.sign(b"x")
