"""The one decode boundary for untrusted bytes, and deterministic encoding.

Decoding uses cbor2 with every semantic tag kept as a plain `CBORTag`, so no tag is
interpreted behind our back (no datetimes, UUIDs, shared references or string references),
duplicate keys and indefinite lengths refused, nesting bounded, trailing bytes refused.
Every failure becomes a `DecodeError` naming where it happened.

Encoding is RFC 8949 §4.2.1 deterministic: shortest forms, definite lengths, map keys in
bytewise lexicographic order of their encodings (manifest-37 §8.1).
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from typing import Any, Final

import cbor2

from suit.errors import DecodeError, EncodeError

#: Default limit for one envelope: large enough for integrated payloads of small devices.
DEFAULT_MAX_SIZE: Final = 16 * 1024 * 1024
#: SUIT structures nest a dozen levels at most; anything deeper is hostile.
MAX_DEPTH: Final = 32

# Tags cbor2 would otherwise turn into Python objects (datetime, Decimal, UUID, shared and
# string references, sets, IP addresses, ...). Kept raw: SUIT gives them no meaning except
# where our codec says so, and interpreting them changes what re-encodes.
# Bignums (tags 2 and 3) are the one exception: they are plain integers, decoded as int;
# SUIT's own fields reject values outside the 64-bit CBOR integer range (suit.checks).
_SEMANTIC_TAGS: Final = (0, 1, 4, 5, 25, 28, 29, 30, 35, 36, 37, 52, 54, 100, 256,
                         258, 260, 261, 262, 263, 272, 1004, 55799)


def _keep_tag(tag: int) -> Callable[[Any, bool], cbor2.CBORTag]:
    return lambda value, _immutable: cbor2.CBORTag(tag, value)


_KEEP_TAGS: Final = {tag: _keep_tag(tag) for tag in _SEMANTIC_TAGS}

CBORTag = cbor2.CBORTag

_OPTIONS: Final[dict[str, Any]] = {"semantic_decoders": _KEEP_TAGS, "allow_indefinite": False,
                                    "allow_duplicate_keys": False}
# The end mark of `_decode_exactly`: a byte string of a per-process random nonce, which no
# input holds except by a 2^-128 guess.
_END_NONCE: Final = os.urandom(16)
_END_MARK: Final = cbor2.dumps(_END_NONCE)
_ARRAY_OF_TWO: Final = b"\x82"


def loads(data: bytes, *, path: str = "", max_size: int = DEFAULT_MAX_SIZE) -> Any:
    """Decode exactly one CBOR item from untrusted bytes.

    Args:
        data: The bytes; all of them must form one item.
        path: Where these bytes sit in the enclosing structure, for error messages.
        max_size: Largest accepted input in bytes.

    Returns:
        Plain Python values: int, bytes, str, list, dict, bool, None, float, CBORTag, and
        `cbor2.undefined` / `CBORSimpleValue` for the rare simple values.

    Raises:
        DecodeError: for anything that is not exactly one well-formed, definite-length item.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DecodeError(path, f"expected bytes, found {type(data).__name__}")
    if len(data) > max_size:
        raise DecodeError(path, f"{len(data)} bytes exceeds the limit of {max_size}")
    if not data:
        raise DecodeError(path, "empty input")
    exact = _decode_exactly(data)
    if exact is not None:
        return exact[0]
    return _decode_reporting(data, path)


def _decode_exactly(data: bytes | bytearray | memoryview) -> tuple[Any] | None:
    """`(item,)` when `data` is exactly one well-formed item, else None; one call into
    cbor2's C decoder, with no stream, which is most of the cost of small items.

    `cbor2.loads` ignores trailing bytes, so it decodes ``[data, end mark]`` and accepts
    only when the second element is the nonce. Data holding the nonce takes the slow path.
    Otherwise the nonce's bytes occur only at the end, after its one-byte head (0x50, which
    cannot end a longer head), or straddling the end of `data`, which takes knowing the
    nonce; and every tag stays a `CBORTag` or gives an int (bignums). So the second
    element is the nonce only when it starts where `data` ends: `data` holds exactly one
    item. The array adds one level, hence the depth limit one deeper. On None,
    `_decode_reporting` decodes again to say precisely what is wrong.
    """
    if _END_NONCE in bytes(data):  # a memoryview's `in` looks for one element, not bytes
        return None
    try:
        pair = cbor2.loads(_ARRAY_OF_TWO + data + _END_MARK, max_depth=MAX_DEPTH + 1, **_OPTIONS)
    except (cbor2.CBORError, ValueError, TypeError, OverflowError, RecursionError,
            MemoryError, UnicodeError):
        return None
    end = pair[1]
    return (pair[0],) if type(end) is bytes and end == _END_NONCE else None


def _decode_reporting(data: bytes | bytearray | memoryview, path: str) -> Any:
    """Decode through a stream, which tells where the item ends; raise what is wrong."""
    stream = io.BytesIO(data)
    decoder = cbor2.CBORDecoder(stream, max_depth=MAX_DEPTH, **_OPTIONS)
    try:
        value = decoder.decode()
    except cbor2.CBORDecodeEOF as exc:
        raise DecodeError(path, f"truncated: {exc}") from exc
    except (cbor2.CBORError, ValueError, TypeError, OverflowError, RecursionError,
            MemoryError, UnicodeError) as exc:
        raise DecodeError(path, f"malformed CBOR: {exc}") from exc
    if stream.tell() != len(data):
        raise DecodeError(path, f"{len(data) - stream.tell()} trailing bytes after the item",
                          hint=_hint_for(data))
    return value


def _hint_for(data: bytes | bytearray | memoryview) -> str | None:
    """A person who gives a text file (a .diag, a PEM, JSON) deserves to be told so."""
    head = bytes(data[:64])
    if head and all(32 <= b < 127 or b in b"\r\n\t" for b in head):
        return "This looks like a text file, not binary CBOR: give the binary envelope."
    return None


def dumps(value: Any, *, path: str = "") -> bytes:
    """Encode `value` deterministically (RFC 8949 §4.2.1).

    Raises:
        EncodeError: when `value` holds something CBOR cannot carry.
    """
    try:
        return cbor2.dumps(value, canonical=True)
    except (cbor2.CBORError, ValueError, TypeError) as exc:
        raise EncodeError(path or "<value>", f"cannot encode: {exc}") from exc


def is_deterministic(data: bytes) -> bool:
    """Whether `data` (one well-formed item) is already in deterministic encoding."""
    return dumps(loads(data)) == bytes(data)
