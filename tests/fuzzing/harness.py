"""Run every entry point that takes envelope bytes, and count what escapes.

An input passes when each entry point returns or raises a `WorkbenchError` (typed, with a
message the CLI prints as one line). Anything else is an untyped exception; an input that
takes longer than `HANG_SECONDS` across all entry points is a hang.
"""

from __future__ import annotations

import random
import resource
import signal
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Final

from suit.codec import decode_envelope
from suit.diff import diff_envelopes
from suit.errors import WorkbenchError
from suit.keys import TrustAnchor
from suit.lint import lint_envelope
from suit.model import Envelope
from suit.payloads import fetch_targets
from suit.render import envelope_diag, inspect_summary, summary_text
from suit.spans import locate
from suit.verify import VerificationPolicy, check_envelope, verify_envelope
from tests.fixtures.vectors import HMAC_KEY, MANIFEST_SPEC, SPEC_KEY_PUBLIC, VECTORS
from tests.fuzzing import hostile
from tests.fuzzing.mutate import Mutator

HANG_SECONDS: Final = 1.0
#: An input still running after this long is abandoned (and counted as a hang).
ABANDON_SECONDS: Final = 10.0
DEPENDENCY_PUBLIC: Final = VECTORS / "firmware-encryption" / "keys" / "dependency-signer-public.pem"


class Abandoned(BaseException):
    """Raised by the alarm in an input that runs too long (BaseException: nothing the
    code under test catches may swallow it)."""


def seeds() -> list[bytes]:
    """Every published envelope, plus the named attacks at their bounds."""
    vectors = sorted(p for p in VECTORS.glob("*/*.cbor") if "encryption-info" not in p.name)
    found = sorted(Path(__file__).with_name("regressions").glob("*.cbor"))  # past findings
    return [p.read_bytes() for p in (*vectors, *found)] + [
        hostile.sequence_bomb(8), hostile.dependency_chain(4), hostile.foreign_cose(98),
        hostile.foreign_cose(97), hostile.mldsa_envelope(), hostile.hsslms_envelope()]


def anchors() -> list[TrustAnchor]:
    return [TrustAnchor.from_pem(SPEC_KEY_PUBLIC.read_bytes(), "spec"),
            TrustAnchor.from_pem(DEPENDENCY_PUBLIC.read_bytes(), "dependency"),
            TrustAnchor.from_secret(HMAC_KEY, "hmac"),
            TrustAnchor("mldsa", public_key=hostile.mldsa_key().public_key()),
            TrustAnchor("hss-lms", public_key=hostile.hsslms_public())]


def _after_decode(envelope: Envelope, keys: list[TrustAnchor], reference: Envelope) -> Iterator[Callable[[], object]]:
    yield lambda: check_envelope(envelope, keys)
    yield lambda: envelope_diag(envelope)
    yield lambda: inspect_summary(envelope)
    yield lambda: summary_text(envelope)
    yield lambda: lint_envelope(envelope)
    yield lambda: fetch_targets(envelope)
    yield lambda: diff_envelopes(reference, envelope)


def run_one(data: bytes, keys: list[TrustAnchor], reference: Envelope) -> list[str]:
    """Every entry point on `data`; the untyped exceptions, as one line each."""
    escaped: list[str] = []
    steps: list[Callable[[], object]] = [
        lambda: locate(data), lambda: verify_envelope(data, keys),
        lambda: verify_envelope(data, keys, VerificationPolicy.ALL)]
    for step in steps:
        _call(step, escaped)
    try:
        envelope = decode_envelope(data)
    except WorkbenchError:
        return escaped
    except Exception as exc:  # noqa: BLE001 - counting what escapes is the point
        return escaped + [_describe(exc)]
    for step in _after_decode(envelope, keys, reference):
        _call(step, escaped)
    return escaped


def _call(step: Callable[[], object], escaped: list[str]) -> None:
    try:
        step()
    except WorkbenchError:
        pass
    except Exception as exc:  # noqa: BLE001
        escaped.append(_describe(exc))


def _describe(exc: BaseException) -> str:
    where = traceback.extract_tb(exc.__traceback__)[-1]
    return f"{type(exc).__name__} at {Path(where.filename).name}:{where.lineno}: {str(exc)[:120]}"


@dataclass
class Campaign:
    """What a run found."""

    inputs: int = 0
    untyped: int = 0
    hangs: int = 0
    slowest: float = 0.0
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    examples: dict[str, bytes] = field(default_factory=dict)

    def summary(self) -> str:
        return (f"inputs run: {self.inputs:,}; untyped exceptions: {self.untyped}; "
                f"hangs over {HANG_SECONDS:g} s: {self.hangs}; slowest input: "
                f"{self.slowest:.3f} s; peak RSS: {self.peak_rss_mb:.0f} MB; "
                f"time: {self.seconds:.0f} s ({self.inputs / max(self.seconds, 1e-9):,.0f} inputs/s)")


def _on_alarm(_signum: int, _frame: FrameType | None) -> None:
    raise Abandoned()


def fuzz(count: int, seed: int = 0, progress: Callable[[Campaign], None] | None = None) -> Campaign:
    """Run `count` generated inputs through every entry point (main thread only: it uses
    SIGALRM to abandon an input that hangs)."""
    rng = random.Random(seed)
    mutator = Mutator(seeds(), rng)
    keys = anchors()
    reference = decode_envelope((MANIFEST_SPEC / "example0.cbor").read_bytes())
    campaign = Campaign()
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    started = time.perf_counter()
    try:
        for number in range(count):
            _one(mutator.generate(), keys, reference, campaign)
            if progress is not None and number % 10_000 == 9_999:
                progress(_finish(campaign, started))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return _finish(campaign, started)


def _one(data: bytes, keys: list[TrustAnchor], reference: Envelope, campaign: Campaign) -> None:
    start = time.perf_counter()
    signal.setitimer(signal.ITIMER_REAL, ABANDON_SECONDS)
    try:
        escaped = run_one(data, keys, reference)
    except Abandoned:
        escaped = []
        campaign.hangs += 1  # counted below too only if under the threshold, which it is not
        campaign.examples.setdefault("hang", data)
        elapsed = ABANDON_SECONDS
    else:
        elapsed = time.perf_counter() - start
        if elapsed > HANG_SECONDS:
            campaign.hangs += 1
            campaign.examples.setdefault(f"slow {elapsed:.1f}s", data)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    campaign.inputs += 1
    campaign.slowest = max(campaign.slowest, elapsed)
    if escaped:
        campaign.untyped += 1
        for line in escaped:
            campaign.examples.setdefault(line, data)


def _finish(campaign: Campaign, started: float) -> Campaign:
    campaign.seconds = time.perf_counter() - started
    campaign.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return campaign
