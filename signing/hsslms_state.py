"""The private state of an HSS-LMS key: its LMS trees, their next one-time indices, and
the serial and id of the state's latest version (docs/signing.md, "Stateful HSS-LMS keys").

Pure data and arithmetic; `signing.hsslms` reads, reserves and writes it. Each tree keeps
its whole node table (2^(h+1) hashes, 64 KiB for H10): rebuilding a tree costs 2^h LM-OTS
key generations (seconds for H10), a lookup costs nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field, replace
from typing import Any, Final

from pyhsslms import pyhsslms as _lib

from signing.errors import KeyFileError
from suit import cbor
from suit.errors import DecodeError
from suit.hsslms import LMOTS_BY_NAME, LMS_BY_NAME, HssLmsPublicKey, LmotsType, LmsType

FORMAT: Final = "suitwb-hss-lms-private-key"
VERSION: Final = 1
#: The parameter sets keys are generated with: RFC 8554's SHA-256 ones. Trees up to H15
#: (2 MiB of nodes; H20 would keep 64 MiB: use two levels instead).
LMS_CHOICES: Final = tuple(LMS_BY_NAME[f"LMS_SHA256_M32_H{h}"] for h in (5, 10, 15))
LMOTS_CHOICES: Final = tuple(LMOTS_BY_NAME[f"LMOTS_SHA256_N32_W{w}"] for w in (1, 2, 4, 8))
_D_LEAF: Final = b"\x82\x82"  # RFC 8554 §5.3
_D_INTR: Final = b"\x83\x83"


def u32(value: int) -> bytes:
    return value.to_bytes(4, "big")


@dataclass(frozen=True)
class Tree:
    """One LMS tree of the hierarchy.

    Attributes:
        lms: Its LMS parameter set.
        lmots: Its LM-OTS parameter set.
        seed: SEED of RFC 8554 Appendix A (secret).
        identifier: I, 16 bytes.
        nodes: T[0..2^(h+1)-1] concatenated, m bytes each (T[0] unused).
        next_q: The next leaf not yet reserved.
        signature: Its public key signed by the tree above (b"" for the top tree); None
            while that signature is reserved but not yet made (a pending tree).
    """

    lms: LmsType
    lmots: LmotsType
    seed: bytes = field(repr=False)
    identifier: bytes
    nodes: bytes = field(repr=False)
    next_q: int = 0
    signature: bytes | None = b""

    @property
    def capacity(self) -> int:
        return int(2 ** self.lms.h)

    def node(self, r: int) -> bytes:
        m = self.lms.m
        return self.nodes[r * m:(r + 1) * m]

    @property
    def public_key(self) -> bytes:
        """RFC 8554 §5.3: type || otstype || I || T[1]."""
        return u32(self.lms.code) + u32(self.lmots.code) + self.identifier + self.node(1)

    def sign(self, q: int, message: bytes) -> bytes:
        """The LMS signature with leaf `q` (RFC 8554 §5.4.1). The caller reserved `q`."""
        ots: bytes = _lib.LmotsPrivateKey(I=self.identifier, q=u32(q), SEED=self.seed,
                                          lmots_type=u32(self.lmots.code)).sign(message)
        r, path = self.capacity + q, []
        while r > 1:
            path.append(self.node(r ^ 1))
            r >>= 1
        return u32(q) + ots + u32(self.lms.code) + b"".join(path)


def new_tree(lms: LmsType, lmots: LmotsType, signature: bytes | None = b"") -> Tree:
    """A fresh tree with a random SEED and I, its nodes computed (RFC 8554 §5.3)."""
    seed, identifier = secrets.token_bytes(lmots.n), secrets.token_bytes(16)
    return Tree(lms, lmots, seed, identifier, _nodes(lms, lmots, seed, identifier), 0, signature)


def _nodes(lms: LmsType, lmots: LmotsType, seed: bytes, identifier: bytes) -> bytes:
    size = 2 ** lms.h
    table = [b"\x00" * lms.m] * (2 * size)
    for q in range(size):
        ots = _lib.LmotsPrivateKey(I=identifier, q=u32(q), SEED=seed, lmots_type=u32(lmots.code))
        table[size + q] = _h(lms, identifier + u32(size + q) + _D_LEAF + ots.publicKey().K)
    for r in range(size - 1, 0, -1):
        table[r] = _h(lms, identifier + u32(r) + _D_INTR + table[2 * r] + table[2 * r + 1])
    return b"".join(table)


def _h(lms: LmsType, data: bytes) -> bytes:
    return hashlib.sha256(data).digest()[:lms.m]  # LMS_CHOICES are all SHA-256


@dataclass(frozen=True)
class Binding:
    """Where a state belongs: the machine (a digest of its id) and the file's real path."""

    host: str
    path: str


@dataclass(frozen=True)
class KeyState:
    """The whole private key.

    Attributes:
        trees: Top tree first.
        serial: How many times the state was written; the journal records each.
        state_id: Random per written version, so two copies of one serial differ.
        binding: The machine and file the state belongs to.
    """

    trees: tuple[Tree, ...]
    serial: int
    state_id: bytes
    binding: Binding

    @property
    def levels(self) -> int:
        return len(self.trees)

    @property
    def public_key(self) -> HssLmsPublicKey:
        top = self.trees[0]
        return HssLmsPublicKey(self.levels, top.lms, top.lmots, top.identifier, top.node(1))

    @property
    def remaining(self) -> int:
        """Signatures still to be made: what the bottom tree has left, plus a full tree
        below every index left above it. A pending tree and those below it count as used
        (they will be replaced)."""
        total, below = 0, 1
        pending = next((i for i, t in enumerate(self.trees) if t.signature is None), len(self.trees))
        for i in range(self.levels - 1, -1, -1):
            tree = self.trees[i]
            left = 0 if i >= pending else tree.capacity - tree.next_q
            total += left * below
            below *= tree.capacity
        return total

    def next_version(self) -> KeyState:
        return replace(self, serial=self.serial + 1, state_id=secrets.token_bytes(16))


def encode_state(state: KeyState) -> bytes:
    """Deterministic CBOR of a state: [format name, version, fields], so the name opens the
    file and `is_state` recognises it from its first bytes."""
    return cbor.dumps([FORMAT, VERSION, {
        "serial": state.serial, "state-id": state.state_id,
        "host": state.binding.host, "path": state.binding.path,
        "trees": [_encode_tree(t) for t in state.trees]}])


def _encode_tree(tree: Tree) -> dict[str, Any]:
    return {"lms": tree.lms.code, "lmots": tree.lmots.code, "seed": tree.seed,
            "I": tree.identifier, "nodes": tree.nodes, "q": tree.next_q, "sig": tree.signature}


def is_state(data: bytes) -> bool:
    """Whether `data` looks like an HSS-LMS state file (by its format name)."""
    return FORMAT.encode() in data[:len(FORMAT) + 4]


def decode_state(data: bytes, name: str) -> KeyState:
    """Parse a state file, checking every field and every tree's shape.

    Raises:
        KeyFileError: not a state this version of the workbench wrote.
    """
    try:
        top = cbor.loads(data, path=name, max_size=len(data))
        if not isinstance(top, list) or len(top) != 3 or top[0] != FORMAT:
            raise DecodeError(name, "not an HSS-LMS private key")
        if top[1] != VERSION or not isinstance(top[2], dict):
            raise DecodeError(name, f"state version {top[1]!r} is not {VERSION}")
        value = top[2]
        trees = value.get("trees")
        if not isinstance(trees, list) or not 1 <= len(trees) <= 8:
            raise DecodeError(name, "trees: expected 1 to 8 levels")
        state = KeyState(tuple(_decode_tree(t, f"{name}/trees[{i}]", i) for i, t in enumerate(trees)),
                         _field(value, "serial", int, name), _field(value, "state-id", bytes, name),
                         Binding(_field(value, "host", str, name), _field(value, "path", str, name)))
    except DecodeError as exc:
        raise KeyFileError(name, f"unusable HSS-LMS state ({exc})") from exc
    return state


def _field(value: dict[Any, Any], key: str, kind: type, name: str) -> Any:
    item = value.get(key)
    if not isinstance(item, kind) or isinstance(item, bool) or (isinstance(item, int) and item < 0):
        raise DecodeError(f"{name}/{key}", f"expected {kind.__name__}")
    return item


def _decode_tree(value: Any, name: str, level: int) -> Tree:
    if not isinstance(value, dict):
        raise DecodeError(name, "expected a map")
    lms = next((t for t in LMS_CHOICES if t.code == value.get("lms")), None)
    lmots = next((t for t in LMOTS_CHOICES if t.code == value.get("lmots")), None)
    if lms is None or lmots is None:
        raise DecodeError(name, "unknown or unsupported LMS/LM-OTS type")
    seed, identifier, nodes = (_field(value, k, bytes, name) for k in ("seed", "I", "nodes"))
    q, sig = _field(value, "q", int, name), value.get("sig")
    if len(seed) != lmots.n or len(identifier) != 16 or len(nodes) != 2 ** (lms.h + 1) * lms.m \
            or q > 2 ** lms.h or not (sig is None or isinstance(sig, bytes)) \
            or (level == 0 and sig != b""):
        raise DecodeError(name, "tree fields of the wrong size")
    return Tree(lms, lmots, seed, identifier, nodes, q, sig)
