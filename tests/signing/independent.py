"""Checks that do not use our own COSE code: cbor2 and `cryptography` directly, and pycose.

pycose 1.1 predates cbor2 6 (which decodes arrays as tuples and maps as immutable
mappings) and RFC 9864's fully specified algorithms. The workaround lives here, in the
tests only: decoded values are thawed into lists and dicts, and ESP256 / ESP384 / Ed25519
are registered as aliases of pycose's ES256 / ES384 / EdDSA classes.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pycose import algorithms as pycose_algorithms
from pycose.keys import CoseKey
from pycose.messages import Mac0Message, Sign1Message

_HASH = {-7: hashes.SHA256, -9: hashes.SHA256, -35: hashes.SHA384, -51: hashes.SHA384}


def _register_fully_specified() -> None:
    register = pycose_algorithms.CoseAlgorithm.register_attribute()
    for name, base, ident in (("ESP256", pycose_algorithms.Es256, -9),
                              ("ESP384", pycose_algorithms.Es384, -51),
                              ("ED25519", pycose_algorithms.EdDSA, -19)):
        if ident not in pycose_algorithms.CoseAlgorithm.get_registered_classes():
            register(type(name, (base,), {"identifier": ident, "fullname": name}))


_register_fully_specified()


def thaw(value: Any) -> Any:
    """cbor2 6 values -> the mutable lists and dicts pycose 1.1 expects."""
    if isinstance(value, Mapping):
        return {thaw(k): thaw(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [thaw(v) for v in value]
    return value


def envelope_parts(data: bytes) -> tuple[bytes, bytes, list[bytes]]:
    """(manifest bstr content, encoded SUIT_Digest, authentication block bytes) by cbor2."""
    value = cbor2.loads(data)
    members = value.value if isinstance(value, cbor2.CBORTag) else value
    auth = cbor2.loads(members[2])
    return members[3], auth[0], list(auth[1:])


def decode_block(block: bytes) -> tuple[int, dict[Any, Any], bytes, Any, bytes]:
    """(tag, protected header map, protected bytes, payload, signature) of a COSE block."""
    tagged = cbor2.loads(block)
    protected, _unprotected, payload, signature = tagged.value
    return tagged.tag, dict(cbor2.loads(protected)), protected, payload, signature


def expected_tbs(tag: int, protected: bytes, digest: bytes) -> bytes:
    """RFC 9052 §4.4 / §6.3 built by hand with cbor2."""
    context = "MAC0" if tag == 17 else "Signature1"
    return cbor2.dumps([context, protected, b"", digest])


def verify_with_cryptography(alg: int, public: object, tbs: bytes, signature: bytes) -> None:
    """Raise `InvalidSignature` unless `signature` (COSE form) verifies over `tbs`."""
    if isinstance(public, ed25519.Ed25519PublicKey):
        assert len(signature) == 64
        public.verify(signature, tbs)
        return
    assert isinstance(public, ec.EllipticCurvePublicKey)
    size = (public.curve.key_size + 7) // 8
    assert len(signature) == 2 * size, "raw r||s sized by the key's curve"
    der = encode_dss_signature(int.from_bytes(signature[:size], "big"),
                               int.from_bytes(signature[size:], "big"))
    public.verify(der, tbs, ec.ECDSA(_HASH[alg]()))


def verify_mac(secret: bytes, tbs: bytes, tag: bytes) -> bool:
    """HMAC 256/256 recomputed with the standard library."""
    return hmac.compare_digest(hmac.new(secret, tbs, hashlib.sha256).digest(), tag)


def pycose_verify(block: bytes, digest: bytes, key: CoseKey) -> tuple[bool, bytes]:
    """pycose's verdict on a detached-payload block, and the structure it built."""
    tagged = cbor2.loads(block)
    cls = Mac0Message if tagged.tag == 17 else Sign1Message
    message = cls.from_cose_obj(thaw(tagged.value), True)
    message.key = key
    if tagged.tag == 17:
        message.payload = digest  # pycose's MAC classes take no detached payload
        return message.verify_tag(), message._mac_structure
    return message.verify_signature(detached_payload=digest), \
        message._create_sig_structure(detached_payload=digest)
