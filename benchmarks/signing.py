"""Signing latency (issue 3): software keys and SoftHSM2 keys, and the overhead of our
PKCS#11 path over a bare python-pkcs11 ``sign`` call on the same key (target: < 2 ms).

The reference (bare python-pkcs11: hash, then CKM_ECDSA / CKM_EDDSA on the same key object
and session) is measured in the same run, interleaved call by call with ours, so the
difference holds on a shared, noisy machine. A throwaway SoftHSM2 token is made in a temp
dir. Run: `.venv/bin/python -m benchmarks.signing` (a few seconds).
"""

from __future__ import annotations

import hashlib
import os
import random
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from pkcs11 import Mechanism

from signing.backends import open_signer
from signing.envelope import BlockPolicy, sign_envelope
from signing.keyref import parse_key_reference
from signing.management import generate
from signing.signer import Signer
from suit.codec import decode_envelope
from suit.model import Envelope

VECTORS = Path(__file__).resolve().parents[1] / "tests" / "vectors" / "manifest-spec"
MODULE = "/usr/lib/softhsm/libsofthsm2.so"
PIN = "bench-pin-1234"
ROUNDS = 300


def _softhsm(directory: Path) -> None:
    (directory / "tokens").mkdir()
    conf = directory / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {directory / 'tokens'}\nobjectstore.backend = file\n"
                    "log.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)  # before the module is first loaded
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "bench", "--pin", PIN,
                    "--so-pin", PIN + "so"], check=True, capture_output=True, timeout=60)
    (directory / "pin").write_text(PIN)


def _software_key(directory: Path, name: str, key: Any) -> str:
    path = directory / f"{name}.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return str(path)


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def interleaved(funcs: dict[str, Callable[[], object]], rounds: int = ROUNDS) -> dict[str, float]:
    """Median milliseconds per call of each function, measured round-robin in a shuffled
    order each round (so no function always follows the same one)."""
    samples: dict[str, list[float]] = {name: [] for name in funcs}
    order = list(funcs.items())
    shuffler = random.Random(9019)
    for _ in range(rounds):
        shuffler.shuffle(order)
        for name, func in order:
            start = time.perf_counter()
            func()
            samples[name].append(time.perf_counter() - start)
    return {name: _median_ms(values) for name, values in samples.items()}


def _bare_sign(signer: Any, tbs: bytes) -> Callable[[], object]:
    # The reference: python-pkcs11 on the very key object our signer holds.
    key = signer._key  # noqa: SLF001 - the benchmark compares against the same key handle
    ecdsa, eddsa = Mechanism.ECDSA, Mechanism.EDDSA  # looked up once, as our signer does
    if signer.identity.algorithm.family == "ecdsa":
        return lambda: key.sign(hashlib.sha256(tbs).digest(), mechanism=ecdsa)
    return lambda: key.sign(tbs, mechanism=eddsa)


def _open_sign_close(uri: str, tbs: bytes, rounds: int = 50) -> float:
    """What one `suitwb sign` pays at the token: C_Login, key lookup, sign, C_Logout."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        signer = open_signer(uri)
        signer.sign(tbs)
        signer.close()
        samples.append(time.perf_counter() - start)
    return _median_ms(samples)


def _cases(envelope: Envelope, software: Signer, token: Signer,
           tbs: bytes) -> dict[str, Callable[[], object]]:
    """The timed operations for one algorithm (a function, so each closure binds its own)."""
    return {
        "software_sign": lambda: software.sign(tbs),
        "software_envelope": lambda: sign_envelope(envelope, software, BlockPolicy.APPEND),
        "softhsm_bare": _bare_sign(token, tbs),
        "softhsm_sign": lambda: token.sign(tbs),
        "softhsm_envelope": lambda: sign_envelope(envelope, token, BlockPolicy.APPEND),
    }


def main() -> dict[str, float]:
    envelope = decode_envelope((VECTORS / "example0-unsigned.cbor").read_bytes())
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        _softhsm(work)
        figures: dict[str, float] = {}
        for kind, label, key in (("P-256", "ESP256", ec.generate_private_key(ec.SECP256R1())),
                                 ("Ed25519", "Ed25519", ed25519.Ed25519PrivateKey.generate())):
            uri = (f"pkcs11:token=bench;object={kind}?module-path={MODULE}"
                   f"&pin-source=file:{work / 'pin'}")
            generate(parse_key_reference(uri), kind, None)  # type: ignore[arg-type]
            software = open_signer(_software_key(work, kind, key))
            token = open_signer(uri)
            tbs = token.identity.kid * 4  # a Sig_structure-sized input
            result = interleaved(_cases(envelope, software, token, tbs))
            token.close()
            result["softhsm_open_sign_close"] = _open_sign_close(uri, tbs)
            overhead = result["softhsm_sign"] - result["softhsm_bare"]
            envelope_overhead = result["softhsm_envelope"] - result["softhsm_bare"]
            print(f"{label}: software sign {result['software_sign']:.3f} ms, envelope "
                  f"{result['software_envelope']:.3f} ms; SoftHSM2 bare python-pkcs11 "
                  f"{result['softhsm_bare']:.3f} ms, our sign {result['softhsm_sign']:.3f} ms "
                  f"(+{overhead:.3f} ms), whole envelope {result['softhsm_envelope']:.3f} ms "
                  f"(+{envelope_overhead:.3f} ms; target < 2 ms); log in + find key + sign + "
                  f"log out {result['softhsm_open_sign_close']:.3f} ms")
            figures.update({f"{label}_{k}_ms": v for k, v in result.items()})
            figures[f"{label}_pkcs11_overhead_ms"] = overhead
            figures[f"{label}_envelope_overhead_ms"] = envelope_overhead
    return figures


if __name__ == "__main__":
    main()
