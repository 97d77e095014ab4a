"""Acceptance of issue 3 through the real `suitwb` and a real SoftHSM2 token: generate a
key in the token, export its public key, sign a manifest-spec example, and have both
`suitwb verify --key` and an independent checker accept it, for every algorithm."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from pkcs11 import Mechanism

from signing.keyref import parse_key_reference
from signing.token import find_key, token_session
from tests.fixtures.softhsm import SoftHsm
from tests.fixtures.vectors import MANIFEST_SPEC
from tests.signing.cli import suitwb
from tests.signing.conftest import HMAC_SECRET
from tests.signing.independent import decode_block, envelope_parts, expected_tbs, verify_with_cryptography

EXAMPLE = MANIFEST_SPEC / "example3-unsigned.cbor"
SIGNATURE_ALGS = ("ESP256", "ES256", "ESP384", "ES384", "Ed25519", "EdDSA")
COSE_IDS = {"ESP256": -9, "ES256": -7, "ESP384": -51, "ES384": -35, "Ed25519": -19,
            "EdDSA": -8, "HMAC-256-256": 5}


@pytest.mark.parametrize("alg", SIGNATURE_ALGS)
def test_generate_sign_verify_in_softhsm(alg: str, softhsm: SoftHsm, tmp_path: Path) -> None:
    uri = softhsm.uri("operator", object=f"cli-{alg}")
    suitwb("keys", "generate", "--key", uri, "--alg", alg, data_dir=tmp_path)
    suitwb("keys", "export", "--key", uri, "-o", tmp_path / "pub.pem", data_dir=tmp_path)
    suitwb("sign", EXAMPLE, "-o", tmp_path / "signed.suit", "--key", uri, "--alg", alg,
           data_dir=tmp_path)
    out = suitwb("verify", tmp_path / "signed.suit", "--key", tmp_path / "pub.pem",
                 data_dir=tmp_path)
    assert out.returncode == 0

    manifest, digest, blocks = envelope_parts((tmp_path / "signed.suit").read_bytes())
    assert manifest == envelope_parts(EXAMPLE.read_bytes())[0]
    tag, header, protected, _payload, signature = decode_block(blocks[-1])
    assert tag == 18 and header[1] == COSE_IDS[alg]
    public = serialization.load_pem_public_key((tmp_path / "pub.pem").read_bytes())
    verify_with_cryptography(COSE_IDS[alg], public, expected_tbs(tag, protected, digest), signature)


def test_keys_list_names_a_module_that_cannot_load(softhsm: SoftHsm, tmp_path: Path) -> None:
    result = suitwb("keys", "list", "--module", softhsm.conf, data_dir=tmp_path, check=False)
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (f"suitwb: error: PKCS#11 module {softhsm.conf}: "
                                             "cannot be loaded")


def test_hmac_in_softhsm(softhsm: SoftHsm, tmp_path: Path) -> None:
    uri = softhsm.uri("operator", object="cli-hmac")
    suitwb("keys", "generate", "--key", uri, "--alg", "HMAC-256-256", data_dir=tmp_path)
    refused = suitwb("keys", "export", "--key", uri, "-o", tmp_path / "k.pem", data_dir=tmp_path,
                     check=False)
    assert refused.returncode == 2 and not (tmp_path / "k.pem").exists()
    suitwb("sign", EXAMPLE, "-o", tmp_path / "mac.suit", "--key", uri, data_dir=tmp_path)
    _manifest, digest, blocks = envelope_parts((tmp_path / "mac.suit").read_bytes())
    tag, header, protected, _payload, mac = decode_block(blocks[-1])
    assert tag == 17 and header[1] == 5 and len(mac) == 32
    # The secret never leaves the token, so the token itself is the independent checker.
    ref = parse_key_reference(uri)
    with token_session(ref, None) as session:  # type: ignore[arg-type]
        key = find_key(session, ref, "secret-key")  # type: ignore[arg-type]
        assert key.verify(expected_tbs(17, protected, digest), mac, mechanism=Mechanism.SHA256_HMAC)


def test_software_hmac_verifies_with_secret_hex(software_keys, tmp_path: Path) -> None:
    suitwb("sign", EXAMPLE, "-o", tmp_path / "mac.suit", "--key", software_keys.path("secret"),
           data_dir=tmp_path)
    ok = suitwb("verify", tmp_path / "mac.suit", "--secret-hex", HMAC_SECRET.hex(),
                data_dir=tmp_path)
    assert ok.returncode == 0
    bad = suitwb("verify", tmp_path / "mac.suit", "--secret-hex", "00" * 32, data_dir=tmp_path,
                 check=False)
    assert bad.returncode == 1


def test_second_signer_appends_both_verify(softhsm: SoftHsm, token_keys: dict[str, str],
                                           tmp_path: Path) -> None:
    author = token_keys["P-256"]
    operator = softhsm.uri("operator", object="second-signer")
    suitwb("audit", "init", "--anchor", softhsm.uri("release", object="acceptance-audit"),
           data_dir=tmp_path)
    suitwb("keys", "generate", "--key", operator, "--alg", "ESP384", data_dir=tmp_path)
    for uri, name in ((author, "author.pem"), (operator, "operator.pem")):
        suitwb("keys", "export", "--key", uri, "-o", tmp_path / name, data_dir=tmp_path)
    suitwb("sign", EXAMPLE, "-o", tmp_path / "one.suit", "--key", author, data_dir=tmp_path)
    suitwb("sign", tmp_path / "one.suit", "-o", tmp_path / "two.suit", "--key", operator,
           data_dir=tmp_path)
    before = envelope_parts((tmp_path / "one.suit").read_bytes())
    after = envelope_parts((tmp_path / "two.suit").read_bytes())
    assert after[0] == before[0] == envelope_parts(EXAMPLE.read_bytes())[0]
    assert after[1] == before[1]  # the manifest digest, unchanged
    assert after[2][0] == before[2][0] and len(after[2]) == 2
    both = suitwb("verify", tmp_path / "two.suit", "--key", tmp_path / "author.pem", "--key",
                  tmp_path / "operator.pem", "--json", data_dir=tmp_path)
    report = json.loads(both.stdout[: both.stdout.rindex("}") + 1])
    assert [Path(b["verified_by"]).name for b in report["blocks"]] == ["author.pem", "operator.pem"]
    refused = suitwb("sign", tmp_path / "two.suit", "-o", tmp_path / "three.suit", "--key",
                     operator, data_dir=tmp_path, check=False)
    assert refused.returncode == 2 and "already has an authentication block" in refused.stderr
    assert not (tmp_path / "three.suit").exists()
    audit = suitwb("audit", "verify", data_dir=tmp_path)
    assert "intact and anchored: 2 record(s)" in audit.stdout
