"""Hostile HSS-LMS state files (issue 16): truncated, bit-flipped or edited states are typed
refusals, never a crash, and never a signature with a one-time index already used."""

from __future__ import annotations

import random
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import cbor2
import pytest

from signing import hsslms
from signing.errors import AuditChainBroken, KeyStateAltered
from signing.hashlog import HashChainedLog, record_hash
from suit.errors import WorkbenchError
from suit.hsslms import parse_hss_signature
from tests.signing.hsslms_keys import small_key

_HOSTILE: tuple[Any, ...] = (None, -1, 2**64, True, 1.5, "", b"", b"\x00" * 33, [], {},
                             [b"x"] * 9, {"q": 0})


def _edited(data: bytes, edit: Any) -> bytes:
    top = cbor2.loads(data)
    fields = dict(top[2])
    fields["trees"] = [dict(t) for t in fields["trees"]]
    edit(fields)
    return cbor2.dumps([top[0], top[1], fields])


def _used_key(tmp_path: Path) -> tuple[Path, HashChainedLog]:
    path = tmp_path / "k.hss"
    _, log = small_key(path, tmp_path / "data", levels=2)
    for message in (b"one", b"two", b"three"):
        hsslms.HssLmsSigner(path, log).sign(message)
    return path, log


def test_a_lowered_index_with_the_same_serial_is_refused(tmp_path: Path) -> None:
    # Was accepted: serial and state id matched the journal, so the bottom tree signed again
    # with leaf 0, a one-time key already used for "one" (RFC 8554 §9: forgeries follow).
    path, log = _used_key(tmp_path)
    path.write_bytes(_edited(path.read_bytes(), lambda f: f["trees"][1].update(q=0)))
    with pytest.raises(KeyStateAltered, match="journal recorded"):
        hsslms.HssLmsSigner(path, log).sign(b"four")
    assert "journal recorded" in hsslms.status(path, log).problem


def test_a_lowered_top_index_is_refused(tmp_path: Path) -> None:
    path, log = _used_key(tmp_path)
    path.write_bytes(_edited(path.read_bytes(), lambda f: f["trees"][0].update(q=0)))
    with pytest.raises(KeyStateAltered):
        hsslms.HssLmsSigner(path, log)


def _mutations(good: bytes, rng: random.Random) -> list[bytes]:
    out = [good[:n] for n in (0, 1, 10, len(good) // 2, len(good) - 1)]
    for _ in range(60):
        flipped = bytearray(good)
        flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
        out.append(bytes(flipped))
    for key in ("serial", "state-id", "host", "path", "trees"):
        for value in _HOSTILE:
            out.append(_edited(good, lambda f, k=key, v=value: f.update({k: v})))
    for field in ("lms", "lmots", "seed", "I", "nodes", "q", "sig"):
        for value in _HOSTILE:
            out.append(_edited(good, lambda f, k=field, v=value: f["trees"][1].update({k: v})))
    return out


def test_damaged_states_are_refused_typed_and_never_reuse_an_index(tmp_path: Path) -> None:
    path, log = _used_key(tmp_path)
    good = hsslms.load(path)
    data = path.read_bytes()
    for damaged in _mutations(data, random.Random(16)):
        path.write_bytes(damaged)
        try:
            state = hsslms.load(path)
            hsslms.check(state, path, log)  # what every signature runs first
        except WorkbenchError:
            continue
        # Only a change that hands out no used index may pass: no tree of the good state
        # has gone back (a flipped seed or node just makes signatures that fail to verify).
        for before, after in zip(good.trees, state.trees, strict=True):
            if after.identifier == before.identifier:
                assert after.next_q >= before.next_q
        assert state.remaining == good.remaining
    path.write_bytes(data)
    signature = hsslms.HssLmsSigner(path, log).sign(b"four")  # the good state still signs
    assert parse_hss_signature(signature).signatures[-1].q == 3


def _edit_journal(log: HashChainedLog, sql: str, *args: object, rehash: bool = False) -> None:
    with closing(sqlite3.connect(log.path)) as db, db:
        db.execute(sql, args)
        if rehash:  # an editor who recomputes the record's hash too (it is not keyed)
            for record in log_records(db):
                db.execute("UPDATE records SET hash = ? WHERE seq = ?", record)


def log_records(db: sqlite3.Connection) -> list[tuple[str, int]]:
    names = ", ".join(hsslms.JOURNAL_FIELDS)
    rows = db.execute(f"SELECT seq, {names}, prev_hash FROM records").fetchall()
    return [(record_hash(row[0], dict(zip(hsslms.JOURNAL_FIELDS, map(str, row[1:-1]),
                                          strict=True)), row[-1]), row[0]) for row in rows]


@pytest.mark.parametrize(("column", "value", "rehash"), [
    ("serial", "abc", False), ("serial", "9" * 5000, False), ("remaining", "x9", False),
    ("serial", "abc", True), ("serial", "9" * 5000, True), ("serial", "٣", True),
    ("remaining", "x9", True), ("remaining", "", True),
])
def test_an_edited_journal_record_is_a_typed_refusal(tmp_path: Path, column: str, value: str,
                                                     rehash: bool) -> None:
    # Was ValueError from int(serial) (exit 70) for a serial that is not a number, and an
    # edited `remaining` went unnoticed.
    path, log = _used_key(tmp_path)
    _edit_journal(log, f"UPDATE records SET {column} = ?", value, rehash=rehash)
    with pytest.raises(AuditChainBroken, match="HSS-LMS state journal"):
        hsslms.HssLmsSigner(path, log).sign(b"four")
