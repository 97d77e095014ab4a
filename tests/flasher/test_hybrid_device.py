"""The virtual device with signature policy ``all`` (`suitwb device serve --require all`)
over the real protocol on a pty: it installs an envelope signed by both of its trust
anchors (ESP256 + ML-DSA-65, issue 16) and refuses the same envelope with either
signature removed, with reason ``unauthorised``, leaving its state as it was."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.flasher.cli import device_serve, suitwb
from tests.flasher.device.conftest import image_of
from tests.signing.mldsa_support import without_block
from testsupport.envelopes import app_update

URI = "http://example.com/app.bin"


@pytest.fixture
def hybrid_bundle(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(hybrid envelope, ESP256 public key, ML-DSA-65 public key), all made by `suitwb`."""
    for name, kind in (("ec", "p-256"), ("pq", "ml-dsa-65")):
        suitwb("keys", "generate", "-o", tmp_path / f"{name}.pem", "--type", kind,
               data_dir=tmp_path)
        suitwb("keys", "export", "--key", tmp_path / f"{name}.pem", "-o",
               tmp_path / f"{name}.pub.pem", data_dir=tmp_path)
    image = image_of(8 * 1024, seed=16)
    (tmp_path / "app.bin").write_bytes(image)
    unsigned = tmp_path / "unsigned.suit"
    unsigned.write_bytes(app_update(7, image, uri=URI, signed=False).envelope())
    signed = tmp_path / "hybrid.suit"
    suitwb("sign", unsigned, "-o", signed, "--key", tmp_path / "ec.pem", "--key",
           tmp_path / "pq.pem", data_dir=tmp_path)
    return signed, tmp_path / "ec.pub.pem", tmp_path / "pq.pub.pem"


def test_policy_all_installs_hybrid_and_refuses_either_signature_removed(
        tmp_path: Path, hybrid_bundle: tuple[Path, Path, Path]) -> None:
    signed, ec_public, pq_public = hybrid_bundle
    payload = f"{URI}={tmp_path / 'app.bin'}"
    stripped = []
    for index in (1, 2):
        path = tmp_path / f"without-{index}.suit"
        path.write_bytes(without_block(signed.read_bytes(), index))
        stripped.append(path)
    with device_serve("--state", tmp_path / "state", "--require", "all", "--trust-anchor",
                      ec_public, "--trust-anchor", pq_public, data_dir=tmp_path) as port:
        for path in stripped:
            refused = suitwb("flash", path, "--port", port, "--payload", payload, "--json",
                             data_dir=tmp_path, check=False)
            assert refused.returncode == 1
            [result] = json.loads(refused.stdout)
            assert (result["result"], result["refusal"]) == ("refused", "unauthorised")
            assert "policy all" in result["reason"]
            assert result["bytes"] == path.stat().st_size  # not one payload byte was sent
        flashed = suitwb("flash", signed, "--port", port, "--payload", payload, "--json",
                         data_dir=tmp_path)
        [result] = json.loads(flashed.stdout)
        assert result["result"] == "ok", result
        status = json.loads(suitwb("device", "status", "--port", port, "--json",
                                   data_dir=tmp_path).stdout)
    [app] = [c for c in status["components"] if c["id"] == ["00"]]
    assert app["sequence_number"] == 7
    assert app["digest"] == hashlib.sha256((tmp_path / "app.bin").read_bytes()).hexdigest()


def test_policy_any_still_installs_with_one_signature(
        tmp_path: Path, hybrid_bundle: tuple[Path, Path, Path]) -> None:
    signed, ec_public, pq_public = hybrid_bundle
    only_pq = tmp_path / "only-pq.suit"
    only_pq.write_bytes(without_block(signed.read_bytes(), 1))
    with device_serve("--state", tmp_path / "state", "--trust-anchor", ec_public,
                      "--trust-anchor", pq_public, data_dir=tmp_path) as port:
        flashed = suitwb("flash", only_pq, "--port", port, "--payload",
                         f"{URI}={tmp_path / 'app.bin'}", "--json", data_dir=tmp_path)
    assert json.loads(flashed.stdout)[0]["result"] == "ok"
