"""Issue 17, release and device fields: the vendor and class ids are edited by typing and
derived (UUID5, as `suitwb new` derives them) with one click, in one undo step; "Add
dependency…" picks an envelope from a file dialog driven by the keyboard; saving the
edited project keeps the template's comments. Real widgets, real mouse and keys."""

from __future__ import annotations

import uuid
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QLineEdit

from gui.authoring.release_fields import ReleaseFields
from workbench.project.projectfile import load_project


def _open_template(window, tmp_path: Path) -> ReleaseFields:  # type: ignore[no-untyped-def]
    window.authoring.session.new_from_template("single-mcu", tmp_path / "p")
    window.show_view("release")
    return window.release_fields


def _type_into(qtbot, edit: QLineEdit, text: str) -> None:  # type: ignore[no-untyped-def]
    qtbot.mouseClick(edit, Qt.MouseButton.LeftButton)
    edit.selectAll()
    qtbot.keyClicks(edit, text)
    qtbot.keyClick(edit, Qt.Key.Key_Return)


def test_derive_a_class_id_from_domain_and_model(qtbot, window, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    panel = _open_template(window, tmp_path)
    _type_into(qtbot, panel.fields["vendor_domain"], "acme.example")
    _type_into(qtbot, panel.fields["model"], "sensor-9")
    qtbot.mouseClick(panel.derive_button, Qt.MouseButton.LeftButton)
    vendor = uuid.uuid5(uuid.NAMESPACE_DNS, "acme.example")
    device = window.workspace.project.device
    assert (device.vendor_domain, device.model) == ("acme.example", "sensor-9")
    assert device.vendor_id == str(vendor) == panel.fields["vendor_id"].text()
    assert device.class_id == str(uuid.uuid5(vendor, "sensor-9")) == panel.fields["class_id"].text()
    assert "class id" in window.statusBar().currentMessage()
    # One undo step takes both ids back.
    stack = window.workspace.undo_stack
    assert stack.undoText().startswith("Derive vendor and class ids")
    stack.undo()
    assert window.workspace.project.device.vendor_id != str(vendor)
    assert panel.fields["class_id"].text() == (window.workspace.project.device.class_id or "")


def test_a_class_id_that_is_not_a_uuid_is_refused_in_place(qtbot, window, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    panel = _open_template(window, tmp_path)
    before = window.workspace.project.device.class_id
    _type_into(qtbot, panel.fields["class_id"], "not-a-uuid")
    assert window.workspace.project.device.class_id == before
    assert "not a UUID" in panel.message.text()
    assert panel.fields["class_id"].text() == (before or "")


def test_add_a_dependency_from_the_file_dialog_and_save_keeps_comments(
        qtbot, window, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    panel = _open_template(window, tmp_path)
    deps = tmp_path / "p" / "deps"
    deps.mkdir()
    (deps / "radio.suit").write_bytes(b"\xd8\x6b\xa0")  # picked, not read, here
    qtbot.mouseClick(panel.add_button, Qt.MouseButton.LeftButton)
    dialog = panel.file_dialog
    assert dialog is not None and dialog.isVisible()
    name_edit = dialog.findChild(QLineEdit, "fileNameEdit")
    qtbot.keyClicks(name_edit, "radio.suit")  # the dialog opens in deps/
    buttons = dialog.findChild(QDialogButtonBox, "buttonBox")
    accept = buttons.button(QDialogButtonBox.StandardButton.Open)
    qtbot.waitUntil(accept.isEnabled, timeout=5000)  # the dialog has checked the name
    with qtbot.waitSignal(dialog.fileSelected, timeout=5000):
        qtbot.mouseClick(accept, Qt.MouseButton.LeftButton)
    [dependency] = window.workspace.project.dependencies
    assert (dependency.name, dependency.envelope) == ("radio", "deps/radio.suit")
    assert panel.dependencies.count() == 1 and "radio" in panel.dependencies.item(0).text()
    # A file outside the project folder is refused, saying why and what to do.
    outside = tmp_path / "elsewhere.suit"
    outside.write_bytes(b"\xd8\x6b\xa0")
    assert not panel.add_dependency(outside)
    assert "outside the project folder" in panel.message.text()
    assert "allow-outside-project" in panel.message.text()
    # Saving (Ctrl+S) keeps the template's comments and adds the [[dependency]] table.
    path = window.workspace.path
    original = path.read_text(encoding="utf-8")
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.workspace.dirty, timeout=5000)
    saved = path.read_text(encoding="utf-8")
    assert saved.startswith(original.rstrip("\n")) and "[[dependency]]" in saved
    assert [d.envelope for d in load_project(path).dependencies] == ["deps/radio.suit"]
    # Remove it again through the button.
    panel.dependencies.setCurrentRow(0)
    qtbot.mouseClick(panel.remove_button, Qt.MouseButton.LeftButton)
    assert window.workspace.project.dependencies == []
