"""A generic append-only log in SQLite whose records are chained by SHA-256.

Each record's hash covers its sequence number, its fields and the previous record's hash,
so an edited, deleted or reordered record breaks the chain at the first bad record. A
chain alone cannot notice its tail being cut off, so the count and hash of the last record
are also kept in a small head file beside the database, replaced atomically after each
append. (Someone able to rewrite both files and recompute every hash is out of reach of any
local log; ship the head hash elsewhere for that.)
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from signing.errors import AuditChainBroken, AuditError
from signing.files import write_atomic

GENESIS: Final = "0" * 64


@dataclass(frozen=True)
class LogRecord:
    """One record: its position, its fields, and the chain values."""

    seq: int
    fields: dict[str, str]
    prev_hash: str
    hash: str


def record_hash(seq: int, fields: Mapping[str, str], prev_hash: str) -> str:
    """SHA-256 over the previous hash and the canonical JSON of (seq, fields)."""
    body = json.dumps({"seq": seq, "fields": dict(fields)}, sort_keys=True,
                      ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(bytes.fromhex(prev_hash) + body.encode("ascii")).hexdigest()


class HashChainedLog:
    """An append-only, hash-chained table of text fields.

    Args:
        path: The SQLite database (created with its directory if missing).
        fields: The column names, fixed for the life of the log.
    """

    def __init__(self, path: Path, fields: Sequence[str]) -> None:
        self.path = path
        self.head_path = path.with_name(path.name + ".head")
        self.fields = tuple(fields)
        columns = ", ".join(f"{name} TEXT NOT NULL" for name in self.fields)
        self._schema = (f"CREATE TABLE IF NOT EXISTS records (seq INTEGER PRIMARY KEY, "
                        f"{columns}, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(self.path, isolation_level=None, timeout=10)) as db:
                db.execute(self._schema)
                yield db
        except sqlite3.Error as exc:
            raise AuditError(f"audit log {self.path}: {exc}") from exc
        except OSError as exc:
            raise AuditError(f"audit log {self.path}: {exc.strerror}") from exc

    def append(self, fields: Mapping[str, str]) -> LogRecord:
        """Append one record; concurrent writers are serialised by SQLite's write lock."""
        values = {name: str(fields[name]) for name in self.fields}
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            last = db.execute("SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
            record = LogRecord(seq, values, prev, record_hash(seq, values, prev))
            names = ", ".join(self.fields)
            marks = ", ".join("?" * (len(self.fields) + 3))
            db.execute(f"INSERT INTO records (seq, {names}, prev_hash, hash) VALUES ({marks})",
                       (seq, *values.values(), prev, record.hash))
            db.execute("COMMIT")
        write_atomic(self.head_path, json.dumps({"count": seq, "hash": record.hash}).encode())
        return record

    def records(self) -> list[LogRecord]:
        """Every record, in sequence order."""
        names = ", ".join(self.fields)
        with self._connect() as db:
            rows = db.execute(f"SELECT seq, {names}, prev_hash, hash FROM records ORDER BY seq").fetchall()
        return [LogRecord(int(r[0]), dict(zip(self.fields, map(str, r[1:-2]))), str(r[-2]),
                          str(r[-1])) for r in rows]

    def verify(self) -> int:
        """Check the whole chain and the head; return the number of records.

        Raises:
            AuditChainBroken: naming the first record that does not hold.
        """
        prev, expected, hashes = GENESIS, 1, []
        for record in self.records():
            if record.seq != expected:
                raise AuditChainBroken(expected, f"missing (the next record is {record.seq})")
            if record.prev_hash != prev:
                raise AuditChainBroken(record.seq, "does not follow the record before it "
                                                   "(deleted, inserted or reordered)")
            if record_hash(record.seq, record.fields, prev) != record.hash:
                raise AuditChainBroken(record.seq, "its contents do not match its hash (edited)")
            prev, expected = record.hash, expected + 1
            hashes.append(prev)
        self._check_head(hashes)
        return len(hashes)

    def _check_head(self, hashes: list[str]) -> None:
        count = len(hashes)
        head = self._read_head()
        if head is None:
            if count:
                raise AuditChainBroken(1, f"the head file {self.head_path.name} is missing")
            return
        head_count, head_hash = head
        if count < head_count:
            raise AuditChainBroken(count + 1, f"missing: the log ends at {count} records but "
                                              f"{head_count} were written (truncated)")
        if head_count and hashes[head_count - 1] != head_hash:
            raise AuditChainBroken(head_count, "is not the record written last "
                                               "(the chain was rewritten)")

    def _read_head(self) -> tuple[int, str] | None:
        try:
            head = json.loads(self.head_path.read_text(encoding="ascii"))
            return int(head["count"]), str(head["hash"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise AuditChainBroken(1, f"the head file {self.head_path.name} is unreadable") from exc
