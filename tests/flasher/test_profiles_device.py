"""Issue 16 acceptance line 1, end to end: for each of the six MTI author profiles
(draft-ietf-suit-mti §3) a release project using it builds, signs and encrypts; `verify`
accepts; the virtual device, served on a real pty with the matching decryption key and
trust anchor, installs it over the real recovery protocol (`suitwb flash`); and `device
status` shows the PLAINTEXT digest (FE §6.2: image-match checks the decrypted image).

Every step is the real `suitwb` in a subprocess, with the keys `suitwb keys generate` makes:
recipient keys (--alg X25519 / ECDH-P256: a PEM key pair; A128KW / A256KW: a COSE_Key KEK
file), signing keys (ESP256, Ed25519, an HMAC COSE_Key, and a small HSS-LMS tree whose
public COSE_Key is the device's trust anchor).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from functools import partial
from pathlib import Path

import cbor2
import pytest

from flasher.loader.decryption import DecryptionKeyError, load_decryption_key
from signing.keyref import FileKeyRef
from signing.software import open_software_signer
from tests.fixtures.projects import (
    encrypted_project,
    generate_hss_lms,
    generate_key,
    recipient_key,
    write_project,
)
from tests.flasher.cli import device_serve, suitwb

IMAGE = bytes(range(251)) * 97 + b"plaintext tail"  # not a multiple of the AES block
VENDOR = uuid.uuid5(uuid.NAMESPACE_DNS, "example.com")
CLASS = uuid.uuid5(VENDOR, "widget")

#: The profiles whose ciphertext is detached (fetched from its uri, `flash --payload`); the
#: others travel integrated in the envelope. Both shapes stage into the staging component
#: and copy with encryption-info into the app slot, then image-match the plaintext.
DETACHED = {"suit-sha256-esp256-ecdh-a128gcm", "suit-sha256-ed25519-ecdh-a128ctr"}
URI = "https://example.com/app.enc"

#: profile -> (recipient key --alg, signing key --alg or "hss-lms")
PROFILES = {
    "suit-sha256-hmac-a128kw-a128ctr": ("A128KW", "HMAC-256-256"),
    "suit-sha256-esp256-ecdh-a128ctr": ("ECDH-P256", "ESP256"),
    "suit-sha256-ed25519-ecdh-a128ctr": ("X25519", "Ed25519"),
    "suit-sha256-esp256-ecdh-a128gcm": ("ECDH-P256", "ESP256"),
    "suit-sha256-ed25519-ecdh-chacha-poly": ("X25519", "Ed25519"),
    "suit-sha256-hsslms-a256kw-a256ctr": ("A256KW", "hss-lms"),
}


def _project(folder: Path, name: str, recipient: Path, *, integrated: bool) -> Path:
    return encrypted_project(folder, IMAGE, profile=name, recipient=recipient.name, kid="dev-1",
                             integrated=integrated, uri=URI, sequence_number=3)


def _recipient(folder: Path, alg: str) -> tuple[Path, Path]:
    """(the device's decryption key, what the project names as recipient)."""
    return recipient_key(partial(suitwb, data_dir=folder), folder, alg, kid="dev-1")


def _signer(folder: Path, alg: str) -> tuple[Path, Path]:
    """(the signing key, the device's trust anchor)."""
    run = partial(suitwb, data_dir=folder)
    if alg == "hss-lms":
        key = folder / "release.hss"
        return key, generate_hss_lms(run, key)
    key = generate_key(run, folder / "release.key", "--alg", alg)
    if alg == "HMAC-256-256":
        return key, key  # a MAC: the device holds the same secret (COSE_Key)
    return key, _public_of(folder, key)


def _public_of(folder: Path, key: Path) -> Path:
    public = folder / "release.pub.pem"
    suitwb("keys", "export", "--key", key, "-o", public, data_dir=folder)
    return public


def _verify_args(anchor: Path) -> list[object]:
    return ["--key", anchor]


@pytest.mark.parametrize("name", list(PROFILES))
def test_profile_installs_on_the_device_and_status_shows_the_plaintext_digest(
        name: str, tmp_path: Path) -> None:
    recipient_alg, signing_alg = PROFILES[name]
    decryption_key, recipient = _recipient(tmp_path, recipient_alg)
    signing_key, anchor = _signer(tmp_path, signing_alg)
    project = _project(tmp_path, name, recipient, integrated=name not in DETACHED)
    bundle = tmp_path / "release.suit"
    built = suitwb("build", project, "-o", bundle, "--sign", signing_key, data_dir=tmp_path)
    assert f"profile {name}" in built.stdout
    suitwb("verify", bundle, *_verify_args(anchor), data_dir=tmp_path)
    if name in DETACHED:
        detached = bundle.with_name("release.app.enc")
        ciphertext, payload = detached.read_bytes(), ["--payload", f"{URI}={detached}"]
    else:
        ciphertext, payload = cbor2.loads(bundle.read_bytes()).value["#app"], []
    assert IMAGE[:64] not in ciphertext  # what travels is encrypted

    with device_serve("--state", tmp_path / "state", "--trust-anchor", anchor,
                      "--decryption-key", decryption_key, "--vendor-id", VENDOR,
                      "--class-id", CLASS, data_dir=tmp_path) as port:
        done = suitwb("flash", bundle, "--port", port, *payload, "--json", data_dir=tmp_path, check=False)
        assert "Traceback" not in done.stderr
        [outcome] = json.loads(done.stdout)
        assert (done.returncode, outcome["result"]) == (0, "ok"), (outcome, done.stderr)
        status = json.loads(suitwb("device", "status", "--port", port, "--json",
                                   data_dir=tmp_path).stdout)
    app = status["components"][0]
    assert (app["sequence_number"], app["digest"]) == (3, hashlib.sha256(IMAGE).hexdigest())


CONTENT = bytes(range(200)) * 3  # a small image written from the manifest (FE's content shape)


def test_encrypted_content_is_written_decrypted_on_the_device(tmp_path: Path) -> None:
    """The other shape authors use (FE "suit-manifest-aes-kw-content"): write with the
    ciphertext as content and encryption-info; image-match then checks the plaintext."""
    name = "suit-sha256-hmac-a128kw-a128ctr"
    decryption_key, recipient = _recipient(tmp_path, "A128KW")
    signing_key, anchor = _signer(tmp_path, "HMAC-256-256")
    project = write_project(tmp_path, None, f"""content = "h'{CONTENT.hex()}'"
encrypt = true
recipients = [{{ key = "{recipient.name}", kid = "dev-1" }}]""", profile=name, staging=None,
                            sequence_number=2, name="content")
    bundle = tmp_path / "content.suit"
    suitwb("build", project, "-o", bundle, "--sign", signing_key, data_dir=tmp_path)
    suitwb("verify", bundle, "--key", anchor, data_dir=tmp_path)
    assert CONTENT[:32] not in bundle.read_bytes()
    with device_serve("--state", tmp_path / "state", "--trust-anchor", anchor,
                      "--decryption-key", decryption_key, "--vendor-id", VENDOR,
                      "--class-id", CLASS, data_dir=tmp_path) as port:
        done = suitwb("flash", bundle, "--port", port, "--json", data_dir=tmp_path, check=False)
        [outcome] = json.loads(done.stdout)
        assert (done.returncode, outcome["result"]) == (0, "ok"), (outcome, done.stderr)
        status = json.loads(suitwb("device", "status", "--port", port, "--json",
                                   data_dir=tmp_path).stdout)
    app = status["components"][0]
    assert (app["sequence_number"], app["digest"]) == (2, hashlib.sha256(CONTENT).hexdigest())


def test_an_hmac_key_file_is_a_cose_key_secret_a_signer_opens(tmp_path: Path) -> None:
    """Regression: `keys generate -o FILE --alg HMAC-256-256` wrote a P-384 PEM key and
    called it a secret, so the hmac profile could not sign with a generated key."""
    key = tmp_path / "mac.cose"
    done = suitwb("keys", "generate", "-o", key, "--alg", "HMAC-256-256", data_dir=tmp_path)
    assert "COSE_Key" in done.stdout and oct(key.stat().st_mode & 0o777) == "0o600"
    cose_key = cbor2.loads(key.read_bytes())
    assert cose_key[1] == 4 and len(cose_key[-1]) == 32 and cose_key[2].hex() in done.stdout
    assert open_software_signer(FileKeyRef(key)).identity.kid == cose_key[2]


def test_the_device_takes_the_kek_file_keys_generate_writes(tmp_path: Path) -> None:
    """Regression: a device refused the COSE_Key KEK file authors make with `keys generate
    --alg A128KW|A256KW` (it knew raw and hex keys only); the kid comes along."""
    for alg, size in (("A128KW", 16), ("A256KW", 32)):
        kek = tmp_path / f"{alg}.cose"
        suitwb("keys", "generate", "-o", kek, "--alg", alg, "--kid", "dev-9", data_dir=tmp_path)
        key = load_decryption_key(kek.read_bytes(), kek.name)
        assert key.kid == b"dev-9" and key.kek is not None and len(key.kek) == size
    with pytest.raises(DecryptionKeyError, match="16, 24 or 32"):
        load_decryption_key(cbor2.dumps({1: 4, -1: b"short"}), "bad.cose")
    with pytest.raises(DecryptionKeyError, match="not AES key wrap"):  # an HMAC secret
        load_decryption_key(cbor2.dumps({1: 4, 3: 5, -1: bytes(32)}), "mac.cose")
    raw = bytes(range(0xA0, 0xB0))  # a raw 16-byte KEK that starts like a CBOR map
    assert load_decryption_key(raw, "raw.key").kek == raw
