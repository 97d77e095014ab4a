"""Malformed input: each defect is a typed DecodeError naming where and what."""

from __future__ import annotations

import cbor2
import pytest

from suit import cbor
from suit.codec import MAX_AUTHENTICATION_BLOCKS, decode_envelope
from suit.cose import CoseAlgorithm
from suit.errors import DecodeError
from tests.fixtures.vectors import MANIFEST_SPEC

EXAMPLE0 = (MANIFEST_SPEC / "example0.cbor").read_bytes()


def _rebuild(mutate) -> bytes:
    """Decode example0 into plain values (one level into the manifest), mutate, re-encode."""
    envelope = dict(cbor.loads(EXAMPLE0).value)
    manifest = dict(cbor.loads(envelope[3]))
    common = dict(cbor.loads(manifest[3]))
    mutate(envelope, manifest, common)
    manifest[3] = cbor.dumps(common)
    envelope[3] = cbor.dumps(manifest)
    return cbor.dumps(cbor.CBORTag(107, envelope))


@pytest.mark.parametrize("data,path,problem", [
    (EXAMPLE0[:-1], "", "truncated"),
    (EXAMPLE0 + b"\x00", "", "1 trailing bytes"),
    (b"", "", "empty input"),
    (cbor.dumps(cbor.CBORTag(108, {})), "", "unexpected tag 108"),
    (cbor.dumps(cbor.CBORTag(107, [])), "envelope", "expected map, found array"),
    (cbor.dumps(cbor.CBORTag(107, {3: b"\xa0"})), "envelope", "missing mandatory member authentication-wrapper"),
    (cbor.dumps(cbor.CBORTag(107, {0: b"", 2: b"", 3: b""})), "envelope", "key 0 is never valid"),
    (cbor.dumps(cbor.CBORTag(107, {2: 5, 3: b""})), "authentication-wrapper", "expected bstr, found int"),
    (_rebuild(lambda e, m, c: c.__setitem__(2, [[b"\x00"], [5]])), "manifest/common/components[1][0]",
     "expected bstr, found int"),
    (_rebuild(lambda e, m, c: m.__setitem__(1, 2)), "manifest/manifest-version", "unsupported manifest version 2"),
    (_rebuild(lambda e, m, c: m.pop(2)), "manifest", "missing mandatory member sequence-number"),
    (_rebuild(lambda e, m, c: m.__setitem__(2, -1)), "manifest/sequence-number", "expected uint"),
    (_rebuild(lambda e, m, c: c.__setitem__(4, cbor.dumps([1]))), "manifest/common/shared-sequence",
     "command/argument pairs"),
    (_rebuild(lambda e, m, c: c.__setitem__(4, cbor.dumps([20, {3: b"\xff"}]))),
     "manifest/common/shared-sequence[0]/override-parameters/image-digest", "malformed CBOR"),
    (_rebuild(lambda e, m, c: c.__setitem__(4, cbor.dumps([15, [cbor.dumps([1, "x"])]]))),
     "manifest/common/shared-sequence[0]/try-each[0][0]/vendor-identifier/reporting-policy", "expected int"),
    (_rebuild(lambda e, m, c: m.__setitem__(9, cbor.dumps([12, -1]))), "manifest/invoke[0]/set-component-index",
     "expected uint"),
    (_rebuild(lambda e, m, c: m.__setitem__(2, 1 << 70)), "manifest/sequence-number", "outside the 64-bit"),
])
def test_decode_errors_name_path_and_problem(data: bytes, path: str, problem: str) -> None:
    with pytest.raises(DecodeError) as caught:
        decode_envelope(data)
    assert caught.value.path == path
    assert problem in caught.value.problem
    assert caught.value.hint


def test_size_limit_is_checked_before_decoding() -> None:
    with pytest.raises(DecodeError, match="exceeds the limit of 100"):
        decode_envelope(EXAMPLE0, max_size=100)


def test_duplicate_keys_and_indefinite_lengths_are_refused() -> None:
    with pytest.raises(DecodeError, match="Duplicate"):
        cbor.loads(bytes.fromhex("a2010101 02".replace(" ", "")))
    with pytest.raises(DecodeError, match="indefinite"):
        decode_envelope(bytes.fromhex("d86bbf02400340ff"))


def test_untagged_envelope_is_accepted_and_stays_untagged() -> None:
    from suit.codec import encode_envelope
    untagged = cbor.dumps(cbor.loads(EXAMPLE0).value)
    envelope = decode_envelope(untagged)
    assert not envelope.tagged and encode_envelope(envelope) == untagged


def test_more_authentication_blocks_than_any_signer_set_are_refused() -> None:
    """A hostile file of thousands of bogus signature blocks would cost a verification
    each; the decoder accepts at most MAX_AUTHENTICATION_BLOCKS (16) and names the count."""
    block = cbor2.dumps(cbor2.CBORTag(18, [cbor2.dumps({1: CoseAlgorithm.ES256}), {},
                                          None, b"\x00" * 64]))
    digest = cbor2.dumps([-16, b"\x00" * 32])

    def envelope(count: int) -> bytes:
        wrapper = cbor2.dumps([digest, *([block] * count)])
        return cbor2.dumps(cbor2.CBORTag(107, {2: wrapper, 3: cbor2.dumps({1: 1, 2: 1, 3: {}})}))

    with pytest.raises(DecodeError, match="17 authentication blocks; at most 16"):
        decode_envelope(envelope(MAX_AUTHENTICATION_BLOCKS + 1))
    try:
        decode_envelope(envelope(MAX_AUTHENTICATION_BLOCKS))
    except DecodeError as exc:  # refused for the stand-in manifest, not for the count
        assert "authentication blocks" not in str(exc)
