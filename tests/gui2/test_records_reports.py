"""The records panel shows each attempt's SUIT report (issue 14): a column with whether it
verified and its result, and the decoded report of the selected attempt. Real flashes over
the real protocol to a keyed virtual device, recorded in the factory records."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from flasher.loader.device import DeviceConfig
from flasher.operations import Bundle, FlashOptions
from flasher.records import FactoryRecords
from gui.records_panel import REPORT_COLUMN, RecordsPanel
from gui.workers import JobRunner
from suit.keys import TrustAnchor
from tests.flasher.conftest import ServedDevice
from tests.flasher.device.conftest import image_of
from testsupport.envelopes import CLASS_ID, VENDOR_ID, app_update, new_key_pem, spec_public_pem
from workbench import flashing

URI = "http://example.com/app.bin"
IMAGE = image_of(4 * 1024, seed=7)
DEVICE_PRIVATE, DEVICE_PUBLIC = new_key_pem()
STRANGER_PRIVATE, _ = new_key_pem()


@pytest.fixture
def keyed(data_dir, tmp_path) -> Iterator[ServedDevice]:  # type: ignore[no-untyped-def]
    config = DeviceConfig(state_dir=tmp_path / "device", vendor_id=VENDOR_ID,
                          class_id=CLASS_ID, trust_anchors=[spec_public_pem()])
    served = ServedDevice(replace(config, device_key=DEVICE_PRIVATE))
    served.start()
    yield served
    served.stop()
    served.pty.close()


def _flash(port: str, envelope: bytes) -> str:
    job = flashing.FlashJob(Bundle.from_bytes(envelope, {URI: IMAGE}), [port],
                            flashing.Station("op", "bench"),
                            FactoryRecords(flashing.records_path()),
                            FlashOptions(want_report=True,
                                         device_key=TrustAnchor.from_pem(DEVICE_PUBLIC)))
    [outcome] = job.run()
    return outcome.result


def test_records_panel_shows_each_attempts_report(qtbot, keyed: ServedDevice) -> None:  # type: ignore[no-untyped-def]
    assert _flash(keyed.path, app_update(1, IMAGE, uri=URI).envelope()) == "ok"
    assert _flash(keyed.path, app_update(2, IMAGE, uri=URI, vendor=b"\x11" * 16)
                  .envelope()) == "refused"
    assert _flash(keyed.path, app_update(3, IMAGE, uri=URI, key_pem=STRANGER_PRIVATE)
                  .envelope()) == "refused"
    runner = JobRunner()
    panel = RecordsPanel(runner)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.loaded, timeout=20000):
        panel.refresh()
    table = panel.factory
    column = table.model.columnCount() - 1
    assert table.model.headerData(column, _horizontal()) == REPORT_COLUMN
    cells = [table.proxy.index(r, column).data() for r in range(table.proxy.rowCount())]
    assert cells == ["verified: success", "verified: condition-failed",
                     "verified: unauthorised"]
    assert panel.factory.details is not None
    table.select_row(1)
    details = panel.factory.details.toPlainText().splitlines()
    assert details[0] == "SUIT report verified"
    # shared-sequence[1] (suit-common) is vendor-identifier: the failing command, its
    # component and the reason; the records the reporting policy asked for follow.
    assert "result: condition-failed at common[1], component 0" in details
    assert any(line.startswith("record common[1], component 0") for line in details)
    table.select_row(2)
    assert "result: unauthorised at common[0], component 0" in \
        panel.factory.details.toPlainText()
    assert "no records" in panel.factory.details.toPlainText()
    table.select_row(0)
    assert "result: success" in panel.factory.details.toPlainText()
    # The export is still exactly the factory columns.
    assert "SUIT report" not in table.csv_text().splitlines()[0]


def _horizontal():  # type: ignore[no-untyped-def]
    from PySide6.QtCore import Qt
    return Qt.Orientation.Horizontal
