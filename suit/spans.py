"""Where every CBOR item of an envelope sits in its bytes (RFC 8949 §3).

`locate` walks the encoded bytes once and returns the byte range of every item by path,
descending into byte strings that hold exactly one well-formed CBOR container (SUIT wraps
the manifest, common, command sequences, digests and COSE headers as ``bstr .cbor``,
M37 §8.2). The inspector uses it to link its tree to the hex view both ways; nothing here
interprets SUIT, it only measures.

A path is a tuple of steps: an array index (int), a map key (its decoded value; array keys
become tuples), `Step.TAGGED` for the content of a tag, `Step.WRAPPED` for the item inside
a byte string.
"""

from __future__ import annotations

import struct
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final, TypeAlias

from suit.cbor import DEFAULT_MAX_SIZE, MAX_DEPTH
from suit.errors import DecodeError


class Step(Enum):
    """Path steps that are not an index or a key."""

    TAGGED = "tagged"
    WRAPPED = "wrapped"

    def __repr__(self) -> str:
        return f"Step.{self.name}"


PathStep: TypeAlias = "int | str | bytes | tuple[Any, ...] | bool | None | float | Step"
Path: TypeAlias = "tuple[PathStep, ...]"

KINDS: Final = ("uint", "nint", "bstr", "tstr", "array", "map", "tag", "simple")
_SIMPLE: Final = {20: False, 21: True, 22: None}
#: Byte strings shorter than this are never descended into: too short to be a SUIT
#: structure and too likely to parse by chance (a one-byte id h'00' is the integer 0).
MIN_WRAPPED: Final = 2


@dataclass(frozen=True)
class ItemSpan:
    """One CBOR item located in the bytes.

    Attributes:
        path: Where the item is (see the module docstring).
        start: Offset of the item's first head byte.
        end: Offset one past its last byte.
        content_start: Offset of its content: the first byte of a string's data, of a
            container's first child, or `end` for numbers and simple values.
        kind: One of `KINDS`.
        value: Numbers, simple values and tag numbers as values; element counts of
            arrays and maps; lengths of strings.
        key_start: For a map member, the offset of its key's first byte (a click on the
            key selects the member); otherwise None.
    """

    path: Path
    start: int
    end: int
    content_start: int
    kind: str
    value: Any
    key_start: int | None = None

    @property
    def selection_start(self) -> int:
        """Where a click selects this item: the key of a map member, else the head."""
        return self.start if self.key_start is None else self.key_start


@dataclass
class SpanIndex:
    """All spans of one byte string, in document order (a parent before its children)."""

    spans: list[ItemSpan] = field(default_factory=list)
    by_path: dict[Path, ItemSpan] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.spans)

    def __iter__(self) -> Iterator[ItemSpan]:
        return iter(self.spans)

    def __getitem__(self, path: Path) -> ItemSpan:
        return self.by_path[path]

    def at(self, offset: int) -> ItemSpan | None:
        """The innermost item whose bytes (or key bytes) contain `offset`."""
        if not hasattr(self, "_starts"):
            self._starts = [s.selection_start for s in self.spans]
        # Spans are in pre-order and their selection starts never decrease, so the items
        # containing `offset` form a chain of ancestors and the last of them is innermost.
        for i in range(bisect_right(self._starts, offset) - 1, -1, -1):
            span = self.spans[i]
            if span.selection_start <= offset < span.end:
                return span
        return None

    def children(self, path: Path) -> list[ItemSpan]:
        """The direct children of the item at `path`, in document order."""
        depth = len(path) + 1
        return [s for s in self.spans if len(s.path) == depth and s.path[:-1] == path]


def locate(data: bytes, *, max_size: int = DEFAULT_MAX_SIZE) -> SpanIndex:
    """Locate every item of one CBOR-encoded value.

    Raises:
        DecodeError: when `data` is not exactly one well-formed, definite-length item.
    """
    data = bytes(data)
    if len(data) > max_size:
        raise DecodeError("", f"{len(data)} bytes exceeds the limit of {max_size}")
    index = SpanIndex()
    end = _Walker(data, index).item(0, (), 0, None)
    if end != len(data):
        raise DecodeError("", f"{len(data) - end} trailing bytes after the item")
    return index


class _Walker:
    """One pass over the bytes, appending spans in pre-order."""

    def __init__(self, data: bytes, index: SpanIndex) -> None:
        self.data = data
        self.index = index
        self.limit = len(data)  # narrowed while inside a byte string's content

    def head(self, offset: int, path: Path) -> tuple[int, int, int]:
        """(major type, argument, offset after the head)."""
        data = self.data
        if offset >= self.limit:
            raise DecodeError(_where(path), f"truncated at byte {offset}")
        initial = data[offset]
        major, info = initial >> 5, initial & 0x1F
        if info < 24:
            return major, info, offset + 1
        if info > 27:
            problem = "indefinite length" if info == 31 else f"reserved additional info {info}"
            raise DecodeError(_where(path), f"{problem} at byte {offset}")
        size = 1 << (info - 24)
        if offset + 1 + size > self.limit:
            raise DecodeError(_where(path), f"truncated head at byte {offset}")
        return major, int.from_bytes(data[offset + 1:offset + 1 + size], "big"), offset + 1 + size

    def item(self, offset: int, path: Path, depth: int, key_start: int | None) -> int:
        """Record the item at `offset` and its descendants; return the offset after it."""
        if depth > MAX_DEPTH:
            raise DecodeError(_where(path), "nested too deeply")
        major, arg, after = self.head(offset, path)
        if major in (2, 3):
            return self._string(offset, after, major, arg, path, depth, key_start)
        if major == 4:
            return self._array(offset, after, arg, path, depth, key_start)
        if major == 5:
            return self._map(offset, after, arg, path, depth, key_start)
        if major == 6:
            slot = self._reserve()
            end = self.item(after, (*path, Step.TAGGED), depth + 1, None)
            self._fill(slot, ItemSpan(path, offset, end, after, "tag", arg, key_start))
            return end
        kind, value, end = _scalar(self.data, offset, major, arg, after, path)
        self._add(ItemSpan(path, offset, end, end, kind, value, key_start))
        return end

    def _string(self, offset: int, after: int, major: int, length: int, path: Path,
                depth: int, key_start: int | None) -> int:
        end = after + length
        if end > self.limit:
            raise DecodeError(_where(path), f"string at byte {offset} runs past the end")
        kind = "bstr" if major == 2 else "tstr"
        self._add(ItemSpan(path, offset, end, after, kind, length, key_start))
        if kind == "bstr" and length >= MIN_WRAPPED and _is_container(self.data[after]):
            self._try_wrapped(after, end, (*path, Step.WRAPPED), depth + 1)
        return end

    def _try_wrapped(self, start: int, end: int, path: Path, depth: int) -> None:
        """Descend into a byte string if it holds exactly one well-formed item."""
        mark, outer_limit = len(self.index.spans), self.limit
        self.limit = end
        try:
            if self.item(start, path, depth, None) == end:
                return
        except DecodeError:
            pass
        finally:
            self.limit = outer_limit
        for span in self.index.spans[mark:]:  # not CBOR after all: forget what was recorded
            if span is not None:
                self.index.by_path.pop(span.path, None)
        del self.index.spans[mark:]

    def _array(self, offset: int, after: int, count: int, path: Path, depth: int,
               key_start: int | None) -> int:
        slot = self._reserve()
        pos = after
        for i in range(count):
            pos = self.item(pos, (*path, i), depth + 1, None)
        self._fill(slot, ItemSpan(path, offset, pos, after, "array", count, key_start))
        return pos

    def _map(self, offset: int, after: int, count: int, path: Path, depth: int,
             key_start: int | None) -> int:
        slot = self._reserve()
        pos = after
        for _ in range(count):
            key_at = pos
            key, pos = self._key(pos, path, depth)
            pos = self.item(pos, (*path, key), depth + 1, key_at)
        self._fill(slot, ItemSpan(path, offset, pos, after, "map", count, key_start))
        return pos

    def _key(self, offset: int, path: Path, depth: int) -> tuple[Any, int]:
        """Decode a map key without recording it (keys are located through `key_start`)."""
        scratch = SpanIndex()
        walker = _Walker(self.data, scratch)
        walker.limit = self.limit
        end = walker.item(offset, (), depth + 1, None)
        return _value_of(self.data, scratch, ()), end

    def _reserve(self) -> int:
        self.index.spans.append(None)  # type: ignore[arg-type]  # filled once the end is known
        return len(self.index.spans) - 1

    def _fill(self, slot: int, span: ItemSpan) -> None:
        self.index.spans[slot] = span
        self.index.by_path[span.path] = span

    def _add(self, span: ItemSpan) -> None:
        self.index.spans.append(span)
        self.index.by_path[span.path] = span


def _is_container(initial: int) -> bool:
    return initial >> 5 in (4, 5, 6)


def _scalar(data: bytes, offset: int, major: int, arg: int, after: int,
            path: Path) -> tuple[str, Any, int]:
    if major == 0:
        return "uint", arg, after
    if major == 1:
        return "nint", -1 - arg, after
    info = data[offset] & 0x1F
    if info == 25:
        return "simple", struct.unpack(">e", data[offset + 1:after])[0], after
    if info == 26:
        return "simple", struct.unpack(">f", data[offset + 1:after])[0], after
    if info == 27:
        return "simple", struct.unpack(">d", data[offset + 1:after])[0], after
    return "simple", _SIMPLE.get(arg, f"simple({arg})"), after


def _value_of(data: bytes, index: SpanIndex, path: Path) -> Any:
    """The hashable value of a located item (used for map keys)."""
    span = index.by_path[path]
    if span.kind in ("bstr", "tstr"):
        raw = data[span.content_start:span.end]
        return raw if span.kind == "bstr" else raw.decode("utf-8", "replace")
    if span.kind == "array":
        return tuple(_value_of(data, index, (*path, i)) for i in range(span.value))
    if span.kind == "map":
        return tuple(sorted((repr(s.path[-1]), s.path[-1]) for s in index.children(path)))
    if span.kind == "tag":
        return (span.value, _value_of(data, index, (*path, Step.TAGGED)))
    return span.value


def _where(path: Path) -> str:
    return "/".join(str(s.value if isinstance(s, Step) else s) for s in path) or "<root>"
