"""Screenshots of each part-2 panel after the demo flow, written to artifacts/gui2/
(the docs show the whole window instead: docs/images/window-*.png, tests/gui2/test_view_pictures.py)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from gui.release_panels import ReleasePanels, run_flow
from tests.gui2.steps import TIMEOUT


def _save(widget, path: Path) -> QImage:  # type: ignore[no-untyped-def]
    assert widget.grab().save(str(path), "PNG"), path
    return QImage(str(path))


def test_each_panel_screenshot(qtbot, parts: ReleasePanels, artifacts: Path) -> None:
    assert run_flow(parts, timeout=TIMEOUT / 1000)
    window = parts.window
    window.resize(1280, 800)
    # Opening the demo listed the tokens and chose the demo key in both browsers.
    for browser in (parts.keys.browser, parts.signing.browser):
        token, key = browser.current_key()
        assert (token.label, key.label) == ("operator", "suit-demo-key")
    with qtbot.waitSignal(parts.records.loaded, timeout=TIMEOUT):
        parts.records.refresh()
    with qtbot.waitSignal(parts.records.verified, timeout=TIMEOUT):
        parts.records.verify()
    shots = {}
    for key in ("sign", "keys", "flash", "records"):
        window.show_view(key)
        qtbot.wait(50)
        shots[key] = _save(window.views[key], artifacts / f"panel-{key}.png")
    shots["device"] = _save(window.docks["device"], artifacts / "panel-device.png")
    shots["window"] = _save(window, artifacts / "panel-window.png")
    for name, image in shots.items():
        assert not image.isNull() and image.width() > 200 and image.height() > 150, name
    # What the pictures are meant to show is there when they are taken.
    assert parts.signing.result.text().startswith("Verified")
    assert parts.flash.runs.item(0, 5).text() == "ok"
    assert parts.device.status["last_result"]["result"] == "ok"
    assert parts.records.audit.model.rowCount() == 1
    assert parts.keys.browser.tokens.rowCount() >= 1
    assert window.docks["device"].isVisible() and not window.docks["device"].isFloating()
    assert Qt.DockWidgetArea.RightDockWidgetArea == window.dockWidgetArea(window.docks["device"])
