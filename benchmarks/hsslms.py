"""HSS-LMS (issue 16): key generation, signing and verification times.

Signing is measured whole (lock, load and check the state, reserve durably, journal, sign)
and as the computation alone (the LM-OTS signature and the cached authentication path),
so the price of crash safety shows. Verification is `suit.hsslms.verify_hss` (strict parse,
then pyhsslms). Default parameters: LMS_SHA256_M32_H10 with LMOTS_SHA256_N32_W8, one level;
`--quick` uses H5 trees (key generation in a fraction of a second; sign and verify cost
the same per level). Run: `.venv/bin/python -m benchmarks.hsslms` (about 20 s).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from signing import hsslms
from suit.hsslms import DEFAULT_LMOTS, DEFAULT_LMS, LMS_BY_NAME, verify_hss

ROUNDS = 30


def _ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:.1f} ms"


def _timed(call: object, *args: object) -> float:
    start = time.perf_counter()
    call(*args)  # type: ignore[operator]
    return time.perf_counter() - start


def run(folder: Path, lms_name: str, levels: int) -> None:
    lms = LMS_BY_NAME[lms_name]
    log = hsslms.journal(folder)
    key = folder / f"{lms_name}-{levels}.hss"
    start = time.perf_counter()
    state = hsslms.generate(key, lms, DEFAULT_LMOTS, levels, log)
    generation = time.perf_counter() - start
    signer = hsslms.HssLmsSigner(key, log)
    whole = [_timed(signer.sign, b"manifest digest %d" % n) for n in range(ROUNDS)]
    bottom = hsslms.load(key).trees[-1]
    compute = [_timed(bottom.sign, q, b"m") for q in range(ROUNDS)]  # timing only, discarded
    signature = signer.sign(b"to verify")
    verify = [_timed(verify_hss, state.public_key, b"to verify", signature) for _ in range(ROUNDS)]
    print(f"{levels} x {lms_name} / {DEFAULT_LMOTS.name}: key generation {generation:.2f} s; "
          f"sign {_ms(whole)} (computation {_ms(compute)}, the rest is the durable "
          f"reservation); verify {_ms(verify)}; signature {len(signature)} bytes")


def main() -> None:
    parser = argparse.ArgumentParser(prog="benchmarks.hsslms")
    parser.add_argument("--quick", action="store_true", help="H5 trees instead of H10")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-hsslms-") as folder:
        os.environ["SUITWB_DATA_DIR"] = folder
        default = "LMS_SHA256_M32_H5" if args.quick else DEFAULT_LMS.name
        run(Path(folder), default, 1)
        run(Path(folder), "LMS_SHA256_M32_H5", 2)


if __name__ == "__main__":
    main()
