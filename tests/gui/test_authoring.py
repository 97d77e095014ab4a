"""The acceptance flow, driven through the widgets as a person would: create a project from
the single-MCU template, add a second component with its image, drag a vendor-id condition
into a sequence, undo and redo it, build, and open the result in the inspector. The
assertions are on the built envelope's bytes, decoded by the format core."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QModelIndex, Qt
from PySide6.QtWidgets import QApplication

from gui.app import build_window
from gui.authoring.sequences import COMMAND_MIME, ENTRY_MIME
from suit.codec import decode_envelope
from suit.model import Command, Parameter
from suit.payloads import manifest_sequences


@pytest.fixture
def window(qtbot):
    win = build_window()
    win.show()
    yield win
    # Closed here, not by qtbot.addWidget: pytest-qt closes its widgets before fixture
    # teardown, and a dirty project would then wait on the unsaved-changes question.
    win.workspace.mark_saved()
    win.close()
    win.runner.wait()
    win.deleteLater()


def action(window, text):
    """A menu action by its text (without the & mnemonic)."""
    for menu in window.menuBar().findChildren(type(window.file_menu)):
        for act in menu.actions():
            if act.text().replace("&", "") == text:
                return act
    raise LookupError(text)


def wait_preview(qtbot, window):
    with qtbot.waitSignal(window.authoring.session.previewed, timeout=20000):
        pass


def type_into(qtbot, edit, text):
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, text)
    qtbot.keyClick(edit, Qt.Key.Key_Return)


def new_project(qtbot, window, folder):
    action(window, "New project from template…").trigger()
    dialog = window.new_project_dialog
    dialog.template.setCurrentIndex(dialog.template.findData("single-mcu"))
    dialog.folder.setText(str(folder))
    with qtbot.waitSignal(window.authoring.session.previewed, timeout=20000):
        qtbot.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Ok),
                         Qt.MouseButton.LeftButton)


def drag_from_palette(window, command, sequence, row=0):
    parts = window.authoring
    palette = parts.palette.model()
    mime = palette.mimeData([palette.index(palette.row_of(command), 0)])
    assert mime.hasFormat(COMMAND_MIME)
    model = parts.sequences.models[sequence]
    return model.dropMimeData(mime, Qt.DropAction.CopyAction, row, 0, QModelIndex())


def test_new_user_flow_from_template_to_inspector(qtbot, window, tmp_path):
    parts = window.authoring
    new_project(qtbot, window, tmp_path / "release")
    assert window.workspace.project.name == "single-mcu"
    assert parts.components.rowCount() == 1

    # A second component with its image (the person saved the image in the project).
    image = (tmp_path / "release" / "images" / "radio.bin")
    image.write_bytes(bytes(range(256)) * 40)
    qtbot.mouseClick(parts.add_button, Qt.MouseButton.LeftButton)
    assert parts.components.rowCount() == 2
    assert parts.editor.name == "component1"
    type_into(qtbot, parts.editor.image_file, "images/radio.bin")
    with qtbot.waitSignal(parts.session.previewed, timeout=20000):
        type_into(qtbot, parts.editor.uri, "https://updates.example.com/radio.bin")
    digest = hashlib.sha256(image.read_bytes()).hexdigest()
    assert parts.components.index(1, 4).data() == str(len(image.read_bytes()))
    assert parts.components.index(1, 5).data() == f"sha256:{digest}"
    assert digest[:20] in parts.editor.image_info.text().replace("sha256:", "")

    # Drag the vendor-id condition into install, undo it, redo it.
    window.show_view("sequences")
    install = parts.sequences.models["install"]
    generated = len(install.entries)
    assert not install.explicit and generated > 0
    assert drag_from_palette(window, "vendor-identifier", "install", row=0)
    assert install.explicit and install.entries[0] == {"vendor-identifier": 15}
    action(window, "Undo Insert condition-vendor-identifier into install").trigger()
    assert not install.explicit
    action(window, "Redo Insert condition-vendor-identifier into install").trigger()
    assert install.entries[0] == {"vendor-identifier": 15}
    assert len(install.entries) == generated + 1

    # Build, then open the result in the inspector.
    with qtbot.waitSignal(parts.session.built, timeout=20000) as built:
        action(window, "Build envelope").trigger()
    data = Path(built.args[0]).read_bytes()
    envelope = decode_envelope(data)
    assert envelope.manifest.common.components == ((b"\x00",), (b"\x01",))
    sequences = dict(manifest_sequences(envelope.manifest, envelope))
    assert sequences["install"].commands[0].command == Command.VENDOR_IDENTIFIER
    assert sequences["install"].commands[0].argument == 15
    digests = [c.argument[Parameter.IMAGE_DIGEST].value for c in
               envelope.manifest.common.shared_sequence.commands
               if c.command == Command.OVERRIDE_PARAMETERS and Parameter.IMAGE_DIGEST in c.argument]
    assert bytes.fromhex(digest) in digests
    with qtbot.waitSignal(window.inspector.loaded, timeout=20000):
        action(window, "Inspect last build").trigger()
    assert window.current_view() == "inspector"
    assert window.inspector.inspection.data == data
    assert window.inspector.badge_labels["digest"].property("state") == "ok"
    assert window.inspector.badge_labels["signature"].text() == "unsigned"


def test_view_level_drop_of_a_palette_command(qtbot, window, tmp_path):
    """Once through Qt's own drop handling: drag-enter, drag-move and drop events."""
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent

    new_project(qtbot, window, tmp_path / "release")
    window.show_view("sequences")
    page = window.authoring.sequences.show_sequence("validate")
    palette = window.authoring.palette.model()
    mime = palette.mimeData([palette.index(palette.row_of("class-identifier"), 0)])
    qtbot.waitUntil(lambda: bool(page.canvas.root.blocks))
    viewport = page.canvas.root  # the sequence's lane (the blocks are drawn in it)
    rect = page.canvas.root.blocks[0].geometry()
    point = QPointF(rect.center().x(), rect.top() + 1)
    # Drag enter/move take an integer position; the drop event takes a QPointF.
    where = QPoint(rect.center().x(), rect.top() + 1)
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(where, Qt.DropAction.CopyAction, mime, buttons, mods)
    QApplication.sendEvent(viewport, enter)
    assert enter.isAccepted()
    move = QDragMoveEvent(where, Qt.DropAction.CopyAction, mime, buttons, mods)
    QApplication.sendEvent(viewport, move)
    drop = QDropEvent(point, Qt.DropAction.CopyAction, mime, buttons, mods)
    QApplication.sendEvent(viewport, drop)
    assert page.model.explicit
    assert page.model.entries[0] == {"class-identifier": 15}  # before the first block


def test_argument_edited_in_place_is_validated(qtbot, window, tmp_path):
    new_project(qtbot, window, tmp_path / "release")
    model = window.authoring.sequences.models["invoke"]
    assert drag_from_palette(window, "vendor-identifier", "invoke", row=0)
    index = model.index(0, 0)
    with qtbot.waitSignal(model.refused) as refused:
        assert not model.setData(index, "99")
    assert "outside 0..15" in refused.args[0]
    assert not model.setData(index, "{ unclosed")
    assert model.entries[0] == {"vendor-identifier": 15}
    assert model.setData(index, "2")
    assert model.entries[0] == {"vendor-identifier": 2}
    assert index.data(Qt.ItemDataRole.EditRole) == "2"


def test_components_reorder_by_drop_and_undo(qtbot, window, tmp_path):
    new_project(qtbot, window, tmp_path / "release")
    parts = window.authoring
    parts.add_component()
    parts.add_component()
    names = lambda: [c.name for c in window.workspace.project.components]  # noqa: E731
    assert names() == ["app", "component1", "component2"]
    model = parts.components
    mime = model.mimeData([model.index(2, 1)])
    model.dropMimeData(mime, Qt.DropAction.MoveAction, 0, 0, QModelIndex())
    assert names() == ["component2", "app", "component1"]
    assert model.index(0, 1).data() == "component2"
    window.workspace.undo_stack.undo()
    assert names() == ["app", "component1", "component2"]


def test_lint_finding_shows_hint_and_jumps_to_the_component(qtbot, window, tmp_path):
    new_project(qtbot, window, tmp_path / "release")
    parts = window.authoring
    (tmp_path / "release" / "images" / "extra.bin").write_bytes(b"x" * 100)
    parts.add_component()
    window.workspace.select("component", "app")
    parts.editor.name = "component1"
    with qtbot.waitSignal(parts.session.previewed, timeout=20000):
        type_into(qtbot, parts.editor.image_file, "images/extra.bin")
    texts = [parts.lint.item(i).text() for i in range(parts.lint.count())]
    finding = next(t for t in texts if "SUIT004" in t)
    assert "component component1" in finding and "fix: Give the component a uri" in finding
    parts.lint.itemClicked.emit(parts.lint.item(texts.index(finding)))
    assert window.workspace.selection == ("component", "component1")
    assert parts.components_view.currentIndex().row() == 1


def test_refused_edit_changes_nothing_and_says_why(qtbot, window, tmp_path):
    new_project(qtbot, window, tmp_path / "release")
    parts = window.authoring
    type_into(qtbot, parts.editor.component_id, "h'0'")
    assert "odd number of hex digits" in parts.editor.error.text()
    assert window.workspace.project.components[0].id == ["h'00'"]
    assert window.workspace.undo_stack.count() == 0


def test_slot_uri_edited_in_the_editor_builds_and_undoes(qtbot, window, tmp_path):
    new_project(qtbot, window, tmp_path / "release")
    parts = window.authoring
    table = parts.editor.slots
    assert table.rowCount() == 2 and table.item(0, 0).text() == "images/app-slot-a.bin"
    table.item(1, 1).setText("https://mirror.example.com/b.bin")
    slots = window.workspace.project.component("app").slots
    assert slots[1].uri == "https://mirror.example.com/b.bin"
    assert slots[1].image.file == "images/app-slot-b.bin"
    assert slots[0].uri == "https://updates.example.com/single-mcu/app-slot-a.bin"
    with qtbot.waitSignal(parts.session.built, timeout=20000) as built:
        parts.build()
    assert b"https://mirror.example.com/b.bin" in Path(built.args[0]).read_bytes()
    window.workspace.undo_stack.undo()
    assert window.workspace.project.component("app").slots[1].uri.startswith("https://updates")
    assert table.item(1, 1).text().startswith("https://updates")


@pytest.mark.parametrize("payload", [b"not json", b"\xff\xfe", b"[1, 2]", b'{"sequence": 3}',
                                     b'{"sequence": "install", "row": "0"}',
                                     b'{"sequence": "install", "row": 99}',
                                     b'{"sequence": "install", "row": -1}'])
def test_a_foreign_sequence_entry_drop_is_refused_quietly(qtbot, window, tmp_path, payload):
    # Another application may offer our MIME type with anything in it: no exception may
    # escape into Qt's drop handling (it would print a traceback), and nothing changes.
    new_project(qtbot, window, tmp_path / "release")
    model = window.authoring.sequences.models["install"]
    before = list(model.entries)
    mime = QMimeData()
    mime.setData(ENTRY_MIME, payload)
    assert not model.dropMimeData(mime, Qt.DropAction.MoveAction, 0, 0, QModelIndex())
    assert model.entries == before
