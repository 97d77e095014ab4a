"""Signatures pycose makes are accepted: by our verifier (suit.verify) when attached to an
envelope, and by our external-signature import, which rebuilds the Sig_structure itself."""

from __future__ import annotations

import cbor2
import pytest
from cryptography.hazmat.primitives import serialization
from pycose.algorithms import CoseAlgorithm as PycoseAlgorithm
from pycose.headers import KID, Algorithm
from pycose.keys import EC2Key, OKPKey, SymmetricKey
from pycose.messages import Mac0Message, Sign1Message

from signing.envelope import BlockPolicy, attach_block
from signing.external import external_identity, import_signature
from suit.codec import decode_envelope, encode_envelope
from suit.cose import CoseAlgorithm
from suit.keys import TrustAnchor
from suit.verify import verify_envelope
from tests.fixtures.vectors import MANIFEST_SPEC
from tests.signing import independent  # noqa: F401  (registers the RFC 9864 aliases)
from tests.signing.conftest import HMAC_SECRET, SoftwareKeys
from tests.signing.independent import envelope_parts

UNSIGNED = MANIFEST_SPEC / "example4-unsigned.cbor"
CASES = [("P-256", -9), ("P-256", -7), ("P-384", -51), ("P-384", -35), ("Ed25519", -19),
         ("Ed25519", -8)]


def _pycose_private(keys: SoftwareKeys, kind: str) -> object:
    key = serialization.load_pem_private_key(keys.path(kind).read_bytes(), None)
    return (OKPKey if kind == "Ed25519" else EC2Key)._from_cryptography_key(key)


def _pycose_block(key: object, alg: int, kid: bytes, digest: bytes) -> bytes:
    message = Sign1Message(phdr={Algorithm: PycoseAlgorithm.from_id(alg), KID: kid}, payload=None)
    message.key = key
    return message.encode(detached_payload=digest)


@pytest.mark.parametrize(("kind", "alg"), CASES)
def test_our_verifier_accepts_pycose_signatures(kind: str, alg: int,
                                                software_keys: SoftwareKeys) -> None:
    envelope = decode_envelope(UNSIGNED.read_bytes())
    _manifest, digest, _blocks = envelope_parts(UNSIGNED.read_bytes())
    block = _pycose_block(_pycose_private(software_keys, kind), alg, b"pycose", digest)
    signed = encode_envelope(attach_block(envelope, block, b"pycose", BlockPolicy.REFUSE))
    anchor = TrustAnchor("pycose key", public_key=software_keys.public_key(kind))
    assert verify_envelope(signed, [anchor]).blocks[0].verified_by == "pycose key"


@pytest.mark.parametrize(("kind", "alg"), CASES)
def test_import_accepts_a_pycose_signature_over_its_own_structure(
        kind: str, alg: int, software_keys: SoftwareKeys) -> None:
    envelope = decode_envelope(UNSIGNED.read_bytes())
    identity = external_identity(software_keys.public_key(kind), "ext", CoseAlgorithm(alg))
    _manifest, digest, _blocks = envelope_parts(UNSIGNED.read_bytes())
    block = _pycose_block(_pycose_private(software_keys, kind), alg, identity.kid, digest)
    signature = cbor2.loads(block).value[3]
    result = import_signature(envelope, identity, signature)
    assert result.block == block  # byte-identical COSE_Sign1, built independently


def test_our_verifier_accepts_a_pycose_mac() -> None:
    envelope = decode_envelope(UNSIGNED.read_bytes())
    _manifest, digest, _blocks = envelope_parts(UNSIGNED.read_bytes())
    message = Mac0Message(phdr={Algorithm: PycoseAlgorithm.from_id(5), KID: b"m"}, payload=digest)
    message.key = SymmetricKey(k=HMAC_SECRET)
    tagged = cbor2.loads(message.encode())
    block = cbor2.dumps(cbor2.CBORTag(17, [tagged.value[0], {}, None, tagged.value[3]]))
    signed = encode_envelope(attach_block(envelope, block, b"m", BlockPolicy.REFUSE))
    assert verify_envelope(signed, [TrustAnchor.from_secret(HMAC_SECRET, "s")]).blocks[0].verified_by == "s"
