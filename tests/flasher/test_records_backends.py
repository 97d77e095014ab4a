"""The factory records' suite against both backends (issue 18): SQLite (a station's file)
and PostgreSQL (a DSN many stations share); the spool that keeps attempts while the shared
database is away; the CLI's --records DSN, `records export` and `records sync`."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from flasher.errors import RecordsError, RecordsUnavailable
from flasher.records import COLUMNS, AttemptRecord, RecordsStore, export_csv, open_records
from flasher.records_pg import PgRecords
from flasher.records_spool import SpooledRecords
from tests.fixtures.postgres import PASSWORD
from tests.fixtures.vectors import SPEC_KEY_PUBLIC
from tests.flasher.cli import device_serve
from tests.flasher.test_gang import IMAGE, URI
from tests.signing.cli import suitwb
from testsupport.envelopes import app_update

FULL = AttemptRecord(1_700_000_000.5, 2.25, "/dev/pts/3", "ab12", "app.suit", "ff" * 32, 4, "ok",
                     None, 4096, 1, "alice", "bench-1", protocol="smp", device_kind="MPS2",
                     host_checks="passed", image_version="1.0.3", image_hash="ab" * 32,
                     image_match=True, running_version="1.0.3", report=b"\xd2\x84\x00",
                     report_verified=False, report_result='{"success": true}')
PLAIN = AttemptRecord(1_700_000_010.125, 0.5, "/dev/pts/4", None, "app, \"v2\".suit", "0" * 64,
                      None, "failed", "no answer\nafter 3 tries", 0, 2, "bob", "bench-2")
UNREACHABLE = "postgresql://suitwb@127.0.0.1:1/none"


def spool_dir_in(data: Path, target: str | Path) -> Path:
    """`workbench.flashing.spool_dir` for a station whose data directory is `data`."""
    import os
    from unittest import mock

    from workbench.flashing import spool_dir
    with mock.patch.dict(os.environ, {"SUITWB_DATA_DIR": str(data)}):
        return spool_dir(target)


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | Path]:
    if request.param == "sqlite":
        yield tmp_path / "records.sqlite"
    else:
        yield request.getfixturevalue("postgres_dsn")


def test_every_field_round_trips(target: str | Path) -> None:
    store = open_records(target)
    assert isinstance(store, PgRecords) == isinstance(target, str)
    store.append(FULL)
    store.append(PLAIN)
    assert store.all() == [FULL, PLAIN]


def test_an_attempt_delivered_twice_is_stored_once(target: str | Path) -> None:
    store = open_records(target)
    store.append(PLAIN, "7d0c4a43-55f4-4a36-9d1b-3a1c36a5a0e1")
    store.append(PLAIN, "7d0c4a43-55f4-4a36-9d1b-3a1c36a5a0e1")
    store.append(PLAIN)  # no uid: a new attempt, even with the same fields
    assert len(store.all()) == 2


def test_csv_export_is_the_same_text_from_both_backends(tmp_path: Path, postgres_dsn: str) -> None:
    texts = []
    for store in (open_records(tmp_path / "r.sqlite"), open_records(postgres_dsn)):
        store.append(FULL)
        store.append(PLAIN)
        texts.append(export_csv(store))
    assert texts[0] == texts[1]
    rows = list(csv.DictReader(io.StringIO(texts[0])))
    assert tuple(rows[0]) == COLUMNS and rows[1]["reason"] == "no answer\nafter 3 tries"
    assert rows[0]["report"] == "d28400" and rows[0]["image_match"] == "True"


def test_spool_keeps_attempts_while_the_database_is_away(tmp_path: Path, postgres_dsn: str) -> None:
    spool = tmp_path / "spool"
    away = SpooledRecords(open_records(UNREACHABLE), spool)
    away.append(FULL)
    away.append(PLAIN)
    assert len(away.pending()) == 2
    with pytest.raises(RecordsUnavailable):
        away.sync()
    assert len(away.pending()) == 2  # nothing lost by a failed delivery
    back = SpooledRecords(open_records(postgres_dsn), spool)
    third = replace(PLAIN, port="/dev/pts/5")
    back.append(third)  # the next append delivers the spool first
    assert back.pending() == [] and back.all() == [FULL, PLAIN, third]
    assert back.sync().delivered == 0


def test_the_spool_warning_and_files_carry_no_password(tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    away = SpooledRecords(open_records(UNREACHABLE.replace("suitwb@", f"suitwb:{PASSWORD}@")),
                          tmp_path / "spool")
    with caplog.at_level(logging.DEBUG):
        away.append(PLAIN)
    assert "kept in the spool" in caplog.text and PASSWORD not in caplog.text
    [spooled] = away.pending()
    assert PASSWORD.encode() not in spooled.read_bytes()


def test_a_refused_login_still_loses_no_attempt(tmp_path: Path, postgres_dsn: str,
                                                caplog: pytest.LogCaptureFixture) -> None:
    refused = SpooledRecords(open_records(postgres_dsn.replace("suitwb@", "suitwb:Wrong-Pw-5e@")),
                             tmp_path / "spool")
    with caplog.at_level(logging.ERROR):
        refused.append(PLAIN)
    assert "refused the attempt" in caplog.text and "Wrong-Pw-5e" not in caplog.text
    assert len(refused.pending()) == 1
    fixed = SpooledRecords(open_records(postgres_dsn), tmp_path / "spool")
    assert fixed.sync().delivered == 1 and fixed.all() == [PLAIN]


def test_a_damaged_spool_file_is_set_aside(tmp_path: Path, postgres_dsn: str) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    (spool / "0-bad.json").write_text("{not json")
    store = SpooledRecords(open_records(postgres_dsn), spool)
    store.append(PLAIN)
    assert store.all() == [PLAIN] and (spool / "0-bad.rejected").exists()


def test_errors_are_typed_and_carry_no_password(tmp_path: Path, postgres_dsn: str) -> None:
    wrong = postgres_dsn.replace("suitwb@", "suitwb:Wrong-Pw-3t@")
    with pytest.raises(RecordsError) as caught:
        open_records(wrong).all()
    assert not isinstance(caught.value, RecordsUnavailable)  # a refused login is no outage
    assert "Wrong-Pw-3t" not in str(caught.value) and "suitwb:***@" in str(caught.value)
    store: RecordsStore = open_records(postgres_dsn.replace("suitwb@", f"suitwb:{PASSWORD}@"))
    store.append(PLAIN)
    assert PASSWORD not in store.name


def test_cli_flash_records_into_postgres(tmp_path: Path, postgres_dsn: str) -> None:
    (tmp_path / "app.bin").write_bytes(IMAGE)
    unsigned = tmp_path / "unsigned.suit"
    unsigned.write_bytes(app_update(2, IMAGE, uri=URI, signed=False).envelope())
    bundle = tmp_path / "app.suit"
    suitwb("sign", unsigned, "-o", bundle, "--key", SPEC_KEY_PUBLIC.with_name(
        "example-es256-private.pem"), "--alg", "ES256", "--audit", postgres_dsn, data_dir=tmp_path)
    with device_serve("--state", tmp_path / "a", "--trust-anchor", SPEC_KEY_PUBLIC,
                      data_dir=tmp_path) as port:
        suitwb("flash", bundle, "--port", port, "--station", "line-9", "--records", postgres_dsn,
               "--payload", f"{URI}={tmp_path / 'app.bin'}", data_dir=tmp_path)
    [row] = open_records(postgres_dsn).all()
    assert (row.port, row.result, row.station, row.sequence_number) == (port, "ok", "line-9", 2)
    assert not (tmp_path / "factory-records.sqlite").exists()  # nothing went to the file
    shown = suitwb("audit", "show", "--audit", postgres_dsn, data_dir=tmp_path).stdout
    assert "1 record(s)" in shown and "ES256" in shown


def test_cli_records_dsn_export_and_sync(tmp_path: Path, postgres_dsn: str) -> None:
    # An attempt meant for the PostgreSQL records, spooled while the server was away (as a
    # flash run with SUITWB_DATA_DIR=tmp_path would), waits for that database only.
    spool = spool_dir_in(tmp_path, postgres_dsn)
    SpooledRecords(open_records(UNREACHABLE), spool).append(PLAIN)
    still_away = suitwb("records", "sync", "--records", UNREACHABLE, data_dir=tmp_path,
                        check=False)
    assert still_away.returncode == 0 and "0 spooled attempt(s) delivered, 0 waiting" in \
        still_away.stdout, still_away.stderr  # another target's spool: nothing to deliver
    other = suitwb("records", "sync", "--records", tmp_path / "other.sqlite", data_dir=tmp_path)
    assert "0 spooled attempt(s) delivered" in other.stdout
    assert "Traceback" not in still_away.stderr and len(list(spool.glob("*.json"))) == 1
    synced = suitwb("records", "sync", "--records", postgres_dsn, data_dir=tmp_path)
    assert "1 spooled attempt(s) delivered, 0 waiting" in synced.stdout
    out = suitwb("records", "export", "--csv", "--records", postgres_dsn, data_dir=tmp_path)
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [(r["operator"], r["station"]) for r in rows] == [("bob", "bench-2")]
    by_env = suitwb("records", "export", "--csv", data_dir=tmp_path,
                    env={"SUITWB_RECORDS": postgres_dsn})
    assert by_env.stdout == out.stdout
