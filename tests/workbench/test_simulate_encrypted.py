"""`suitwb simulate` of encrypted releases (issue 16): the device file's
``decryption-keys`` give the simulated device its keys, and write/copy with encryption-info
decrypt for real (FE §6). The right key passes, image-match checking the plaintext; a wrong
key fails at the copy that decrypts, with the device's reason (wrong-key); a device without
keys refuses encryption info before anything runs. Real `suitwb` subprocesses throughout.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.projects import encrypted_project, generate_key, recipient_key
from tests.workbench.conftest import run_suitwb

IMAGE = bytes(range(256)) * 33 + b"tail"
URI = "https://example.com/app.enc"


def _release(folder: Path, profile: str, recipient_alg: str, *, detached: bool) -> tuple[Path, Path]:
    """Build and sign an encrypted release; return (envelope, the device's key)."""
    key, recipient = recipient_key(run_suitwb, folder, recipient_alg)
    encrypted_project(folder, IMAGE, profile=profile, recipient=recipient.name,
                      integrated=not detached, uri=URI, sequence_number=5)
    signer = folder / "release.key"
    auth = profile.split("-")[2]  # the profile's authentication algorithm (MTI §3)
    signing_alg = {"hmac": "HMAC-256-256", "esp256": "ESP256", "ed25519": "Ed25519"}[auth]
    generate_key(run_suitwb, signer, "--alg", signing_alg)
    if auth == "hmac":  # a MAC: the device holds the same secret (COSE_Key)
        (folder / "release.anchor").write_bytes(signer.read_bytes())
    else:
        assert run_suitwb("keys", "export", "--key", signer, "-o", folder / "release.anchor"
                          ).returncode == 0
    envelope = folder / "release.suit"
    built = run_suitwb("build", folder / "project.toml", "-o", envelope, "--sign", signer)
    assert built.returncode == 0, built.stderr
    return envelope, key


def _device(folder: Path, keys: list[str]) -> Path:
    lines = ['trust-anchors = ["release.anchor"]']
    if keys:
        lines.append("decryption-keys = " + json.dumps(keys))
    lines += ["", "[device]", 'vendor-domain = "example.com"', 'model = "widget"', "",
              "[[component]]", "id = [\"h'00'\"]", "", "[[component]]", "id = [\"h'02'\"]"]
    path = folder / "device.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _simulate(envelope: Path, device: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    done: subprocess.CompletedProcess[str] = run_suitwb("simulate", envelope, "--device", device,
                                                        *extra, "--json")
    assert "Traceback" not in done.stderr
    return done.returncode, json.loads(done.stdout)


def _failing(document: dict[str, Any]) -> dict[str, Any]:
    step: dict[str, Any] = document["steps"][document["outcome"]["step"]]
    return step


@pytest.mark.parametrize(("profile", "recipient_alg"), [
    ("suit-sha256-esp256-ecdh-a128gcm", "ECDH-P256"),
    ("suit-sha256-hmac-a128kw-a128ctr", "A128KW"),
])
def test_encrypted_release_passes_with_the_right_key_and_fails_with_a_wrong_one(
        profile: str, recipient_alg: str, tmp_path: Path, data_dir: Path) -> None:
    envelope, key = _release(tmp_path, profile, recipient_alg, detached=False)
    code, document = _simulate(envelope, _device(tmp_path, [key.name]))
    assert (code, document["outcome"]["result"]) == (0, "passed"), document["outcome"]
    assert any("decrypted" in effect for effect in document["effects"])
    # image-match on the app checks the PLAINTEXT digest: passed only if decryption was real
    assert any(s["command"] == "condition-image-match" and s["result"] == "passed"
               and s["section"] == "install" for s in document["steps"]), document["steps"]

    other = tmp_path / "other"
    other.mkdir()
    wrong = other / key.name
    assert run_suitwb("keys", "generate", "-o", wrong, "--alg", recipient_alg).returncode == 0
    code, document = _simulate(envelope, _device(tmp_path, [f"other/{key.name}"]))
    assert code == 1
    outcome = document["outcome"]
    assert (outcome["result"], outcome["refusal"]) == ("refused", "wrong-key"), outcome
    assert _failing(document)["command"] == "directive-copy"


def test_detached_ciphertext_is_decrypted_or_pending_and_the_key_checked(
        tmp_path: Path, data_dir: Path) -> None:
    envelope, key = _release(tmp_path, "suit-sha256-ed25519-ecdh-chacha-poly", "X25519",
                             detached=True)
    ciphertext = tmp_path / "release.app.enc"
    device = _device(tmp_path, [key.name])
    code, document = _simulate(envelope, device, "--payload", f"{URI}={ciphertext}")
    assert (code, document["outcome"]["result"]) == (0, "passed"), document["outcome"]
    assert document["deferred"] == []
    # Without the payload the copy still unwraps the content key; the checks are deferred.
    code, document = _simulate(envelope, device)
    assert (code, document["outcome"]["result"]) == (0, "passed"), document["outcome"]
    assert document["deferred"] != []
    assert run_suitwb("keys", "generate", "-o", tmp_path / "x.pem", "--alg", "X25519"
                      ).returncode == 0
    code, document = _simulate(envelope, _device(tmp_path, ["x.pem"]))
    assert (code, document["outcome"]["refusal"]) == (1, "wrong-key"), document["outcome"]


def test_a_device_without_keys_refuses_encryption_info_and_a_bad_key_file_is_exit_2(
        tmp_path: Path, data_dir: Path) -> None:
    envelope, _key = _release(tmp_path, "suit-sha256-esp256-ecdh-a128ctr", "ECDH-P256",
                              detached=False)
    code, document = _simulate(envelope, _device(tmp_path, []))
    assert code == 1 and document["outcome"]["reason"] == "parameter-unsupported", document
    (tmp_path / "junk.key").write_bytes(b"0123456789")
    done = run_suitwb("simulate", envelope, "--device", _device(tmp_path, ["junk.key"]))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "decryption-keys[0]" in done.stderr and done.stderr.count("\n") <= 3, done.stderr
