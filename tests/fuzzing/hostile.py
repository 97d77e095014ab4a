"""Hostile envelopes built on purpose: each names one attack of issue 11.

Everything is built from raw CBOR so that nothing here depends on the decoder it attacks
(the model encoder would recurse on the very nesting these bytes carry).
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric import mldsa

from signing.hsslms_state import Tree
from suit import cbor
from suit.hsslms import LMOTS_BY_NAME, LMS_BY_NAME, HssLmsPublicKey
from suit.model import Command, Parameter

SHA256: Final = -16
ENVELOPE_TAG: Final = 107
#: Every COSE message structure with a tag (RFC 9052 §2), and which may authenticate.
COSE_STRUCTURES: Final = {16: "COSE_Encrypt0", 17: "COSE_Mac0", 18: "COSE_Sign1",
                          96: "COSE_Encrypt", 97: "COSE_Mac", 98: "COSE_Sign"}
FOREIGN_COSE_TAGS: Final = (16, 96)


def bstr_header(length: int) -> bytes:
    """The CBOR head of a byte string of `length` bytes (length may be a lie)."""
    if length < 24:
        return bytes([0x40 | length])
    for extra, code in ((1, 24), (2, 25), (4, 26), (8, 27)):
        if length < 1 << (8 * extra):
            return bytes([0x40 | code]) + length.to_bytes(extra, "big")
    raise ValueError("length out of range")


def _manifest(sequence_number: int, members: dict[int, Any] | None = None) -> bytes:
    common = cbor.dumps({2: [[b"\x00"]]})
    return cbor.dumps({1: 1, 2: sequence_number, 3: common, **(members or {})})


def envelope(manifest: bytes, blocks: tuple[bytes, ...] = (), **integrated: bytes) -> bytes:
    """A tagged envelope whose digest covers `manifest` (M37 §8.3), with `blocks`."""
    digest = cbor.dumps([SHA256, hashlib.sha256(bstr_header(len(manifest)) + manifest).digest()])
    members: dict[Any, Any] = {2: cbor.dumps([digest, *blocks]), 3: manifest}
    members.update(integrated)
    return cbor.dumps(cbor.CBORTag(ENVELOPE_TAG, members))


def nested_sequences(depth: int, command: int = Command.TRY_EACH) -> bytes:
    """A sequence nesting `depth` try-each (or run-sequence) layers, each in its own bstr."""
    sequence = cbor.dumps([Command.ABORT, 0])
    for _ in range(depth):
        argument: Any = [sequence] if command == Command.TRY_EACH else sequence
        sequence = cbor.dumps([command, argument])
    return sequence


def sequence_bomb(depth: int, command: int = Command.TRY_EACH, member: int = 9) -> bytes:
    """An envelope whose manifest `member` (invoke by default) is a nesting bomb."""
    return envelope(_manifest(1, {member: nested_sequences(depth, command)}), (UNVERIFIABLE,))


def _fetching(uri: str, digest: bytes) -> bytes:
    parameters = {Parameter.URI: uri, Parameter.IMAGE_DIGEST: cbor.dumps([SHA256, digest])}
    return cbor.dumps([Command.OVERRIDE_PARAMETERS, parameters, Command.FETCH, 15])


def manifest_digest(envelope_bytes: bytes) -> bytes:
    """SHA-256 of the bstr-wrapped manifest of a (well-formed) envelope: its identity."""
    manifest = cbor.loads(envelope_bytes).value[3]
    return hashlib.sha256(bstr_header(len(manifest)) + manifest).digest()


def dependency_chain(length: int) -> bytes:
    """An envelope integrating a dependency that integrates the next, `length` deep.

    Each manifest fetches ``#dep`` with the digest of the next manifest, so verification
    follows the chain (TD §5.2.2) all the way down.
    """
    inner = envelope(_manifest(0), (UNVERIFIABLE,))
    for number in range(1, length + 1):
        install = _fetching("#dep", manifest_digest(inner))
        inner = envelope(_manifest(number, {20: install}), (UNVERIFIABLE,), **{"#dep": inner})
    return inner


def foreign_cose_block(tag: int) -> bytes:
    """A COSE message of structure `tag` (well-formed for its kind) as block bytes."""
    protected = cbor.dumps({1: -9})
    recipient = [b"", {1: -3, 4: b"kid"}, b"\x00" * 24]
    bodies = {16: [protected, {5: b"\x00" * 12}, b"ciphertext"],
              96: [protected, {5: b"\x00" * 12}, None, [recipient]],
              17: [cbor.dumps({1: 5}), {}, None, b"\x00" * 32],
              97: [cbor.dumps({1: 5}), {}, None, b"\x00" * 32, [recipient]],
              18: [protected, {}, None, b"\x00" * 64],
              98: [b"", {}, None, [[protected, {}, b"\x00" * 64]]]}
    return cbor.dumps(cbor.CBORTag(tag, bodies[tag]))


def foreign_cose(tag: int, also: tuple[bytes, ...] = ()) -> bytes:
    """An envelope whose authentication wrapper carries a COSE structure `tag`."""
    return envelope(_manifest(1), (*also, foreign_cose_block(tag)))


#: A well-formed COSE_Sign1 that verifies with no key: verification gets past "no block".
UNVERIFIABLE: Final = foreign_cose_block(18)


def huge_lengths() -> list[bytes]:
    """Heads that declare up to 2^64 - 1 bytes or items and deliver none of them."""
    out = []
    for major in (0x40, 0x60, 0x80, 0xA0):
        for length in (1 << 32, (1 << 64) - 1):
            out.append(bytes([major | 27]) + length.to_bytes(8, "big"))
    wrapper = cbor.dumps([cbor.dumps([SHA256, b"\x00" * 32])])
    out.append(b"\xd8\x6b\xa2\x02" + bstr_header(len(wrapper)) + wrapper + b"\x03\x5b" + b"\xff" * 8)
    out.append(b"\xd8\x6b\xa2\x02\x5b" + b"\xff" * 8)
    return out


def raw_nesting(depth: int) -> list[bytes]:
    """Arrays, maps and tags nested `depth` deep in one bstr (cbor2's own depth limit)."""
    return [b"\x81" * depth + b"\x00", b"\xa1\x01" * depth + b"\x00",
            b"\xd8\x6b" * depth + b"\xa0", b"\xd8\x6b\xa1\x02" + b"\x81" * depth + b"\x00"]


#: A fixed ML-DSA-65 seed (FIPS 204 key generation from a seed): the same key every run.
MLDSA_SEED: Final = bytes(range(32))


def mldsa_key() -> mldsa.MLDSA65PrivateKey:
    """The fuzzer's ML-DSA-65 key, made from `MLDSA_SEED`."""
    return mldsa.MLDSA65PrivateKey.from_seed_bytes(MLDSA_SEED)


def _sign1(alg: int, signature: bytes) -> bytes:
    return cbor.dumps(cbor.CBORTag(18, [cbor.dumps({1: alg}), {}, None, signature]))


def mldsa_envelope(*, genuine: bool = True) -> bytes:
    """An envelope with ML-DSA blocks (RFC 9964 ids): a genuine ML-DSA-65 signature over
    its digest (unless `genuine` is false), then blocks that lie: alg -49 with a P-256
    sized signature, -50 with an oversized one, -48 with none."""
    manifest = _manifest(1)
    digest = cbor.dumps([SHA256, hashlib.sha256(bstr_header(len(manifest)) + manifest).digest()])
    tbs = cbor.dumps(["Signature1", cbor.dumps({1: -49}), b"", digest])
    lies = (_sign1(-49, b"\x01" * 64), _sign1(-50, b"\x00" * 70_000), _sign1(-48, b""))
    blocks = (_sign1(-49, mldsa_key().sign(tbs)), *lies) if genuine else lies
    return envelope(manifest, blocks)


#: A fixed HSS-LMS key (one H5 / W2 tree, RFC 8554; W2 keeps each verification cheap for
#: the fuzzer): SEED and I stated, the same every run.
HSS_SEED: Final = bytes(range(32, 64))
HSS_IDENTIFIER: Final = b"suitwb fuzz hss!"


@functools.cache
def hsslms_tree() -> Tree:
    """The fuzzer's HSS-LMS tree (signing.hsslms_state does the RFC 8554 arithmetic)."""
    from signing.hsslms_state import _nodes  # the node table of a stated SEED and I
    lms, lmots = LMS_BY_NAME["LMS_SHA256_M32_H5"], LMOTS_BY_NAME["LMOTS_SHA256_N32_W2"]
    return Tree(lms, lmots, HSS_SEED, HSS_IDENTIFIER, _nodes(lms, lmots, HSS_SEED, HSS_IDENTIFIER))


def hsslms_public() -> HssLmsPublicKey:
    tree = hsslms_tree()
    return HssLmsPublicKey(1, tree.lms, tree.lmots, tree.identifier, tree.node(1))


def hsslms_signature(tbs: bytes, q: int = 0) -> bytes:
    """A one-level HSS signature (RFC 8554 §6.2: Nspk = 0, then the LMS signature)."""
    return (0).to_bytes(4, "big") + hsslms_tree().sign(q, tbs)


def hsslms_envelope(*, genuine: bool = True) -> bytes:
    """An envelope with HSS-LMS blocks (alg -46, RFC 8778): a genuine signature over its
    digest (unless `genuine` is false), then blocks that lie: a leaf index past the tree
    (q = 2^h), a byte too many, a truncated authentication path, two levels claimed."""
    manifest = _manifest(1)
    digest = cbor.dumps([SHA256, hashlib.sha256(bstr_header(len(manifest)) + manifest).digest()])
    tbs = cbor.dumps(["Signature1", cbor.dumps({1: -46}), b"", digest])
    signature = hsslms_signature(tbs, q=3)
    past = bytearray(signature)
    past[4:8] = (32).to_bytes(4, "big")
    lies = (_sign1(-46, bytes(past)), _sign1(-46, signature + b"\x00"),
            _sign1(-46, signature[:-1]), _sign1(-46, (1).to_bytes(4, "big") + signature[4:]))
    blocks = (_sign1(-46, signature), *lies) if genuine else lies
    return envelope(manifest, blocks)
