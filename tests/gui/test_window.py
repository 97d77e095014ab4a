"""The window around the views: item models under pytest-qt's model tester, the unsaved-
changes prompt, recent files and settings across windows, shortcuts, the error presenter,
the diff view, the graph (drag to relate, selection everywhere), and worker progress."""

from __future__ import annotations

import hashlib

import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from gui.app import build_window
from gui.authoring.graph import NodeKey
from gui.authoring.session import ImageCache, preview_project, snapshot
from gui.settings import Settings
from gui.workers import JobRunner
from tests.fixtures.vectors import MANIFEST_SPEC
from tests.gui.test_authoring import drag_from_palette, new_project
from workbench.project.projectfile import load_project
from workbench.project.templates import create_project


@pytest.fixture
def window(qtbot):
    win = build_window()
    win.show()
    yield win
    win.workspace.mark_saved()
    win.close()
    win.runner.wait()
    win.deleteLater()


def test_every_item_model_passes_the_model_tester(qtbot, window, tmp_path, qtmodeltester):
    new_project(qtbot, window, tmp_path / "release")
    parts = window.authoring
    parts.add_component()
    qtmodeltester.check(parts.components)
    qtmodeltester.check(parts.palette.model())
    drag_from_palette(window, "vendor-identifier", "install")
    for model in parts.sequences.models.values():
        qtmodeltester.check(model)
    with qtbot.waitSignal(window.diff.compared, timeout=10000):
        window.diff.compare(str(MANIFEST_SPEC / "example4.cbor"), str(MANIFEST_SPEC / "example5.cbor"))
    qtmodeltester.check(window.diff.model)


def _answer_question(button):
    """Answer the next modal question box with `button` once it is shown."""
    def answer():
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            box.button(button).click()
        else:
            QTimer.singleShot(20, answer)
    QTimer.singleShot(20, answer)


def test_unsaved_changes_prompt_cancel_keeps_the_window_and_save_writes(qtbot, window, tmp_path):
    new_project(qtbot, window, tmp_path / "release")
    window.authoring.add_component()
    assert window.workspace.dirty and window.isWindowModified()
    _answer_question(QMessageBox.StandardButton.Cancel)
    assert not window.close()
    assert window.isVisible()
    _answer_question(QMessageBox.StandardButton.Save)
    assert window.close()
    saved = load_project(tmp_path / "release" / "project.toml")
    assert [c.name for c in saved.components] == ["app", "component1"]


def test_recent_files_and_layout_persist_in_settings(qtbot, window, data_dir):
    with qtbot.waitSignal(window.inspector.loaded, timeout=10000):
        window.open_envelope(MANIFEST_SPEC / "example1.cbor")
    window.close()
    settings = Settings()
    assert settings.recent_files()[0].endswith("example1.cbor")
    geometry, state = settings.window_state()
    assert geometry is not None and state is not None
    assert (data_dir / "suit-workbench.ini").is_file()
    second = build_window()
    second._fill_recent()
    assert [a.text() for a in second.recent_menu.actions()][0] == "example1.cbor"
    second.deleteLater()


def test_shortcuts_switch_views_and_undo(qtbot, window, tmp_path):
    new_project(qtbot, window, tmp_path / "release")
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, Qt.Key.Key_4, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.tabText(window.tabs.currentIndex()) == "Inspector"
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.tabText(window.tabs.currentIndex()) == "Components"
    window.authoring.add_component()
    assert len(window.workspace.project.components) == 2
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(window.workspace.project.components) == 1
    qtbot.keyClick(window, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert len(window.workspace.project.components) == 2


def test_error_presenter_shows_the_hint(qtbot, window, tmp_path):
    bad = tmp_path / "bad.suit"
    bad.write_bytes(b"\xd8\x6b\xa1\x02")  # tag 107, a map promising a member it lacks
    with qtbot.waitSignal(window.errors.presented, timeout=10000) as shown:
        window.open_envelope(bad)
    record = shown.args[0]
    assert record.title == "Could not inspect the envelope"
    assert "truncated" in record.message
    assert window.errors.box.isVisible()
    assert window.errors.box.text() == record.message
    with qtbot.waitSignal(window.errors.presented, timeout=10000) as shown:
        window.authoring.open_project(tmp_path / "missing.toml")
    assert shown.args[0].hint == "Give the path of a project.toml file."
    assert window.errors.box.informativeText() == shown.args[0].hint


def test_diff_view_shows_structural_changes_side_by_side(qtbot, window):
    with qtbot.waitSignal(window.diff.compared, timeout=10000):
        window.diff.set_file(0, MANIFEST_SPEC / "example0.cbor")
        window.diff.set_file(1, MANIFEST_SPEC / "example1.cbor")
    model = window.diff.model
    rows = [[model.index(r, c).data() for c in range(4)] for r in range(model.rowCount())]
    assert ["manifest", "sequence-number", "0", "1"] in rows
    assert ["commands", "install", "—", "3 commands"] in rows
    assert "1 changed" not in window.diff.summary.text()
    assert window.diff.summary.text().startswith("example0.cbor → example1.cbor:")


def test_graph_drag_relates_components_and_selection_is_shared(qtbot, window, tmp_path):
    new_project(qtbot, window, tmp_path / "release")
    parts = window.authoring
    parts.add_component()
    window.show_view("graph")
    view = parts.graph.view
    qtbot.waitUntil(lambda: NodeKey("component", "component1") in view.graph.nodes)
    source = view.graph.nodes[NodeKey("component", "component1")]
    target = view.graph.nodes[NodeKey("component", "app")]
    start = view.mapFromScene(source.anchor())
    end = view.mapFromScene(target.anchor())
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(view.viewport(), QPoint((start.x() + end.x()) // 2, start.y()))
    qtbot.mouseMove(view.viewport(), end)
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=end)
    assert window.workspace.project.component("component1").load_from == "app"
    assert ("component1", "app", "loaded from") in [
        (a.name, b.name, label) for a, b, label in view.graph.edges]
    # Selecting the node (the click) selected the component in the table and the editor.
    assert window.workspace.selection[0] == "component"
    window.workspace.select("component", "app")
    assert view.graph.nodes[NodeKey("component", "app")].isSelected()
    assert parts.components_view.currentIndex().row() == 0
    assert parts.editor.component_name.text() == "app"
    window.workspace.undo_stack.undo()
    assert window.workspace.project.component("component1").load_from is None


def test_graph_drag_from_manifest_to_an_available_envelope_adds_a_dependency(qtbot, window, tmp_path):
    new_project(qtbot, window, tmp_path / "release")
    deps = tmp_path / "release" / "deps"
    deps.mkdir()
    (deps / "radio.suit").write_bytes((MANIFEST_SPEC / "example1.cbor").read_bytes())
    window.show_view("graph")
    view = window.authoring.graph.view
    view.refresh()
    manifest = NodeKey("manifest", "single-mcu")
    available = NodeKey("available", "deps/radio.suit")
    assert available in view.graph.nodes
    assert view.relate(manifest, available)
    dependency = window.workspace.project.dependencies[0]
    assert (dependency.name, dependency.envelope) == ("radio", "deps/radio.suit")
    assert NodeKey("dependency", "radio") in view.graph.nodes
    window.workspace.select("dependency", "radio")
    assert view.graph.nodes[NodeKey("dependency", "radio")].isSelected()
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert window.workspace.project.dependencies == []
    window.workspace.undo_stack.undo()
    assert window.workspace.project.dependencies[0].name == "radio"


def test_preview_hashes_images_in_a_worker_with_progress(qtbot, tmp_path):
    project = load_project(create_project("single-mcu", tmp_path / "p"))
    big = tmp_path / "p" / "images" / "app-slot-a.bin"
    big.write_bytes(bytes(range(256)) * (12 * 4096))  # 12 MiB: several progress reports
    runner = JobRunner()
    reports = []
    job = runner.submit(preview_project, snapshot(project), ImageCache(), title="preview")
    job.progressed.connect(lambda done, total, what: reports.append((done, total, what)))
    with qtbot.waitSignal(job.succeeded, timeout=30000) as result:
        pass
    preview = result.args[0]
    hashing = [r for r in reports if r[2] == "hashing images/app-slot-a.bin"]
    assert len(hashing) >= 2 and hashing[-1][0] == hashing[-1][1] == big.stat().st_size
    assert preview.images["app[0]"].digest.value == hashlib.sha256(big.read_bytes()).digest()
    assert preview.result is not None and preview.error is None


def test_explorer_follows_renames_and_selects_everywhere(qtbot, window, tmp_path):
    new_project(qtbot, window, tmp_path / "release")
    parts = window.authoring
    parts.add_component()
    from tests.gui.test_authoring import type_into
    type_into(qtbot, parts.editor.component_name, "radio")
    assert window.workspace.project.components[1].name == "radio"
    labels = [i.text(0) for i in parts.explorer._items()]
    assert "radio" in labels and "component1" not in labels
    item = next(i for i in parts.explorer._items() if i.text(0) == "Application")
    parts.explorer.setCurrentItem(item)
    assert window.workspace.selection == ("component", "app")
    assert parts.components_view.currentIndex().row() == 0
    window.workspace.undo_stack.undo()
    assert "component1" in [i.text(0) for i in parts.explorer._items()]
