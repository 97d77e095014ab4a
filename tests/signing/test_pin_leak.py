"""The PIN never appears in any output, log, database or file a signing run produces."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures.softhsm import SoftHsm
from tests.fixtures.vectors import MANIFEST_SPEC
from tests.signing.cli import suitwb

EXAMPLE = MANIFEST_SPEC / "example5-unsigned.cbor"


def test_pin_is_absent_from_everything_the_run_produced(softhsm: SoftHsm, tmp_path: Path) -> None:
    pin = softhsm.user_pin
    with_value = softhsm.uri("operator", pin=False, object="leak-test") + f"&pin-value={pin}"
    no_pin = softhsm.uri("operator", pin=False, object="leak-test")
    wrong = softhsm.uri("operator", pin=False, object="leak-test") + f"&pin-value={pin}x"
    env = {"SUITWB_PIN": pin}
    runs = [
        suitwb("keys", "generate", "--key", with_value, "--alg", "ESP256", data_dir=tmp_path),
        suitwb("keys", "list", "--module", softhsm.module, "--token", "operator", "--login",
               data_dir=tmp_path, env=env),
        suitwb("keys", "export", "--key", with_value, "-o", tmp_path / "pub.pem", data_dir=tmp_path),
        suitwb("keys", "export", "--key", no_pin, "-o", tmp_path / "pub.cose", "--format", "cose",
               data_dir=tmp_path, env=env),
        suitwb("sign", EXAMPLE, "-o", tmp_path / "a.suit", "--key", with_value, data_dir=tmp_path),
        suitwb("sign", tmp_path / "a.suit", "-o", tmp_path / "b.suit", "--key", no_pin,
               "--policy", "append", data_dir=tmp_path, env=env),
        suitwb("sign", EXAMPLE, "-o", tmp_path / "c.suit", "--key", wrong, data_dir=tmp_path,
               check=False),
        suitwb("sign", EXAMPLE, "-o", tmp_path / "d.suit", "--key",
               with_value.replace("leak-test", "no-such-key"), data_dir=tmp_path, check=False),
        suitwb("audit", "show", data_dir=tmp_path),
        suitwb("audit", "verify", data_dir=tmp_path, check=False),
    ]
    assert [r.returncode for r in runs[-4:]] == [2, 2, 0, 1]  # not anchored: exit 1
    assert "PIN or passphrase incorrect" in runs[6].stderr and "no such key" in runs[7].stderr
    assert "2 record(s)" in runs[9].stdout
    listing = runs[1].stdout
    assert "token 'operator'  manufacturer 'SoftHSM project'" in listing
    assert "private    P-256" in listing and "label 'leak-test'" in listing
    for run in runs:
        assert pin not in run.stdout and pin not in run.stderr
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {"signing-audit.sqlite3", "a.suit", "b.suit", "pub.pem"} <= {p.name for p in files}
    for path in files + [p for p in softhsm.token_directory("operator").rglob("*") if p.is_file()]:
        assert pin.encode() not in path.read_bytes(), path
