"""suit.spans against an independent decoder: every located byte range, decoded by cbor2
on its own, must equal the value found by following the same path through cbor2's
decoding of the whole envelope (descending into byte strings by decoding them)."""

from __future__ import annotations

from typing import Any

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from suit.errors import DecodeError
from suit.spans import Step, locate
from tests.fixtures.vectors import FIRMWARE_ENCRYPTION, MANIFEST_SPEC, TRUST_DOMAINS

ENVELOPES = sorted([*MANIFEST_SPEC.glob("*.cbor"), *TRUST_DOMAINS.glob("*.cbor"),
                    *FIRMWARE_ENCRYPTION.glob("suit-manifest-*.cbor")])


def _follow(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        if step is Step.TAGGED:
            value = value.value
        elif step is Step.WRAPPED:
            value = cbor2.loads(value)
        elif isinstance(value, dict):
            value = value[step] if step in value else _list_key(value, step)
        else:
            value = value[step]
    return value


def _list_key(mapping: dict[Any, Any], step: Any) -> Any:
    # cbor2 decodes array map keys (text maps, M37 §8.4.4) as tuples too
    for key, item in mapping.items():
        if key == step:
            return item
    raise KeyError(step)


@pytest.mark.parametrize("path", ENVELOPES, ids=lambda p: p.name)
def test_every_span_decodes_to_the_value_at_its_path(path):
    data = path.read_bytes()
    whole = cbor2.loads(data)
    index = locate(data)
    assert index.spans[0].start == 0 and index.spans[0].end == len(data)
    for span in index:
        expected = _follow(whole, span.path)
        # Compared re-encoded: cbor2 hands out tuples for arrays inside tags.
        assert cbor2.dumps(cbor2.loads(data[span.start:span.end])) == cbor2.dumps(expected), span.path


@pytest.mark.parametrize("path", ENVELOPES, ids=lambda p: p.name)
def test_each_byte_maps_to_the_innermost_item(path):
    data = path.read_bytes()
    index = locate(data)
    for offset in range(len(data)):
        span = index.at(offset)
        assert span is not None and span.selection_start <= offset < span.end
        # No child of the found item contains the byte.
        assert not any(c.selection_start <= offset < c.end for c in index.children(span.path))


def test_wrapped_manifest_and_map_keys():
    data = (MANIFEST_SPEC / "example0.cbor").read_bytes()
    index = locate(data)
    manifest = index[(Step.TAGGED, 3, Step.WRAPPED)]
    assert manifest.kind == "map"
    sequence_number = index[(Step.TAGGED, 3, Step.WRAPPED, 2)]
    assert sequence_number.value == 0 and sequence_number.key_start == sequence_number.start - 1
    # A click on the key byte selects the member.
    assert index.at(sequence_number.key_start) is sequence_number


def test_one_byte_ids_are_not_descended_into():
    index = locate(cbor2.dumps([b"\x00", b"\x82\x01\x02"]))
    assert (0, Step.WRAPPED) not in index.by_path
    assert index[(1, Step.WRAPPED)].kind == "array"


def test_byte_string_that_only_looks_like_cbor_is_a_leaf():
    index = locate(cbor2.dumps([b"\x82\x01"]))  # an array head promising two items, one given
    assert [s.path for s in index] == [(), (0,)]


@pytest.mark.parametrize("data, problem", [
    (b"\x82\x01", "truncated"), (b"\x01\x02", "trailing"), (b"\x9f\x01\xff", "indefinite"),
    (b"\x5a\x00\x00\x00\x10\x00", "past the end"),
])
def test_malformed_bytes_are_typed_errors(data, problem):
    with pytest.raises(DecodeError, match=problem):
        locate(data)


# Opaque byte strings hold no tag head (0xc0-0xdb): bytes such as c1 00 parse as CBOR, so
# spans descends into them, but cbor2, the independent decoder here, reads tags 0-5 as
# datetimes and numbers (and refuses c0 00), so the two sides could not be compared.
# Tagged items are still generated, as tag 107 below.
_opaque = st.binary(max_size=40).filter(lambda b: not any(0xc0 <= x <= 0xdb for x in b))
_scalars = (st.integers(min_value=-2**64, max_value=2**64 - 1) | _opaque
            | st.text(max_size=20) | st.booleans() | st.none())
_values = st.recursive(
    _scalars,
    lambda inner: (st.lists(inner, max_size=5)
                   | st.dictionaries(st.integers(-30, 30) | st.text(max_size=5), inner, max_size=5)
                   | inner.map(lambda v: cbor2.dumps(v))  # bstr-wrapped CBOR, as SUIT nests it
                   | inner.map(lambda v: cbor2.CBORTag(107, v))),
    max_leaves=30)


@settings(max_examples=200, deadline=None)
@given(_values)
def test_any_value_every_span_decodes_to_its_path(value):
    data = cbor2.dumps(value, canonical=True)
    whole = cbor2.loads(data)
    index = locate(data)
    assert index.spans[0].end == len(data)
    for span in index:
        assert cbor2.dumps(cbor2.loads(data[span.start:span.end])) == \
            cbor2.dumps(_follow(whole, span.path))
    for offset in range(len(data)):
        span = index.at(offset)
        assert span is not None and span.selection_start <= offset < span.end
