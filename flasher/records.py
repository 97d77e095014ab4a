"""Factory records: every flash attempt, appended to an SQLite database or PostgreSQL.

One row per attempt and port (device id, port, bundle digest, sequence number, result,
reason, bytes, timings, operator, station), so a station's history can be audited and
exported to CSV. Rows are only ever inserted; nothing updates or deletes them.

`RecordsStore` is the one interface; `FactoryRecords` (SQLite, the single station's
default) and `flasher.records_pg.PgRecords` (a DSN, shared by many stations) satisfy it,
and `open_records` chooses by the name given. Each append carries a unique id, so an
attempt delivered twice (from the spool, `flasher.records_spool`) is stored once.
"""

from __future__ import annotations

import builtins
import csv
import dataclasses
import io
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, Protocol

from flasher.errors import RecordsError, RecordsUnavailable
from storage import sqlite as sqlite_file

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started REAL NOT NULL,
    seconds REAL NOT NULL,
    port TEXT NOT NULL,
    device_id TEXT,
    bundle TEXT NOT NULL,
    bundle_digest TEXT NOT NULL,
    sequence_number INTEGER,
    result TEXT NOT NULL,
    reason TEXT,
    bytes INTEGER NOT NULL,
    sessions INTEGER NOT NULL,
    operator TEXT NOT NULL,
    station TEXT NOT NULL,
    protocol TEXT,
    device_kind TEXT,
    host_checks TEXT,
    image_version TEXT,
    image_hash TEXT,
    image_match INTEGER,
    running_version TEXT,
    report BLOB,
    report_verified INTEGER,
    report_result TEXT,
    uid TEXT
)
"""

#: Columns added for SMP devices (issue 13): a database written by an older station gets
#: them on first use, NULL in its old rows (rows are never rewritten).
_ADDED_COLUMNS: Final = (("protocol", "TEXT"), ("device_kind", "TEXT"), ("host_checks", "TEXT"),
                         ("image_version", "TEXT"), ("image_hash", "TEXT"),
                         ("image_match", "INTEGER"), ("running_version", "TEXT"),
                         # issue 14: the device's SUIT report of the attempt
                         ("report", "BLOB"), ("report_verified", "INTEGER"),
                         ("report_result", "TEXT"),
                         # issue 18: the attempt's unique id (a spooled attempt lands once)
                         ("uid", "TEXT"))


@dataclass(frozen=True)
class AttemptRecord:
    """One flash attempt on one port (a row of the `attempts` table).

    Attributes:
        started: When it began, seconds since the epoch (UTC).
        seconds: How long it took.
        device_id: The device's id in hex, None if it never answered.
        bundle_digest: SHA-256 of the envelope, hex.
        sequence_number: The installed (or offered) manifest sequence number.
        result: ``ok``, ``refused``, ``failed`` or ``cancelled``.
        reason: Why not ok.
        sessions: Sessions used (more than one after a resume).
        protocol: ``suitwb`` or ``smp``; None in rows written before issue 13.
        device_kind: SMP: the device profile entry the device matched.
        host_checks: SMP: ``passed``, ``refused`` or ``skipped`` (forced past them).
        image_version, image_hash: SMP: the MCUboot image sent (hash in hex).
        image_match: SMP: after the reset, whether the device runs the image sent.
        running_version: SMP: what the device runs after the reset.
        report: The device's SUIT report as it sent it (COSE_Sign1 or bare), None if none.
        report_verified: Whether it verified with the device key; None: no key given.
        report_result: The decoded report as JSON text (suit.report.report_json).
    """

    started: float
    seconds: float
    port: str
    device_id: str | None
    bundle: str
    bundle_digest: str
    sequence_number: int | None
    result: str
    reason: str | None
    bytes: int
    sessions: int
    operator: str
    station: str
    protocol: str | None = None
    device_kind: str | None = None
    host_checks: str | None = None
    image_version: str | None = None
    image_hash: str | None = None
    image_match: bool | None = None
    running_version: str | None = None
    report: builtins.bytes | None = None  # `bytes` is a field name here
    report_verified: bool | None = None
    report_result: str | None = None


#: The CSV header and the records table's columns, in the order of AttemptRecord's fields.
COLUMNS: Final = tuple(f.name for f in fields(AttemptRecord))


def attempt_row(record: AttemptRecord) -> list[str]:
    """One attempt as the cells of a CSV row or a table: `started` in UTC ISO 8601 to the
    millisecond, None as an empty cell. The CLI's export and the GUI's table both use this,
    so the two exports of the same rows are the same text."""
    row = asdict(record)
    row["started"] = _iso(record.started)
    if record.report is not None:
        row["report"] = record.report.hex()
    return ["" if row[c] is None else str(row[c]) for c in COLUMNS]


def csv_text(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """`rows` as CSV text under a header row of `columns` (the one CSV writer of records)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()


class RecordsStore(Protocol):
    """Where attempts are kept (SQLite file or PostgreSQL database).

    Attributes:
        name: The file path or the DSN with its password redacted (for messages).
    """

    name: str

    def append(self, record: AttemptRecord, uid: str | None = None) -> None:
        """Store one attempt; an attempt with the `uid` of a stored one is ignored."""

    def all(self) -> list[AttemptRecord]:
        """Every attempt, oldest first."""


def open_records(target: str | Path) -> RecordsStore:
    """The store `target` names: a ``postgresql://`` DSN, else an SQLite file path."""
    from storage.dsn import is_dsn
    if isinstance(target, str) and is_dsn(target):
        from flasher.records_pg import PgRecords
        return PgRecords(target)
    return FactoryRecords(Path(target))


def export_csv(store: RecordsStore) -> str:
    """Every attempt of `store` as CSV text with a header row (see `attempt_row`)."""
    return csv_text(COLUMNS, (attempt_row(record) for record in store.all()))


class FactoryRecords:
    """The records database at `path` (created on first use, parent folders included).

    Several stations' processes and a gang's threads append at once: the file is in WAL
    mode and every append is one short ``BEGIN IMMEDIATE`` transaction, tried again while
    another writer holds the lock, for `deadline` seconds in all (`storage.sqlite`). Past
    that, `append` raises `RecordsError` and the station's spool keeps the attempt.
    """

    def __init__(self, path: Path, deadline: float | None = None) -> None:
        self.path = path
        self.name = str(path)
        self._deadline = deadline
        self._ready = False  # the schema was checked by this store

    @property
    def deadline(self) -> float:
        """Seconds an append keeps trying while other writers hold the file."""
        return sqlite_file.WRITE_DEADLINE if self._deadline is None else self._deadline

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with sqlite_file.connect(self.path, self.deadline) as connection:
                if not self._ready:
                    # A file already current is only read (it may be a read-only copy).
                    if not _schema_current(connection):
                        sqlite_file.write(connection, _create_schema, self.deadline)
                    self._ready = True
                yield connection
        except sqlite3.Error as exc:
            # Other writers held the file past the deadline: it will pass, as an outage does.
            kind = RecordsUnavailable if sqlite_file.is_busy(exc) else RecordsError
            raise kind(str(self.path), str(exc)) from exc
        except OSError as exc:
            raise RecordsError(str(self.path), str(exc)) from exc

    def append(self, record: AttemptRecord, uid: str | None = None) -> None:
        """Insert one attempt (a transaction of its own: it survives a crash right after);
        an attempt whose `uid` is stored already is ignored.

        Raises:
            RecordsUnavailable: other writers held the file past the deadline.
            RecordsError: the file cannot be written (read-only, a full disk).
            The caller's spool keeps the attempt either way.
        """
        placeholders = ", ".join("?" for _ in (*COLUMNS, "uid"))
        values = (*asdict(record).values(), uid)

        def insert(db: sqlite3.Connection) -> None:
            # COLUMNS is a constant of this module; values are ? parameters.
            db.execute(f"INSERT OR IGNORE INTO attempts ({', '.join(COLUMNS)}, uid) "  # noqa: S608
                       f"VALUES ({placeholders})", values)

        with self._connect() as db:
            sqlite_file.write(db, insert, self.deadline)

    def all(self) -> list[AttemptRecord]:
        """Every attempt, oldest first."""
        with self._connect() as db:
            rows = db.execute(f"SELECT {', '.join(COLUMNS)} FROM attempts ORDER BY id"  # noqa: S608 - constant
                              ).fetchall()
        return [record_from_row(row) for row in rows]

    def export_csv(self) -> str:
        """Every attempt as CSV text with a header row (see `attempt_row`)."""
        return export_csv(self)


def _schema_current(db: sqlite3.Connection) -> bool:
    present = {row[1] for row in db.execute("PRAGMA table_info(attempts)")}
    index = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' "
                       "AND name = 'attempts_uid'").fetchone()
    return index is not None and {name for name, _ in _ADDED_COLUMNS} <= present


def _create_schema(db: sqlite3.Connection) -> None:
    db.execute(_SCHEMA)
    _add_columns(db)
    db.execute("CREATE UNIQUE INDEX IF NOT EXISTS attempts_uid ON attempts (uid)")


def _add_columns(db: sqlite3.Connection) -> None:
    present = {row[1] for row in db.execute("PRAGMA table_info(attempts)")}
    for name, kind in _ADDED_COLUMNS:
        if name in present:
            continue
        try:  # name and kind are constants of this module
            db.execute(f"ALTER TABLE attempts ADD COLUMN {name} {kind}")
        except sqlite3.OperationalError as exc:
            # Another gang thread or station added it between our look and our ALTER.
            if "duplicate column" not in str(exc):
                raise


def record_from_row(row: Sequence[object]) -> AttemptRecord:
    """The record of a row of COLUMNS (booleans stored as 0/1 become bool)."""
    record = AttemptRecord(*row)  # type: ignore[arg-type]  # the columns are the fields
    # SQLite stores booleans as 0/1
    if record.image_match is not None:
        record = dataclasses.replace(record, image_match=bool(record.image_match))
    if record.report_verified is not None:
        record = dataclasses.replace(record, report_verified=bool(record.report_verified))
    return record


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")
