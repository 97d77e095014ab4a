"""One CSV exporter of factory records (issue 12): `suitwb records export --csv` and the
Records panel's Export CSV give the same text for the same rows."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

from flasher.records import COLUMNS, AttemptRecord, FactoryRecords, attempt_row
from gui.records_panel import FACTORY_COLUMNS, REPORT_COLUMN, RecordTable, _factory_rows

ROOT = Path(__file__).resolve().parents[2]
RECORDS = (
    AttemptRecord(1_700_000_000.5, 2.25, "/dev/pts/3", "ab12", "app.suit", "ff" * 32, 4, "ok",
                  None, 4096, 1, "alice", "bench-1"),
    # A device id of digits with a leading zero: the table shows it as a number, the export
    # must still say "0012".
    AttemptRecord(1_700_000_010.125, 0.5, "/dev/pts/4", "0012", "app, \"v2\".suit", "0" * 64,
                  None, "failed", "no answer\nafter 3 tries", 0, 2, "bob", "bench-1"),
)


def database(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "records.sqlite"
    for record in RECORDS:
        FactoryRecords(path).append(record)
    return path


def test_the_panel_exports_what_the_cli_exports(qtbot, tmp_path: Path) -> None:
    path = database(tmp_path)
    # As the panel builds it: the SUIT report column is shown, never exported.
    table = RecordTable(FACTORY_COLUMNS, shown=[REPORT_COLUMN], details=True)
    qtbot.addWidget(table)
    read = _factory_rows(lambda *_: None, path)
    table.set_rows(read.rows, read.details)
    cli = subprocess.run([sys.executable, "-m", "workbench.cli.main", "records", "export",
                          "--csv", "--db", str(path)], cwd=ROOT, capture_output=True,
                         env={**os.environ, "SUITWB_DATA_DIR": str(tmp_path / "data")},
                         timeout=60, check=False)
    assert cli.returncode == 0, cli.stderr
    assert table.csv_text().encode() == cli.stdout
    rows = list(csv.DictReader(io.StringIO(table.csv_text())))
    assert rows[1]["device_id"] == "0012" and rows[1]["sequence_number"] == ""
    assert rows[1]["started"] == "2023-11-14T22:13:30.125+00:00"
    assert rows[1]["reason"] == "no answer\nafter 3 tries"


def test_the_filter_narrows_the_same_rows(qtbot, tmp_path: Path) -> None:
    table = RecordTable(FACTORY_COLUMNS, shown=[REPORT_COLUMN])
    qtbot.addWidget(table)
    table.set_rows(_factory_rows(lambda *_: None, database(tmp_path)).rows)
    table.filter.setText("bob")
    assert table.visible_rows() == [attempt_row(RECORDS[1])]
    assert table.csv_text().splitlines()[0] == ",".join(COLUMNS)
