"""The MTI profile table against the IANA "COSE SUIT Algorithm Profiles" registry
(draft-ietf-suit-mti-23 §3; SUIT-FACTS.md §7): every descriptor array as registered."""

from __future__ import annotations

import pytest

from suit.profiles import PROFILES, AlgorithmsUsed, UnknownProfile, matching_profiles, profile

REGISTRY = {
    "suit-sha256-hmac-a128kw-a128ctr": (-16, 5, -3, -65534),
    "suit-sha256-esp256-ecdh-a128ctr": (-16, -9, -29, -65534),
    "suit-sha256-ed25519-ecdh-a128ctr": (-16, -19, -29, -65534),
    "suit-sha256-esp256-ecdh-a128gcm": (-16, -9, -29, 1),
    "suit-sha256-ed25519-ecdh-chacha-poly": (-16, -19, -29, 24),
    "suit-sha256-hsslms-a256kw-a256ctr": (-16, -46, -5, -65532),
}


def test_table_is_the_registry() -> None:
    assert {name: p.descriptor for name, p in PROFILES.items()} == REGISTRY
    assert list(PROFILES) == list(REGISTRY)  # registry order


@pytest.mark.parametrize("name,curve", [("suit-sha256-esp256-ecdh-a128gcm", "P-256"),
                                        ("suit-sha256-ed25519-ecdh-chacha-poly", "X25519"),
                                        ("suit-sha256-hmac-a128kw-a128ctr", None)])
def test_ecdh_curve_follows_the_signature(name: str, curve: str | None) -> None:
    assert profile(name).ecdh_curve == curve


def test_matching() -> None:
    assert len(matching_profiles(AlgorithmsUsed(digests=frozenset({-16})))) == 6
    assert [p.name for p in matching_profiles(AlgorithmsUsed(auth=frozenset({-19}),
                                                             encryption=frozenset({24})))] == [
        "suit-sha256-ed25519-ecdh-chacha-poly"]
    assert matching_profiles(AlgorithmsUsed(auth=frozenset({-9, -19}))) == []  # mixed
    assert matching_profiles(AlgorithmsUsed(auth=frozenset({-7}))) == []  # deprecated ES256
    with pytest.raises(UnknownProfile, match="unknown algorithm profile 'x'"):
        profile("x")
