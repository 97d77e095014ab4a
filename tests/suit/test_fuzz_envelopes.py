"""The bounded envelope fuzzing run of `make test` (issue 11): about 20,000 structure-aware
inputs through every entry point that takes envelope bytes (decode, spans, verify, check,
render, lint, payloads, diff). `make fuzz` runs 1,000,000 with the same harness.

It finds the three defects of issue 11 on the code before the fix within the first few
thousand inputs (RecursionError in commands.py, AttributeError in verify.py).
"""

from __future__ import annotations

from tests.fuzzing.harness import HANG_SECONDS, fuzz

INPUTS = 20_000


def test_bounded_fuzzing_finds_no_untyped_exception_and_no_hang() -> None:
    campaign = fuzz(INPUTS, seed=11)
    findings = "\n".join(f"{line}: {data[:64].hex()}" for line, data in campaign.examples.items())
    assert campaign.inputs == INPUTS
    assert campaign.untyped == 0, findings
    assert campaign.hangs == 0 and campaign.slowest < HANG_SECONDS, findings
