"""ML-DSA sign and verify times (issue 16): ML-DSA-44/65/87 through our software signer and
our verifier (`suit.verify.verify_signature`), against `cryptography`'s bare sign/verify
on the same key and bytes in the same run, interleaved call by call; ESP256 alongside for
scale; and a whole hybrid (ESP256 + ML-DSA-65) envelope verified under policy all.
Run: `.venv/bin/python -m benchmarks mldsa` (a few seconds).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from benchmarks.signing import VECTORS, interleaved
from signing.backends import open_signer
from signing.envelope import BlockPolicy, sign_envelope
from signing.management import generate_file_key
from suit.codec import decode_envelope
from suit.cose import signature_algorithm
from suit.keys import TrustAnchor
from suit.verify import VerificationPolicy, verify_envelope, verify_signature

ROUNDS = 200
KINDS = ("P-256", "ML-DSA-44", "ML-DSA-65", "ML-DSA-87")


def _cases(key_file: Path, tbs: bytes) -> dict[str, Callable[[], object]]:
    """Our sign and verify for one key, and for ML-DSA the bare library calls too."""
    signer = open_signer(str(key_file))
    private: Any = serialization.load_pem_private_key(key_file.read_bytes(), None)
    public = private.public_key()
    anchor = TrustAnchor(key_file.name, public_key=public)
    alg = int(signer.identity.algorithm.algorithm)
    signature = signer.sign(tbs)
    cases: dict[str, Callable[[], object]] = {
        "sign": lambda: signer.sign(tbs),
        "verify": lambda: verify_signature(alg, anchor, tbs, signature)}
    if signature_algorithm(alg).family == "mldsa":  # pure ML-DSA, empty context: as ours
        cases["bare_sign"] = lambda: private.sign(tbs)
        cases["bare_verify"] = lambda: public.verify(signature, tbs)
    return cases


def _hybrid_verify_ms(work: Path, rounds: int = 100) -> float:
    envelope = decode_envelope((VECTORS / "example0-unsigned.cbor").read_bytes())
    anchors = []
    for kind in ("P-256", "ML-DSA-65"):
        key_file = work / f"hybrid-{kind}.pem"
        generate_file_key(key_file, kind)
        signer = open_signer(str(key_file))
        envelope = decode_envelope(sign_envelope(envelope, signer, BlockPolicy.APPEND).data)
        anchors.append(TrustAnchor(kind, public_key=signer.identity.public_key))
    return interleaved({"hybrid": lambda: verify_envelope(envelope, anchors,
                                                          VerificationPolicy.ALL)},
                       rounds)["hybrid"]


def main() -> dict[str, float]:
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        tbs = bytes(range(100))  # the size of a Sig_structure over a SHA-256 SUIT_Digest
        for kind in KINDS:
            key_file = work / f"{kind}.pem"
            generate_file_key(key_file, kind)
            result = interleaved(_cases(key_file, tbs), ROUNDS)
            line = (f"{kind}: sign {result['sign']:.3f} ms, verify {result['verify']:.3f} ms")
            if kind.startswith("ML-DSA"):
                line += (f" (bare cryptography: sign {result['bare_sign']:.3f} ms, verify "
                         f"{result['bare_verify']:.3f} ms)")
            print(line)
            figures.update({f"{kind}_{name}_ms": value for name, value in result.items()})
        figures["hybrid_verify_all_ms"] = _hybrid_verify_ms(work)
        print(f"hybrid ESP256 + ML-DSA-65 envelope, verify --require all: "
              f"{figures['hybrid_verify_all_ms']:.3f} ms")
    return figures


if __name__ == "__main__":
    main()
