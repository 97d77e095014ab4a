"""Factory records written before issue 13 gain the SMP columns on first use (issue 13)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from flasher.records import AttemptRecord, FactoryRecords

_OLD_SCHEMA = """CREATE TABLE attempts (id INTEGER PRIMARY KEY AUTOINCREMENT, started REAL NOT NULL,
seconds REAL NOT NULL, port TEXT NOT NULL, device_id TEXT, bundle TEXT NOT NULL,
bundle_digest TEXT NOT NULL, sequence_number INTEGER, result TEXT NOT NULL, reason TEXT,
bytes INTEGER NOT NULL, sessions INTEGER NOT NULL, operator TEXT NOT NULL,
station TEXT NOT NULL)"""


def test_an_older_database_keeps_its_rows_and_takes_smp_records(tmp_path: Path) -> None:
    path = tmp_path / "records.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(_OLD_SCHEMA)
        db.execute("INSERT INTO attempts (started, seconds, port, bundle, bundle_digest, result, "
                   "bytes, sessions, operator, station) VALUES (1.0, 2.0, '/dev/ttyACM0', "
                   "'a.suit', 'ff', 'ok', 10, 1, 'alice', 'st')")
    records = FactoryRecords(path)
    smp = AttemptRecord(3.0, 4.0, "/dev/ttyACM1", None, "a.suit", "ff", 3, "failed",
                        "not booted", 4096, 1, "bob", "st", protocol="smp",
                        device_kind="MPS2", host_checks="skipped", image_version="1.0.3",
                        image_hash="ab" * 32, image_match=False, running_version=None)
    records.append(smp)
    old, new = records.all()
    assert old.port == "/dev/ttyACM0" and old.protocol is None and old.image_match is None
    assert new == smp and new.image_match is False
    header, _old_row, new_row = records.export_csv().splitlines()
    assert header.endswith("protocol,device_kind,host_checks,image_version,image_hash,"
                           "image_match,running_version,report,report_verified,report_result")
    assert new_row.endswith(f"smp,MPS2,skipped,1.0.3,{'ab' * 32},False,,,,")
