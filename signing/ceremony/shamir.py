"""Shamir secret sharing over GF(2^8), byte by byte (Shamir 1979, "How to share a secret").

Each byte of the secret is the constant term of its own random polynomial of degree M-1;
share x holds every polynomial's value at x (x = 1..N, never 0, which would be the secret).
Any M shares determine the polynomials by Lagrange interpolation at 0; M-1 shares are
consistent with every possible secret, each with the same number of polynomials, so they
reveal nothing about it (information-theoretic secrecy, not a computational assumption).

The field is GF(2^8) with the AES reduction polynomial x^8+x^4+x^3+x+1 (0x11B) and
generator 3, the same field as SLIP-0039 and HashiCorp Vault's Shamir. Stdlib only.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from signing.ceremony.errors import CeremonyError, NotEnoughShares

_POLY: Final = 0x11B
MAX_SHARES: Final = 255


def _tables() -> tuple[list[int], list[int]]:
    exp = [0] * 510
    log = [0] * 256
    value = 1
    for power in range(255):
        exp[power] = value
        log[value] = power
        value ^= value << 1  # multiply by the generator 3 = x + 1
        if value & 0x100:
            value ^= _POLY
    for power in range(255, 510):  # doubled, so mul needs no modulo
        exp[power] = exp[power - 255]
    return exp, log


_EXP, _LOG = _tables()


def gf_mul(a: int, b: int) -> int:
    """Product in GF(2^8)."""
    if a == 0 or b == 0:
        return 0
    return _EXP[_LOG[a] + _LOG[b]]


def gf_div(a: int, b: int) -> int:
    """Quotient in GF(2^8); `b` must not be 0."""
    if b == 0:
        raise ZeroDivisionError("division by zero in GF(256)")
    if a == 0:
        return 0
    return _EXP[_LOG[a] + 255 - _LOG[b]]


def evaluate(coefficients: Sequence[int], x: int) -> int:
    """The polynomial with `coefficients` (constant term first) at `x`, by Horner's rule."""
    result = 0
    for coefficient in reversed(coefficients):
        result = gf_mul(result, x) ^ coefficient
    return result


def interpolate_at(points: Sequence[tuple[int, int]], x: int) -> int:
    """The value at `x` of the unique polynomial of degree < len(points) through `points`."""
    total = 0
    for i, (xi, yi) in enumerate(points):
        numerator, denominator = 1, 1
        for j, (xj, _) in enumerate(points):
            if i != j:
                numerator = gf_mul(numerator, x ^ xj)  # subtraction is XOR in GF(2^8)
                denominator = gf_mul(denominator, xi ^ xj)
        total ^= gf_mul(yi, gf_div(numerator, denominator))
    return total


@dataclass(frozen=True)
class Share:
    """One share: the x coordinate (1..255) and one y byte per secret byte.

    Attributes:
        index: x, the share's number.
        value: The polynomials' values at x.
        threshold: M, how many shares rebuild the secret.
    """

    index: int
    value: bytes
    threshold: int

    def __repr__(self) -> str:  # never show share bytes in logs or tracebacks
        return f"Share(index={self.index}, threshold={self.threshold}, <{len(self.value)} bytes>)"


RandomBytes = Callable[[int], bytes]


def split(secret: bytes, threshold: int, count: int,
          random_bytes: RandomBytes = secrets.token_bytes) -> list[Share]:
    """Split `secret` into `count` shares, any `threshold` of which rebuild it.

    Raises:
        CeremonyError: 1 <= threshold <= count <= 255 does not hold, or the secret is empty.
    """
    if not 1 <= threshold <= count <= MAX_SHARES:
        raise CeremonyError(f"cannot split {threshold} of {count}: need 1 <= M <= N <= 255")
    if not secret:
        raise CeremonyError("cannot split an empty secret")
    columns = []
    for byte in secret:
        coefficients = [byte, *random_bytes(threshold - 1)]
        columns.append([evaluate(coefficients, x) for x in range(1, count + 1)])
    return [Share(x, bytes(column[x - 1] for column in columns), threshold)
            for x in range(1, count + 1)]


def combine(shares: Sequence[Share]) -> bytes:
    """Rebuild the secret from at least `threshold` shares (extra shares are ignored).

    Raises:
        NotEnoughShares: fewer distinct shares than the threshold.
        CeremonyError: shares of different lengths or thresholds (not from one split).
    """
    distinct = {share.index: share for share in shares}
    if not distinct:
        raise NotEnoughShares(0, 1)
    threshold = next(iter(distinct.values())).threshold
    if any(s.threshold != threshold for s in distinct.values()):
        raise CeremonyError("the shares name different thresholds: they are not from one split")
    if len(distinct) < threshold:
        raise NotEnoughShares(len(distinct), threshold)
    chosen = sorted(distinct.values(), key=lambda s: s.index)[:threshold]
    length = len(chosen[0].value)
    if any(len(s.value) != length or not 1 <= s.index <= MAX_SHARES for s in chosen):
        raise CeremonyError("the shares differ in length or index: they are not from one split")
    return bytes(interpolate_at([(s.index, s.value[i]) for s in chosen], 0)
                 for i in range(length))
