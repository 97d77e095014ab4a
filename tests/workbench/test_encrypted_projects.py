"""Encrypted components in projects: detached ciphertext files, encrypted content, a KEK
inside SoftHSM2 wrapping through the token, and every way a project can ask for something
its profile or keys cannot give (a typed error, exit 2, nothing written)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cbor2
import pkcs11
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap
from pkcs11 import Attribute, KeyType, ObjectClass

from suit.codec import decode_envelope
from suit.encrypt import Randomness
from suit.encryption import RecipientKey, decrypt
from suit.model import Command, EmbeddedCbor, Parameter
from tests.fixtures.projects import encrypted_project, install_encryption_info, write_project
from tests.fixtures.softhsm import SoftHsm
from tests.workbench.conftest import run_suitwb
from tests.workbench.test_profiles import IMAGE, _decrypt
from workbench.project.builder import BuildOptions, build_project, encrypted_path
from workbench.project.encryption import EncryptionOptions
from workbench.project.projectfile import loads_project

GCM = "suit-sha256-esp256-ecdh-a128gcm"


def _pem(key: object, private: bool) -> bytes:
    if private:
        return key.private_bytes(serialization.Encoding.PEM,  # type: ignore[attr-defined]
                                 serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return key.public_key().public_bytes(serialization.Encoding.PEM,  # type: ignore[attr-defined]
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def _write_project(folder: Path, profile: str | None, component: str) -> Path:
    return write_project(folder, IMAGE, component, profile=profile)


@pytest.fixture
def device(tmp_path: Path) -> ec.EllipticCurvePrivateKey:
    key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "device.pub.pem").write_bytes(_pem(key, False))
    (tmp_path / "device.pem").write_bytes(_pem(key, True))
    return key


def test_detached_ciphertext_is_written_beside_the_envelope(tmp_path: Path, device: object, data_dir: Path) -> None:
    project = encrypted_project(tmp_path, IMAGE, profile=GCM, recipient="device.pub.pem",
                                integrated=False, staging="download", name=None)
    out = tmp_path / "out.suit"
    built = run_suitwb("build", project, "-o", out)
    assert built.returncode == 0, built.stderr
    ciphertext = encrypted_path(out, "app").read_bytes()
    assert f"encrypted payload {encrypted_path(out, 'app')}: {len(ciphertext)} bytes" in built.stdout
    assert ciphertext != IMAGE and len(ciphertext) == len(IMAGE) + 16  # GCM tag
    envelope = decode_envelope(out.read_bytes())
    assert not envelope.integrated
    # payload-fetch: the staging component fetches the ciphertext and checks ITS digest;
    # install: copy with encryption-info, then image-match on the plaintext digest.
    fetch = envelope.manifest.payload_fetch
    assert fetch is not None
    params = next(c.argument for c in fetch.commands if c.command == Command.OVERRIDE_PARAMETERS)
    assert params[Parameter.IMAGE_DIGEST].value == hashlib.sha256(ciphertext).digest()
    assert params[Parameter.IMAGE_SIZE] == len(ciphertext)  # a device checks capacity first
    assert params[Parameter.URI] == "https://example.com/app.enc"
    install = envelope.manifest.install
    assert install is not None
    names = [c.command for c in install.commands]
    assert names == [Command.SET_COMPONENT_INDEX, Command.OVERRIDE_PARAMETERS, Command.COPY, Command.IMAGE_MATCH]
    info = install.commands[1].argument[Parameter.ENCRYPTION_INFO]
    assert isinstance(info, EmbeddedCbor)
    # Our own decrypting side (suit.encryption) and the FE-text one agree.
    assert decrypt(info.data, [RecipientKey(private_key=device)], ciphertext) == IMAGE  # type: ignore[arg-type]
    assert _decrypt(info.data, ciphertext, tmp_path / "device.pem") == IMAGE


def test_encrypted_content_is_written_with_itsinstall_encryption_info(tmp_path: Path, device: object) -> None:
    project = loads_project(f'''profile = "{GCM}"
[[component]]
name = "config"
id = ["h'02'"]
content = "h'0102030405'"
encrypt = true
recipients = ["{tmp_path / 'device.pub.pem'}"]
''')
    cek, iv = bytes(range(16)), bytes(12)
    result = build_project(project, BuildOptions(encryption=EncryptionOptions(
        randomness=Randomness(cek=cek, iv=iv))))
    install = result.envelope.manifest.install
    assert install is not None
    assert [c.command for c in install.commands] == [Command.OVERRIDE_PARAMETERS, Command.WRITE,
                                                     Command.IMAGE_MATCH]
    params = install.commands[0].argument
    aad = cbor2.dumps(["Encrypt", cbor2.dumps({1: 1}), b""])
    assert params[Parameter.CONTENT] == AESGCM(cek).encrypt(iv, bytes.fromhex("0102030405"), aad)
    assert params[Parameter.IMAGE_DIGEST].value == hashlib.sha256(bytes.fromhex("0102030405")).digest()
    assert params[Parameter.IMAGE_SIZE] == 5 and Parameter.ENCRYPTION_INFO in params
    assert result.encrypted_payloads == {}  # nothing detached


def test_kek_in_softhsm_wraps_through_the_token(tmp_path: Path, softhsm: SoftHsm, data_dir: Path) -> None:
    kek = bytes(range(100, 132))
    lib = pkcs11.lib(softhsm.module)
    token = lib.get_token(token_label="release")
    with token.open(rw=True, user_pin=softhsm.user_pin) as session:
        # A KEK with a known value, so the test can unwrap in software what the token
        # wrapped: CKM_AES_KEY_WRAP must be RFC 3394 as FE §5.1 says.
        session.create_object({Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.KEY_TYPE: KeyType.AES,
                               Attribute.VALUE: kek, Attribute.TOKEN: True, Attribute.LABEL: "kek-256",
                               Attribute.ID: b"kek-id", Attribute.WRAP: True, Attribute.UNWRAP: True,
                               Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False})
    uri = softhsm.uri(object="kek-256")
    project = encrypted_project(tmp_path, IMAGE, profile="suit-sha256-hsslms-a256kw-a256ctr",
                                recipient=uri, staging="download", name=None)
    out = tmp_path / "out.suit"
    built = run_suitwb("build", project, "-o", out)
    assert built.returncode == 0, built.stderr
    envelope = out.read_bytes()
    info = install_encryption_info(envelope)
    recipients = cbor2.loads(info).value[3]
    r_protected, r_unprotected, wrapped = recipients[0]
    assert r_protected == b"" and dict(r_unprotected) == {1: -5, 4: b"kek-id"}
    (tmp_path / "kek.cose").write_bytes(cbor2.dumps({1: 4, -1: kek}))
    assert _decrypt(info, cbor2.loads(envelope).value["#app"], tmp_path / "kek.cose") == IMAGE
    assert len(aes_key_unwrap(kek, wrapped)) == 32  # A256CTR content key

    generated = run_suitwb("keys", "generate", "--key", softhsm.uri(object="new-kek", id="%42"),
                           "--alg", "A128KW")
    assert generated.returncode == 0, generated.stderr
    assert "kid 42" in generated.stdout
    with token.open(user_pin=softhsm.user_pin) as session:
        made = session.get_key(label="new-kek")
        assert made[Attribute.VALUE_LEN] == 16 and made[Attribute.WRAP]
        assert not made[Attribute.EXTRACTABLE] and made[Attribute.SENSITIVE]
    listed = run_suitwb("keys", "list", "--module", softhsm.module, "--token", "release", "--login",
                        env={"SUITWB_PIN": softhsm.user_pin})
    assert listed.returncode == 0, listed.stderr
    assert "new-kek" in listed.stdout and "AES-128" in listed.stdout


@pytest.mark.parametrize("profile,component,sign,message", [
    (None, 'content = "h\'01\'"\nencrypt = true\nrecipients = ["device.pub.pem"]', None,
     "encrypted components need the project's profile"),
    ("suit-sha256-nope", 'content = "h\'01\'"', None, "unknown algorithm profile"),
    (GCM, 'content = "h\'01\'"\nencrypt = true\nrecipients = ["x25519.pub.pem"]', None,
     "a X25519 device key cannot be a recipient for ECDH-ES-A128KW"),
    (GCM, 'content = "h\'01\'"\nencrypt = true\nrecipients = ["kek16.cose"]', None,
     "a key-encryption key cannot be a recipient"),
    ("suit-sha256-hsslms-a256kw-a256ctr", 'content = "h\'01\'"\nencrypt = true\nrecipients = ["kek16.cose"]',
     None, "a A128KW key-encryption key cannot be a recipient for A256KW"),
    (GCM, 'content = "h\'01\'"\nencrypt = true\nrecipients = ["device.pem"]', None,
     "a private key: encrypt to the device's public key"),
    (GCM, 'content = "h\'01\'"\nencrypt = true\nrecipients = []', None,
     "an encrypted component needs recipients"),
    (GCM, 'uri = "https://e.com/a"\nencrypt = true\nrecipients = ["device.pub.pem"]\n'
          '[component.image]\nfile = "app.bin"', None, "fetched into a staging component"),
    (GCM, 'content = "h\'01\'"', "ed25519.pem",
     "a key of type Ed25519 cannot sign ESP256"),
    ("suit-sha256-ed25519-ecdh-a128ctr", 'content = "h\'01\'"', "p256.pem",
     "a key of type P-256 cannot sign ED25519"),
])
def test_what_the_profile_or_keys_cannot_give_is_a_typed_error(
        tmp_path: Path, device: object, profile: str | None, component: str, sign: str | None,
        message: str) -> None:
    (tmp_path / "x25519.pub.pem").write_bytes(_pem(x25519.X25519PrivateKey.generate(), False))
    (tmp_path / "ed25519.pem").write_bytes(_pem(ed25519.Ed25519PrivateKey.generate(), True))
    (tmp_path / "p256.pem").write_bytes(_pem(ec.generate_private_key(ec.SECP256R1()), True))
    (tmp_path / "kek16.cose").write_bytes(cbor2.dumps({1: 4, 2: b"k", -1: bytes(16)}))
    project = _write_project(tmp_path, profile, component)
    out = tmp_path / "out.suit"
    result = run_suitwb("build", project, "-o", out, *(["--sign", tmp_path / sign] if sign else []))
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert "hint:" in result.stderr
    assert not out.exists()


def test_build_refuses_a_signer_outside_the_profile() -> None:
    """The builder checks signers itself (the GUI opens them without the CLI's --sign path)."""
    from signing.errors import WrongKeyType
    from signing.signer import SignerIdentity
    from signing.software import SoftwareSigner
    from suit.cose import SIGNATURE_ALGORITHMS, CoseAlgorithm
    key = ed25519.Ed25519PrivateKey.generate()
    signer = SoftwareSigner(key, SignerIdentity(SIGNATURE_ALGORITHMS[CoseAlgorithm.ED25519], b"k",
                                                "ed.pem", key.public_key()))
    project = loads_project(f'profile = "{GCM}"\n[[component]]\nname = "a"\nid = ["h\'00\'"]\n')
    with pytest.raises(WrongKeyType, match="cannot sign ESP256 \\(profile suit-sha256-esp256-ecdh-a128gcm\\)"):
        build_project(project, BuildOptions(signers=[signer]))
    assert build_project(project).data  # unsigned: nothing to refuse


def test_profile_and_recipients_survive_a_save() -> None:
    from workbench.project.projectfile import dumps_project
    text = f'''profile = "{GCM}"
[[component]]
name = "a"
id = ["h'00'"]
encrypt = true
recipients = ["a.pem", {{ key = "b.pem", kid = "k" }}]
'''
    again = loads_project(dumps_project(loads_project(text)))
    assert again.profile == GCM and again.components[0].encrypt
    assert again.components[0].recipients == ["a.pem", {"key": "b.pem", "kid": "k"}]


def test_profile_whose_algorithm_has_no_signer_is_a_typed_refusal(tmp_path: Path) -> None:
    """Regression: the hsslms profile with a P-256 key ended in KeyError (exit 70)."""
    (tmp_path / "p256.pem").write_bytes(_pem(ec.generate_private_key(ec.SECP256R1()), True))
    project = _write_project(tmp_path, "suit-sha256-hsslms-a256kw-a256ctr", 'content = "h\'01\'"')
    result = run_suitwb("build", project, "-o", tmp_path / "out.suit", "--sign", tmp_path / "p256.pem")
    assert result.returncode == 2, result.stderr
    assert "a key of type P-256 cannot sign HSS-LMS" in result.stderr


def test_keys_generate_never_replaces_a_key_file(tmp_path: Path) -> None:
    kek = tmp_path / "kek.cose"
    first = run_suitwb("keys", "generate", "-o", kek, "--alg", "A256KW", "--kid", "site-1")
    assert first.returncode == 0, first.stderr
    key = cbor2.loads(kek.read_bytes())
    assert key[1] == 4 and key[2] == b"site-1" and key[3] == -5 and len(key[-1]) == 32
    assert kek.stat().st_mode & 0o077 == 0  # a secret: owner only
    again = run_suitwb("keys", "generate", "-o", kek, "--alg", "A128KW")
    assert again.returncode == 2 and "never replaced" in again.stderr
    assert cbor2.loads(kek.read_bytes()) == key
    token = run_suitwb("keys", "generate", "--key", "pkcs11:token=t;object=d", "--alg", "X25519")
    assert token.returncode == 2 and "device keys are made as files" in token.stderr


def test_detached_encrypted_image_streams_in_bounded_memory(tmp_path: Path, device: object) -> None:
    """A detached image is digested and written encrypted chunk by chunk: building a 64 MiB
    one stays far below what holding it (plaintext and ciphertext) would take."""
    import subprocess
    import sys

    from tests.workbench.conftest import SUITWB
    project = _write_project(tmp_path, GCM, '''uri = "https://example.com/app.enc"
staging = "download"
encrypt = true
recipients = ["device.pub.pem"]
[component.image]
file = "big.bin"''')
    size = 64 << 20
    with open(tmp_path / "big.bin", "wb") as out:
        for i in range(64):
            out.write(bytes([i]) * (1 << 20))
    out_path = tmp_path / "out.suit"
    # The child's own peak RSS, measured by a parent of its own (not this test process's).
    probe = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
             "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    done = subprocess.run([sys.executable, "-c", probe, str(SUITWB), "build", str(project), "-o", str(out_path)],
                          capture_output=True, text=True, timeout=120)
    status, peak_kib = (int(v) for v in done.stdout.split()[-2:])
    assert status == 0, done.stderr
    assert peak_kib * 1024 < size  # holding the image even once would exceed this
    assert encrypted_path(out_path, "app").stat().st_size == size + 16
