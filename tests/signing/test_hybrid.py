"""Hybrid signing (issue 16): one envelope, an ESP256 and an ML-DSA-65 signature side by side
(RFC 9019 §7: several signers, each its own COSE_Sign1), and `suitwb verify --require all`,
under which removing either signature fails. Through the real `suitwb`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from suit.codec import decode_envelope
from suit.errors import SignatureMissing
from suit.keys import TrustAnchor
from suit.verify import VerificationPolicy, verify_envelope
from tests.fixtures.vectors import MANIFEST_SPEC
from tests.signing.cli import suitwb
from tests.signing.independent import decode_block
from tests.signing.mldsa_support import blocks_of, without_block

EXAMPLE = MANIFEST_SPEC / "example3-unsigned.cbor"


@pytest.fixture(scope="module")
def hybrid(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Keys made by `suitwb keys generate`, and the envelope `suitwb sign` signs with both."""
    work = tmp_path_factory.mktemp("hybrid")
    files = {"work": work}
    for name, kind in (("ec", "p-256"), ("pq", "ml-dsa-65")):
        made = suitwb("keys", "generate", "-o", work / f"{name}.pem", "--type", kind,
                      data_dir=work)
        assert f"generated {kind.upper()} private key" in made.stdout
        suitwb("keys", "export", "--key", work / f"{name}.pem", "-o", work / f"{name}.pub.pem",
               data_dir=work)
        files[name] = work / f"{name}.pub.pem"
    signed = suitwb("sign", EXAMPLE, "-o", work / "hybrid.suit", "--key", work / "ec.pem",
                    "--key", work / "pq.pem", data_dir=work)
    assert "ESP256, kid" in signed.stdout and "ML-DSA-65, kid" in signed.stdout
    assert "2 authentication block(s), verified, audit records 1, 2" in signed.stdout
    files["envelope"] = work / "hybrid.suit"
    return files


def _verify(hybrid: dict[str, Path], envelope: Path, *extra: object) -> tuple[int, str, dict]:
    result = suitwb("verify", envelope, "--key", hybrid["ec"], "--key", hybrid["pq"], "--json",
                    *extra, data_dir=hybrid["work"], check=False)
    return result.returncode, result.stderr, json.loads(result.stdout)


def test_hybrid_envelope_verifies_with_require_all(hybrid: dict[str, Path]) -> None:
    status, _err, out = _verify(hybrid, hybrid["envelope"], "--require", "all")
    assert status == 0, out
    assert [(b["alg"], b["verified_by"]) for b in out["blocks"]] == [
        (-9, str(hybrid["ec"])), (-49, str(hybrid["pq"]))]
    algs = [decode_block(b)[1][1] for b in blocks_of(hybrid["envelope"].read_bytes())]
    assert algs == [-9, -49]
    shown = suitwb("inspect", hybrid["envelope"], data_dir=hybrid["work"]).stdout
    assert [line.split()[:3] for line in shown.splitlines() if line.startswith("auth")] == [
        ["authentication", "COSE_Sign1", "ESP256"], ["authentication", "COSE_Sign1", "ML-DSA-65"]]


def test_external_mldsa_through_the_cli_says_which_signature_to_make(
        hybrid: dict[str, Path], tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    exported = suitwb("sign", EXAMPLE, "--export-tbs", tmp_path / "tbs.bin", "--key",
                      hybrid["pq"], data_dir=tmp_path)
    assert exported.stdout.rstrip().endswith(
        "sign them with ML-DSA-65 (-49): pure ML-DSA-65 over the bytes with the empty "
        "context, not HashML-DSA (3309 bytes)")
    key = serialization.load_pem_private_key((hybrid["work"] / "pq.pem").read_bytes(), None)
    (tmp_path / "sig.bin").write_bytes(key.sign((tmp_path / "tbs.bin").read_bytes()))  # type: ignore[union-attr, call-arg]
    suitwb("sign", EXAMPLE, "-o", tmp_path / "out.suit", "--import-signature",
           tmp_path / "sig.bin", "--key", hybrid["pq"], data_dir=tmp_path)
    status, _err, _out = _verify(hybrid, tmp_path / "out.suit")
    assert status == 0


@pytest.mark.parametrize(("removed", "missing"), [(1, "ec"), (2, "pq")])
def test_removing_either_signature_fails_under_require_all(
        hybrid: dict[str, Path], removed: int, missing: str) -> None:
    stripped = hybrid["work"] / f"without-{missing}.suit"
    stripped.write_bytes(without_block(hybrid["envelope"].read_bytes(), removed))
    status, err, out = _verify(hybrid, stripped, "--require", "all")
    assert status == 1
    assert err.strip() == (f"suitwb verify: policy all: no authentication block verifies "
                           f"with {hybrid[missing]}")
    assert out["result"] == "failed" and out["exit_status"] == 1
    # The default policy (docs/architecture.md) is unchanged: one good signature suffices.
    status, _err, _out = _verify(hybrid, stripped)
    assert status == 0


def test_a_tampered_signature_fails_under_require_all(hybrid: dict[str, Path]) -> None:
    data = bytearray(hybrid["envelope"].read_bytes())
    signature = decode_block(blocks_of(bytes(data))[1])[4]  # the ML-DSA-65 signature
    data[bytes(data).find(signature) + 1000] ^= 0x40
    tampered = hybrid["work"] / "tampered.suit"
    tampered.write_bytes(bytes(data))
    status, err, _out = _verify(hybrid, tampered, "--require", "all")
    assert status == 1 and f"with {hybrid['pq']}" in err
    status, err, _out = _verify(hybrid, tampered, "--require", "any")
    assert status == 0  # the ESP256 block still verifies: only `all` notices


def test_require_all_with_an_anchor_that_signed_nothing(hybrid: dict[str, Path],
                                                        tmp_path: Path) -> None:
    suitwb("keys", "generate", "-o", tmp_path / "other.pem", "--type", "ml-dsa-44",
           data_dir=tmp_path)
    anchors = [TrustAnchor.from_pem(hybrid[n].read_bytes(), n) for n in ("ec", "pq")]
    anchors.append(TrustAnchor.from_pem((tmp_path / "other.pem").read_bytes(), "other"))
    envelope = decode_envelope(hybrid["envelope"].read_bytes())
    verify_envelope(envelope, anchors)  # any: fine
    with pytest.raises(SignatureMissing) as caught:
        verify_envelope(envelope, anchors, VerificationPolicy.ALL)
    assert caught.value.anchors == ["other"] and caught.value.exit_status == 1


def test_keys_generate_usage_errors(tmp_path: Path) -> None:
    both = suitwb("keys", "generate", "-o", tmp_path / "k.pem", data_dir=tmp_path, check=False)
    assert both.returncode == 2 and "one of --alg and --type" in both.stderr
    bad = suitwb("keys", "generate", "-o", tmp_path / "k.pem", "--type", "rsa",
                 data_dir=tmp_path, check=False)
    assert bad.returncode == 2 and "unknown key type 'rsa'" in bad.stderr
    assert not (tmp_path / "k.pem").exists()
    two = suitwb("sign", EXAMPLE, "--export-tbs", tmp_path / "t.bin", "--key", "a.pem",
                 "--key", "b.pem", data_dir=tmp_path, check=False)
    assert two.returncode == 2 and "exactly one --key" in two.stderr


def test_require_all_counts_anchors_not_names(hybrid: dict[str, Path], tmp_path: Path) -> None:
    # Two anchors called alike (key.pem in two folders): the one that signed nothing is
    # still missing, whatever the other's name.
    suitwb("keys", "generate", "-o", tmp_path / "other.pem", "--type", "p-256", data_dir=tmp_path)
    same_name = [TrustAnchor.from_pem(hybrid["ec"].read_bytes(), "key.pem"),
                 TrustAnchor.from_pem(hybrid["pq"].read_bytes(), "key.pem"),
                 TrustAnchor.from_pem((tmp_path / "other.pem").read_bytes(), "key.pem")]
    envelope = decode_envelope(hybrid["envelope"].read_bytes())
    with pytest.raises(SignatureMissing):
        verify_envelope(envelope, same_name, VerificationPolicy.ALL)
    verify_envelope(envelope, same_name[:2], VerificationPolicy.ALL)


def test_mldsa_cose_key_export_verifies(hybrid: dict[str, Path], tmp_path: Path) -> None:
    suitwb("keys", "export", "--key", hybrid["work"] / "pq.pem", "-o", tmp_path / "pq.cose",
           "--format", "cose", data_dir=tmp_path)
    import cbor2
    key = cbor2.loads((tmp_path / "pq.cose").read_bytes())
    assert (key[1], key[3], len(key[-1])) == (7, -49, 1952)  # AKP, ML-DSA-65, pub
    result = suitwb("verify", hybrid["envelope"], "--key", tmp_path / "pq.cose",
                    data_dir=tmp_path)
    assert "COSE_Sign1 ML-DSA-65 (-49) by" in result.stderr
