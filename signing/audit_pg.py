"""The hash-chained signing audit log in PostgreSQL (issue 18): several signers, one chain.

Every append runs in one transaction that first takes a transaction-level advisory lock
(`pg_advisory_xact_lock`), so concurrent signers on any machine append one after another:
each reads the head the previous one committed, and the chain stays one line. The head
(count and last hash) is kept in a one-row table updated in the same transaction, and the
anchor hook (`signing.audit_anchor`) moves the token's head before the commit, as the
SQLite log does with its head file; a failure there rolls the record back.
A lost connection or a serialization failure retries the whole transaction a few times.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Final, TypeVar

import psycopg
from psycopg import errors as pg_errors

from signing.errors import AuditChainBroken, AuditError
from signing.hashlog import GENESIS, ChainHead, HeadHook, LogRecord, check_head, record_hash, verify_chain
from storage.pg import DatabaseError, Migration, connect, migrate, redact_dsn, translated

logger = logging.getLogger(__name__)

COMPONENT: Final = "signing-audit"
#: pg_advisory_xact_lock key of the chain's appends ("suitwb-a").
APPEND_LOCK: Final = 0x7375697477622D61
RETRIES: Final = 5
_T = TypeVar("_T")


def _migrations(fields: Sequence[str]) -> tuple[Migration, ...]:
    columns = ", ".join(f"{name} TEXT NOT NULL" for name in fields)
    return (
        Migration(1, (f"CREATE TABLE IF NOT EXISTS audit_records (seq BIGINT PRIMARY KEY, "
                      f"{columns}, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)",
                      "CREATE TABLE IF NOT EXISTS audit_head (id INTEGER PRIMARY KEY CHECK (id = 1), "
                      "count BIGINT NOT NULL, hash TEXT NOT NULL)",
                      "CREATE TABLE IF NOT EXISTS audit_anchor (id INTEGER PRIMARY KEY "
                      "CHECK (id = 1), uri TEXT NOT NULL)")),
    )


class PgHashChainedLog:
    """The hash-chained log in the database `dsn` names (tables created on first use).

    Args:
        dsn: ``postgresql://USER@HOST:PORT/DB`` (password from ~/.pgpass or PGPASSWORD).
        fields: The record's column names, fixed for the life of the log.
    """

    def __init__(self, dsn: str, fields: Sequence[str]) -> None:
        self._dsn = dsn
        self.name = redact_dsn(dsn)
        self.fields = tuple(fields)
        self._migrated = False

    def _run(self, work: Callable[[psycopg.Connection[tuple[object, ...]]], _T], what: str) -> _T:
        for attempt in range(1, RETRIES + 1):
            try:
                with connect(self._dsn) as conn:
                    if not self._migrated:
                        migrate(conn, COMPONENT, _migrations(self.fields))
                        self._migrated = True
                    return work(conn)
            except (pg_errors.SerializationFailure, pg_errors.DeadlockDetected) as exc:
                if attempt == RETRIES:
                    raise self._error(exc, what) from None
                time.sleep(0.05 * attempt)
            except psycopg.Error as exc:
                raise self._error(exc, what) from None
            except DatabaseError as exc:
                raise AuditError(f"audit log {exc.message}", hint=exc.hint) from None
        raise AssertionError("unreachable")

    def _error(self, exc: psycopg.Error, what: str) -> AuditError:
        error = translated(self._dsn, exc, what)
        return AuditError(f"audit log {error.message}", hint=error.hint)

    def exists(self) -> bool:
        """Whether the log holds a head (it was written at least once)."""
        return self._run(lambda conn: conn.execute("SELECT 1 FROM audit_head").fetchone()
                         is not None, "read")

    def append(self, fields: Mapping[str, str], before_commit: HeadHook | None = None) -> LogRecord:
        """Append one record as the chain's next, whoever else appends at the same time."""
        values = {name: str(fields[name]) for name in self.fields}
        return self._run(lambda conn: self._append(conn, values, before_commit), "append")

    def _append(self, conn: psycopg.Connection[tuple[object, ...]], values: dict[str, str],
                before_commit: HeadHook | None) -> LogRecord:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (APPEND_LOCK,))
            last = conn.execute("SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1"
                                ).fetchone()
            seq, prev = (int(last[0]) + 1, str(last[1])) if last else (1, GENESIS)  # type: ignore[call-overload]
            record = LogRecord(seq, values, prev, record_hash(seq, values, prev))
            names = ", ".join(self.fields)
            marks = ", ".join(["%s"] * (len(self.fields) + 3))
            # Column names are the log's own fixed fields; values are parameters.
            conn.execute(f"INSERT INTO audit_records (seq, {names}, prev_hash, hash) "  # noqa: S608
                         f"VALUES ({marks})", (seq, *values.values(), prev, record.hash))
            conn.execute("INSERT INTO audit_head (id, count, hash) VALUES (1, %s, %s) "
                         "ON CONFLICT (id) DO UPDATE SET count = excluded.count, hash = excluded.hash",
                         (seq, record.hash))
            if before_commit is not None:
                before_commit(ChainHead(seq, record.hash))
        return record

    def records(self) -> list[LogRecord]:
        """Every record, in sequence order."""
        names = ", ".join(self.fields)
        rows = self._run(lambda conn: conn.execute(
            f"SELECT seq, {names}, prev_hash, hash FROM audit_records ORDER BY seq"  # noqa: S608
        ).fetchall(), "read")
        return [LogRecord(int(r[0]), dict(zip(self.fields, map(str, r[1:-2]), strict=True)),  # type: ignore[call-overload]
                          str(r[-2]), str(r[-1])) for r in rows]

    def verify(self) -> ChainHead:
        """Check the chain and the head row; return the chain's head.

        Raises:
            AuditChainBroken: naming the first record that does not hold.
        """
        head = verify_chain(self.records())
        stated = self._run(lambda conn: conn.execute("SELECT count, hash FROM audit_head"
                                                     ).fetchone(), "read")
        if stated is None:
            if head.count:
                raise AuditChainBroken(1, "the head row is missing")
            return head
        check_head(head, ChainHead(int(stated[0]), str(stated[1])), "the head row")  # type: ignore[call-overload]
        return head

    def read_anchor(self) -> str | None:
        """The anchor URI (redacted, no PIN) configured for this log, or None."""
        row = self._run(lambda conn: conn.execute("SELECT uri FROM audit_anchor").fetchone(), "read")
        return None if row is None else str(row[0])

    def write_anchor(self, uri: str) -> None:
        """Name `uri` as this log's anchor."""
        def work(conn: psycopg.Connection[tuple[object, ...]]) -> None:
            with conn.transaction():
                conn.execute("INSERT INTO audit_anchor (id, uri) VALUES (1, %s)", (uri,))
        self._run(work, "anchor")
