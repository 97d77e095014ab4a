"""The flash and device status panels with an SMP device (issue 13, GUI): Zephyr's SMP
server as a Linux program (native_sim, no image management) on a real pty."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flasher.records import FactoryRecords
from gui.device_panel import DevicePanel
from gui.flash_panel import FlashPanel
from gui.workers import JobRunner
from tests.fixtures.firmware import require_firmware
from tests.gui2.steps import TIMEOUT
from testsupport import firmware
from testsupport.smpdevices import NativeSimDevice
from workbench import flashing


@pytest.fixture
def smp_server(tmp_path: Path) -> Iterator[NativeSimDevice]:
    """As tests/fixtures/firmware.native_sim (not imported: a fixture parameter would
    shadow the import)."""
    folder = require_firmware(firmware.NATIVE_SIM_FS)
    device = NativeSimDevice(tmp_path / "native_sim", folder / firmware.NATIVE_SIM_FS)
    device.start()
    try:
        yield device
    finally:
        device.stop()


@pytest.fixture
def runner() -> Iterator[JobRunner]:
    jobs = JobRunner()
    yield jobs
    jobs.wait(10000)


def test_device_panel_shows_an_smp_device(qtbot, runner: JobRunner,  # type: ignore[no-untyped-def]
                                          smp_server: NativeSimDevice) -> None:
    panel = DevicePanel(runner)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.updated, timeout=TIMEOUT) as shown:
        panel.show_port(smp_server.pty)
    assert shown.args[0]["protocol"] == "smp"
    assert panel.labels["port"].text() == f"{smp_server.pty} (SMP, application)"
    assert "no image management" in panel.labels["last_result"].text()
    assert panel.components.horizontalHeaderItem(1).text() == "Version"


def test_flash_panel_refuses_an_smp_device_without_a_profile_and_records_it(
        qtbot, runner: JobRunner, smp_server: NativeSimDevice,  # type: ignore[no-untyped-def]
        tmp_path: Path) -> None:
    (tmp_path / "b.suit").write_bytes(b"\xd8\x6b\xa0")
    panel = FlashPanel(runner, list)
    qtbot.addWidget(panel)
    panel.bundle.setText(str(tmp_path / "b.suit"))
    with qtbot.waitSignal(panel.flashed, timeout=TIMEOUT) as flashed:
        panel.flash([smp_server.pty])
    [outcome] = flashed.args[0]
    assert outcome.result == "refused" and outcome.protocol == "smp"
    assert "device profile" in (outcome.reason or "")
    assert panel.runs.item(0, 5).text() == "refused"
    assert panel.runs.item(0, 8).text() == "SMP application, host checks refused"
    [record] = FactoryRecords(flashing.records_path()).all()
    assert record.protocol == "smp" and record.host_checks == "refused"
