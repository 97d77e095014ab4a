"""Issue 17, flash panel and device status: selecting a port never opens it (only Read
status and Flash do); one failure is one message, in the device's row; the status panel
clears when the port changes; a port that does not exist fails at once ("no such port"),
a silent one after the stated bound. Real parts: the demo's virtual device on a pty, a pty
nobody answers on, real mouse clicks on the tables and buttons."""

from __future__ import annotations

import time

import serial
from PySide6.QtCore import Qt

from flasher.loader.serve import PseudoTerminal
from gui.release_panels import ReleasePanels
from tests.gui2.steps import TIMEOUT, build, result_column, sign_with_demo_pin


def _click_port(qtbot, parts: ReleasePanels, port: str) -> None:  # type: ignore[no-untyped-def]
    table = parts.flash.port_table
    row = [p.device for p in parts.flash.ports].index(port)
    rect = table.visualItemRect(table.item(row, 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_selecting_a_port_does_not_open_it_and_read_status_does(qtbot, parts: ReleasePanels,
                                                               tmp_path) -> None:  # type: ignore[no-untyped-def]
    parts.flash.timer.stop()  # no hot-plug rescan reordering rows under the mouse
    first = parts.flash.selected_ports()[0]
    second = parts.start_device(tmp_path / "second")
    _click_port(qtbot, parts, second)
    assert parts.flash.selected_ports() == [second]
    qtbot.wait(300)
    assert not parts.window.runner.busy  # nothing was started for the selection
    # The port is free: another program can take it exclusively right now.
    holder = serial.Serial(second, exclusive=True)
    holder.close()
    assert parts.device.port == second and parts.device.status is None
    assert "press Read status" in parts.device.labels["port"].text()
    with qtbot.waitSignal(parts.device.updated, timeout=TIMEOUT) as shown:
        qtbot.mouseClick(parts.device.read_button, Qt.MouseButton.LeftButton)
    assert parts.device.labels["device_id"].text() == shown.args[0]["device_id"] != "—"
    # Another port: what was shown for the second device is cleared at once.
    _click_port(qtbot, parts, first)
    assert parts.device.status is None and parts.device.labels["device_id"].text() == "—"
    assert parts.device.components.rowCount() == 0 and parts.device.slots.rowCount() == 0


def test_flashing_a_silent_port_is_one_message_in_its_row(qtbot, parts: ReleasePanels) -> None:  # type: ignore[no-untyped-def]
    build(qtbot, parts)
    sign_with_demo_pin(qtbot, parts)
    silent = PseudoTerminal()  # opened, never read: nothing answers
    try:
        parts.flash.add_virtual(silent.path, "a port nobody answers on")
        parts.flash.select_ports([silent.path])
        presented: list[object] = []
        parts.window.errors.presented.connect(presented.append)
        began = time.monotonic()
        with qtbot.waitSignal(parts.flash.flashed, timeout=TIMEOUT):
            qtbot.mouseClick(parts.flash.flash_button, Qt.MouseButton.LeftButton)
        took = time.monotonic() - began
        # The status read after the flash fails too, into the panel, not into a dialog.
        qtbot.waitUntil(lambda: "no status" in parts.device.labels["port"].text(), timeout=TIMEOUT)
        qtbot.wait(200)
    finally:
        silent.close()
    assert took < 6.0, took  # the stated 3 s detection bound, not 30 s of retries
    assert result_column(parts, 5) == ["failed"]
    assert "within 3.0 s" in result_column(parts, 7)[0]
    assert len(presented) == 1, presented
    assert "Another program" not in presented[0].hint  # type: ignore[attr-defined]


def test_a_port_that_does_not_exist_fails_at_once(qtbot, parts: ReleasePanels) -> None:  # type: ignore[no-untyped-def]
    build(qtbot, parts)
    sign_with_demo_pin(qtbot, parts)
    parts.flash.add_virtual("/dev/ttySUITWB-NOPE", "unplugged")
    parts.flash.select_ports(["/dev/ttySUITWB-NOPE"])
    began = time.monotonic()
    with qtbot.waitSignal(parts.flash.flashed, timeout=TIMEOUT):
        qtbot.mouseClick(parts.flash.flash_button, Qt.MouseButton.LeftButton)
    assert time.monotonic() - began < 2.0
    assert result_column(parts, 5) == ["failed"] and "no such port" in result_column(parts, 7)[0]
    shown = parts.window.errors.last
    assert shown is not None and "no such port" in shown.message
