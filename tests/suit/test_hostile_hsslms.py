"""Hostile HSS-LMS blocks and keys (issue 16, COSE alg -46 / kty 5; and ML-DSA's AKP kty 7):
a leaf index past the tree, trailing or missing bytes, a level count that lies, and every
bit flip or truncation of a genuine signature are typed verification failures at every
entry point; COSE_Key files that lie are one-line refusals (exit 2) in `suitwb verify` and
`device serve`. The genuine block among the lies still verifies."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import cbor2
import pytest

from suit.codec import decode_envelope
from suit.errors import SignatureInvalid
from suit.hsslms import parse_hss_signature, verify_hss
from suit.keys import TrustAnchor
from suit.processor import authenticate
from suit.verify import check_envelope, verify_envelope
from tests.fixtures.vectors import MANIFEST_SPEC, SPEC_KEY_PUBLIC
from tests.fuzzing import hostile
from tests.fuzzing.harness import anchors, run_one

ROOT = Path(__file__).resolve().parents[2]
HSS = TrustAnchor("hss", public_key=hostile.hsslms_public())
SPEC = TrustAnchor.from_pem(SPEC_KEY_PUBLIC.read_bytes(), "spec")


def test_lying_blocks_fail_and_the_genuine_one_verifies() -> None:
    report = check_envelope(authenticate(hostile.hsslms_envelope(), [HSS]).envelope, [SPEC, HSS])
    assert [b.algorithm for b in report.blocks] == [-46] * 5
    assert [b.verified_by for b in report.blocks] == ["hss", None, None, None, None]
    with pytest.raises(SignatureInvalid):
        verify_envelope(hostile.hsslms_envelope(genuine=False), [SPEC, HSS])


@pytest.mark.parametrize("genuine", [True, False])
def test_every_fuzz_entry_point_stays_typed(genuine: bool) -> None:
    reference = decode_envelope((MANIFEST_SPEC / "example0.cbor").read_bytes())
    assert run_one(hostile.hsslms_envelope(genuine=genuine), anchors(), reference) == []


def test_no_damaged_signature_verifies_or_raises() -> None:
    message = b"tbs"
    signature = hostile.hsslms_signature(message, q=5)
    key = hostile.hsslms_public()
    assert verify_hss(key, message, signature)
    rng = random.Random(46)
    info = parse_hss_signature(signature)
    heads = [0, 4, 8, info.signatures[0].end - 32 * 5 - 4]  # Nspk, q, LM-OTS type, LMS type
    for _ in range(400):
        damaged = bytearray(signature)
        choice = rng.random()
        if choice < 0.5:
            damaged[rng.randrange(len(damaged))] ^= 1 << rng.randrange(8)
        elif choice < 0.7:
            damaged = damaged[:rng.randrange(len(damaged))]
        else:
            at = rng.choice(heads)
            damaged[at:at + 4] = rng.choice([1, 7, 8, 32, 2**31, 2**32 - 1]).to_bytes(4, "big")
        assert verify_hss(key, message, bytes(damaged)) is False


_LYING_KEYS: dict[str, dict[Any, Any]] = {
    "hss-empty": {1: 5, -1: b""},
    "hss-nine-levels": {1: 5, -1: (9).to_bytes(4, "big") + bytes(56)},
    "hss-unknown-type": {1: 5, -1: (1).to_bytes(4, "big") + bytes(56)},
    "hss-pub-text": {1: 5, -1: "pub"},
    "akp-without-alg": {1: 7, -1: bytes(1952)},
    "akp-alg-text": {1: 7, 3: "ML-DSA-65", -1: bytes(1952)},
    "akp-alg-true": {1: 7, 3: True, -1: bytes(1312)},
    "akp-short": {1: 7, 3: -49, -1: bytes(10)},
    "akp-pub-array": {1: 7, 3: -49, -1: [1]},
    "kty-array": {1: [7]},
    "kid-int": {1: 5, 2: 5, -1: b""},
}


@pytest.mark.parametrize("name", sorted(_LYING_KEYS))
def test_a_lying_cose_key_file_is_exit_2_one_line(name: str, tmp_path: Path) -> None:
    key = tmp_path / f"{name}.cose"
    key.write_bytes(cbor2.dumps(_LYING_KEYS[name]))
    result = subprocess.run([sys.executable, "-m", "workbench.cli.main", "verify",
                             str(MANIFEST_SPEC / "example0.cbor"), "--key", str(key)],
                            cwd=ROOT, check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2 and name in result.stderr
