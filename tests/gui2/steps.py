"""The demo's steps as a person takes them, through the widgets."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from gui.release_panels import ReleasePanels

TIMEOUT = 20000  # ms; generous for a shared 2-core machine, never reached when it works


def build(qtbot, parts: ReleasePanels) -> Path:  # type: ignore[no-untyped-def]
    """Build ▸ Build envelope; returns the unsigned envelope."""
    session = parts.window.authoring.session
    with qtbot.waitSignal(session.built, timeout=TIMEOUT) as built:
        parts.window.authoring.build()
    path = Path(built.args[0])
    assert parts.signing.source.text() == str(path)  # the sign panel follows the build
    return path


def sign_typing_pin(qtbot, parts: ReleasePanels, pin: str, *, expect_ok: bool = True) -> None:  # type: ignore[no-untyped-def]
    """Press Sign, type `pin` into the masked PIN dialog, press OK, wait for the end."""
    with qtbot.waitSignal(parts.pins.dialogOpened, timeout=TIMEOUT) as opened:
        qtbot.mouseClick(parts.signing.sign_button, Qt.MouseButton.LeftButton)
    dialog = opened.args[0]
    assert dialog.edit.echoMode() == dialog.edit.EchoMode.Password
    qtbot.keyClicks(dialog.edit, pin)
    left: list[str] = []  # what the field holds once the PIN was handed over
    dialog.finished.connect(lambda _result: left.append(dialog.edit.text()))
    ending = parts.signing.signed if expect_ok else parts.signing.failed
    with qtbot.waitSignal(ending, timeout=TIMEOUT):
        qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Ok),
                         Qt.MouseButton.LeftButton)
    assert left == [""]  # the widget does not keep the PIN


def sign_with_demo_pin(qtbot, parts: ReleasePanels) -> None:  # type: ignore[no-untyped-def]
    """Sign with the demo PIN given in advance (tests about flashing, not PIN entry)."""
    assert parts.demo is not None
    parts.signing.pins = parts.demo.pins()
    try:
        with qtbot.waitSignal(parts.signing.signed, timeout=TIMEOUT):
            qtbot.mouseClick(parts.signing.sign_button, Qt.MouseButton.LeftButton)
    finally:
        parts.signing.pins = parts.pins


def flash_selected(qtbot, parts: ReleasePanels) -> list:  # type: ignore[no-untyped-def]
    """Press Flash and wait for the results and the device status that follows them."""
    with qtbot.waitSignal(parts.flash.flashed, timeout=TIMEOUT) as flashed:
        qtbot.mouseClick(parts.flash.flash_button, Qt.MouseButton.LeftButton)
    # The status read starts when the results arrive; its answer comes later.
    with qtbot.waitSignal(parts.device.updated, timeout=TIMEOUT):
        pass
    return flashed.args[0]


def result_column(parts: ReleasePanels, column: int) -> list[str]:
    """One column of the flash results table."""
    table = parts.flash.runs
    return [table.item(row, column).text() if table.item(row, column) else ""
            for row in range(table.rowCount())]
