"""Declarative schemas for the recovery protocol's CBOR control bodies (STYLE.md §14).

Every control body that crosses the wire, in either direction, is parsed by one schema
into plain typed values at the edge: a wrong type, a value out of range or a text too long
becomes `ProtocolError(BAD_MESSAGE)` naming the field, and code past the edge trusts types.
Before cbor2 sees a body, `check_shape` walks its CBOR heads without recursion, so no
nesting depth, tag, float or indefinite length can reach the decoder (RFC 8949 §3).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from flasher.errors import ProtocolError
from flasher.errors import ProtocolErrorCode as ErrorCode

U8_MAX: Final = 0xFF
U32_MAX: Final = 0xFFFF_FFFF
U64_MAX: Final = 0xFFFF_FFFF_FFFF_FFFF
#: Containers nested deeper than this are refused: the deepest body (STATUS_REPLY's
#: component ids) nests 4 levels; 8 leaves room for extensions and none for a stack attack.
MAX_DEPTH: Final = 8
_SIMPLE_ALLOWED: Final = frozenset({20, 21, 22})  # false, true, null (RFC 8949 §3.3)
_ARGUMENT: Final = {24: struct.Struct(">B"), 25: struct.Struct(">H"),
                    26: struct.Struct(">I"), 27: struct.Struct(">Q")}


def bad(path: str, problem: str) -> ProtocolError:
    """The error for a body that breaks its schema at `path`."""
    return ProtocolError(ErrorCode.BAD_MESSAGE, f"{path}: {problem}")


# -- the shape of the bytes, before decoding ---------------------------------------------

@dataclass
class _Level:
    """An open array or map during the shape walk."""

    left: int  # items still expected (a map counts its keys and values)
    is_map: bool
    read: int = 0  # items read so far
    key: str = ""  # the last key read, to name the field in errors

    def where(self) -> str:
        if self.is_map:  # reading a value (an even count): name its key
            return f".{self.key}" if self.read % 2 == 0 else ""
        return f"[{self.read - 1}]"


def check_shape(data: bytes, root: str = "body", max_depth: int = MAX_DEPTH) -> None:
    """Refuse CBOR that control bodies never use, without recursion, naming the field.

    Tags (major type 6) would let cbor2 build bignums, dates or sets (or vanish, as the
    self-describe tag does); floats bring NaN; indefinite lengths and deep nesting cost
    stack and time. Each head consumes at least one byte, so the walk ends within
    len(data) steps whatever the counts claim.
    """
    levels = [_Level(1, is_map=False)]
    pos = 0
    while levels:
        level = levels[-1]
        if level.left == 0:
            levels.pop()
            continue
        level.left -= 1
        level.read += 1
        path = root + "".join(lv.where() for lv in levels[1:])
        major, info, argument, start = _head(data, pos, path)
        pos = _item(data, (major, info, argument, start), levels, path, max_depth)
    if pos != len(data):
        raise bad(root, f"{len(data) - pos} bytes after the end")


def _item(data: bytes, head: tuple[int, int, int, int], levels: list[_Level], path: str,
          max_depth: int) -> int:
    """Check one item's head; open a level for a container; the position after it."""
    major, info, argument, start = head
    if major in (2, 3):
        if start + argument > len(data):
            raise bad(path, "truncated string")
        level = levels[-1]
        if level.is_map and level.read % 2 == 1:
            key = data[start:start + min(argument, 64)].decode("utf-8", "replace")
            level.key = "".join(c if c.isprintable() else "?" for c in key)
        return start + argument
    if major in (4, 5) and argument:
        if len(levels) > max_depth:
            raise bad(path, f"nested deeper than {max_depth}")
        levels.append(_Level(argument * (2 if major == 5 else 1), is_map=major == 5))
    elif major == 6:
        raise bad(path, "tags are not allowed")
    elif major == 7 and (info >= 24 or info not in _SIMPLE_ALLOWED):
        raise bad(path, "floats and simple values other than true, false, null are not allowed")
    return start


def _head(data: bytes, pos: int, path: str) -> tuple[int, int, int, int]:
    """(major type, additional info, argument, next position) of the head at `pos`."""
    if pos >= len(data):
        raise bad(path, "truncated")
    major, info = data[pos] >> 5, data[pos] & 0x1F
    if info < 24:
        return major, info, info, pos + 1
    unpacker = _ARGUMENT.get(info)
    if unpacker is None:  # 28..30 reserved, 31 indefinite length
        raise bad(path, "indefinite lengths and reserved heads are not allowed")
    end = pos + 1 + unpacker.size
    if end > len(data):
        raise bad(path, "truncated")
    return major, info, unpacker.unpack_from(data, pos + 1)[0], end


# -- values ------------------------------------------------------------------------------

class Spec(Protocol):
    """Parses one decoded CBOR value into a typed one, or raises `bad(path, ...)`."""

    def parse(self, value: object, path: str) -> Any: ...


def _kind(value: object) -> str:
    return type(value).__name__


@dataclass(frozen=True)
class UInt:
    """An unsigned integer in [minimum, maximum]; never a bool, float or bignum tag."""

    maximum: int = U32_MAX
    minimum: int = 0

    def parse(self, value: object, path: str) -> int:
        if type(value) is not int:  # `type is`: bool is an int subclass
            raise bad(path, f"expected an unsigned integer, found {_kind(value)}")
        if not self.minimum <= value <= self.maximum:
            raise bad(path, f"{value} is outside {self.minimum}..{self.maximum}")
        return value


@dataclass(frozen=True)
class Bytes:
    """A byte string of at most `max_len` bytes (exactly `exact` if set)."""

    max_len: int = 64
    exact: int | None = None

    def parse(self, value: object, path: str) -> bytes:
        if type(value) is not bytes:
            raise bad(path, f"expected a byte string, found {_kind(value)}")
        if self.exact is not None and len(value) != self.exact:
            raise bad(path, f"expected {self.exact} bytes, found {len(value)}")
        if len(value) > self.max_len:
            raise bad(path, f"longer than {self.max_len} bytes")
        return value


@dataclass(frozen=True)
class Text:
    """A one-line text of at most `max_len` characters: no control characters, so a
    hostile peer cannot move the person's terminal cursor or forge a second line."""

    max_len: int = 256

    def parse(self, value: object, path: str) -> str:
        if type(value) is not str:
            raise bad(path, f"expected a text string, found {_kind(value)}")
        if len(value) > self.max_len:
            raise bad(path, f"longer than {self.max_len} characters")
        if not value.isprintable():
            raise bad(path, "holds control characters")
        return value


@dataclass(frozen=True)
class Nullable:
    """`inner`, or null (None)."""

    inner: Spec

    def parse(self, value: object, path: str) -> Any:
        return None if value is None else self.inner.parse(value, path)


@dataclass(frozen=True)
class ListOf:
    """An array of at most `max_len` items, each parsed by `item`; returns a tuple."""

    item: Spec
    max_len: int

    def parse(self, value: object, path: str) -> tuple[Any, ...]:
        if type(value) is not list:
            raise bad(path, f"expected an array, found {_kind(value)}")
        if len(value) > self.max_len:
            raise bad(path, f"more than {self.max_len} items")
        return tuple(self.item.parse(v, f"{path}[{i}]") for i, v in enumerate(value))


@dataclass(frozen=True)
class MapOf:
    """A map of at most `max_len` entries with keys and values parsed by `key`, `value`."""

    key: Spec
    value: Spec
    max_len: int

    def parse(self, value: object, path: str) -> dict[Any, Any]:
        if type(value) is not dict:
            raise bad(path, f"expected a map, found {_kind(value)}")
        if len(value) > self.max_len:
            raise bad(path, f"more than {self.max_len} entries")
        return {self.key.parse(k, f"{path}[{i}] key"): self.value.parse(v, f"{path}[{i}]")
                for i, (k, v) in enumerate(value.items())}


@dataclass(frozen=True)
class Fields:
    """A map with text keys: each field in `required` must be there; `optional` fields
    may be absent (then None). Unknown keys are ignored, so a later protocol version may
    add fields (docs/recovery-protocol.md §3)."""

    required: Mapping[str, Spec]
    optional: Mapping[str, Spec] = field(default_factory=dict)

    def parse(self, value: object, path: str) -> dict[str, Any]:
        if type(value) is not dict:
            raise bad(path, f"expected a map, found {_kind(value)}")
        out: dict[str, Any] = {}
        for name, spec in self.required.items():
            if name not in value:
                raise bad(f"{path}.{name}", "missing")
            out[name] = spec.parse(value[name], f"{path}.{name}")
        for name, spec in self.optional.items():
            out[name] = spec.parse(value[name], f"{path}.{name}") if name in value else None
        return out
