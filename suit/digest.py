"""SUIT_Digest algorithms (M37 §10) and streaming digests for large images."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any, Final

from suit.errors import UnsupportedAlgorithm
from suit.model import Digest, DigestAlgorithm

# SHAKE outputs are sized to the security level of the name (128 -> 32 B, 256 -> 64 B).
_FACTORIES: Final[dict[int, tuple[Callable[..., Any], int | None]]] = {
    DigestAlgorithm.SHA256: (hashlib.sha256, None),
    DigestAlgorithm.SHA384: (hashlib.sha384, None),
    DigestAlgorithm.SHA512: (hashlib.sha512, None),
    DigestAlgorithm.SHAKE128: (hashlib.shake_128, 32),
    DigestAlgorithm.SHAKE256: (hashlib.shake_256, 64),
}


class StreamingDigest:
    """Incremental digest for images too large to hold in memory.

    Example:
        >>> d = StreamingDigest(DigestAlgorithm.SHA256); d.update(b"abc"); d.finish().value.hex()[:8]
        'ba7816bf'
    """

    def __init__(self, algorithm: int = DigestAlgorithm.SHA256) -> None:
        if algorithm not in _FACTORIES:
            raise UnsupportedAlgorithm("digest", algorithm)
        factory, self._length = _FACTORIES[algorithm]
        self._hash = factory()
        self.algorithm = algorithm
        self.size = 0

    def update(self, data: bytes | memoryview) -> None:
        self._hash.update(data)
        self.size += len(data)

    def finish(self) -> Digest:
        value = self._hash.digest(self._length) if self._length else self._hash.digest()
        return Digest(self.algorithm, value)


def compute(algorithm: int, data: bytes) -> bytes:
    """The digest bytes of `data` under a SUIT digest algorithm."""
    entry = _FACTORIES.get(algorithm)  # one look-up: verification hashes three times
    if entry is None:
        raise UnsupportedAlgorithm("digest", algorithm)
    factory, length = entry
    value: bytes = factory(data).digest(length) if length else factory(data).digest()
    return value


def digest_of(data: bytes, algorithm: int = DigestAlgorithm.SHA256) -> Digest:
    """A `Digest` of `data`."""
    return Digest(algorithm, compute(algorithm, data))


def matches(digest: Digest, data: bytes) -> bool:
    """Whether `data` has `digest`, compared in constant time."""
    return hmac.compare_digest(compute(digest.algorithm, data), digest.value)


def algorithm_name(algorithm: int) -> str:
    """``sha256`` for -16, else the number."""
    try:
        return DigestAlgorithm(algorithm).name.lower()
    except ValueError:
        return str(algorithm)
