"""Decode + verify throughput of the format core for example2 (issue 2).

Reference: `cbor2.loads` of the same bytes, in the same process, so the ratio holds on a
shared, noisy machine. Run: `.venv/bin/python -m benchmarks.format_core`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import cbor2

from suit.codec import decode_envelope
from suit.keys import TrustAnchor
from suit.verify import verify_envelope

VECTORS = Path(__file__).resolve().parents[1] / "tests" / "vectors" / "manifest-spec"


def rate(func: Callable[[], object], seconds: float = 1.0) -> float:
    """Calls per second, best of three runs of about `seconds` / 3 each."""
    best = 0.0
    for _ in range(3):
        count, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds / 3:
            for _ in range(50):
                func()
            count += 50
        best = max(best, count / elapsed)
    return best


def main() -> dict[str, float]:
    data = (VECTORS / "example2.cbor").read_bytes()
    anchor = TrustAnchor.from_pem((VECTORS / "keys" / "example-es256-public.pem").read_bytes())
    reference = rate(lambda: cbor2.loads(data))
    decode = rate(lambda: decode_envelope(data))
    full = rate(lambda: verify_envelope(decode_envelope(data), [anchor]))
    figures = {"cbor2_loads_per_s": reference, "decode_per_s": decode, "decode_verify_per_s": full,
               "decode_ratio": decode / reference, "decode_verify_ratio": full / reference}
    print(f"example2 ({len(data)} B): cbor2.loads {reference:,.0f}/s; decode {decode:,.0f}/s "
          f"({decode / reference:.3f} of cbor2.loads); decode+verify {full:,.0f}/s "
          f"({full / reference:.4f} of cbor2.loads)")
    return figures


if __name__ == "__main__":
    main()
