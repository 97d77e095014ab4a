"""HSS-LMS verification (suit/hsslms.py, issue 16): RFC 8554 Appendix F's vectors, every
stated fact asserted, checked by our verifier and by a second implementation (`hsslms`);
malformed signatures and keys refused without an exception escaping."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import hsslms
import pytest
from pyhsslms import pyhsslms

from suit import cbor
from suit.errors import DecodeError, TrustAnchorError
from suit.hsslms import HssLmsPublicKey, parse_hss_signature, verify_hss
from suit.keys import TrustAnchor, encode_cose_key
from suit.verify import verify_signature

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "hss-lms" / "rfc8554-appendix-f.json"
CASES = json.loads(VECTORS.read_text())["cases"]


def _case(case: dict[str, Any]) -> tuple[HssLmsPublicKey, bytes, bytes]:
    return (HssLmsPublicKey.parse(bytes.fromhex(case["public_key"])),
            case["message_utf8"].encode(), bytes.fromhex(case["signature"]))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"][-11:])
def test_rfc8554_vector_verifies_and_says_what_the_rfc_says(case: dict[str, Any]) -> None:
    key, message, signature = _case(case)
    assert verify_hss(key, message, signature)
    info = parse_hss_signature(signature)
    assert key.levels == case["levels"] == info.levels
    assert [s.q for s in info.signatures] == case["q"]
    assert [s.lms.name for s in info.signatures] == case["lms"]
    assert [s.lmots.name for s in info.signatures] == case["lmots"]
    assert key.encoded.hex() == case["public_key"]
    # The second implementation agrees (it raises on an invalid signature).
    hsslms.HSS_Pub(key.encoded).verify(message, signature)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"][-11:])
def test_rfc8554_vector_refused_when_anything_changes(case: dict[str, Any]) -> None:
    key, message, signature = _case(case)
    assert not verify_hss(key, message + b"!", signature)
    flipped = bytearray(signature)
    flipped[len(signature) // 2] ^= 1
    assert not verify_hss(key, message, bytes(flipped))
    assert not verify_hss(key, message, signature[:-1])


def test_trailing_bytes_are_refused_which_the_library_alone_accepts() -> None:
    # Why signatures are parsed before pyhsslms sees them: it ignores what follows.
    key, message, signature = _case(CASES[0])
    assert pyhsslms.HssPublicKey.deserialize(key.encoded).verify(message, signature + b"\0")
    assert not verify_hss(key, message, signature + b"\0")
    with pytest.raises(DecodeError, match="1 bytes after the signature"):
        parse_hss_signature(signature + b"\0")


def test_leaf_index_outside_the_tree_is_refused() -> None:
    key, message, signature = _case(CASES[0])
    bad = bytearray(signature)
    bad[4:8] = (32).to_bytes(4, "big")  # the top tree is H5: q must be below 32
    with pytest.raises(DecodeError, match="leaf index 32 outside a tree of 32"):
        parse_hss_signature(bytes(bad))
    assert not verify_hss(key, message, bytes(bad))


def test_wrong_number_of_levels_is_refused() -> None:
    key, message, signature = _case(CASES[0])
    one_level = HssLmsPublicKey(1, key.lms, key.lmots, key.identifier, key.root)
    assert not verify_hss(one_level, message, signature)


def test_mutated_signatures_never_raise() -> None:
    key, message, signature = _case(CASES[1])
    rng = random.Random(16)
    for _ in range(60):
        data = bytearray(signature[:rng.randrange(0, len(signature) + 1)])
        for _ in range(rng.randrange(0, 4)):
            if data:
                data[rng.randrange(len(data))] = rng.randrange(256)
        assert verify_hss(key, message, bytes(data)) is False or bytes(data) == signature


@pytest.mark.parametrize(("data", "problem"), [
    (b"", "too short"), (bytes.fromhex("00000000") + bytes(56), "0 levels"),
    (bytes.fromhex("00000009") + bytes(56), "9 levels"),
    (bytes.fromhex("0000000100000063") + bytes(48), "unknown LMS/LM-OTS type"),
    (bytes.fromhex(CASES[0]["public_key"]) + b"\0", "57 bytes"),
])
def test_malformed_public_keys_are_refused(data: bytes, problem: str) -> None:
    with pytest.raises(DecodeError, match=problem):
        HssLmsPublicKey.parse(data)


def test_cose_key_round_trip_and_verification_through_a_trust_anchor() -> None:
    key, message, signature = _case(CASES[0])
    anchor = TrustAnchor.from_cose_key(encode_cose_key(key, b"kid"), "tc1")
    assert anchor.public_key == key and anchor.kid == b"kid" and anchor.curve == "HSS-LMS"
    assert cbor.loads(encode_cose_key(key)) == {1: 5, -1: key.encoded}  # RFC 8778 §2.2
    assert verify_signature(-46, anchor, message, signature)
    assert not verify_signature(-9, anchor, message, signature)  # an HSS key never does ESP256


def test_unusable_hss_cose_key_is_a_trust_anchor_error() -> None:
    with pytest.raises(TrustAnchorError, match="not a usable COSE_Key"):
        TrustAnchor.from_cose_key(cbor.dumps({1: 5, -1: b"\0\0\0\1"}), "bad")
