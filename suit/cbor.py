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
import threading
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


# Making a CBORDecoder costs about 1.6 us (its options, the tag table above), and pointing
# one at a new stream about 0.3 us, more than decoding one small nested item costs; a
# manifest has a dozen such items. Each thread keeps one decoder reading one stream, and
# refills the stream with the next item (`BytesIO.__init__` shares the bytes, no copy):
# the decoder keeps no state between items (no shared or string references: those tags
# stay raw, see above), its nesting count restarts at every decode, and a read past an
# item is undone on the stream, so `tell` still finds trailing bytes. After a failure
# the decoder is pointed at the stream afresh, dropping whatever it had read of the bad
# item. Per thread because decoding an item is not atomic: a GUI worker and the main
# thread may decode at once.
_LOCAL: Final = threading.local()
#: Inputs up to this size may stay referenced by the thread's stream until its next use.
_KEEP_STREAM_SIZE: Final = 64 * 1024
_refill: Final = io.BytesIO.__init__


def _reader() -> tuple[cbor2.CBORDecoder, io.BytesIO]:
    """This thread's decoder and the stream it reads, made on first use."""
    try:
        reader: tuple[cbor2.CBORDecoder, io.BytesIO] = _LOCAL.reader
    except AttributeError:
        stream = io.BytesIO(b"")
        reader = _LOCAL.reader = (cbor2.CBORDecoder(
            stream, semantic_decoders=_KEEP_TAGS, max_depth=MAX_DEPTH, allow_indefinite=False,
            allow_duplicate_keys=False), stream)
    return reader


def _decoder() -> cbor2.CBORDecoder:
    """This thread's decoder, made on first use."""
    return _reader()[0]


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
    if type(data) is not bytes and not isinstance(data, (bytearray, memoryview)):
        raise DecodeError(path, f"expected bytes, found {type(data).__name__}")
    size = len(data)
    if size > max_size:
        raise DecodeError(path, f"{size} bytes exceeds the limit of {max_size}")
    if not size:
        raise DecodeError(path, "empty input")
    try:
        decoder, stream = _LOCAL.reader
    except AttributeError:
        decoder, stream = _reader()
    _refill(stream, data)
    try:
        value = decoder.decode()
    except cbor2.CBORDecodeEOF as exc:
        _reset(decoder, stream)
        raise DecodeError(path, f"truncated: {exc}") from exc
    except (cbor2.CBORError, ValueError, TypeError, OverflowError, RecursionError,
            MemoryError, UnicodeError) as exc:
        _reset(decoder, stream)
        raise DecodeError(path, f"malformed CBOR: {exc}") from exc
    except BaseException:  # an interrupt mid-item: leave nothing of it for the next
        _reset(decoder, stream)
        raise
    end = stream.tell()
    if size > _KEEP_STREAM_SIZE:
        _refill(stream, b"")  # do not keep a large input alive until the next call
    if end != size:
        _reset(decoder, stream)
        raise DecodeError(path, f"{size - end} trailing bytes after the item",
                          hint=_hint_for(data))
    return value


def _reset(decoder: cbor2.CBORDecoder, stream: io.BytesIO) -> None:
    """Empty the stream and point the decoder at it afresh after a failed item."""
    _refill(stream, b"")
    decoder.fp = stream


def _hint_for(data: bytes) -> str | None:
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


#: The heads of byte strings shorter than 256 bytes (protected headers, digests, severed
#: members, small manifests), made once: verification writes or hashes several.
_SHORT_HEADS: Final = tuple(bytes((0x40 | length,)) if length < 24 else bytes((0x58, length))
                            for length in range(256))


def bstr_head(length: int) -> bytes:
    """The shortest head of a byte string of `length` bytes (RFC 8949 §3, §4.2.1)."""
    if length < 256:
        return _SHORT_HEADS[length]
    size = 2 if length < 1 << 16 else 4 if length < 1 << 32 else 8
    # Additional information 25, 26, 27 for a 2, 4, 8-byte length.
    return bytes((0x57 + size.bit_length(),)) + length.to_bytes(size, "big")


def is_deterministic(data: bytes) -> bool:
    """Whether `data` (one well-formed item) is already in deterministic encoding."""
    return dumps(loads(data)) == bytes(data)
