"""Hostile ML-DSA blocks (issue 16): alg -49 with a P-256 key, signatures of the wrong size
(none, 64 bytes, 70,000 bytes) are typed verification failures at every entry point and
in `suitwb verify` (exit 1, one line), never an exception from the library underneath;
and the genuine ML-DSA-65 block among them still verifies."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from suit.errors import SignatureInvalid, SignatureMissing
from suit.keys import TrustAnchor
from suit.processor import authenticate
from suit.render import summary_text
from suit.verify import VerificationPolicy, check_envelope, verify_envelope
from tests.fixtures.vectors import SPEC_KEY_PUBLIC
from tests.fuzzing import hostile
from tests.fuzzing.harness import anchors, run_one

ROOT = Path(__file__).resolve().parents[2]
SPEC = TrustAnchor.from_pem(SPEC_KEY_PUBLIC.read_bytes(), "spec")
MLDSA = TrustAnchor("mldsa", public_key=hostile.mldsa_key().public_key())


def test_lying_blocks_fail_with_reasons_and_the_genuine_one_verifies() -> None:
    data = hostile.mldsa_envelope()
    report = check_envelope(authenticate(data, [MLDSA]).envelope, [SPEC, MLDSA])
    assert [b.algorithm for b in report.blocks] == [-49, -49, -50, -48]
    assert [b.verified_by for b in report.blocks] == ["mldsa", None, None, None]
    assert all("does not verify" in b.reason for b in report.blocks[1:])
    assert "ML-DSA-65" in summary_text(authenticate(data, [MLDSA]).envelope)


def test_only_lies_with_a_p256_key_is_signature_invalid() -> None:
    data = hostile.mldsa_envelope(genuine=False)
    for keys in ([SPEC], [SPEC, MLDSA]):
        with pytest.raises(SignatureInvalid):
            verify_envelope(data, keys)
        with pytest.raises(SignatureInvalid):
            verify_envelope(data, keys, VerificationPolicy.ALL)


def test_policy_all_names_the_anchor_that_signed_nothing() -> None:
    with pytest.raises(SignatureMissing, match=r"no authentication block verifies with spec$"):
        verify_envelope(hostile.mldsa_envelope(), [MLDSA, SPEC], VerificationPolicy.ALL)


@pytest.mark.parametrize("genuine", [True, False])
def test_every_fuzz_entry_point_stays_typed(genuine: bool) -> None:
    data = hostile.mldsa_envelope(genuine=genuine)
    from suit.codec import decode_envelope
    from tests.fixtures.vectors import MANIFEST_SPEC
    reference = decode_envelope((MANIFEST_SPEC / "example0.cbor").read_bytes())
    assert run_one(data, anchors(), reference) == []


@pytest.mark.parametrize(("genuine", "status"), [(False, 1), (True, 0)])
def test_suitwb_verify_exits_with_one_line(genuine: bool, status: int, tmp_path: Path) -> None:
    target = tmp_path / "mldsa.suit"
    target.write_bytes(hostile.mldsa_envelope(genuine=genuine))
    public = tmp_path / "mldsa.pub.pem"
    from cryptography.hazmat.primitives import serialization
    public.write_bytes(hostile.mldsa_key().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    result = subprocess.run([sys.executable, "-m", "workbench.cli.main", "verify", str(target),
                             "--key", str(SPEC_KEY_PUBLIC), "--key", str(public)], cwd=ROOT,
                            check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == status, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert len(result.stderr.strip().splitlines()) <= 2
