"""The session's PostgreSQL server and the shared connection helpers (issue 18)."""

from __future__ import annotations

import threading

import pytest

from storage.pg import DatabaseError, DatabaseUnavailable, Migration, connect, migrate, redact_dsn
from tests.fixtures.postgres import PASSWORD, PostgresServer


def test_server_listens_on_loopback_and_password_comes_from_pgpass(postgres_dsn: str) -> None:
    with connect(postgres_dsn) as conn:
        row = conn.execute("SELECT inet_server_addr()::text, current_setting('listen_addresses')"
                           ).fetchone()
    assert row is not None and row[1] == "127.0.0.1" and row[0].startswith("127.0.0.1")


def test_redact_dsn_forms() -> None:
    assert redact_dsn("postgresql://u:s3cret@h:5/db") == "postgresql://u:***@h:5/db"
    assert redact_dsn("postgres://u@h/db") == "postgres://u@h/db"
    assert redact_dsn("host=h password='a b' user=u") == "host=h password=*** user=u"
    assert "s3cret" not in redact_dsn("see postgresql://u:s3cret@h/db and more")


def test_wrong_password_error_is_typed_and_redacted(postgres_server: PostgresServer,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PGPASSFILE")
    bad = postgres_server.dsn().replace("suitwb@", "suitwb:Wrong-Pw-1x@")
    with pytest.raises(DatabaseError) as caught:
        connect(bad)
    assert "Wrong-Pw-1x" not in str(caught.value) and "***" in str(caught.value)


def test_pgpassword_environment(postgres_server: PostgresServer,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PGPASSFILE")
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    with connect(postgres_server.dsn()) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_unreachable_server_is_unavailable() -> None:
    with pytest.raises(DatabaseUnavailable):
        connect("postgresql://nobody@127.0.0.1:1/none")


def test_migrations_run_once_and_in_order(postgres_dsn: str) -> None:
    steps = [Migration(2, ("ALTER TABLE m ADD COLUMN b INT",)), Migration(1, ("CREATE TABLE m (a INT)",))]
    with connect(postgres_dsn) as conn:
        assert migrate(conn, "test", steps) == 2
        assert migrate(conn, "test", steps) == 2  # nothing applied twice
        rows = conn.execute("SELECT version FROM schema_version WHERE component='test' "
                            "ORDER BY version").fetchall()
    assert rows == [(1,), (2,)]


def test_stations_starting_at_once_migrate_once(postgres_dsn: str) -> None:
    steps = [Migration(1, ("CREATE TABLE once (a INT)",)),  # no IF NOT EXISTS: twice fails
             Migration(2, ("ALTER TABLE once ADD COLUMN b INT",))]
    go, errors = threading.Barrier(8), []

    def station() -> None:
        with connect(postgres_dsn) as conn:
            go.wait()
            try:
                migrate(conn, "once", steps)
            except Exception as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)

    threads = [threading.Thread(target=station) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    with connect(postgres_dsn) as conn:
        rows = conn.execute("SELECT version FROM schema_version WHERE component='once' "
                            "ORDER BY version").fetchall()
    assert rows == [(1,), (2,)]
