"""Issue 17, the window around a project: a lint error blocks Build until the person says
"Build anyway"; New project, Save, Build, Sign and Export say what they did in the status
bar; the title names the open project's path; the sign and flash panels follow the project
that is open. Real window, real clicks and keys."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from tests.gui2.steps import TIMEOUT
from workbench.project.commands import AddComponent
from workbench.project.model import Component, Image


def _gate(qtbot, window) -> QMessageBox:  # type: ignore[no-untyped-def]
    window.activateWindow()  # back from the message box: shortcuts go to the active window
    qtbot.waitUntil(window.isActiveWindow, timeout=TIMEOUT)
    qtbot.keyClick(window, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)  # Build ▸ Build
    qtbot.waitUntil(lambda: window.authoring.build_gate is not None
                    and window.authoring.build_gate.isVisible(), timeout=TIMEOUT)
    return window.authoring.build_gate


def test_a_lint_error_blocks_build_unless_build_anyway(qtbot, window, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window.authoring.new_project("single-mcu", tmp_path / "p")
    assert f"Created {tmp_path / 'p' / 'project.toml'}" in window.statusBar().currentMessage()
    # An image the device has no way to fetch (no uri, not integrated): SUIT004, an error.
    window.workspace.push(AddComponent(Component(name="extra", id=["h'05'"],
                                                 image=Image(file="images/app-slot-a.bin"))))
    target = window.authoring.session.build_path()
    gate = _gate(qtbot, window)
    assert "1 lint error" in gate.text() and "SUIT004" in gate.informativeText()
    qtbot.mouseClick(gate.button(QMessageBox.StandardButton.Cancel), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Not built" in window.statusBar().currentMessage(), timeout=TIMEOUT)
    assert not target.exists()
    window.authoring.build_gate = None
    gate = _gate(qtbot, window)
    [anyway] = [b for b in gate.buttons() if b.text() == "Build anyway"]
    with qtbot.waitSignal(window.authoring.session.built, timeout=TIMEOUT):
        qtbot.mouseClick(anyway, Qt.MouseButton.LeftButton)
    assert target.exists()
    assert window.statusBar().currentMessage().startswith(f"Built {target}")


def test_a_clean_project_builds_without_asking(qtbot, window, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window.authoring.new_project("single-mcu", tmp_path / "p")
    with qtbot.waitSignal(window.authoring.session.built, timeout=TIMEOUT):
        qtbot.keyClick(window, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    assert window.authoring.build_gate is None


def test_title_status_and_panels_follow_the_open_project(qtbot, window, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    parts = window.release_panels
    for name in ("first", "second"):
        window.authoring.new_project("single-mcu", tmp_path / name)
        path = tmp_path / name / "project.toml"
        assert str(path) in window.windowTitle()
        built = tmp_path / name / "build" / "single-mcu.suit"
        assert parts.signing.source.text() == str(built)
        assert parts.signing.output.text() == str(built.with_name("single-mcu-signed.suit"))
        assert parts.flash.bundle.text() == parts.signing.output.text()
    window.workspace.project.sequence_number = 5
    window.workspace.push(AddComponent(Component(name="cfg", id=["h'01'"], content="h'00'")))
    assert window.isWindowModified()
    qtbot.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert window.statusBar().currentMessage() == f"Saved {tmp_path / 'second' / 'project.toml'}"
    assert not window.isWindowModified()
