"""The flash panel: four virtual devices flashed at once (four progress bars, four
results, four factory records), cancel and retry-failed on a paced line, and the port
list following hot-plug."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import serial
from PySide6.QtCore import Qt

from flasher.ports import PortInfo
from flasher.records import FactoryRecords
from gui.release_panels import ReleasePanels
from tests.gui2.steps import TIMEOUT, build, flash_selected, result_column, sign_with_demo_pin
from workbench import flashing
from workbench.demo import DemoDevice


def test_four_devices_at_once_show_four_bars_and_four_results(qtbot, parts: ReleasePanels,
                                                            tmp_path: Path) -> None:
    ports = [parts.flash.selected_ports()[0]]
    ports += [parts.start_device(tmp_path / f"device-{n}") for n in range(3)]
    build(qtbot, parts)
    sign_with_demo_pin(qtbot, parts)
    parts.flash.select_ports(ports)
    assert parts.flash.selected_ports() == sorted(ports, key=[p.device for p in parts.flash.ports].index)
    seen: dict[str, int] = {}
    parts.flash.progressed.connect(lambda p: seen.__setitem__(p.port, seen.get(p.port, 0) + 1))
    outcomes = flash_selected(qtbot, parts)
    assert sorted(o.port for o in outcomes) == sorted(ports)
    assert [o.result for o in outcomes] == ["ok"] * 4
    # One bar per device, each driven by its own device's reports, each full.
    assert sorted(parts.flash.bars) == sorted(ports) and set(seen) == set(ports)
    for port, bar in parts.flash.bars.items():
        assert parts.flash.runs.cellWidget(parts.flash._row(port), 1) is bar
        assert bar.value() == bar.maximum() > 0
    assert result_column(parts, 5) == ["ok"] * 4
    assert parts.flash.summary.text() == "4 of 4 device(s) updated."
    records = FactoryRecords(flashing.records_path()).all()
    assert sorted(r.port for r in records) == sorted(ports)
    assert len({r.device_id for r in records}) == 4 and {r.result for r in records} == {"ok"}
    # Selecting one device clears the status panel; Read status shows that device's status.
    parts.flash.select_ports([ports[2]])
    assert parts.device.status is None and parts.device.labels["device_id"].text() == "—"
    with qtbot.waitSignal(parts.device.updated, timeout=TIMEOUT) as shown:
        qtbot.mouseClick(parts.device.read_button, Qt.MouseButton.LeftButton)
    [third] = [r for r in records if r.port == ports[2]]
    assert shown.args[0]["device_id"] == third.device_id
    assert parts.device.labels["device_id"].text() == third.device_id


def test_cancel_then_retry_the_failed_device(qtbot, parts: ReleasePanels, tmp_path: Path, ticks) -> None:
    build(qtbot, parts)
    sign_with_demo_pin(qtbot, parts)
    # A device on a paced line (19200 baud, flash in real time), so there is time to cancel.
    spec = dataclasses.replace(parts.demo.device_spec(tmp_path / "slow"), baud=19200)
    slow = DemoDevice(spec)
    parts.devices.append(slow)
    port = slow.start()
    parts.flash.add_virtual(port, "paced virtual device")
    parts.flash.select_ports([port])
    ticks.start()
    with qtbot.waitSignal(parts.flash.progressed, timeout=TIMEOUT,
                          check_params_cb=lambda p: p.bytes_done > 0):
        qtbot.mouseClick(parts.flash.flash_button, Qt.MouseButton.LeftButton)
    assert parts.flash.cancel_button.isEnabled()
    with qtbot.waitSignal(parts.flash.flashed, timeout=TIMEOUT) as flashed:
        qtbot.mouseClick(parts.flash.cancel_button, Qt.MouseButton.LeftButton)
    [cancelled] = flashed.args[0]
    assert cancelled.result == "cancelled" and result_column(parts, 5) == ["cancelled"]
    assert parts.flash.retry_button.isEnabled()
    with qtbot.waitSignal(parts.flash.flashed, timeout=TIMEOUT) as flashed:
        qtbot.mouseClick(parts.flash.retry_button, Qt.MouseButton.LeftButton)
    [retried] = flashed.args[0]
    ticks.stop()
    # About two seconds of flashing on a paced line: the event loop kept its 10 ms pulse.
    elapsed = ticks.times[-1] - ticks.times[0]
    assert elapsed > 0.5 and len(ticks.times) >= 0.3 * elapsed / 0.010, (len(ticks.times), elapsed)
    assert ticks.longest_gap < 0.2, ticks.longest_gap
    assert (retried.port, retried.result) == (port, "ok")
    assert [r.result for r in FactoryRecords(flashing.records_path()).all()] == ["cancelled", "ok"]


def test_port_list_follows_hot_plug_and_keeps_the_selection(qtbot, parts: ReleasePanels,
                                                            monkeypatch) -> None:
    # No USB device can be plugged in on this machine, so the OS listing is replaced by
    # one that changes; the panel's polling, diffing and selection are real.
    plugged: list[PortInfo] = []
    monkeypatch.setattr("gui.flash_panel.list_serial_ports", lambda: list(plugged))
    [virtual] = parts.flash.selected_ports()
    plugged.append(PortInfo("/dev/ttyACM7", "Nordic nRF52840 DK", 0x1915, 0x520F, "E1A2B3"))
    qtbot.waitUntil(lambda: len(parts.flash.ports) == 2, timeout=5000)  # the 2 s poll
    table = parts.flash.port_table
    assert [table.item(1, c).text() for c in range(4)] == ["/dev/ttyACM7", "Nordic nRF52840 DK",
                                                           "1915:520f", "E1A2B3"]
    assert table.item(0, 0).text() == virtual and parts.flash.selected_ports() == [virtual]
    plugged.clear()
    parts.flash.scan_ports()
    qtbot.waitUntil(lambda: len(parts.flash.ports) == 1, timeout=5000)
    assert parts.flash.selected_ports() == [virtual]


def test_a_port_another_program_holds_shows_the_busy_hint(qtbot, parts: ReleasePanels) -> None:
    build(qtbot, parts)
    sign_with_demo_pin(qtbot, parts)
    [port] = parts.flash.selected_ports()
    holder = serial.Serial(port, exclusive=True)  # another program has the port open
    try:
        with qtbot.waitSignal(parts.flash.flashed, timeout=TIMEOUT) as flashed:
            qtbot.mouseClick(parts.flash.flash_button, Qt.MouseButton.LeftButton)
    finally:
        holder.close()
    [outcome] = flashed.args[0]
    assert outcome.result == "failed" and "lock" in outcome.reason.lower()
    shown = parts.window.errors.last
    assert shown is not None and port in shown.message
    assert shown.hint.startswith("Another program has the port open")
    assert result_column(parts, 5) == ["failed"] and parts.flash.retry_button.isEnabled()



def test_a_missing_bundle_is_reported_and_the_panel_stays_usable(qtbot, parts: ReleasePanels,
                                                                 tmp_path: Path) -> None:
    parts.flash.bundle.setText(str(tmp_path / "nothing-here.suit"))
    with qtbot.waitSignal(parts.flash.failed, timeout=TIMEOUT):
        qtbot.mouseClick(parts.flash.flash_button, Qt.MouseButton.LeftButton)
    shown = parts.window.errors.last
    assert shown is not None and shown.title == "Could not flash"
    assert "nothing-here.suit" in shown.message and shown.hint
    qtbot.waitUntil(lambda: parts.flash.job is None, timeout=TIMEOUT)
    assert parts.flash.flash_button.isEnabled() and not parts.flash.cancel_button.isEnabled()


def test_the_demo_device_stops_with_the_workspace(parts: ReleasePanels) -> None:
    [device] = parts.devices
    path = device.path
    assert path is not None and Path(path).exists()
    parts.shutdown()
    assert device.path is None and path not in [p.device for p in parts.flash.ports]
    assert not Path(path).exists()  # the pseudo-terminal is gone with the device
