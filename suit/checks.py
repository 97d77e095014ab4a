"""Type checks used while decoding: each names the path and what was expected, so a
malformed field becomes a `DecodeError` and never a KeyError or TypeError."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cbor2 import frozendict

from suit.errors import DecodeError

_CBOR_TYPE_NAMES = {bytes: "bstr", str: "tstr", int: "int", list: "array", dict: "map",
                    bool: "bool", type(None): "nil", tuple: "array", float: "float",
                    frozendict: "map"}


def cbor_type_name(value: Any) -> str:
    """The CBOR name of a decoded value's type, for messages."""
    if hasattr(value, "tag") and hasattr(value, "value"):
        return f"tag {value.tag}"
    return _CBOR_TYPE_NAMES.get(type(value), type(value).__name__)


def expect_bytes(value: Any, path: str) -> bytes:
    """`value` as bytes, or a DecodeError naming `path`."""
    if not isinstance(value, bytes):
        raise DecodeError(path, f"expected bstr, found {cbor_type_name(value)}")
    return value


def expect_text(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise DecodeError(path, f"expected tstr, found {cbor_type_name(value)}")
    return value


def expect_int(value: Any, path: str) -> int:
    """A CBOR major type 0 or 1 integer: bignums (tags 2, 3) are not SUIT integers."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise DecodeError(path, f"expected int, found {cbor_type_name(value)}")
    if not -(1 << 64) <= value < (1 << 64):
        raise DecodeError(path, f"integer {value} is outside the 64-bit CBOR range")
    return value


def expect_uint(value: Any, path: str) -> int:
    number = expect_int(value, path)
    if number < 0:
        raise DecodeError(path, f"expected uint, found {value}")
    return number


def expect_bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise DecodeError(path, f"expected bool, found {cbor_type_name(value)}")
    return value


def expect_list(value: Any, path: str, *, min_len: int = 0,
                max_len: int | None = None) -> list[Any]:
    kind = type(value)
    if ((kind is list or kind is tuple) and len(value) >= min_len
            and (max_len is None or len(value) <= max_len)):
        return list(value)  # the usual case (tuples inside tags), checked in one go
    if not isinstance(value, (list, tuple)):
        raise DecodeError(path, f"expected array, found {cbor_type_name(value)}")
    if len(value) < min_len:
        raise DecodeError(path, f"expected at least {min_len} elements, found {len(value)}")
    if max_len is not None and len(value) > max_len:
        raise DecodeError(path, f"expected at most {max_len} elements, found {len(value)}")
    return list(value)


def expect_map(value: Any, path: str) -> dict[Any, Any]:
    # cbor2 hands out frozendict for maps it decodes in an immutable context (map keys,
    # some tag contents); both are maps to us.
    kind = type(value)
    if kind is dict or kind is frozendict:
        return dict(value)  # the usual cases, without the slower ABC check for Mapping
    if not isinstance(value, Mapping):
        raise DecodeError(path, f"expected map, found {cbor_type_name(value)}")
    return dict(value)


def require(mapping: dict[Any, Any], key: Any, path: str, name: str) -> Any:
    """The mandatory member `key`, or a DecodeError saying it is missing."""
    if key not in mapping:
        raise DecodeError(path, f"missing mandatory member {name} ({key})")
    return mapping[key]
