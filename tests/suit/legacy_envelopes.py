"""Envelopes written for older drafts, made from the published draft-37 examples by moving
members back to the numbers those drafts gave them (suit/unknown.py has the history)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from suit import cbor
from tests.fixtures.vectors import MANIFEST_SPEC


def renumbered(name: str, moves: dict[int, int], *, envelope_moves: dict[int, int] | None = None,
               extra: dict[int, object] | None = None) -> bytes:
    """`name` (a manifest-spec vector) with manifest keys moved as `moves` says, envelope
    keys as `envelope_moves` says, and the manifest digest made right again (unsigned)."""
    envelope = cbor.loads((MANIFEST_SPEC / name).read_bytes())
    members = dict(envelope.value)
    manifest = dict(cbor.loads(members[3]))
    for old, new in moves.items():
        manifest[new] = manifest.pop(old)
    manifest.update(extra or {})
    members[3] = cbor.dumps(dict(sorted(manifest.items())))
    digest = cbor.dumps([-16, hashlib.sha256(cbor.dumps(members[3])).digest()])
    members[2] = cbor.dumps([digest])
    for old, new in (envelope_moves or {}).items():
        members[new] = members.pop(old)
    return cbor.dumps(cbor.CBORTag(107, members))


def draft19_install(folder: Path) -> Path:
    """Example 1 as draft-19 wrote it: install under manifest key 17 (drafts -17 to -27)."""
    path = folder / "draft19.suit"
    path.write_bytes(renumbered("example1.cbor", {20: 17}))
    return path
