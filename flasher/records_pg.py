"""Factory records in PostgreSQL (issue 18): many stations append to one table.

Each append is one INSERT committed on its own (autocommit), so concurrent stations never
wait on each other; the unique ``uid`` makes a re-delivered attempt (from a station's spool,
or the retry after a lost connection) land once. A store keeps one connection open for its
appends and opens a new one when it was lost. The schema is created and migrated by
`storage.pg.migrate`.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import asdict
from typing import Final

import psycopg

from flasher.errors import RecordsError, RecordsUnavailable
from flasher.records import COLUMNS, AttemptRecord, record_from_row
from storage.pg import (
    DatabaseError,
    DatabaseUnavailable,
    Migration,
    connect,
    is_outage,
    migrate,
    redact_dsn,
    translated,
)

COMPONENT: Final = "factory-records"
MIGRATIONS: Final = (
    Migration(1, ("""CREATE TABLE IF NOT EXISTS attempts (
        id BIGSERIAL PRIMARY KEY,
        uid UUID NOT NULL UNIQUE,
        started DOUBLE PRECISION NOT NULL,
        seconds DOUBLE PRECISION NOT NULL,
        port TEXT NOT NULL,
        device_id TEXT,
        bundle TEXT NOT NULL,
        bundle_digest TEXT NOT NULL,
        sequence_number BIGINT,
        result TEXT NOT NULL,
        reason TEXT,
        bytes BIGINT NOT NULL,
        sessions INTEGER NOT NULL,
        operator TEXT NOT NULL,
        station TEXT NOT NULL,
        protocol TEXT,
        device_kind TEXT,
        host_checks TEXT,
        image_version TEXT,
        image_hash TEXT,
        image_match BOOLEAN,
        running_version TEXT,
        report BYTEA,
        report_verified BOOLEAN,
        report_result TEXT)""",)),
    # The records view filters by these (gui/records_panel.py).
    Migration(2, ("CREATE INDEX IF NOT EXISTS attempts_station ON attempts (station)",
                  "CREATE INDEX IF NOT EXISTS attempts_device ON attempts (device_id)")),
)


class PgRecords:
    """The factory records in the PostgreSQL database `dsn` names."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self.name = redact_dsn(dsn)
        self._migrated = False
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._lock = threading.Lock()  # gang threads share the connection

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        try:
            conn = connect(self._dsn)
            if not self._migrated:
                migrate(conn, COMPONENT, MIGRATIONS)
                self._migrated = True
            conn.autocommit = True
        except DatabaseUnavailable as exc:
            raise RecordsUnavailable(self.name, exc.message.removeprefix(self.name + ": ")) from None
        except DatabaseError as exc:
            raise RecordsError(self.name, exc.message.removeprefix(self.name + ": ")) from None
        except psycopg.Error as exc:
            raise self._error(exc, "schema migration") from None
        return conn

    def _execute(self, statement: str, values: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        """Run one statement on the kept connection; once more on a new one if it was lost
        (safe: reads, and inserts that ignore a uid already stored)."""
        with self._lock:
            for attempt in (1, 2):
                if self._conn is None or self._conn.closed:
                    self._conn = self._connect()
                try:
                    cursor = self._conn.execute(statement, values)  # constants
                    return cursor.fetchall() if cursor.description else []
                except psycopg.OperationalError as exc:
                    self._conn.close()
                    self._conn = None
                    if attempt == 2 or not is_outage(exc):
                        raise self._error(exc, "append or read") from None
                except psycopg.Error as exc:
                    raise self._error(exc, "append or read") from None
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Close the kept connection (a new one opens on the next use)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _error(self, exc: psycopg.Error, what: str) -> RecordsError:
        error = translated(self._dsn, exc, what)
        kind = RecordsUnavailable if isinstance(error, DatabaseUnavailable) else RecordsError
        return kind(self.name, error.message.removeprefix(self.name + ": "))

    def append(self, record: AttemptRecord, uid: str | None = None) -> None:
        """Insert one attempt; one whose `uid` is stored already is ignored.

        Raises:
            RecordsUnavailable: the server cannot be reached (the spool keeps it).
            RecordsError: the server refused the row.
        """
        names = ", ".join((*COLUMNS, "uid"))
        marks = ", ".join(["%s"] * (len(COLUMNS) + 1))
        values = (*asdict(record).values(), uid or str(uuid.uuid4()))
        # Column names are this module's constants; values are parameters.
        self._execute(f"INSERT INTO attempts ({names}) VALUES ({marks}) "  # noqa: S608
                      "ON CONFLICT (uid) DO NOTHING", values)

    def all(self) -> list[AttemptRecord]:
        """Every attempt, in the order they were stored."""
        rows = self._execute(f"SELECT {', '.join(COLUMNS)} FROM attempts ORDER BY id")  # noqa: S608
        return [record_from_row([bytes(v) if isinstance(v, memoryview) else v for v in row])
                for row in rows]
