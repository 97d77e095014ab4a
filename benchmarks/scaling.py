"""Verification and inspection time per component at 10, 100, 1,000 and 5,000 components
(issue 12): the cost per component should stay flat (target: within 2x of the smallest
size's), since a manifest is walked once.

Each envelope is signed with the published key and fetches one payload per component,
with its own URI, digest and size. Figures: the best mean of five batches of `suitwb verify`'s
work (decode + verify_envelope) and of `suitwb inspect`'s (decode + summary_text), in
microseconds per component. Run: `python -m benchmarks scaling` (about 30 s).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from suit.codec import decode_envelope
from suit.keys import TrustAnchor
from suit.render import summary_text
from suit.verify import verify_envelope
from testsupport.envelopes import many_components, spec_public_pem

SIZES = (10, 100, 1000, 5000)
TARGET = 2.0


def best(func: Callable[[], object], batches: int = 5, batch_seconds: float = 0.05) -> float:
    """Seconds per call: the best mean over `batches` batches of at least `batch_seconds`
    each, so that a small envelope is timed over many calls and noise averages out."""
    start = time.perf_counter()
    func()
    calls = max(1, int(batch_seconds / max(time.perf_counter() - start, 1e-6)))
    means = []
    for _ in range(batches):
        start = time.perf_counter()
        for _ in range(calls):
            func()
        means.append((time.perf_counter() - start) / calls)
    return min(means)


def per_component(sizes: tuple[int, ...] = SIZES) -> dict[int, tuple[float, float]]:
    """components -> (verify, inspect) seconds per component."""
    anchor = TrustAnchor.from_pem(spec_public_pem())
    figures = {}
    for count in sizes:
        data = many_components(count).envelope()
        # Each lambda is called here, within its own iteration (B023 does not apply).
        verify = best(lambda: verify_envelope(decode_envelope(data), [anchor]))  # noqa: B023
        inspect = best(lambda: summary_text(decode_envelope(data)))  # noqa: B023
        figures[count] = (verify / count, inspect / count)
    return figures


def main(argv: list[str] | None = None) -> dict[int, tuple[float, float]]:
    args = sys.argv[1:] if argv is None else argv
    sizes = tuple(int(a) for a in args) or SIZES
    figures = per_component(sizes)
    low_verify, low_inspect = figures[sizes[0]]
    print(f"{'components':>10}  {'verify µs/comp':>14}  {'inspect µs/comp':>15}")
    for count, (verify, inspect) in figures.items():
        print(f"{count:>10}  {verify * 1e6:14.1f}  {inspect * 1e6:15.1f}")
    worst = max(max(v / low_verify, i / low_inspect) for v, i in figures.values())
    print(f"largest per-component cost / that at {sizes[0]}: {worst:.2f}x "
          f"({'ok' if worst <= TARGET else 'OVER'}; target <= {TARGET:.0f}x)")
    for column, name in ((0, "verify"), (1, "inspect")):  # without the fixed costs of size 10
        costs = [figure[column] for count, figure in figures.items() if count >= 100]
        if len(costs) > 1:
            print(f"{name}: largest / smallest per-component cost from 100 components up: "
                  f"{max(costs) / min(costs):.2f}x")
    return figures


if __name__ == "__main__":
    main()
