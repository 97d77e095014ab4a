"""The single station's SQLite records lose no attempt either (issue 18): a records file
locked by another writer during a gang flash spools every attempt and delivers each once
when the lock is gone; a record that can be neither written nor spooled is said once and
never escapes the gang thread; 8 station processes writing one file at once lose nothing."""

from __future__ import annotations

import logging
import multiprocessing
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

import storage.sqlite
from flasher import records_spool
from flasher.gang import GangFlash
from flasher.loader.device import DeviceConfig
from flasher.operations import Bundle, FlashOutcome
from flasher.records import AttemptRecord, FactoryRecords
from tests.flasher.conftest import ServedDevice
from tests.flasher.test_gang import IMAGE, OPTIONS, URI
from testsupport.envelopes import app_update
from workbench.flashing import SPOOL_DIR, FlashJob, Station, records_store


@pytest.fixture
def thread_errors(monkeypatch: pytest.MonkeyPatch) -> list[threading.ExceptHookArgs]:
    """Every exception that escapes a thread (the defect: a traceback on stderr)."""
    caught: list[threading.ExceptHookArgs] = []
    monkeypatch.setattr(threading, "excepthook", caught.append)
    return caught


@pytest.fixture
def devices(device_config: DeviceConfig, tmp_path: Path) -> Iterator[list[ServedDevice]]:
    served = [ServedDevice(replace(device_config, state_dir=tmp_path / f"d{i}")) for i in range(3)]
    for device in served:
        device.start()
    yield served
    for device in served:
        device.stop()
        device.pty.close()


@pytest.fixture
def bundle() -> Bundle:
    return Bundle.from_bytes(app_update(3, IMAGE, uri=URI).envelope(), {URI: IMAGE})


def test_records_file_locked_during_a_gang_spools_then_delivers_once(
        devices: list[ServedDevice], bundle: Bundle, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str], thread_errors: list[threading.ExceptHookArgs]) -> None:
    monkeypatch.setenv("SUITWB_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(storage.sqlite, "WRITE_DEADLINE", 0.3)  # keep the test short
    path = tmp_path / "records.sqlite"
    FactoryRecords(path).all()  # the file exists before the lock, as on a running line
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another writer holds the file through the flash
    records = records_store(path)
    job = FlashJob(bundle, [d.path for d in devices], Station("op", "line-1"), records, OPTIONS)
    try:
        with caplog.at_level(logging.WARNING):
            outcomes = job.run()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert [o.result for o in outcomes] == ["ok", "ok", "ok"]  # the outcomes stand
    assert thread_errors == [] and "Traceback" not in capsys.readouterr().err
    assert len(records.pending()) == 3 and FactoryRecords(path).all() == []
    # A file held by other writers is an outage that passes, not a refusal; once found,
    # the other ports' attempts are spooled at once instead of each waiting it out.
    spooled = [r.getMessage() for r in caplog.records if "kept in the spool" in r.getMessage()]
    assert len(spooled) == 3 and all("\n" not in m for m in spooled)
    assert sum("database unavailable" in m for m in spooled) == 1
    assert sum("still unavailable" in m for m in spooled) == 2
    assert all(r.exc_info is None for r in caplog.records)
    assert records_store(path).sync().delivered == 3  # `suitwb records sync`
    rows = FactoryRecords(path).all()
    assert sorted(r.port for r in rows) == sorted(d.path for d in devices)
    assert records_store(path).sync().delivered == 0 and len(FactoryRecords(path).all()) == 3
    assert not list((tmp_path / SPOOL_DIR).rglob("*.json"))


def test_the_next_append_delivers_what_a_locked_file_spooled(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUITWB_DATA_DIR", str(tmp_path))
    path = tmp_path / "records.sqlite"
    store = records_store(path)
    first = _attempt("st", 1)
    store.append(first)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    monkeypatch.setattr(storage.sqlite, "WRITE_DEADLINE", 0.1)
    monkeypatch.setattr(records_spool, "AWAY_PAUSE", 0.5)
    second = _attempt("st", 2)
    store.append(second)
    later = replace(second, port="port-2b", started=second.started + 0.5)
    store.append(later)  # just found away: spooled without waiting
    holder.execute("ROLLBACK")
    holder.close()
    assert len(store.pending()) == 2
    time.sleep(0.5)  # the pause after finding the file away has passed
    third = _attempt("st", 3)
    store.append(third)  # delivers the spooled attempt first
    assert store.pending() == []
    assert store.all() == [first, second, later, third]  # the spool's oldest first


def test_a_record_neither_written_nor_spooled_is_said_once(
        devices: list[ServedDevice], bundle: Bundle, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        thread_errors: list[threading.ExceptHookArgs]) -> None:
    monkeypatch.setenv("SUITWB_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(storage.sqlite, "WRITE_DEADLINE", 0.1)
    (tmp_path / SPOOL_DIR).write_text("a file where the spool folder should be")
    path = tmp_path / "records.sqlite"
    FactoryRecords(path).all()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    job = FlashJob(bundle, [devices[0].path], Station("op", "line-1"), records_store(path),
                   OPTIONS)
    try:
        with caplog.at_level(logging.ERROR):
            [outcome] = job.run()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert outcome.result == "ok" and thread_errors == []
    [said] = [r for r in caplog.records if "record was not kept" in r.getMessage()]
    assert devices[0].path in said.getMessage() and "\n" not in said.getMessage()
    assert said.exc_info is None


def test_a_failing_outcome_callback_never_escapes_the_gang_thread(
        caplog: pytest.LogCaptureFixture, thread_errors: list[threading.ExceptHookArgs]) -> None:
    def runner(port: str, _progress: object, _cancel: threading.Event) -> FlashOutcome:
        return FlashOutcome(port, "ok", 10, 0.01, None)

    def broken(_outcome: FlashOutcome) -> None:
        raise OSError(28, "No space left on device")

    gang = GangFlash(["a", "b"], Bundle.from_bytes(app_update(3, IMAGE, uri=URI).envelope(),
                                                   {URI: IMAGE}), runner=runner)
    with caplog.at_level(logging.ERROR):
        outcomes = gang.run(on_outcome=broken)
    assert [o.result for o in outcomes] == ["ok", "ok"] and thread_errors == []
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 2 and all("No space left on device" in m and "\n" not in m for m in said)


STATIONS = 8
ATTEMPTS = 40


def _attempt(station: str, i: int) -> AttemptRecord:
    return AttemptRecord(1_700_000_000.0 + i, 0.1, f"port-{i}", f"{i:08x}", "app.suit", "ab" * 32,
                         7, "ok", None, 1024, 1, "op", station)


def _station(path: Path, name: str, go: threading.Event) -> None:
    store = FactoryRecords(path)
    go.wait()
    for i in range(ATTEMPTS):
        store.append(_attempt(name, i), str(uuid.uuid4()))


def test_eight_station_processes_writing_one_file_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "records.sqlite"
    context = multiprocessing.get_context("fork")
    go = context.Event()
    stations = [context.Process(target=_station, args=(path, f"st-{n}", go))
                for n in range(STATIONS)]
    for station in stations:
        station.start()
    began = time.monotonic()
    go.set()
    for station in stations:
        station.join(timeout=60)
    assert [s.exitcode for s in stations] == [0] * STATIONS  # no station gave up
    rows = FactoryRecords(path).all()
    assert len(rows) == STATIONS * ATTEMPTS
    for n in range(STATIONS):
        assert sorted(r.port for r in rows if r.station == f"st-{n}") == \
            sorted(f"port-{i}" for i in range(ATTEMPTS))
    assert time.monotonic() - began < 30
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
