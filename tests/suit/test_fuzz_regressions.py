"""Inputs the envelope fuzzer once found escaping as untyped exceptions
(tests/fuzzing/regressions, see its README): every entry point now gives typed
errors only, and the decoder refuses each with the path to the bad member."""

from __future__ import annotations

from pathlib import Path

import cbor2
import pytest

from suit.codec import decode_envelope
from suit.cose import decode_authentication_block
from suit.errors import DecodeError
from tests.fuzzing.harness import anchors, run_one

REGRESSIONS = Path(__file__).resolve().parents[1] / "fuzzing" / "regressions"
REFERENCE = Path(__file__).resolve().parents[1] / "vectors" / "manifest-spec" / "example0.cbor"
EXPECTED_PATHS = {"kid-is-an-int.cbor": "authentication-wrapper/block[1]/protected/kid"}


@pytest.mark.parametrize("name", sorted(EXPECTED_PATHS))
def test_fuzz_finding_is_a_typed_decode_error(name: str) -> None:
    data = (REGRESSIONS / name).read_bytes()
    with pytest.raises(DecodeError) as caught:
        decode_envelope(data)
    assert caught.value.path == EXPECTED_PATHS[name]
    assert run_one(data, anchors(), decode_envelope(REFERENCE.read_bytes())) == []


def test_every_regression_file_has_its_expectation() -> None:
    assert sorted(p.name for p in REGRESSIONS.glob("*.cbor")) == sorted(EXPECTED_PATHS)


@pytest.mark.parametrize("where", ["protected", "unprotected"])
@pytest.mark.parametrize("kid", [5, "text", True, [b"x"]])
def test_a_kid_of_the_wrong_type_is_refused_in_either_header(kid: object, where: str) -> None:
    protected: dict[int, object] = {1: -7}
    unprotected: dict[int, object] = {}
    (protected if where == "protected" else unprotected)[4] = kid
    sign1 = cbor2.CBORTag(18, [cbor2.dumps(protected), unprotected, None, bytes(64)])
    with pytest.raises(DecodeError) as caught:
        decode_authentication_block(sign1, "block[1]")
    assert caught.value.path.endswith(f"{where}/kid")


def test_a_bytes_kid_still_decodes() -> None:
    sign1 = cbor2.CBORTag(18, [cbor2.dumps({1: -7}), {4: b"key-1"}, None, bytes(64)])
    assert decode_authentication_block(sign1, "block[1]").kid == b"key-1"
