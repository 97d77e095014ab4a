"""Trust-anchor bundles: the public keys a ceremony made, in the forms devices load.

- ``trust-anchors.pem``: PEM SubjectPublicKeyInfo blocks, one after another (what the
  virtual device's ``trust_anchors`` take, one block each; `split_pem_bundle` separates them).
- ``trust-anchors.cbor``: a COSE_KeySet (RFC 9052 §7: an array of COSE_Key), each key
  with its kid (the token's CKA_ID), for devices that store COSE keys.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from cryptography.hazmat.primitives import serialization

from signing.signer import PublicKey
from suit import cbor
from suit.checks import expect_list, expect_map
from suit.errors import DecodeError, TrustAnchorError
from suit.hsslms import HssLmsPublicKey
from suit.keys import TrustAnchor, cose_key_value

_PEM_BLOCK: Final = re.compile(rb"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----\n?", re.S)


def bundle_pem(keys: Sequence[PublicKey]) -> bytes:
    """PEM blocks of `keys`, concatenated (token keys: never HSS-LMS, which has no PEM here)."""
    return b"".join(_pem(k) for k in keys)


def _pem(key: PublicKey) -> bytes:
    if isinstance(key, HssLmsPublicKey):
        raise TrustAnchorError("HSS-LMS keys are bundled as COSE_Key only")
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def split_pem_bundle(data: bytes) -> list[bytes]:
    """The PEM blocks of a bundle, each as its own bytes."""
    return [m.group(0) for m in _PEM_BLOCK.finditer(data)]


def keyset(keys: Sequence[tuple[PublicKey, bytes]]) -> bytes:
    """A COSE_KeySet of (public key, kid) pairs, deterministic CBOR."""
    return cbor.dumps([cose_key_value(key, kid) for key, kid in keys])


def load_bundle(data: bytes, name: str = "trust-anchor bundle") -> list[TrustAnchor]:
    """Every trust anchor of a PEM bundle or a COSE_KeySet.

    Raises:
        TrustAnchorError: not a bundle, or a key in it is unusable.
    """
    if data.lstrip().startswith(b"-----"):
        blocks = split_pem_bundle(data)
        if not blocks:
            raise TrustAnchorError(f"{name}: no PEM public key in it")
        return [TrustAnchor.from_pem(b, f"{name}[{i}]") for i, b in enumerate(blocks)]
    try:
        items = expect_list(cbor.loads(data, path=name), name, min_len=1)
        maps = [expect_map(item, f"{name}[{i}]") for i, item in enumerate(items)]
    except DecodeError as exc:
        raise TrustAnchorError(f"{name}: not a COSE_KeySet ({exc})") from exc
    return [TrustAnchor.from_cose_key(cbor.dumps(dict(m)), f"{name}[{i}]")
            for i, m in enumerate(maps)]
