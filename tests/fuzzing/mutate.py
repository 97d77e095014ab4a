"""Structure-aware mutations of SUIT envelopes.

A seed is decoded into a tree in which every bstr that holds CBOR is opened (`Wrapped`),
so mutations reach inside bstr-wrapped manifests, sequences and COSE headers; the tree
is then re-encoded, re-wrapping each level. Byte-level damage (flips, truncation, heads
declaring up to 2^64 - 1 bytes) is applied on top some of the time.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import cbor2

from suit.errors import DecodeError
from tests.fuzzing import hostile

_CONTAINER_HEADS: Final = range(0x80, 0xC0)
_INTERESTING_INTS: Final = (0, 1, -1, 23, 24, 255, 256, 65535, 1 << 32, (1 << 64) - 1,
                            -(1 << 64), 1 << 70, 15, 32, 107, 96, 16)


@dataclass
class Wrapped:
    """A bstr whose content is itself one CBOR item (``bstr .cbor T``)."""

    value: Any


@dataclass
class Tagged:
    """A tagged item, mutable (cbor2's CBORTag is not)."""

    tag: int
    value: Any


def open_tree(value: Any, depth: int = 0) -> Any:
    """Decoded CBOR -> the same with every CBOR-holding bstr opened, recursively."""
    if isinstance(value, bytes) and value and value[0] in _CONTAINER_HEADS and depth < 12:
        try:
            return Wrapped(open_tree(_loads(value), depth + 1))
        except DecodeError:
            return value
    if isinstance(value, (list, tuple)):
        return [open_tree(v, depth) for v in value]
    if isinstance(value, dict):
        return {k: open_tree(v, depth) for k, v in value.items()}
    if isinstance(value, cbor2.CBORTag):
        return Tagged(value.tag, open_tree(value.value, depth))
    return value


def _loads(data: bytes) -> Any:
    from suit import cbor
    return cbor.loads(data)


def close_tree(value: Any) -> Any:
    """The inverse of `open_tree`: re-encode every `Wrapped` into its bstr."""
    if isinstance(value, Wrapped):
        return cbor2.dumps(close_tree(value.value))
    if isinstance(value, list):
        return [close_tree(v) for v in value]
    if isinstance(value, dict):
        return {k: close_tree(v) for k, v in value.items()}
    if isinstance(value, Tagged):
        return cbor2.CBORTag(value.tag, close_tree(value.value))
    return value


def _slots(value: Any, out: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key) where a value sits, in the whole opened tree."""
    if isinstance(value, Wrapped):
        out.append((value, "value"))
        _slots(value.value, out)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out.append((value, i))
            _slots(item, out)
    elif isinstance(value, dict):
        for key, item in value.items():
            out.append((value, key))
            _slots(item, out)
    elif isinstance(value, Tagged):
        out.append((value, "value"))
        _slots(value.value, out)
    return out


def _get(container: Any, key: Any) -> Any:
    return getattr(container, key) if isinstance(container, (Wrapped, Tagged)) else container[key]


def _set(container: Any, key: Any, value: Any) -> None:
    if isinstance(container, (Wrapped, Tagged)):
        setattr(container, key, value)
    else:
        container[key] = value


class Mutator:
    """Derives fuzz inputs from seed envelopes; deterministic for a given seed number."""

    def __init__(self, seeds: list[bytes], rng: random.Random) -> None:
        self.rng = rng
        self.seeds = seeds
        self.trees = [open_tree(_loads(s)) for s in seeds]
        self._donors = [_get(c, k) for tree in self.trees for c, k in _slots(tree, [])]
        self._tree_ops: list[Callable[[Any], None]] = [
            self._replace, self._replace, self._splice, self._splice, self._delete,
            self._insert, self._nest, self._retag, self._rewrap]

    def generate(self) -> bytes:
        """One input: a tree mutation, byte damage, or both; sometimes a named attack."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.03:
            return self._named_attack()
        index = rng.randrange(len(self.trees))
        data = self.seeds[index]
        if roll < 0.85:
            tree = open_tree(_loads(data))
            for _ in range(rng.choice((1, 1, 1, 2, 3))):
                rng.choice(self._tree_ops)(tree)
            try:
                data = cbor2.dumps(close_tree(tree))
            except (ValueError, TypeError, cbor2.CBOREncodeError):
                data = self.seeds[index]
        if roll >= 0.6:
            data = self._bytes(data)
        return data

    # --- tree mutations -------------------------------------------------------------------

    def _slot(self, tree: Any) -> tuple[Any, Any] | None:
        slots = _slots(tree, [])
        return self.rng.choice(slots) if slots else None

    def _replace(self, tree: Any) -> None:
        if (slot := self._slot(tree)) is not None:
            _set(*slot, self._random_value())

    def _splice(self, tree: Any) -> None:
        if (slot := self._slot(tree)) is not None:
            _set(*slot, open_tree(close_tree(self.rng.choice(self._donors))))

    def _delete(self, tree: Any) -> None:
        slot = self._slot(tree)
        if slot is not None and isinstance(slot[0], (list, dict)):
            del slot[0][slot[1]]

    def _insert(self, tree: Any) -> None:
        slot = self._slot(tree)
        if slot is None:
            return
        container = slot[0]
        if isinstance(container, list):
            container.insert(self.rng.randrange(len(container) + 1), self._random_value())
        elif isinstance(container, dict):
            key = self.rng.choice((*_INTERESTING_INTS, "#x", "#dep", b"k", -1))
            container[key] = self._random_value()

    def _nest(self, tree: Any) -> None:
        """Bury a value under layers of try-each or run-sequence, each in its own bstr."""
        if (slot := self._slot(tree)) is None:
            return
        value = _get(*slot)
        command = self.rng.choice((15, 32))
        for _ in range(self.rng.choice((2, 7, 8, 9, 40))):  # deeper bombs: named attacks
            inner = Wrapped(value if isinstance(value, Wrapped) else [14, value])
            value = Wrapped([command, [inner] if command == 15 else inner])
        _set(*slot, value)

    def _retag(self, tree: Any) -> None:
        if (slot := self._slot(tree)) is not None:
            tag = self.rng.choice((16, 17, 18, 19, 96, 97, 98, 107, 2, 3, 1, 0, 24, 55799, 112))
            _set(*slot, Tagged(tag, _get(*slot)))

    def _rewrap(self, tree: Any) -> None:
        """Toggle a level of bstr wrapping: open values get closed, plain ones wrapped."""
        if (slot := self._slot(tree)) is not None:
            value = _get(*slot)
            _set(*slot, value.value if isinstance(value, Wrapped) else Wrapped(value))

    def _random_value(self) -> Any:
        rng = self.rng
        kind = rng.randrange(10)
        if kind == 0:
            return rng.choice(_INTERESTING_INTS)
        if kind == 1:
            return rng.randbytes(rng.choice((0, 1, 16, 32, 64)))
        if kind == 2:
            return rng.choice(("", "#dep", "#x", "a" * 100))
        if kind == 3:
            return [self._random_value() for _ in range(rng.randrange(3))]
        if kind == 4:
            return {rng.choice(_INTERESTING_INTS): self._random_value() for _ in range(rng.randrange(3))}
        if kind == 5:
            return Tagged(rng.choice((16, 18, 96, 98, 107, 112, 2)), self._random_value())
        if kind == 6:
            return rng.choice((None, True, False, 1.5, float("nan"), cbor2.undefined))
        if kind == 7:
            return Wrapped(self._random_value())
        if kind == 8:
            return rng.choice(hostile.FOREIGN_COSE_TAGS + (17, 18, 97, 98))
        return open_tree(close_tree(rng.choice(self._donors)))

    # --- byte damage and named attacks ----------------------------------------------------

    def _bytes(self, data: bytes) -> bytes:
        rng = self.rng
        if not data:
            return b"\x00"
        buf = bytearray(data)
        op = rng.randrange(5)
        at = rng.randrange(len(buf))
        if op == 0:
            buf[at] ^= 1 << rng.randrange(8)
        elif op == 1:
            del buf[at:]
        elif op == 2:
            buf[at:at] = rng.randbytes(rng.randrange(1, 9))
        elif op == 3:  # a head that declares up to 2^64 - 1 bytes or items
            buf[at:at + 1] = bytes([rng.choice((0x5B, 0x7B, 0x9B, 0xBB, 0x5A, 0x9A))]) + b"\xff" * 8
        else:
            buf[at] = rng.randrange(256)
        return bytes(buf)

    def _named_attack(self) -> bytes:
        rng = self.rng
        pick = rng.randrange(5)
        if pick == 0:
            return hostile.sequence_bomb(rng.choice((8, 9, 250, 2000)), rng.choice((15, 32)))
        if pick == 1:
            return hostile.dependency_chain(rng.choice((3, 4, 5, 60)))
        if pick == 2:
            return hostile.foreign_cose(rng.choice(tuple(hostile.COSE_STRUCTURES)))
        if pick == 3:
            return rng.choice(hostile.huge_lengths())
        return rng.choice(hostile.raw_nesting(rng.choice((33, 1000, 100_000))))
