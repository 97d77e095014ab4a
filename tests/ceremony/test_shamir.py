"""Shamir sharing over GF(2^8): any M of N rebuild, fewer fail and reveal nothing."""

from __future__ import annotations

import itertools
import os
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signing.ceremony.errors import CeremonyError, NotEnoughShares
from signing.ceremony.shamir import (
    Share,
    combine,
    evaluate,
    gf_div,
    gf_mul,
    interpolate_at,
    split,
)


def test_field_has_inverses_and_known_products() -> None:
    # FIPS 197 §4.2: {57} x {83} = {c1} in the AES field.
    assert gf_mul(0x57, 0x83) == 0xC1
    for a in range(1, 256):
        assert gf_mul(a, gf_div(1, a)) == 1
        assert gf_div(gf_mul(a, 0x1D), 0x1D) == a


@pytest.mark.parametrize(("m", "n"), [(1, 1), (2, 3), (3, 5), (5, 5)])
def test_every_m_subset_rebuilds_and_every_smaller_one_fails(m: int, n: int) -> None:
    secret = os.urandom(32)
    shares = split(secret, m, n)
    assert sorted(s.index for s in shares) == list(range(1, n + 1))
    for subset in itertools.combinations(shares, m):
        assert combine(list(subset)) == secret
    for size in range(1, m):
        for subset in itertools.combinations(shares, size):
            with pytest.raises(NotEnoughShares):
                combine(list(subset))


def test_a_share_given_twice_counts_once() -> None:
    shares = split(b"pin", 2, 3)
    with pytest.raises(NotEnoughShares) as info:
        combine([shares[0], shares[0]])
    assert (info.value.given, info.value.threshold) == (1, 2)


def test_one_share_of_2_of_n_is_uniform_whatever_the_secret() -> None:
    # For every x and every secret byte, the 256 possible random coefficients give each
    # share value exactly once: the share's distribution does not depend on the secret.
    for x in (1, 2, 3, 255):
        for secret in range(256):
            values = Counter(evaluate([secret, c], x) for c in range(256))
            assert len(values) == 256 and set(values.values()) == {1}


def test_m_minus_1_shares_are_consistent_with_every_secret_byte() -> None:
    # 3-of-5: two real shares, and for each candidate secret s exactly one polynomial of
    # degree 2 passes through (0, s) and both shares; so the two shares rule out nothing.
    secret = b"\x5a"
    shares = split(secret, 3, 5)
    known = [(shares[1].index, shares[1].value[0]), (shares[3].index, shares[3].value[0])]
    polynomials = set()
    for candidate in range(256):
        points = [(0, candidate), *known]
        # The polynomial through the three points, evaluated elsewhere, fixes it.
        fingerprint = tuple(interpolate_at(points, x) for x in range(1, 6))
        assert all(interpolate_at(points, x) == y for x, y in known)
        assert interpolate_at(points, 0) == candidate
        polynomials.add(fingerprint)
    assert len(polynomials) == 256  # a distinct polynomial for each possible secret


def test_shares_of_different_splits_do_not_mix() -> None:
    a, b = split(b"secret", 2, 3), split(b"secret", 3, 3)
    with pytest.raises(CeremonyError):
        combine([a[0], b[1], b[2]])
    with pytest.raises(CeremonyError):
        combine([a[0], Share(2, b"sec", 2)])


@pytest.mark.parametrize(("m", "n"), [(0, 3), (4, 3), (2, 256)])
def test_impossible_quorums_are_refused(m: int, n: int) -> None:
    with pytest.raises(CeremonyError):
        split(b"x", m, n)


def test_share_repr_hides_the_share() -> None:
    share = split(b"topsecret", 2, 2)[0]
    assert share.value.hex() not in repr(share) and "topsecret" not in repr(share)


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=1, max_size=48), st.integers(1, 6), st.integers(0, 4), st.randoms())
def test_any_quorum_rebuilds_random_secrets(secret: bytes, m: int, extra: int, rnd) -> None:
    n = m + extra
    shares = split(secret, m, n)
    chosen = rnd.sample(shares, m)
    assert combine(chosen) == secret
