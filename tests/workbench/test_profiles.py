"""Issue 16 acceptance, author half: for each MTI profile (draft-ietf-suit-mti §3) a project
using it builds, signs and encrypts through the real `suitwb`; `verify` accepts; `inspect`
shows the profile, algorithms and recipients; the ciphertext decrypts, with primitives
driven from the FE text (not our decrypting code), to the image the manifest's plaintext
digest names.

The device-install half (each profile signed, the hsslms one with an HSS-LMS key, installed
on the virtual device over the real protocol) is tests/flasher/test_profiles_device.py.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, x25519
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap

from suit.cose import algorithm_name
from suit.profiles import profile
from tests.fixtures.projects import (
    encrypted_project,
    generate_hss_lms,
    install_encryption_info,
    recipient_key,
)
from tests.workbench.conftest import run_suitwb

IMAGE = bytes(range(256)) * 37 + b"firmware tail"  # not a multiple of the AES block

# profile -> (recipient key --alg, content alg id, key-exchange alg id)
PROFILES = {
    "suit-sha256-hmac-a128kw-a128ctr": ("A128KW", -65534, -3),
    "suit-sha256-esp256-ecdh-a128ctr": ("ECDH-P256", -65534, -29),
    "suit-sha256-ed25519-ecdh-a128ctr": ("X25519", -65534, -29),
    "suit-sha256-esp256-ecdh-a128gcm": ("ECDH-P256", 1, -29),
    "suit-sha256-ed25519-ecdh-chacha-poly": ("X25519", 24, -29),
    "suit-sha256-hsslms-a256kw-a256ctr": ("A256KW", -65532, -5),
}


def _pem_pair(folder: Path, key: object) -> tuple[list[str], list[str]]:
    private = folder / "signer.pem"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM,  # type: ignore[attr-defined]
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    public = folder / "signer.pub.pem"
    public.write_bytes(key.public_key().public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return ["--sign", str(private)], ["--key", str(public)]


def _hmac(folder: Path) -> tuple[list[str], list[str]]:
    secret = bytes(range(32))
    path = folder / "mac.cose"
    path.write_bytes(cbor2.dumps({1: 4, 2: b"mac-1", -1: secret}))
    return ["--sign", str(path)], ["--secret-hex", secret.hex()]


def _hss_lms(folder: Path) -> tuple[list[str], list[str]]:
    """A small stateful key (H5: 32 signatures) made by the CLI; its public COSE_Key."""
    key = folder / "release.hss"
    anchor = generate_hss_lms(run_suitwb, key)
    return ["--sign", str(key)], ["--key", str(anchor)]


#: auth algorithm -> makes the signing key: (build args, verify args).
SIGNERS: dict[str, Callable[[Path], tuple[list[str], list[str]]] | None] = {
    "hmac": _hmac,
    "esp256": lambda folder: _pem_pair(folder, ec.generate_private_key(ec.SECP256R1())),
    "ed25519": lambda folder: _pem_pair(folder, ed25519.Ed25519PrivateKey.generate()),
    "hsslms": _hss_lms,
}


def _project(folder: Path, name: str, recipient: str, integrated: bool) -> Path:
    return encrypted_project(folder, IMAGE, profile=name, recipient=recipient, kid="dev-1",
                             integrated=integrated, staging="download", sequence_number=7,
                             invoke=True)


def _kek_from_text(shared: bytes, protected: bytes) -> bytes:
    """FE §5.2 read literally: HKDF-SHA256, no salt, info = COSE_KDF_Context."""
    context = cbor2.dumps([-3, [None, None, None], [None, None, None],
                           [128, protected, b"SUIT Payload Encryption"]])
    return HKDF(hashes.SHA256(), 16, salt=None, info=context).derive(shared)


def _cek(recipient: list[object], device_key: Path) -> bytes:
    protected, unprotected, wrapped = recipient
    assert isinstance(wrapped, bytes) and isinstance(protected, bytes)
    assert hasattr(unprotected, "items")  # cbor2 gives a frozendict inside a tag
    data = device_key.read_bytes()
    if unprotected.get(1) in (-3, -5):  # AES-KW under the KEK file's k (ECDH: alg protected)
        return aes_key_unwrap(cbor2.loads(data)[-1], wrapped)
    private = serialization.load_pem_private_key(data, None)
    eph = unprotected[-1]
    if isinstance(private, x25519.X25519PrivateKey):
        shared = private.exchange(x25519.X25519PublicKey.from_public_bytes(eph[-2]))
    else:
        assert isinstance(private, ec.EllipticCurvePrivateKey)
        peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + eph[-2] + eph[-3])
        shared = private.exchange(ec.ECDH(), peer)
    return aes_key_unwrap(_kek_from_text(shared, protected), wrapped)


def _decrypt(info: bytes, ciphertext: bytes, device_key: Path) -> bytes:
    protected, unprotected, _, recipients = cbor2.loads(info).value
    cek = _cek(list(recipients[0]), device_key)
    alg = cbor2.loads(protected)[1] if protected else unprotected[1]
    aad = cbor2.dumps(["Encrypt", protected, b""])
    if alg == 1:
        return AESGCM(cek).decrypt(unprotected[5], ciphertext, aad)
    if alg == 24:
        return ChaCha20Poly1305(cek).decrypt(unprotected[5], ciphertext, aad)
    decryptor = Cipher(algorithms.AES(cek), modes.CTR(unprotected[5])).decryptor()
    return decryptor.update(ciphertext) + decryptor.finalize()


@pytest.mark.parametrize("name", list(PROFILES))
def test_profile_builds_signs_encrypts_and_verifies(name: str, tmp_path: Path, data_dir: Path) -> None:
    recipient_alg, content_alg, kex_alg = PROFILES[name]
    device_key, recipient = recipient_key(run_suitwb, tmp_path, recipient_alg)
    project = _project(tmp_path, name, recipient.name, integrated=True)
    make_signer = SIGNERS[name.split("-")[2]]
    sign_args, verify_args = make_signer(tmp_path) if make_signer else ([], [])
    out = tmp_path / "out.suit"
    built = run_suitwb("build", project, "-o", out, *sign_args)
    assert built.returncode == 0, built.stderr
    assert f"profile {name}" in built.stdout
    if make_signer is not None:
        verified = run_suitwb("verify", out, *verify_args)
        assert verified.returncode == 0, verified.stderr
    summary = json.loads(run_suitwb("inspect", out, "--format", "json").stdout)
    assert summary["profiles"] == [name]
    [info] = summary["encryption"]
    assert [r["kid"] for r in info["recipients"]] == [b"dev-1".hex()] and info["detached"]
    text = run_suitwb("inspect", out).stdout
    assert f"profile          {name}" in text and "recipient" in text
    # The algorithms line names all four of the profile's algorithms (issue 16: inspect
    # shows algorithms, recipients, profile).
    chosen = profile(name)
    assert (f"algorithms       digests sha256; auth {algorithm_name(chosen.auth)}; key exchange "
            f"{algorithm_name(chosen.key_exchange)}; encryption "
            f"{algorithm_name(chosen.encryption)}") in text, text
    # The ciphertext is integrated; decrypted from the FE text it is the image, whose
    # digest the manifest states (FE §6.2: the plaintext digest).
    envelope = out.read_bytes()
    ciphertext = cbor2.loads(envelope).value["#app"]
    encryption_info = install_encryption_info(envelope)
    r_protected, r_unprotected, _ = cbor2.loads(encryption_info).value[3][0]
    assert (cbor2.loads(r_protected) if r_protected else r_unprotected)[1] == kex_alg
    assert _decrypt(encryption_info, ciphertext, device_key) == IMAGE
    assert _content_alg(encryption_info) == content_alg
    assert _stated_image_digest(envelope) == hashlib.sha256(IMAGE).digest()


def _content_alg(info: bytes) -> int:
    protected, unprotected, _, _ = cbor2.loads(info).value
    return int(cbor2.loads(protected)[1] if protected else unprotected[1])


def _stated_image_digest(envelope: bytes) -> bytes:
    """The image digest the shared sequence states for component 0 (app)."""
    from suit.codec import decode_envelope
    from suit.model import Command, Parameter
    shared = decode_envelope(envelope).manifest.common.shared_sequence
    assert shared is not None
    for item in shared.commands:
        if item.command == Command.OVERRIDE_PARAMETERS and Parameter.IMAGE_DIGEST in item.argument:
            return bytes(item.argument[Parameter.IMAGE_DIGEST].value)
    raise AssertionError("no image digest in the shared sequence")


def test_unknown_alg_id_guard() -> None:
    assert set(PROFILES) == set(__import__("suit.profiles", fromlist=["PROFILES"]).PROFILES)
