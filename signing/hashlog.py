"""A generic append-only log in SQLite whose records are chained by SHA-256.

Each record's hash covers its sequence number, its fields and the previous record's hash,
so an edited, deleted or reordered record breaks the chain at the first bad record. A
chain alone cannot notice its tail being cut off, so the count and hash of the last record
(the head) are also kept in a small head file beside the database, written before the
record commits. Files protect only against accidents and careless edits: whoever can
write them can recompute every hash. `signing.audit_anchor` keeps the head where a
file-system attacker cannot move it; `append` takes a hook that moves it inside the
record's transaction.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

from fileio import FileAccessError
from signing.errors import AuditChainBroken, AuditError
from signing.files import read_state_file, write_atomic
from storage import sqlite as sqlite_file

GENESIS: Final = "0" * 64


@dataclass(frozen=True)
class ChainHead:
    """Where a chain ends: how many records, and the last record's hash."""

    count: int
    hash: str


#: Called with the new head inside the append's transaction; raising aborts the append.
HeadHook = Callable[[ChainHead], None]


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


class ChainStore(Protocol):
    """Where a hash-chained log is kept: `HashChainedLog` (SQLite and a head file) or
    `signing.audit_pg.PgHashChainedLog` (PostgreSQL, shared by several signers)."""

    name: str

    def append(self, fields: Mapping[str, str], before_commit: HeadHook | None = None) -> LogRecord:
        """Append one record as the chain's next; `before_commit` sees the new head."""

    def records(self) -> list[LogRecord]:
        """Every record, in sequence order."""

    def verify(self) -> ChainHead:
        """Check the chain and the stored head; return the head."""

    def exists(self) -> bool:
        """Whether the log was ever written (a missing log with an anchored head is a deletion)."""


class HashChainedLog:
    """An append-only, hash-chained table of text fields.

    Args:
        path: The SQLite database (created with its directory if missing).
        fields: The column names, fixed for the life of the log.
    """

    def __init__(self, path: Path, fields: Sequence[str]) -> None:
        self.path = path
        self.name = str(path)
        self.head_path = path.with_name(path.name + ".head")
        self.fields = tuple(fields)
        columns = ", ".join(f"{name} TEXT NOT NULL" for name in self.fields)
        self._ready = False  # the table was made sure of by this log
        self._schema = (f"CREATE TABLE IF NOT EXISTS records (seq INTEGER PRIMARY KEY, "
                        f"{columns}, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with sqlite_file.connect(self.path) as db:
                if not self._ready:
                    # An existing log is only read here (it may be a read-only copy).
                    if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                                  "AND name = 'records'").fetchone() is None:
                        sqlite_file.write(db, lambda d: d.execute(self._schema))
                    self._ready = True
                yield db
        except sqlite3.Error as exc:
            raise AuditError(f"audit log {self.path}: {exc}") from exc
        except OSError as exc:
            raise AuditError(f"audit log {self.path}: {exc.strerror}") from exc

    def append(self, fields: Mapping[str, str], before_commit: HeadHook | None = None) -> LogRecord:
        """Append one record; concurrent signers (threads or processes of this machine)
        keep one linear chain: reading the head and appending after it happen in one
        ``BEGIN IMMEDIATE`` transaction, which holds the write lock from its start, and a
        signer that finds the lock held waits and tries again (`storage.sqlite.write`).

        The head file and `before_commit` see the new head before the record commits, so
        a failure there leaves no record; a failure of the commit itself leaves a head one
        record ahead, which `verify` reports as a cut tail (it fails closed).
        """
        values = {name: str(fields[name]) for name in self.fields}

        def add(db: sqlite3.Connection) -> LogRecord:
            last = db.execute("SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
            record = LogRecord(seq, values, prev, record_hash(seq, values, prev))
            names = ", ".join(self.fields)
            marks = ", ".join("?" * (len(self.fields) + 3))
            # Column names are this log's own fixed fields, values are ? parameters.
            db.execute(f"INSERT INTO records (seq, {names}, prev_hash, hash) VALUES ({marks})",  # noqa: S608
                       (seq, *values.values(), prev, record.hash))
            head = ChainHead(seq, record.hash)
            if before_commit is not None:
                before_commit(head)
            self._write_head(head)
            return record

        with self._connect() as db:
            return sqlite_file.write(db, add)

    def exists(self) -> bool:
        """Whether the database file exists."""
        return self.path.exists()

    def _write_head(self, head: ChainHead) -> None:
        write_atomic(self.head_path, json.dumps({"count": head.count, "hash": head.hash}).encode())

    def records(self) -> list[LogRecord]:
        """Every record, in sequence order (none when the database is missing: reading
        never creates it)."""
        if not self.path.exists():
            return []
        names = ", ".join(self.fields)
        with self._connect() as db:
            rows = db.execute(f"SELECT seq, {names}, prev_hash, hash FROM records "  # noqa: S608 - fixed names
                              "ORDER BY seq").fetchall()
        return [LogRecord(int(r[0]), dict(zip(self.fields, map(str, r[1:-2]), strict=True)), str(r[-2]),
                          str(r[-1])) for r in rows]

    def last_matching(self, field: str, value: str) -> LogRecord | None:
        """The latest record whose `field` is `value` (None if none, or no database),
        found by SQLite rather than by reading every record into Python."""
        if field not in self.fields:
            raise ValueError(f"{field!r} is not a field of this log")
        if not self.path.exists():
            return None
        names = ", ".join(self.fields)
        with self._connect() as db:
            row = db.execute(f"SELECT seq, {names}, prev_hash, hash FROM records "  # noqa: S608 - fixed names
                             f"WHERE {field} = ? ORDER BY seq DESC LIMIT 1", (value,)).fetchone()
        if row is None:
            return None
        return LogRecord(int(row[0]), dict(zip(self.fields, map(str, row[1:-2]), strict=True)),
                         str(row[-2]), str(row[-1]))

    def verify(self) -> ChainHead:
        """Check the whole chain and the head file; return the chain's head.

        Raises:
            AuditChainBroken: naming the first record that does not hold.
        """
        head = verify_chain(self.records())
        self._check_head(head)
        return head

    def _check_head(self, head: ChainHead) -> None:
        stated = self._read_head()
        if stated is None:
            if head.count:
                raise AuditChainBroken(1, f"the head file {self.head_path.name} is missing")
            return
        check_head(head, stated, f"the head file {self.head_path.name}",
                   log_missing=not self.path.exists())

    def _read_head(self) -> ChainHead | None:
        try:
            data = read_state_file(self.head_path)
            if data is None:
                return None
            head = json.loads(data.decode("ascii"))
            return ChainHead(int(head["count"]), str(head["hash"]))
        except (FileAccessError, ValueError, KeyError, TypeError, RecursionError) as exc:
            raise AuditChainBroken(1, f"the head file {self.head_path.name} is unreadable") from exc


def verify_chain(records: Iterable[LogRecord]) -> ChainHead:
    """Check that `records` form one chain from the genesis; return its head.

    Raises:
        AuditChainBroken: naming the first record that does not hold.
    """
    prev, expected = GENESIS, 1
    for record in records:
        if record.seq != expected:
            raise AuditChainBroken(expected, f"missing (the next record is {record.seq})")
        if record.prev_hash != prev:
            raise AuditChainBroken(record.seq, "does not follow the record before it "
                                               "(deleted, inserted or reordered)")
        if record_hash(record.seq, record.fields, prev) != record.hash:
            raise AuditChainBroken(record.seq, "its contents do not match its hash (edited)")
        prev, expected = record.hash, expected + 1
    return ChainHead(expected - 1, prev)


def check_head(head: ChainHead, stated: ChainHead, source: str, *, log_missing: bool = False) -> None:
    """Compare the chain's `head` with the head `source` says was written last.

    Raises:
        AuditChainBroken: the log lost records, gained records nobody recorded, or ends
            in another record than the one written last.
    """
    if log_missing and stated.count:
        raise AuditChainBroken(1, f"missing: the log file is gone but {source} says "
                                  f"{stated.count} record(s) were written (deleted)")
    if head.count < stated.count:
        raise AuditChainBroken(head.count + 1, f"missing: the log ends at {head.count} "
                                               f"record(s) but {source} says {stated.count} "
                                               "were written (truncated)")
    if head.count > stated.count:
        raise AuditChainBroken(stated.count + 1, f"was not written by the workbench: {source} "
                                                 f"says the log ends at {stated.count} "
                                                 "(appended)")
    if head.hash != stated.hash:
        raise AuditChainBroken(head.count, f"is not the record {source} says was written "
                                           "last (the chain was rewritten)")
