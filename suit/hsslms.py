"""HSS-LMS hash-based signatures for SUIT (RFC 8554; COSE algorithm -46, RFC 8778).

The format core's half: the parameter sets, the public key and signature layouts parsed
strictly, and verification. Bytes in, a verdict out; signing (which keeps state on disk)
is `signing.hsslms`.

Library choice (issue 16): `pyhsslms` (pinned in pyproject.toml) does the hashing. It is
written by the author of RFC 8708 and RFC 8778, stable, dependency-free, reads Cisco
hash-sigs' formats and knows every RFC 8554 / SP 800-208 parameter set. Its parsing is
lenient (trailing bytes after a signature are ignored, q = 2^h is let through, the LM-OTS
type of a signature is not compared with the key's), so every public key and signature
is parsed here first, exactly as RFC 8554 §5.4.2 / §6.3 ask, and only well-formed ones
reach it. `hsslms` (0.1.3, "for educational purposes", pickle persistence) is the second
implementation the tests cross-check against.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final

from suit.errors import DecodeError

logger = logging.getLogger(__name__)

#: RFC 8554 §6.1: at most 8 levels.
MAX_LEVELS: Final = 8
_LEN_I: Final = 16


@dataclass(frozen=True)
class LmsType:
    """An LMS parameter set (RFC 8554 §5.1, Table 2; SP 800-208 §4)."""

    name: str
    code: int
    m: int
    h: int


@dataclass(frozen=True)
class LmotsType:
    """An LM-OTS parameter set (RFC 8554 §4.1, Table 1; SP 800-208 §4)."""

    name: str
    code: int
    n: int
    p: int
    w: int


# RFC 8554 §8.1 (IANA): the SHA-256 parameter sets. SP 800-208's SHA-256/192 and SHAKE
# sets are not accepted: RFC 8778 (COSE) builds on RFC 8554's registry.
LMS_TYPES: Final = {5 + i: LmsType(f"LMS_SHA256_M32_H{h}", 5 + i, 32, h)
                    for i, h in enumerate((5, 10, 15, 20, 25))}
LMOTS_TYPES: Final = {1 + i: LmotsType(f"LMOTS_SHA256_N32_W{w}", 1 + i, 32, p, w)
                      for i, (w, p) in enumerate(((1, 265), (2, 133), (4, 67), (8, 34)))}
LMS_BY_NAME: Final = {t.name: t for t in LMS_TYPES.values()}
LMOTS_BY_NAME: Final = {t.name: t for t in LMOTS_TYPES.values()}
#: RFC 8778 §1 / issue 16 default: one LMS tree of 2^10 signatures, Winternitz 8.
DEFAULT_LMS: Final = LMS_BY_NAME["LMS_SHA256_M32_H10"]
DEFAULT_LMOTS: Final = LMOTS_BY_NAME["LMOTS_SHA256_N32_W8"]


def _u32(data: bytes, offset: int) -> int:
    return int.from_bytes(data[offset:offset + 4], "big")


@dataclass(frozen=True)
class HssLmsPublicKey:
    """An HSS public key: u32str(L) || LMS public key (RFC 8554 §6.1, §5.3).

    Attributes:
        levels: L, the number of LMS levels.
        lms: The top tree's LMS parameter set.
        lmots: The top tree's LM-OTS parameter set.
        identifier: I, the top tree's 16-byte identifier.
        root: T[1], the top tree's root.
    """

    levels: int
    lms: LmsType
    lmots: LmotsType
    identifier: bytes
    root: bytes

    @property
    def encoded(self) -> bytes:
        """The key's bytes as COSE carries them (RFC 8778 §2.2, the ``pub`` parameter)."""
        return (self.levels.to_bytes(4, "big") + _lms_public(self.lms, self.lmots, self.identifier,
                                                             self.root))

    @classmethod
    def parse(cls, data: bytes, path: str = "HSS-LMS public key") -> HssLmsPublicKey:
        """Parse an HSS public key exactly (no trailing bytes).

        Raises:
            DecodeError: wrong length, unknown parameter set, or L outside 1..8.
        """
        if len(data) < 4:
            raise DecodeError(path, "too short for an HSS public key")
        levels = _u32(data, 0)
        if not 1 <= levels <= MAX_LEVELS:
            raise DecodeError(path, f"{levels} levels (RFC 8554 allows 1 to {MAX_LEVELS})")
        lms, lmots, identifier, root = _parse_lms_public(data[4:], path)
        return cls(levels, lms, lmots, identifier, root)

    @property
    def capacity(self) -> int:
        """How many signatures a key of this shape makes when every level has the top
        tree's height (what `signing.hsslms` generates)."""
        return int(2 ** (self.lms.h * self.levels))


def _lms_public(lms: LmsType, lmots: LmotsType, identifier: bytes, root: bytes) -> bytes:
    return lms.code.to_bytes(4, "big") + lmots.code.to_bytes(4, "big") + identifier + root


def _parse_lms_public(data: bytes, path: str) -> tuple[LmsType, LmotsType, bytes, bytes]:
    """RFC 8554 §5.3: u32 type || u32 otstype || I || T[1], exactly."""
    if len(data) < 8:
        raise DecodeError(path, "too short for an LMS public key")
    lms, lmots = LMS_TYPES.get(_u32(data, 0)), LMOTS_TYPES.get(_u32(data, 4))
    if lms is None or lmots is None:
        raise DecodeError(path, f"unknown LMS/LM-OTS type {_u32(data, 0):#x}/{_u32(data, 4):#x}")
    if len(data) != 8 + _LEN_I + lms.m:
        raise DecodeError(path, f"{len(data)} bytes, {lms.name} keys have {8 + _LEN_I + lms.m}")
    return lms, lmots, data[8:8 + _LEN_I], data[8 + _LEN_I:]


@dataclass(frozen=True)
class LmsSignatureInfo:
    """Where one LMS signature sits in an HSS signature, and what it says."""

    q: int
    lms: LmsType
    lmots: LmotsType
    start: int
    end: int


def lms_signature_length(data: bytes, start: int, path: str) -> LmsSignatureInfo:
    """Parse the LMS signature at `start` (RFC 8554 §5.4: q, LM-OTS signature, type, path).

    Raises:
        DecodeError: truncated, unknown type, or q outside the tree (q >= 2^h).
    """
    if len(data) < start + 8:
        raise DecodeError(path, "truncated LMS signature")
    lmots = LMOTS_TYPES.get(_u32(data, start + 4))
    if lmots is None:
        raise DecodeError(path, f"unknown LM-OTS type {_u32(data, start + 4):#x}")
    ots_end = start + 8 + lmots.n * (lmots.p + 1)
    lms = LMS_TYPES.get(_u32(data, ots_end)) if len(data) >= ots_end + 4 else None
    if lms is None:
        raise DecodeError(path, "truncated LMS signature or unknown LMS type")
    q = _u32(data, start)
    if q >= 2 ** lms.h:  # RFC 8554 §5.4.2 step 2f
        raise DecodeError(path, f"leaf index {q} outside a tree of {2 ** lms.h}")
    end = ots_end + 4 + lms.m * lms.h
    if len(data) < end:
        raise DecodeError(path, "truncated LMS authentication path")
    return LmsSignatureInfo(q, lms, lmots, start, end)


@dataclass(frozen=True)
class HssSignatureInfo:
    """An HSS signature's layout (RFC 8554 §6.2): one LMS signature per level, top first,
    the public keys of levels 1..L-1 between them."""

    signatures: tuple[LmsSignatureInfo, ...]
    public_keys: tuple[bytes, ...]

    @property
    def levels(self) -> int:
        return len(self.signatures)


def parse_hss_signature(data: bytes, path: str = "HSS-LMS signature") -> HssSignatureInfo:
    """Parse an HSS signature exactly; every byte must belong to it.

    Raises:
        DecodeError: malformed, with what was wrong.
    """
    if len(data) < 4:
        raise DecodeError(path, "too short for an HSS signature")
    nspk = _u32(data, 0)
    if nspk >= MAX_LEVELS:
        raise DecodeError(path, f"{nspk + 1} levels (RFC 8554 allows at most {MAX_LEVELS})")
    signatures, keys, offset = [], [], 4
    for level in range(nspk + 1):
        info = lms_signature_length(data, offset, f"{path}/level {level}")
        signatures.append(info)
        offset = info.end
        if level < nspk:
            key_len = _public_length(data, offset, f"{path}/public key {level + 1}")
            keys.append(data[offset:offset + key_len])
            offset += key_len
    if offset != len(data):
        raise DecodeError(path, f"{len(data) - offset} bytes after the signature")
    return HssSignatureInfo(tuple(signatures), tuple(keys))


def _public_length(data: bytes, offset: int, path: str) -> int:
    lms = LMS_TYPES.get(_u32(data, offset)) if len(data) >= offset + 8 else None
    if lms is None or len(data) < offset + 8 + _LEN_I + lms.m:
        raise DecodeError(path, "truncated LMS public key or unknown LMS type")
    _parse_lms_public(data[offset:offset + 8 + _LEN_I + lms.m], path)
    return 8 + _LEN_I + lms.m


def verify_hss(key: HssLmsPublicKey, message: bytes, signature: bytes) -> bool:
    """Verify an HSS signature over `message` (RFC 8554 §6.3). False for anything that is
    not a valid signature by `key`, malformed bytes included."""
    try:
        info = parse_hss_signature(signature)
    except DecodeError as exc:
        logger.debug("HSS-LMS signature refused: %s", exc)
        return False
    if info.levels != key.levels or not _types_chain(key, info):
        return False
    from pyhsslms import pyhsslms  # only here: inspect and verify of ECDSA start without it
    try:
        return bool(pyhsslms.HssPublicKey.deserialize(key.encoded).verify(message, signature))
    except (ValueError, IndexError, KeyError) as exc:  # not expected after the parse above
        logger.debug("HSS-LMS verification failed: %s", exc)
        return False


def _types_chain(key: HssLmsPublicKey, info: HssSignatureInfo) -> bool:
    """RFC 8554 §5.4.2 steps 2c/2e: each level's signature has its key's LMS and LM-OTS
    types (the library compares the LMS type only)."""
    lms_codes = [key.lms.code] + [_u32(k, 0) for k in info.public_keys]
    lmots_codes = [key.lmots.code] + [_u32(k, 4) for k in info.public_keys]
    return all(s.lms.code == lms and s.lmots.code == ots
               for s, lms, ots in zip(info.signatures, lms_codes, lmots_codes, strict=True))
