"""One signing suite, run against every backend (software, PKCS#11, external) and every
algorithm through the `backend` fixture. Each result is checked by hand-built CBOR,
`cryptography`, pycose and our own verifier, and the to-be-signed bytes are asserted."""

from __future__ import annotations

import hashlib

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pkcs11 import Attribute, Mechanism
from pycose.keys import EC2Key, OKPKey, SymmetricKey

from signing.envelope import BlockPolicy
from signing.errors import BlockExists
from signing.keyref import parse_key_reference
from signing.token import find_key, token_session
from suit.codec import decode_envelope
from suit.keys import TrustAnchor
from suit.verify import verify_envelope
from tests.fixtures.vectors import MANIFEST_SPEC
from tests.signing.conftest import Backend
from tests.signing.independent import (
    decode_block,
    envelope_parts,
    expected_tbs,
    pycose_verify,
    verify_mac,
    verify_with_cryptography,
)

UNSIGNED = MANIFEST_SPEC / "example0-unsigned.cbor"
SIGNED = MANIFEST_SPEC / "example1.cbor"


def _rfc9679_kid(public: object) -> bytes:
    if isinstance(public, ec.EllipticCurvePublicKey):
        n = public.public_numbers()
        size = (public.curve.key_size + 7) // 8
        crv = {256: 1, 384: 2}[public.curve.key_size]
        key = {1: 2, -1: crv, -2: n.x.to_bytes(size, "big"), -3: n.y.to_bytes(size, "big")}
    else:
        key = {1: 1, -1: 6, -2: public.public_bytes(Encoding.Raw, PublicFormat.Raw)}  # type: ignore[attr-defined]
    return hashlib.sha256(cbor2.dumps(key, canonical=True)).digest()


def _pycose_key(backend: Backend) -> object:
    if backend.secret is not None:
        return SymmetricKey(k=backend.secret)
    if isinstance(backend.public_key, ec.EllipticCurvePublicKey):
        return EC2Key._from_cryptography_key(backend.public_key)
    return OKPKey._from_cryptography_key(backend.public_key)


def _token_hmac_verifies(uri: str, tbs: bytes, tag: bytes) -> bool:
    # The token's secret is non-extractable: only the token itself can check the MAC.
    ref = parse_key_reference(uri)
    with token_session(ref, None) as session:  # type: ignore[arg-type]
        key = find_key(session, ref, "secret-key")  # type: ignore[arg-type]
        return bool(key.verify(tbs, tag, mechanism=Mechanism.SHA256_HMAC))


def test_signature_block_is_correct_and_verifies_independently(backend: Backend, request) -> None:
    data = UNSIGNED.read_bytes()
    result = backend.sign(decode_envelope(data), BlockPolicy.REFUSE)
    manifest_before, digest, blocks_before = envelope_parts(data)
    manifest_after, digest_after, blocks = envelope_parts(result.data)
    assert manifest_after == manifest_before and digest_after == digest
    assert blocks_before == [] and len(blocks) == 1 and blocks[0] == result.block

    tag, header, protected, payload, signature = decode_block(blocks[0])
    assert tag == (17 if backend.secret is not None or backend.kind == "secret" else 18)
    assert header == {1: int(backend.algorithm), 4: result.identity.kid}
    assert payload is None  # detached: the payload is auth[0]
    # The exact to-be-signed bytes: ["Signature1"/"MAC0", protected, h'', SUIT_Digest bytes].
    assert result.tbs.data == expected_tbs(tag, protected, digest)

    if backend.kind == "secret":
        if backend.secret is not None:
            assert verify_mac(backend.secret, result.tbs.data, signature)
        else:
            uri = request.getfixturevalue("token_keys")["secret"]
            assert _token_hmac_verifies(uri, result.tbs.data, signature)
            return
    else:
        verify_with_cryptography(int(backend.algorithm), backend.public_key, result.tbs.data,
                                 signature)
    ok, pycose_structure = pycose_verify(blocks[0], digest, _pycose_key(backend))
    assert ok and pycose_structure == result.tbs.data

    anchor = (TrustAnchor.from_secret(backend.secret, "key") if backend.secret is not None
              else TrustAnchor("key", public_key=backend.public_key))
    report = verify_envelope(result.data, [anchor])
    assert [b.verified_by for b in report.blocks] == ["key"]


def test_kid_is_derived_from_the_key(backend: Backend, request) -> None:
    result = backend.sign(decode_envelope(UNSIGNED.read_bytes()), BlockPolicy.REFUSE)
    kid = result.identity.kid
    if backend.name == "pkcs11":
        ref = parse_key_reference(request.getfixturevalue("token_keys")[backend.kind])
        cls = "secret-key" if backend.kind == "secret" else "private"
        with token_session(ref, None) as session:  # type: ignore[arg-type]
            assert kid == bytes(find_key(session, ref, cls)[Attribute.ID])  # type: ignore[arg-type]
    elif backend.kind == "secret":
        assert kid == b"hmac-kid"  # the COSE_Key's own kid
    else:
        assert kid == _rfc9679_kid(backend.public_key)


def test_second_block_appends_and_leaves_the_manifest_alone(backend: Backend) -> None:
    data = SIGNED.read_bytes()  # already carries the spec author's ES256 block
    result = backend.sign(decode_envelope(data), BlockPolicy.REFUSE)
    manifest_before, digest, blocks_before = envelope_parts(data)
    manifest_after, digest_after, blocks_after = envelope_parts(result.data)
    assert manifest_after == manifest_before and digest_after == digest
    assert blocks_after == [*blocks_before, result.block]
    spec_key = TrustAnchor.from_pem((MANIFEST_SPEC / "keys" / "example-es256-public.pem").read_bytes(), "spec")
    report = verify_envelope(result.data, [spec_key])
    assert report.blocks[0].verified_by == "spec"


def test_policy_refuse_then_replace(backend: Backend) -> None:
    spec_block = envelope_parts(SIGNED.read_bytes())[2][0]
    first = backend.sign(decode_envelope(SIGNED.read_bytes()), BlockPolicy.REFUSE)
    with pytest.raises(BlockExists):
        backend.sign(decode_envelope(first.data), BlockPolicy.REFUSE)
    replaced = backend.sign(decode_envelope(first.data), BlockPolicy.REPLACE)
    blocks = envelope_parts(replaced.data)[2]
    assert blocks == [spec_block, replaced.block]  # the other signer's block is kept
    appended = backend.sign(decode_envelope(first.data), BlockPolicy.APPEND)
    assert envelope_parts(appended.data)[2] == [spec_block, first.block, appended.block]
