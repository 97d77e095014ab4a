"""SQLite files written by several processes of one machine at once (issue 18): eight
stations' processes, or several signers, sharing one records file or one audit log.

One recipe for both (factory records and the signing audit log):

- WAL journal mode: readers never block the writer and the writer never blocks readers,
  so only writers wait for each other (https://sqlite.org/wal.html).
- A busy timeout, so a writer waits for the lock inside SQLite instead of failing at once.
- Write transactions begin with ``BEGIN IMMEDIATE``: the write lock is taken before
  anything is read. A deferred transaction that reads and then writes cannot upgrade its
  lock while another writer holds it, and SQLite returns SQLITE_BUSY at once without
  calling the busy handler (https://sqlite.org/lang_transaction.html) — that was the
  loss of 500 of 2,000 attempts in the records_db benchmark.
- SQLITE_BUSY that still escapes (the busy timeout spent) is retried with a bounded,
  jittered backoff until `deadline` seconds have passed; then the caller's own error
  handling takes over (the records' spool keeps the attempt).
"""

from __future__ import annotations

import logging
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Final, TypeVar

logger = logging.getLogger(__name__)

#: How long SQLite itself waits for another writer's lock, per statement (milliseconds).
BUSY_TIMEOUT_MS: Final = 2000
#: How long a write keeps trying in all before it gives up (seconds): the old busy
#: timeout. Writers on one machine hold the lock for milliseconds; one held longer is a
#: stuck or hostile holder, and the records' spool takes over.
WRITE_DEADLINE: Final = 10.0
_FIRST_BACKOFF: Final = 0.005
_MAX_BACKOFF: Final = 0.25

T = TypeVar("T")


def is_busy(exc: sqlite3.Error) -> bool:
    """Whether `exc` is another connection holding the lock (worth trying again)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        # Extended codes (SQLITE_BUSY_SNAPSHOT, ...) keep the primary code in the low byte.
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)


@contextmanager
def connect(path: Path, deadline: float | None = None) -> Iterator[sqlite3.Connection]:
    """A connection to `path` in autocommit mode (transactions are explicit), in WAL mode,
    with a busy timeout (never longer than `deadline` seconds, the caller's whole wait);
    closed on leaving. The caller translates `sqlite3.Error`."""
    busy_timeout_ms = BUSY_TIMEOUT_MS if deadline is None else \
        max(1, min(BUSY_TIMEOUT_MS, int(deadline * 1000)))
    with closing(sqlite3.connect(path, isolation_level=None,
                                 timeout=busy_timeout_ms / 1000)) as db:
        db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        _wal(db, path)
        yield db


def _wal(db: sqlite3.Connection, path: Path) -> None:
    # WAL is a property of the file, kept once set; asking again costs a read. Switching
    # needs a moment without other connections, and a read-only file cannot switch, so
    # either is left to a later connection (the file stays correct in either mode).
    try:
        db.execute("PRAGMA journal_mode = WAL").fetchone()
    except sqlite3.OperationalError as exc:
        if not is_busy(exc) and "readonly" not in str(exc):
            raise
        logger.debug("%s stays in its journal mode for now: %s", path, exc)


def write(db: sqlite3.Connection, body: Callable[[sqlite3.Connection], T],
          deadline: float | None = None) -> T:
    """Run `body` in one ``BEGIN IMMEDIATE`` transaction and commit; roll back on any
    error. While another writer holds the lock (SQLITE_BUSY), try again with a growing,
    jittered pause until `deadline` seconds have passed, then raise the last error.

    `body` must be safe to run again from the start (it runs again only when its
    transaction was rolled back, so nothing of the earlier run remains).
    """
    give_up = time.monotonic() + (WRITE_DEADLINE if deadline is None else deadline)
    pause = _FIRST_BACKOFF
    while True:
        try:
            return _transaction(db, body)
        except sqlite3.OperationalError as exc:
            if not is_busy(exc) or time.monotonic() + pause > give_up:
                raise
            logger.debug("SQLite busy (%s); trying again in %.3f s", exc, pause)
            time.sleep(pause * (0.5 + random.random()))  # noqa: S311 - jitter, not secrecy
            pause = min(pause * 2, _MAX_BACKOFF)


def _transaction(db: sqlite3.Connection, body: Callable[[sqlite3.Connection], T]) -> T:
    db.execute("BEGIN IMMEDIATE")
    try:
        result = body(db)
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    return result
