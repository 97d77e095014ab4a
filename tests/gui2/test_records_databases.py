"""The records panel against either backend (issue 18): the Databases fields name a file or a
DSN (kept in the settings, never with a password), the factory records filter by station,
operator, release and device, and CSV export gives what the filter shows."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from flasher.records import AttemptRecord, open_records
from gui.records_panel import RecordsPanel, StorageTargetError
from gui.settings import Settings
from gui.workers import JobRunner
from signing.audit import AUDIT_ENV, SigningAuditLog, new_record
from workbench import flashing

ROWS = [
    AttemptRecord(1_700_000_000.0 + i, 1.0, f"/dev/pts/{i}", f"dev{i:04d}", f"app-{release}.suit",
                  f"{release}" * 64, release, "ok", None, 100, 1, operator, station)
    for i, (station, operator, release) in enumerate([
        ("line-1", "alice", 3), ("line-1", "bob", 4), ("line-2", "alice", 4), ("line-2", "carol", 3)])
]


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    saved = {k: os.environ.get(k) for k in (flashing.RECORDS_ENV, AUDIT_ENV)}
    yield (str(tmp_path / "records.sqlite") if request.param == "sqlite"
           else request.getfixturevalue("postgres_dsn"))
    for key, value in saved.items():  # the panel sets them for the process
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def test_filters_and_export_against_both_backends(qtbot, target: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = open_records(target if target.startswith("postgresql") else Path(target))
    for row in ROWS:
        store.append(row)
    audit_target = target if target.startswith("postgresql") else str(tmp_path / "audit.sqlite")
    SigningAuditLog(audit_target).append(new_record(
        key_reference="k", kid=b"k", algorithm="ESP256", manifest_digest=bytes(32),
        sequence_number=4, output_path="/o", output=b"x", operator="alice"))
    settings = Settings(str(tmp_path / "gui.ini"))
    panel = RecordsPanel(JobRunner(), settings=settings)
    qtbot.addWidget(panel)
    panel.records_field.setText(target)
    panel.audit_field.setText(audit_target)
    with qtbot.waitSignal(panel.loaded, timeout=20000):
        assert panel.use_databases()
    assert settings.records_target() == target and settings.audit_target() == audit_target
    assert panel.audit.model.rowCount() == 1
    table = panel.factory
    assert len(table.visible_rows()) == 4
    filters = table.column_filters
    filters["station"].setText("line-2")
    assert {r[12] for r in table.visible_rows()} == {"line-2"} and len(table.visible_rows()) == 2
    filters["operator"].setText("ALICE")
    assert [r[3] for r in table.visible_rows()] == ["dev0002"]
    filters["station"].clear()
    filters["release"].setText("app-3")
    assert sorted(r[3] for r in table.visible_rows()) == ["dev0000"]
    filters["operator"].clear()
    filters["device"].setText("dev0003")
    assert [r[4] for r in table.visible_rows()] == ["app-3.suit"]
    panel.tabs.setCurrentWidget(table)
    out = panel.export(tmp_path / "filtered.csv")
    assert out is not None
    exported = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [(r["device_id"], r["station"], r["operator"]) for r in exported] == \
        [("dev0003", "line-2", "carol")]


def test_a_dsn_with_a_password_is_not_kept(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(str(tmp_path / "gui.ini"))
    panel = RecordsPanel(JobRunner(), settings=settings)
    qtbot.addWidget(panel)
    panel.records_field.setText("postgresql://u:Secret-77@127.0.0.1/db")
    with qtbot.waitSignal(panel.failed) as failed:
        assert not panel.use_databases()
    assert isinstance(failed.args[0], StorageTargetError) and "Secret-77" not in str(failed.args[0])
    settings.sync()
    ini = tmp_path / "gui.ini"
    assert settings.records_target() == "" and (not ini.exists() or "Secret-77" not in ini.read_text())
