"""Verification is linear in the number of components (issue 12): `suit.payloads` no longer
scans a list for each fetch it finds. The times are in `python -m benchmarks scaling`; here
the shape, by counting the comparisons of fetch targets, which is what made it quadratic."""

from __future__ import annotations

import pytest

from suit import payloads
from suit.codec import decode_envelope
from suit.keys import TrustAnchor
from suit.model import Command, Digest, Parameter
from suit.payloads import FetchTarget, fetch_targets
from suit.verify import verify_envelope
from testsupport.envelopes import (
    Build,
    identity_shared,
    image_params,
    many_components,
    seq,
    spec_public_pem,
)


@pytest.fixture
def comparisons(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts FetchTarget.__eq__ calls while the test runs."""
    count = [0]
    original = FetchTarget.__eq__

    def counted(self: FetchTarget, other: object) -> bool:
        count[0] += 1
        return original(self, other)

    monkeypatch.setattr(FetchTarget, "__eq__", counted)
    return count


@pytest.mark.parametrize("components", [50, 400])
def test_finding_the_fetches_compares_no_pair_of_distinct_targets(
        components: int, comparisons: list[int]) -> None:
    envelope = decode_envelope(many_components(components).envelope())
    targets = fetch_targets(envelope)
    assert [t.uri for t in targets] == [f"https://updates.example.com/c{i}.bin"
                                        for i in range(components)]
    assert comparisons[0] == 0  # the list scan made components * (components - 1) / 2


def test_verify_of_many_components_compares_linearly(comparisons: list[int]) -> None:
    anchor = TrustAnchor.from_pem(spec_public_pem())
    report = verify_envelope(decode_envelope(many_components(300).envelope()), [anchor])
    assert report is not None
    assert comparisons[0] <= 300


def _fetch(uri: str, image: bytes) -> list[tuple[int, object]]:
    return [(Command.OVERRIDE_PARAMETERS, {Parameter.URI: uri, **image_params(image)}),
            (Command.FETCH, 2)]


def test_a_fetch_met_twice_is_listed_once_in_first_met_order() -> None:
    # The same fetch in install and again in a try-each branch, between two others.
    install = seq(*_fetch("https://a", b"a"), *_fetch("https://b", b"b"),
                  (Command.TRY_EACH, (seq(*_fetch("https://a", b"a")),
                                      seq(*_fetch("https://c", b"c")))))
    build = Build(1, shared=identity_shared(b""), install=install)
    targets = fetch_targets(decode_envelope(build.envelope()))
    assert [t.uri for t in targets] == ["https://a", "https://b", "https://c"]


def test_targets_that_differ_only_in_digest_extensions_stay_apart() -> None:
    # Extensions are part of a digest's equality but may be unhashable CBOR values (lists):
    # they must neither crash the walk nor merge two different targets.
    found = payloads._Targets()
    plain = FetchTarget(0, "https://a", Digest(-16, b"\x01" * 32), 4)
    extended = FetchTarget(0, "https://a", Digest(-16, b"\x01" * 32, ([1, 2],)), 4)
    for target in (plain, extended, plain, extended):
        found.add(target)
    assert found.found == [plain, extended]
