"""PostgreSQL for the stores several stations share: connect, redact, migrate.

A DSN names the database (``postgresql://user@host:port/db`` or ``postgres://``). The
password should come from ``~/.pgpass`` / ``PGPASSFILE`` or ``PGPASSWORD``, which libpq
reads when the DSN has none; a password written into the DSN is accepted but redacted from
every message this module makes (docs/records.md, "Passwords").
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import psycopg

from storage.dsn import is_dsn, redact_dsn, scrub
from suit.errors import WorkbenchError

__all__ = ["CONNECT_TIMEOUT", "DatabaseError", "DatabaseUnavailable", "Migration", "connect", "is_outage",
           "is_dsn", "migrate", "redact_dsn", "translated"]

logger = logging.getLogger(__name__)

#: Seconds to wait for the server before the store counts as unavailable.
CONNECT_TIMEOUT: Final = 5
#: Milliseconds any statement or lock wait may take (an audit append waits for the others).
STATEMENT_TIMEOUT_MS: Final = 30_000
#: pg_advisory_xact_lock key that serialises migrations of every store ("suitwb-m").
MIGRATION_LOCK: Final = 0x7375697477622D6D


class DatabaseError(WorkbenchError):
    """A shared database refused a statement or could not be reached (message redacted)."""

    default_hint = "Check the DSN, that the server runs, and the password (~/.pgpass or PGPASSWORD)."


class DatabaseUnavailable(DatabaseError):
    """The server cannot be reached now (refused, gone, timed out): worth trying later."""


#: A server that answers FATAL with one of these is there but not serving now: try later.
_TRANSIENT: Final = ("shutting down", "starting up", "in recovery", "too many clients",
                     "administrator command")


def is_outage(exc: psycopg.Error) -> bool:
    """Whether `exc` means the server is away (refused, lost, restarting), rather than that
    it refused us (a wrong password, a missing database), which trying later will not fix."""
    if not isinstance(exc, psycopg.OperationalError):
        return False
    text = str(exc)
    # At connect time libpq gives no SQLSTATE; a server that answered says FATAL.
    return "FATAL:" not in text or any(word in text for word in _TRANSIENT)


def translated(dsn: str, exc: psycopg.Error, what: str) -> DatabaseError:
    """The typed, redacted error for a driver error while doing `what`."""
    kind = DatabaseUnavailable if is_outage(exc) else DatabaseError
    first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return kind(f"{redact_dsn(dsn)}: {what}: {scrub(dsn, first_line)}")


def connect(dsn: str) -> psycopg.Connection[tuple[object, ...]]:
    """A new connection to `dsn` in autocommit mode (group statements with
    ``conn.transaction()``), its statements and lock waits bounded.

    Raises:
        DatabaseUnavailable: the server cannot be reached.
        DatabaseError: the DSN is malformed or the login is refused.
    """
    try:
        # Bounded everywhere: a server that stops answering mid flash (a cable pulled, not a
        # refusal) must not hang a station; keepalives and tcp_user_timeout notice it.
        conn = psycopg.connect(dsn, connect_timeout=CONNECT_TIMEOUT, application_name="suitwb",
                               autocommit=True, keepalives=1, keepalives_idle=10,
                               keepalives_interval=5, keepalives_count=3,
                               tcp_user_timeout=STATEMENT_TIMEOUT_MS)
        conn.execute("SELECT set_config('statement_timeout', %s, false), "
                     "set_config('lock_timeout', %s, false)",
                     (str(STATEMENT_TIMEOUT_MS), str(STATEMENT_TIMEOUT_MS)))
        return conn
    except psycopg.Error as exc:
        raise translated(dsn, exc, "cannot connect") from None
    except ValueError as exc:  # no such option, a bad port (psycopg's conninfo parser)
        raise DatabaseError(f"{redact_dsn(dsn)}: not a usable DSN ({scrub(dsn, str(exc))})",
                            hint="Write it as postgresql://USER@HOST:PORT/DATABASE.") from None


@dataclass(frozen=True)
class Migration:
    """One step of a store's schema: applied once, in version order, never edited."""

    version: int
    statements: tuple[str, ...]


def migrate(conn: psycopg.Connection[tuple[object, ...]], component: str,
            migrations: Sequence[Migration]) -> int:
    """Bring `component`'s schema up to its last migration; return that version.

    Several stations may start at once: the transaction-level advisory lock lets one of
    them migrate while the others wait, then find nothing left to do.
    """
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (component TEXT NOT NULL, "
                     "version INTEGER NOT NULL, applied TIMESTAMPTZ NOT NULL DEFAULT now(), "
                     "PRIMARY KEY (component, version))")
        row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version "
                           "WHERE component = %s", (component,)).fetchone()
        current = int(row[0]) if row else 0  # type: ignore[call-overload]
        for step in sorted(migrations, key=lambda m: m.version):
            if step.version <= current:
                continue
            for statement in step.statements:
                conn.execute(statement)  # constants of the stores
            conn.execute("INSERT INTO schema_version (component, version) VALUES (%s, %s)",
                         (component, step.version))
            logger.info("%s schema migrated to version %d", component, step.version)
            current = step.version
    return current
