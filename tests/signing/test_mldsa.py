"""ML-DSA-44/65/87 (RFC 9964) through the software signer, external signing and the
verifier, each checked independently: the Sig_structure is rebuilt with cbor2 from RFC 9052
§4.4 and the signature verified with `cryptography`'s ML-DSA directly (pycose 1.1 has no
ML-DSA), with the empty context RFC 9964 §4 prescribes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cbor2
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from signing.backends import open_signer
from signing.envelope import sign_envelope
from signing.errors import ExternalSignatureInvalid, KeyFileError, KeyReferenceError
from signing.external import (
    export_to_be_signed,
    external_identity,
    import_signature,
    signing_request,
)
from signing.management import generate, generate_file_key, parse_kind
from suit.codec import decode_envelope
from suit.cose import CoseAlgorithm, signature_algorithm
from suit.errors import DigestMismatch, SignatureInvalid, TrustAnchorError
from suit.keys import TrustAnchor, encode_cose_key
from suit.verify import verify_envelope
from tests.fixtures.vectors import MANIFEST_SPEC
from tests.signing.independent import decode_block, envelope_parts, expected_tbs
from tests.signing.mldsa_support import key_pair

EXAMPLE = MANIFEST_SPEC / "example3-unsigned.cbor"
#: RFC 9964 §6 (COSE Algorithms): name -> (id, public key bytes, signature bytes).
PARAMS = {"ML-DSA-44": (-48, 1312, 2420), "ML-DSA-65": (-49, 1952, 3309),
          "ML-DSA-87": (-50, 2592, 4627)}


def _anchor(public_pem: Path) -> TrustAnchor:
    return TrustAnchor.from_pem(public_pem.read_bytes(), public_pem.name)


@pytest.mark.parametrize("kind", sorted(PARAMS))
def test_software_mldsa_block_verifies_independently(kind: str, tmp_path: Path) -> None:
    private, public_pem = key_pair(tmp_path, kind)
    signer = open_signer(str(private))
    try:
        signed = sign_envelope(decode_envelope(EXAMPLE.read_bytes()), signer)
    finally:
        signer.close()
    alg, _pub_size, sig_size = PARAMS[kind]
    assert signed.identity.algorithm.algorithm == alg

    _manifest, digest, [block] = envelope_parts(signed.data)
    tag, header, protected, payload, signature = decode_block(block)
    assert (tag, payload, header) == (18, None, {1: alg, 4: signed.identity.kid})
    assert len(signature) == sig_size
    tbs = expected_tbs(tag, protected, digest)  # ["Signature1", protected, h'', digest]
    assert signed.tbs.data == tbs
    public = serialization.load_pem_public_key(public_pem.read_bytes())
    public.verify(signature, tbs)  # type: ignore[union-attr, call-arg]  # empty context
    with pytest.raises(InvalidSignature):  # a context would be another signature input
        public.verify(signature, tbs, b"suit")  # type: ignore[union-attr, call-arg]

    report = verify_envelope(signed.data, [_anchor(public_pem)])
    assert [b.verified_by for b in report.blocks] == [public_pem.name]


def test_tampered_mldsa_envelope_fails(tmp_path: Path) -> None:
    private, public_pem = key_pair(tmp_path, "ML-DSA-65")
    signer = open_signer(str(private))
    signed = sign_envelope(decode_envelope(EXAMPLE.read_bytes()), signer).data
    anchor = _anchor(public_pem)
    sig_at = signed.rfind(b"\x59\x0c\xed") + 3  # bstr head of the 3309-byte signature
    flipped = bytearray(signed)
    flipped[sig_at + 100] ^= 1
    with pytest.raises(SignatureInvalid):
        verify_envelope(bytes(flipped), [anchor])
    number_at = signed.find(b"\xa5\x01\x01\x02\x03") + 4  # manifest sequence number 3
    altered = bytearray(signed)
    altered[number_at] = 0x04
    with pytest.raises(DigestMismatch):
        verify_envelope(bytes(altered), [anchor])


def test_akp_cose_key_round_trip_and_thumbprint(tmp_path: Path) -> None:
    public, kid = generate_file_key(tmp_path / "k.pem", "ML-DSA-87")
    raw = public.public_bytes_raw()  # type: ignore[union-attr]
    data = encode_cose_key(public, kid)
    # RFC 9964 §5: kty AKP (7), alg required, pub the raw public key.
    assert cbor2.loads(data) == {1: 7, 2: kid, 3: -50, -1: raw}
    # RFC 9679: SHA-256 over the deterministic encoding of the required members only.
    assert kid == hashlib.sha256(cbor2.dumps({1: 7, 3: -50, -1: raw}, canonical=True)).digest()
    anchor = TrustAnchor.from_cose_key(data, "akp")
    assert anchor.curve == "ML-DSA-87" and anchor.kid == kid


@pytest.mark.parametrize(("key", "problem"), [
    ({1: 7, 3: -49, -1: b"\x00" * 10}, "1952"),   # pub of the wrong length
    ({1: 7, 3: -9, -1: b"\x00" * 1952}, "-9"),    # alg not ML-DSA
    ({1: 7, -1: b"\x00" * 1952}, "None"),          # alg missing (required for AKP)
])
def test_hostile_akp_keys_are_typed_errors(key: dict[int, object], problem: str) -> None:
    with pytest.raises(TrustAnchorError, match=problem):
        TrustAnchor.from_cose_key(cbor2.dumps(key), "hostile")


def test_alg_ml_dsa_with_a_p256_anchor_and_oversized_signatures_do_not_verify(
        tmp_path: Path) -> None:
    private, public_pem = key_pair(tmp_path, "ML-DSA-65")
    signer = open_signer(str(private))
    tbs = b"to be signed"
    signature = signer.sign(tbs)
    p256 = TrustAnchor("p256", public_key=ec.generate_private_key(ec.SECP256R1()).public_key())
    from suit.verify import verify_signature
    assert verify_signature(-49, _anchor(public_pem), tbs, signature)
    assert not verify_signature(-49, p256, tbs, signature)            # alg -49, P-256 key
    assert not verify_signature(-48, _anchor(public_pem), tbs, signature)  # 65 key, alg 44
    assert not verify_signature(-49, _anchor(public_pem), tbs, signature + b"\x00")
    assert not verify_signature(-49, _anchor(public_pem), tbs, signature * 20)
    assert not verify_signature(-49, _anchor(public_pem), tbs, b"")


def test_external_mldsa_signing_carries_the_algorithm(tmp_path: Path) -> None:
    _private, public_pem = key_pair(tmp_path, "ML-DSA-44")
    key = serialization.load_pem_private_key((tmp_path / "ml-dsa-44.pem").read_bytes(), None)
    public = key.public_key()
    identity = external_identity(public, "external-mldsa")  # type: ignore[arg-type]
    envelope = decode_envelope(EXAMPLE.read_bytes())
    tbs = export_to_be_signed(envelope, identity)
    assert tbs.algorithm == signature_algorithm(CoseAlgorithm.ML_DSA_44)
    request = signing_request(tbs.algorithm)
    assert request.startswith("ML-DSA-44 (-48): pure ML-DSA-44") and "empty context" in request
    # The external system: `cryptography` directly, pure ML-DSA, empty context.
    signature = key.sign(tbs.data)  # type: ignore[union-attr, call-arg]
    with pytest.raises(ExternalSignatureInvalid, match="2420"):
        import_signature(envelope, identity, signature + b"\x00")
    with pytest.raises(ExternalSignatureInvalid):
        import_signature(envelope, identity, key.sign(tbs.data + b"x"))  # type: ignore[union-attr, call-arg]
    signed = import_signature(envelope, identity, signature)
    verify_envelope(signed.data, [_anchor(public_pem)])


def test_key_kinds_and_refusals(tmp_path: Path) -> None:
    assert parse_kind("ml-dsa-65") == "ML-DSA-65" and parse_kind("P_256") == "P-256"
    with pytest.raises(KeyReferenceError):
        parse_kind("rsa-2048")
    generate_file_key(tmp_path / "k.pem", "ML-DSA-65")
    before = (tmp_path / "k.pem").read_bytes()
    with pytest.raises(KeyFileError, match="never overwritten"):
        generate_file_key(tmp_path / "k.pem", "P-256")
    assert (tmp_path / "k.pem").read_bytes() == before
    assert (tmp_path / "k.pem").stat().st_mode & 0o077 == 0
    with pytest.raises(KeyReferenceError, match="PKCS#11 token"):
        generate(object(), "ML-DSA-65", None)  # type: ignore[arg-type]  # refused before the token


def test_an_mldsa_key_cannot_sign_with_another_algorithm(tmp_path: Path) -> None:
    from signing.errors import WrongKeyType
    private, _public = key_pair(tmp_path, "ML-DSA-65")
    for alg in (CoseAlgorithm.ML_DSA_87, CoseAlgorithm.ESP256):
        with pytest.raises(WrongKeyType):
            open_signer(str(private), alg)
