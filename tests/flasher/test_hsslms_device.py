"""Issue 16: the virtual device trusts an HSS-LMS public key (a COSE_Key) and installs an
envelope signed with it over the real protocol; an envelope signed by another HSS-LMS key
is refused as unauthorised. Every step is a real `suitwb` subprocess."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.flasher.cli import device_serve, suitwb
from tests.flasher.device.conftest import image_of
from testsupport.envelopes import app_update

URI = "http://example.com/app.bin"


def _hss_key(tmp_path: Path, name: str) -> Path:
    key = tmp_path / f"{name}.hss"
    suitwb("keys", "generate", "--type", "hss-lms", "-o", key, "--lms", "LMS_SHA256_M32_H5",
           "--lmots", "LMOTS_SHA256_N32_W4", data_dir=tmp_path)
    return key


def _signed(tmp_path: Path, key: Path, number: int, image: bytes) -> Path:
    unsigned = tmp_path / f"app-{number}-unsigned.suit"
    unsigned.write_bytes(app_update(number, image, uri=URI, signed=False).envelope())
    signed = tmp_path / f"app-{number}-{key.stem}.suit"
    suitwb("sign", unsigned, "-o", signed, "--key", key, data_dir=tmp_path)
    return signed


def test_device_installs_an_hss_lms_signed_envelope_and_refuses_another_key(tmp_path: Path) -> None:
    image = image_of(8 * 1024, seed=16)
    (tmp_path / "app.bin").write_bytes(image)
    trusted, other = _hss_key(tmp_path, "trusted"), _hss_key(tmp_path, "other")
    with device_serve("--state", tmp_path / "device-state", "--trust-anchor",
                      f"{trusted}.pub.cose", data_dir=tmp_path) as port:
        refused = suitwb("flash", _signed(tmp_path, other, 3, image), "--port", port,
                         "--payload", f"{URI}={tmp_path / 'app.bin'}", "--json",
                         data_dir=tmp_path, check=False)
        assert refused.returncode == 1
        [result] = json.loads(refused.stdout)
        assert result["result"] != "ok" and "anchor 0: does not verify" in result["reason"]
        flashed = suitwb("flash", _signed(tmp_path, trusted, 4, image), "--port", port,
                         "--payload", f"{URI}={tmp_path / 'app.bin'}", "--json", data_dir=tmp_path)
        assert json.loads(flashed.stdout)[0]["result"] == "ok"
        status = json.loads(suitwb("device", "status", "--port", port, "--json",
                                   data_dir=tmp_path).stdout)
    [app] = [c for c in status["components"] if c["id"] == ["00"]]
    assert app["sequence_number"] == 4 and app["digest"] == hashlib.sha256(image).hexdigest()
    assert "active" in status["slots"].values()  # the bootloader re-verified it with the anchor
