"""Issue 17, the window: Help (documentation pages, keyboard shortcuts, About with the
versions a bug report needs), View > Reset layout, a tooltip on every control of every
panel, and quitting after "Discard" without a traceback."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QTableWidget, QTextBrowser

from gui.about import about_text, doc_pages
from gui.release_panels import ReleasePanels
from gui.tooltips import controls_without_tooltip
from tests.gui2.steps import TIMEOUT

ROOT = Path(__file__).resolve().parents[2]


def _action(menu, text: str):  # type: ignore[no-untyped-def]
    return next(a for a in menu.actions() if a.text().replace("&", "") == text)


def test_help_menu_opens_the_documentation_and_the_shortcuts(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    docs = _action(window.help_menu, "Documentation").menu()
    titles = [a.text() for a in docs.actions()]
    assert len(titles) == len(list((ROOT / "docs").glob("*.md"))) >= 5
    title = next(t for t, p in doc_pages() if p.name == "project-format.md")
    _action(docs, title).trigger()
    dialog = window.findChild(QDialog, "doc-dialog")
    qtbot.waitUntil(dialog.isVisible, timeout=TIMEOUT)
    assert dialog.windowTitle() == "project-format.md"
    assert "vendor" in dialog.findChild(QTextBrowser, "doc-page").toPlainText().lower()
    dialog.close()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=TIMEOUT)
    qtbot.keyClick(window, Qt.Key.Key_Slash, Qt.KeyboardModifier.ControlModifier)
    shortcuts = window.findChild(QDialog, "shortcuts-dialog")
    qtbot.waitUntil(lambda: shortcuts is not None and shortcuts.isVisible(), timeout=TIMEOUT)
    table = shortcuts.findChild(QTableWidget, "shortcut-table")
    rows = {table.item(r, 0).text(): table.item(r, 1).text() for r in range(table.rowCount())}
    assert rows["Build envelope"] == "Ctrl+B" and rows["Save project"] == "Ctrl+S"
    assert rows["Keyboard shortcuts"] == "Ctrl+/"


def test_about_names_the_versions_of_what_the_workbench_runs_on() -> None:
    text = about_text()
    for distribution in ("cryptography", "python-pkcs11"):
        assert f"<td>{distribution}</td><td>{metadata.version(distribution)}</td>" in text
    assert "<td>Qt</td>" in text and "<td>SUIT Workbench</td>" in text


def test_reset_layout_brings_the_docks_and_size_back(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    device, lint = window.docks["device"], window.docks["lint"]
    assert not device.isFloating() and device.isVisible()
    device.setFloating(True)
    lint.hide()
    window.resize(900, 600)
    _action(window.view_menu, "Reset layout").trigger()
    assert not device.isFloating() and device.isVisible() and lint.isVisible()
    assert window.dockWidgetArea(device) == Qt.DockWidgetArea.RightDockWidgetArea
    assert (window.width(), window.height()) == (1280, 800)
    assert window.statusBar().currentMessage() == "Layout reset"


def test_every_control_of_every_panel_has_a_tooltip(qtbot, parts: ReleasePanels) -> None:
    window = parts.window
    component = window.workspace.project.components[0].name
    window.workspace.select("component", component)  # the editor shows its fields
    qtbot.wait(50)
    for key in list(window.views):
        window.show_view(key)
    assert controls_without_tooltip(window) == []


def test_quitting_after_discard_prints_no_traceback(tmp_path: Path) -> None:
    script = tmp_path / "discard.py"
    script.write_text(f'''
import os, sys
os.environ["SUITWB_DATA_DIR"] = {str(tmp_path / "data")!r}
from pathlib import Path
from PySide6.QtCore import QTimer, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox
from gui.app import application, build_window
from workbench.project.commands import SetValue
app = application()
window = build_window()
window.show()
window.authoring.new_project("single-mcu", Path({str(tmp_path / "p")!r}))
window.workspace.push(SetValue(("sequence_number",), 9))  # unsaved
def answer():
    box = QApplication.activeModalWidget()
    if not isinstance(box, QMessageBox):
        QTimer.singleShot(50, answer)
        return
    QTest.mouseClick(box.button(QMessageBox.StandardButton.Discard), Qt.MouseButton.LeftButton)
QTimer.singleShot(100, answer)
QTimer.singleShot(0, window.close)
app.exec()
print("closed", file=sys.stderr)  # the window goes with the interpreter, as on Quit
''', encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=60, cwd=ROOT, env={**__import__("os").environ,
                                                     "PYTHONPATH": str(ROOT),
                                                     "QT_QPA_PLATFORM": "offscreen"})
    assert "closed" in done.stderr and done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "Signal source" not in done.stderr, done.stderr
