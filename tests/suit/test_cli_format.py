"""`suitwb inspect` and `suitwb verify` as a person runs them: real subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.vectors import HMAC_KEY, MANIFEST_SPEC, TRUST_DOMAINS, VECTORS

SUITWB = [sys.executable, "-m", "workbench.cli.main"]
SPEC_PUBLIC = str(MANIFEST_SPEC / "keys" / "example-es256-public.pem")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SUITWB, *args], capture_output=True, text=True, timeout=60)


def test_inspect_json_fields_for_example2() -> None:
    result = run("inspect", str(MANIFEST_SPEC / "example2.cbor"), "--format", "json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["tagged"] is True
    assert info["manifest_version"] == 1
    assert info["sequence_number"] == 2
    assert info["manifest_digest"] == {
        "alg": "sha256", "hex": "6a5197ed8f9dccf733d1c89a359441708e070b4c6dcb9a1c2c82c6165f609b90"}
    assert info["components"] == [["00"]]
    assert info["authentication"] == [{"type": "COSE_Sign1", "alg": "ES256", "kid": None}]
    assert info["severable"] == {"install": {"present": True, "digest_ok": True},
                                 "text": {"present": True, "digest_ok": True}}
    assert info["integrated"] == []
    assert info["dependencies"] == []
    assert info["reference_uri"] == "https://git.io/JJYoj"


def test_inspect_json_dependencies_and_integrated() -> None:
    info = json.loads(run("inspect", str(TRUST_DOMAINS / "example2_integrated.cbor"), "--format", "json").stdout)
    assert info["integrated"] == ["#dependent.suit"]
    assert info["dependencies"] == [{"component_index": 1, "prefix": [b"dependent.suit".hex()]}]
    assert info["components"] == [[b"10".hex()]]
    assert info["authentication"][0]["alg"] == "ESP256"


def test_inspect_severed_members_absent() -> None:
    info = json.loads(run("inspect", str(MANIFEST_SPEC / "example2-severed.cbor"), "--format", "json").stdout)
    assert info["severable"] == {"install": {"present": False, "digest_ok": None},
                                 "text": {"present": False, "digest_ok": None}}


def test_inspect_diag_names_members_like_the_published_diag() -> None:
    diag = run("inspect", str(MANIFEST_SPEC / "example3.cbor"), "--format", "diag").stdout
    assert diag.startswith("107({")
    for name in ("/ authentication-wrapper / 2:", "/ manifest-sequence-number / 2: 3",
                 "/ directive-try-each / 15", "/ condition-component-slot / 5, 5",
                 "/ parameter-component-slot / 5: 1", "/ alg / 1: -7 / ES256 /"):
        assert name in diag
    published = (MANIFEST_SPEC / "example3.diag").read_text()
    compact = "".join(published.split())
    for hex_string in ("f6d44a62", "http://example.com/file2.bin"):
        assert hex_string in compact and hex_string in diag


def test_inspect_text_summary() -> None:
    out = run("inspect", str(MANIFEST_SPEC / "example4.cbor")).stdout
    assert "sequence number  4" in out and "component 1      [02]" in out


@pytest.mark.parametrize("path,args,status,reason", [
    (MANIFEST_SPEC / "example1.cbor", ["--key", SPEC_PUBLIC], 0, "authentic and intact"),
    (MANIFEST_SPEC / "example1-unsigned.cbor", ["--key", SPEC_PUBLIC], 1, "no authentication block"),
    (VECTORS / "firmware-encryption" / "suit-manifest-aes-kw.cbor", ["--secret-hex", HMAC_KEY.hex()], 0, "COSE_Mac0"),
    (VECTORS / "firmware-encryption" / "suit-manifest-aes-kw.cbor", ["--secret-hex", "62" * 32], 1, "no authentication block verifies"),
    (VECTORS / "firmware-encryption" / "suit-manifest-aes-kw.cbor", ["--key", SPEC_PUBLIC], 1, "no authentication block verifies"),
    (MANIFEST_SPEC / "example1.diag", ["--key", SPEC_PUBLIC], 2, "trailing bytes"),
    (MANIFEST_SPEC / "example1.cbor", [], 2, "no trust anchor"),
    (MANIFEST_SPEC / "example1.cbor", ["--key", "/nonexistent.pem"], 2, "No such file"),
    (MANIFEST_SPEC / "example1.cbor", ["--key", str(MANIFEST_SPEC / "example1.cbor")], 2, "COSE_Key"),
])
def test_verify_exit_status_and_one_line_reason(path: Path, args: list[str], status: int, reason: str) -> None:
    result = run("verify", str(path), *args)
    assert result.returncode == status, result.stderr
    lines = result.stderr.strip().splitlines()
    assert reason in lines[0]
    assert "Traceback" not in result.stderr


def test_verify_json_reports_result() -> None:
    result = run("verify", str(MANIFEST_SPEC / "example0.cbor"), "--key", SPEC_PUBLIC, "--json")
    out = json.loads(result.stdout)
    assert out["result"] == "ok" and out["exit_status"] == 0
    assert out["blocks"][0]["verified_by"] == SPEC_PUBLIC
    bad = run("verify", str(MANIFEST_SPEC / "example0-unsigned.cbor"), "--key", SPEC_PUBLIC, "--json")
    assert json.loads(bad.stdout)["result"] == "failed" and bad.returncode == 1


def test_verify_with_cose_key_trust_anchor(tmp_path: Path) -> None:
    from suit.keys import TrustAnchor, encode_cose_key
    anchor = TrustAnchor.from_pem(Path(SPEC_PUBLIC).read_bytes())
    cose_key = tmp_path / "key.cose"
    cose_key.write_bytes(encode_cose_key(anchor.public_key))
    assert run("verify", str(MANIFEST_SPEC / "example5.cbor"), "--key", str(cose_key)).returncode == 0


def test_text_file_gets_a_hint() -> None:
    result = run("inspect", str(MANIFEST_SPEC / "example1.diag"))
    assert result.returncode == 2 and "looks like a text file" in result.stderr


def test_misuse_exits_2() -> None:
    assert run("verify").returncode == 2
    assert run("inspect", "/nonexistent.suit").returncode == 2


def test_inspect_shows_unknown_members_in_text_and_json(tmp_path: Path) -> None:
    from tests.suit.legacy_envelopes import draft19_install

    path = str(draft19_install(tmp_path))
    text = run("inspect", path)
    assert text.returncode == 0, text.stderr
    assert "unknown member   manifest key 17: install in drafts -17 to -27" in text.stdout
    info = json.loads(run("inspect", path, "--format", "json").stdout)
    assert [(u["where"], u["key"]) for u in info["unknown"]] == [("manifest", 17)]
    assert info["unknown"][0]["value"].startswith("86")  # the install sequence, kept whole
    assert "17: <<" in run("inspect", path, "--format", "diag").stdout or \
        "17: h'" in run("inspect", path, "--format", "diag").stdout
    clean = json.loads(run("inspect", str(MANIFEST_SPEC / "example1.cbor"), "--format",
                           "json").stdout)
    assert clean["unknown"] == []
