"""The visual sequence editor, driven with real mouse and keyboard events: blocks, try-each
lanes, drops from the palette, parameter forms, lint findings on blocks, undo labels."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QModelIndex, QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from gui.authoring.blocks import BLOCK_MIME, block_mime
from gui.authoring.session import ImageCache, preview_project
from suit.model import Command, Digest, Parameter, VersionComparison, VersionMatch
from suit.payloads import manifest_sequences
from tests.gui.test_authoring import action, new_project, type_into, window  # noqa: F401 - the fixture
from workbench.project.builder import BuildOptions, build_project
from workbench.project.projectfile import load_project
from workbench.project.sequence_tree import check_shape
from workbench.project.templates import create_project, list_templates

ROOT_DIR = Path(__file__).resolve().parents[2]


def test_drop_into_shared_is_accepted_and_builds(qtbot, window, tmp_path):  # noqa: F811
    """Regression: the generated shared sequence of an A/B template refers to slot images
    as "@app[0]", which the explicit notation did not know, so the first drop into shared
    was refused with "'@app[0]' names no component image" (the "internal error")."""
    new_project(qtbot, window, tmp_path / "release")
    shared = window.authoring.sequences.models["shared"]
    assert any("@app[0]" in repr(e) for e in shared.entries)  # the slot references
    palette = window.authoring.palette.model()
    mime = palette.mimeData([palette.index(palette.row_of("vendor-identifier"), 0)])
    refused: list[str] = []
    shared.refused.connect(refused.append)
    assert shared.dropMimeData(mime, Qt.DropAction.CopyAction, 0, 0, QModelIndex()), refused
    assert refused == [] and shared.explicit
    assert shared.entries[0] == {"vendor-identifier": 15}
    envelope = build_project(window.workspace.project, BuildOptions()).envelope
    commands = envelope.manifest.common.shared_sequence.commands
    assert commands[0].command == Command.VENDOR_IDENTIFIER
    assert action(window, "Undo Insert condition-vendor-identifier into shared")


# --- helpers ---------------------------------------------------------------------------------

def open_sequence(qtbot, window, name):  # noqa: F811
    window.show_view("sequences")
    # Keyboard focus and shortcuts follow the active window (the new-project dialog was).
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    page = window.authoring.sequences.show_sequence(name)
    qtbot.waitUntil(lambda: bool(page.canvas.root.blocks), timeout=20000)
    return page


def palette_mime(window, command):  # noqa: F811
    """The palette's own drag data for a command (what its QDrag would carry)."""
    palette = window.authoring.palette.model()
    return palette.mimeData([palette.index(palette.row_of(command), 0)])


def drop(lane, mime, y):
    """Drag-enter, drag-move and drop events on a lane, as Qt delivers them during a drag.

    A real QDrag.exec() runs a nested event loop that waits for the windowing system's
    mouse-up, which the offscreen platform never sends; so the drop is driven with the real
    QDropEvent built from the real mime data the palette (or a block) puts in its QDrag.
    """
    where = QPoint(lane.width() // 2, y)
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(where, Qt.DropAction.CopyAction, mime, buttons, mods)
    QApplication.sendEvent(lane, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(lane, QDragMoveEvent(where, Qt.DropAction.CopyAction, mime, buttons, mods))
    event = QDropEvent(QPointF(where), Qt.DropAction.CopyAction, mime, buttons, mods)
    QApplication.sendEvent(lane, event)
    return event.isAccepted()


def above(block):
    """A lane height just above a block (a drop there goes before it)."""
    return block.geometry().top() + 1


def click(qtbot, widget):
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=QPoint(8, 8))


# --- drag from the palette -------------------------------------------------------------------

def test_palette_drops_into_shared_and_into_a_try_each_branch(qtbot, window, tmp_path):  # noqa: F811
    new_project(qtbot, window, tmp_path / "release")
    page = open_sequence(qtbot, window, "shared")
    lane = page.canvas.root
    assert drop(lane, palette_mime(window, "vendor-identifier"), above(lane.blocks[0]))
    assert page.model.entries[0] == {"vendor-identifier": 15}
    assert page.canvas.selected == (0,)  # the new block is selected
    # The try-each is drawn with a lane per branch; drop into branch 2, before its 2nd block.
    try_each = page.canvas.root.blocks[2]
    assert "try-each" in try_each.title.text() and len(try_each.lanes) == 2
    branch = try_each.lanes[1]
    assert drop(branch, palette_mime(window, "image-match"), above(branch.blocks[1]))
    branch_2 = page.model.entries[2]["try-each"][1]
    assert branch_2[1] == {"image-match": 15} and len(branch_2) == 4
    assert page.model.entries[2]["try-each"][0][1] == {"component-slot": 5}  # branch 1 untouched
    stack = window.workspace.undo_stack
    assert stack.undoText() == "Insert condition-image-match into shared block 3 branch 2"
    envelope = build_project(window.workspace.project, BuildOptions()).envelope
    shared = envelope.manifest.common.shared_sequence.commands
    assert shared[0].command == Command.VENDOR_IDENTIFIER
    assert shared[2].argument[1].commands[1].command == Command.IMAGE_MATCH
    stack.undo()
    assert len(page.model.entries[2]["try-each"][1]) == 3


def test_a_block_moves_within_and_between_sequences_in_one_undo(qtbot, window, tmp_path):  # noqa: F811
    new_project(qtbot, window, tmp_path / "release")
    install = open_sequence(qtbot, window, "install")
    before_install = list(install.model.entries)
    # Reorder: the fetch block (row 3) dragged above the first block.
    fetch = install.canvas.root.blocks[3]
    mime = block_mime("install", fetch.path, fetch.item)
    assert drop(install.canvas.root, mime, above(install.canvas.root.blocks[0]))
    assert install.model.entries[0] == {"fetch": 2}
    assert window.workspace.undo_stack.undoText() == "Move directive-fetch to install"
    window.workspace.undo_stack.undo()
    assert install.model.entries == before_install
    # Between sequences: install's image-match into validate, one undoable step.
    validate = open_sequence(qtbot, window, "validate")
    before_validate = list(validate.model.entries)
    match = install.canvas.root.blocks[4]
    mime = block_mime("install", match.path, match.item)
    assert drop(validate.canvas.root, mime, above(validate.canvas.root.blocks[0]))
    assert validate.model.entries == [{"image-match": 15}, *before_validate]
    assert install.model.entries == before_install[:4]
    assert window.workspace.undo_stack.undoText() == \
        "Move condition-image-match from install to validate"
    window.workspace.undo_stack.undo()
    assert install.model.entries == before_install
    assert not validate.model.explicit


def test_a_block_dropped_into_itself_is_refused_and_changes_nothing(qtbot, window, tmp_path):  # noqa: F811
    new_project(qtbot, window, tmp_path / "release")
    page = open_sequence(qtbot, window, "install")
    try_each = page.canvas.root.blocks[2]
    mime = block_mime("install", try_each.path, try_each.item)
    with qtbot.waitSignal(page.model.refused) as refused:
        assert not drop(try_each.lanes[0], mime, 5)
    assert "inside itself" in refused.args[0]
    assert not page.model.explicit


@pytest.mark.parametrize("payload", [b"junk", b"[]", b"[" * 100000 + b"]" * 100000,
                                     b'{"sequence": "x", "path": [], "item": {}}' + b" " * (2 << 20), b'{"sequence": "install", "path": ["0"], "item": {}}',
                                     b'{"sequence": "install", "path": [99], "item": {"fetch": 2}}'])
def test_foreign_block_data_is_refused_quietly(qtbot, window, tmp_path, payload):  # noqa: F811
    new_project(qtbot, window, tmp_path / "release")
    page = open_sequence(qtbot, window, "install")
    mime = QMimeData()
    mime.setData(BLOCK_MIME, payload)
    assert not page.canvas.drop(mime, (), 0)
    assert not page.model.explicit


# --- parameter forms -------------------------------------------------------------------------

def test_a_parameter_form_edits_uri_image_version_use_before_and_battery(qtbot, window, tmp_path):  # noqa: F811
    new_project(qtbot, window, tmp_path / "release")
    page = open_sequence(qtbot, window, "install")
    branch = page.canvas.root.blocks[2].lanes[0]
    click(qtbot, branch.blocks[2])  # { uri = … } of slot A, chosen with the mouse
    assert page.canvas.selected == (2, 0, 2)
    form = page.form
    assert form.fields["uri"].text().endswith("app-slot-a.bin")
    type_into(qtbot, form.fields["uri"], "https://cdn.example.com/a.bin")  # Return applies
    assert page.model.entries[2]["try-each"][0][2] == {
        "override-parameters": {"uri": "https://cdn.example.com/a.bin"}}
    assert window.workspace.undo_stack.undoText() == \
        "Edit directive-override-parameters in install block 3 branch 1"
    form = page.form  # the form shows the block again after the edit
    image = form.fields["image"]
    image.setFocus()
    qtbot.keyClick(image, Qt.Key.Key_Down)  # "not set" -> "@app[0]"
    assert image.currentData() == "@app[0]"
    comparison = form.fields["comparison"]
    comparison.setFocus()
    qtbot.keyClick(comparison, Qt.Key.Key_Down)
    qtbot.keyClick(comparison, Qt.Key.Key_Down)  # ">" -> ">="
    assert comparison.currentData() == ">="
    form.fields["version"].setFocus()
    qtbot.keyClicks(form.fields["version"], "1.2.0")
    picker = form.fields["use-before"]
    picker.setFocus()
    qtbot.keyClick(picker, Qt.Key.Key_Up)  # the year section: 1970 -> 1971
    qtbot.mouseClick(form.apply_button, Qt.MouseButton.LeftButton)
    params = page.model.entries[2]["try-each"][0][2]["override-parameters"]
    assert params == {"uri": "https://cdn.example.com/a.bin", "image-digest": "@app[0]",
                      "image-size": "@app[0]", "version": {"comparison": ">=", "version": "1.2.0"},
                      "use-before": 365 * 86400}
    # The battery of the first block, by keyboard only: Up to select, Enter to edit.
    page.canvas.setFocus()
    for _ in range(10):
        qtbot.keyClick(page.canvas, Qt.Key.Key_Up)
    assert page.canvas.selected == (0,)
    qtbot.keyClick(page.canvas, Qt.Key.Key_Return)
    assert QApplication.focusWidget() is page.form.fields["image"]  # the form's first field
    battery = page.form.fields["minimum-battery"]
    battery.setFocus()
    qtbot.keyClick(battery, Qt.Key.Key_Up)
    qtbot.mouseClick(page.form.apply_button, Qt.MouseButton.LeftButton)
    assert page.model.entries[0] == {"override-parameters": {"minimum-battery": 501}}
    # What the form wrote builds into the envelope's install sequence.
    envelope = build_project(window.workspace.project, BuildOptions()).envelope
    install = dict(manifest_sequences(envelope.manifest, envelope))["install"].commands
    assert install[0].argument[Parameter.MINIMUM_BATTERY] == 501
    slot_a = install[2].argument[0].commands[2].argument
    assert slot_a[Parameter.URI] == "https://cdn.example.com/a.bin"
    assert slot_a[Parameter.USE_BEFORE] == 365 * 86400
    assert slot_a[Parameter.VERSION] == VersionMatch(VersionComparison.GREATER_EQUAL, (1, 2, 0))
    assert isinstance(slot_a[Parameter.IMAGE_DIGEST], Digest)


def test_a_form_value_that_does_not_parse_is_refused_and_changes_nothing(qtbot, window, tmp_path):  # noqa: F811
    new_project(qtbot, window, tmp_path / "release")
    page = open_sequence(qtbot, window, "install")
    click(qtbot, page.canvas.root.blocks[1])  # condition-minimum-battery 15
    assert "argument" in page.form.fields
    with qtbot.waitSignal(page.model.refused) as refused:
        type_into(qtbot, page.form.fields["argument"], "99")
    assert "outside 0..15" in refused.args[0]
    assert not page.model.explicit
    assert window.authoring.sequences.message.text() == refused.args[0]
    type_into(qtbot, page.form.fields["argument"], "3")
    assert page.model.entries[1] == {"minimum-battery": 3}
    assert window.authoring.sequences.message.text() == ""  # the refusal does not stay


# --- keyboard --------------------------------------------------------------------------------

def test_every_block_action_by_keyboard(qtbot, window, tmp_path):  # noqa: F811
    new_project(qtbot, window, tmp_path / "release")
    page = open_sequence(qtbot, window, "validate")
    canvas = page.canvas
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_Down)
    assert canvas.selected == (0,)  # image-match
    # Insert from the palette without a mouse: Insert, type, Enter.
    qtbot.keyClick(canvas, Qt.Key.Key_Insert)
    dialog = window.authoring.sequences.insert_dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.keyClicks(dialog.filter, "vendor")
    qtbot.keyClick(dialog.filter, Qt.Key.Key_Return)
    assert page.model.entries == [{"image-match": 15}, {"vendor-identifier": 15}]
    assert canvas.selected == (1,)
    # Copy and paste: the copy goes after the selected block.
    qtbot.keyClick(canvas, Qt.Key.Key_Up)
    qtbot.keyClick(canvas, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(canvas, Qt.Key.Key_Down)
    qtbot.keyClick(canvas, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert page.model.entries == [{"image-match": 15}, {"vendor-identifier": 15}, {"image-match": 15}]
    assert window.workspace.undo_stack.undoText() == "Paste condition-image-match into validate"
    # Ctrl+Up moves the selected block up; Delete removes it.
    assert canvas.selected == (2,)
    qtbot.keyClick(canvas, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier)
    assert page.model.entries[1] == {"image-match": 15} and canvas.selected == (1,)
    qtbot.keyClick(canvas, Qt.Key.Key_Down)
    qtbot.keyClick(canvas, Qt.Key.Key_Delete)
    assert page.model.entries == [{"image-match": 15}, {"image-match": 15}]
    assert window.workspace.undo_stack.undoText() == \
        "Delete condition-vendor-identifier from validate"
    # Undo by keyboard too (the Edit menu's shortcut).
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert page.model.entries == [{"image-match": 15}, {"image-match": 15}, {"vendor-identifier": 15}]
    # Cut and paste moves a block: the vendor condition after the first block.
    canvas.setFocus()
    canvas.select((2,))
    qtbot.keyClick(canvas, Qt.Key.Key_X, Qt.KeyboardModifier.ControlModifier)
    assert window.workspace.undo_stack.undoText() == "Cut condition-vendor-identifier from validate"
    assert canvas.selected is None and len(page.model.entries) == 2
    qtbot.keyClick(canvas, Qt.Key.Key_Up)
    qtbot.keyClick(canvas, Qt.Key.Key_Up)
    assert canvas.selected == (0,)
    qtbot.keyClick(canvas, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert page.model.entries == [{"image-match": 15}, {"vendor-identifier": 15}, {"image-match": 15}]


# --- lint findings on blocks -----------------------------------------------------------------

def test_a_lint_finding_is_shown_on_its_block_and_a_click_selects_it(qtbot, window, tmp_path):  # noqa: F811
    new_project(qtbot, window, tmp_path / "release")
    validate = open_sequence(qtbot, window, "validate")
    # Take the image check out of validate: invoking app is now unchecked (SUIT003).
    with qtbot.waitSignal(window.authoring.session.previewed, timeout=20000):
        click(qtbot, validate.canvas.root.blocks[0])
        qtbot.keyClick(validate.canvas, Qt.Key.Key_Delete)
    invoke = window.authoring.sequences.pages["invoke"]
    qtbot.waitUntil(lambda: invoke.findings.count() == 1, timeout=20000)
    assert invoke.found[0][0].id == "SUIT003" and invoke.found[0][1] == (0,)
    badge = invoke.canvas.widgets[(0,)].badge
    assert not badge.isHidden() and "SUIT003" in badge.toolTip()
    # A click on the finding in the lint panel shows the sequence and selects the block.
    lint = window.authoring.lint
    row = next(i for i in range(lint.count()) if "SUIT003" in lint.item(i).text())
    lint.scrollToItem(lint.item(row))
    qtbot.mouseClick(lint.viewport(), Qt.MouseButton.LeftButton,
                     pos=lint.visualItemRect(lint.item(row)).center())
    assert window.authoring.sequences.current() is invoke
    assert invoke.canvas.selected == (0,)
    assert invoke.canvas.widgets[(0,)].property("selected")
    # The same from the list under the sequence.
    invoke.canvas.select(None)
    item = invoke.findings.item(0)
    assert "(block 1)" in item.text()
    qtbot.mouseClick(invoke.findings.viewport(), Qt.MouseButton.LeftButton,
                     pos=invoke.findings.visualItemRect(item).center())
    assert invoke.canvas.selected == (0,)
    # Generate again: the label says so, and the finding goes with the preview.
    qtbot.mouseClick(window.authoring.sequences.pages["validate"].revert, Qt.MouseButton.LeftButton)
    assert window.workspace.undo_stack.undoText() == "Generate validate again"
    qtbot.waitUntil(lambda: invoke.findings.count() == 0, timeout=20000)
    assert invoke.canvas.widgets[(0,)].badge.isHidden()


def insert_by_keyboard(qtbot, window, canvas, text):  # noqa: F811
    qtbot.keyClick(canvas, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    dialog = window.authoring.sequences.insert_dialog
    qtbot.keyClicks(dialog.filter, text)
    qtbot.keyClick(dialog.filter, Qt.Key.Key_Return)


def test_try_each_branches_and_run_sequence_groups_by_keyboard(qtbot, window, tmp_path):  # noqa: F811
    new_project(qtbot, window, tmp_path / "release")
    page = open_sequence(qtbot, window, "invoke")
    canvas = page.canvas
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_Down)
    insert_by_keyboard(qtbot, window, canvas, "try-each")
    assert page.model.entries[1] == {"try-each": [[], "nil"]} and canvas.selected == (1,)
    # Two branches: Enter opens the form, Up adds one, Space on Apply writes it.
    qtbot.keyClick(canvas, Qt.Key.Key_Return)
    branches = page.form.fields["branches"]
    assert QApplication.focusWidget() is branches
    qtbot.keyClick(branches, Qt.Key.Key_Up)
    qtbot.keyClick(page.form.apply_button, Qt.Key.Key_Space)
    assert page.model.entries[1] == {"try-each": [[], [], "nil"]}
    assert window.workspace.undo_stack.undoText() == "Edit directive-try-each in invoke"
    # With the try-each selected, an insert goes into its first empty branch...
    canvas.setFocus()
    insert_by_keyboard(qtbot, window, canvas, "set-component-index")
    assert page.model.entries[1]["try-each"][0] == [{"set-component-index": 0}]
    assert canvas.selected == (1, 0, 0)
    # ...and after the selected block inside a branch, under its component's header.
    insert_by_keyboard(qtbot, window, canvas, "image-match")
    assert canvas.selected == (1, 0, 1)
    assert canvas.widgets[(1, 0, 1)].header.text() == "component 0 · app"
    qtbot.keyClick(canvas, Qt.Key.Key_Up)
    qtbot.keyClick(canvas, Qt.Key.Key_Up)
    assert canvas.selected == (1,)
    insert_by_keyboard(qtbot, window, canvas, "run-sequence")
    assert page.model.entries[1]["try-each"][1] == [{"run-sequence": []}]
    group = canvas.widgets[(1, 1, 0)]
    assert len(group.lanes) == 1  # a nested group, with its own lane to drop into
    assert drop(group.lanes[0], palette_mime(window, "invoke"), 5)
    assert page.model.entries[1]["try-each"][1] == [{"run-sequence": [{"invoke": 2}]}]
    envelope = build_project(window.workspace.project, BuildOptions()).envelope
    invoke = dict(manifest_sequences(envelope.manifest, envelope))["invoke"].commands
    first, second, nil = invoke[1].argument
    assert nil is None and first.commands[0].command == Command.SET_COMPONENT_INDEX
    assert second.commands[0].command == Command.RUN_SEQUENCE
    assert second.commands[0].argument.commands[0].command == Command.INVOKE


# --- real mouse drags, through the drag seam -------------------------------------------------

def deliver_to(monkeypatch, lane_of, y_of):
    """Replace only the QDrag.exec step (offscreen Qt has no windowing-system drag): the
    drag the mouse started, with its real mime data, is dropped on a lane."""
    seen = []

    def exec_drag(drag, action):
        seen.append(drag.mimeData())
        lane = lane_of()
        assert drop(lane, drag.mimeData(), y_of(lane))
        return action

    monkeypatch.setattr("gui.authoring.blocks.exec_drag", exec_drag)
    return seen


def test_a_mouse_drag_from_the_palette_into_a_try_each_branch(qtbot, window, tmp_path, monkeypatch):  # noqa: F811
    new_project(qtbot, window, tmp_path / "release")
    page = open_sequence(qtbot, window, "shared")
    window.docks["palette"].raise_()
    palette = window.authoring.palette
    qtbot.waitUntil(palette.isVisible, timeout=5000)
    branch = lambda: page.canvas.root.blocks[1].lanes[1]  # noqa: E731 - shared's try-each, slot B
    seen = deliver_to(monkeypatch, branch, lambda lane: above(lane.blocks[0]))
    rect = palette.visualRect(palette.model().index(palette.model().row_of("vendor-identifier"), 0))
    qtbot.mousePress(palette.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseMove(palette.viewport(), rect.center() + QPoint(0, 40))
    qtbot.mouseRelease(palette.viewport(), Qt.MouseButton.LeftButton, pos=rect.center() + QPoint(0, 40))
    assert len(seen) == 1 and seen[0].hasFormat("application/x-suitwb-command")
    assert page.model.entries[1]["try-each"][1][0] == {"vendor-identifier": 15}


def test_a_mouse_drag_reorders_blocks(qtbot, window, tmp_path, monkeypatch):  # noqa: F811
    new_project(qtbot, window, tmp_path / "release")
    page = open_sequence(qtbot, window, "install")
    root = lambda: page.canvas.root  # noqa: E731 - rebuilt after each edit
    deliver_to(monkeypatch, root, lambda lane: above(lane.blocks[0]))
    fetch = page.canvas.root.blocks[3]
    qtbot.mousePress(fetch, Qt.MouseButton.LeftButton, pos=QPoint(10, 10))
    qtbot.mouseMove(fetch, QPoint(10, 40))
    assert page.model.entries[0] == {"fetch": 2}
    assert page.canvas.selected == (0,)
    assert window.workspace.undo_stack.undoText() == "Move directive-fetch to install"


def test_enter_in_the_palette_inserts_after_the_selected_block(qtbot, window, tmp_path):  # noqa: F811
    new_project(qtbot, window, tmp_path / "release")
    page = open_sequence(qtbot, window, "validate")
    page.canvas.setFocus()
    qtbot.keyClick(page.canvas, Qt.Key.Key_Down)
    window.docks["palette"].raise_()
    palette = window.authoring.palette
    palette.setFocus()
    palette.setCurrentIndex(palette.model().index(0, 0))
    for _ in range(palette.model().rowCount()):  # bounded: fails, never hangs
        if palette.currentIndex().data(Qt.ItemDataRole.UserRole) == "class-identifier":
            break
        qtbot.keyClick(palette, Qt.Key.Key_Down)
    qtbot.keyClick(palette, Qt.Key.Key_Return)
    assert page.model.entries == [{"image-match": 15}, {"class-identifier": 15}]


def test_vendor_and_class_ids_in_a_form_and_a_redraw_keeps_what_is_typed(qtbot, window, tmp_path):  # noqa: F811
    new_project(qtbot, window, tmp_path / "release")
    page = open_sequence(qtbot, window, "shared")
    click(qtbot, page.canvas.root.blocks[0])  # { vendor-id = h'…', class-id = h'…' }
    vendor = page.form.fields["vendor-id"]
    assert vendor.currentText().startswith("h'cfbff0d1")
    vendor.lineEdit().selectAll()
    qtbot.keyClicks(vendor.lineEdit(), "@device")
    page.canvas.rebuild()  # as after a preview: the form keeps the typing
    assert page.form.fields["vendor-id"] is vendor and vendor.currentText() == "@device"
    qtbot.mouseClick(page.form.apply_button, Qt.MouseButton.LeftButton)
    assert page.model.entries[0]["override-parameters"]["vendor-id"] == "@device"
    envelope = build_project(window.workspace.project, BuildOptions()).envelope
    first = envelope.manifest.common.shared_sequence.commands[0].argument
    assert first[Parameter.VENDOR_ID].hex() == "cfbff0d193755685968c48ce8b15ae17"


@pytest.mark.parametrize("template", [t.name for t in list_templates()])
def test_every_generated_sequence_made_explicit_builds_the_same_manifest(tmp_path, template):
    """What the editor shows for a generated sequence is what its first edit writes into
    the project: it must be accepted and build the very same manifest (the shared drop bug
    was one case: single-mcu's slot references)."""
    project = load_project(create_project(template, tmp_path / "p"))
    preview = preview_project(lambda *_: None, project, ImageCache())
    assert preview.result is not None, preview.error
    for name, entries in preview.generated.items():
        check_shape(project, entries, f"sequences.{name}")
    project.sequences.update(preview.generated)
    assert build_project(project, BuildOptions()).envelope.manifest == preview.result.envelope.manifest


def test_a_hand_edited_sequence_that_is_not_commands_is_drawn_and_can_be_deleted(qtbot, window, tmp_path):  # noqa: F811
    new_project(qtbot, window, tmp_path / "release")
    path = window.workspace.project.path
    path.write_text(path.read_text() + '\n[sequences]\ninstall = [{ fetch = 2, copy = 2 }, '
                    '{ image-match = 1979-05-27T07:32:00Z }, { set-component-index = -3 }, '
                    '{ try-each = 5 }, { fetch = 2 }]\n')
    window.authoring.open_project(path)
    page = open_sequence(qtbot, window, "install")
    assert len(page.canvas.root.blocks) == 5
    assert "1979" in page.canvas.root.blocks[1].summary.text()
    assert page.canvas.root.blocks[3].header.text() == "component -3"
    click(qtbot, page.canvas.root.blocks[0])
    assert "Not a command" in page.form.title.text()
    qtbot.keyClick(page.canvas, Qt.Key.Key_Down)
    qtbot.keyClick(page.canvas, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)  # the date
    assert "1979" in QApplication.clipboard().text()
    for _ in range(3):
        qtbot.keyClick(page.canvas, Qt.Key.Key_Down)  # walks over the bad blocks, no error
    assert page.canvas.selected == (4,)
    page.canvas.select((0,))
    with qtbot.waitSignal(page.model.refused) as refused:  # the rest is still no sequence
        qtbot.keyClick(page.canvas, Qt.Key.Key_Delete)
    assert "sequences.install[0]" in refused.args[0]
    assert len(page.model.entries) == 5  # pytest-qt fails the test on any exception in Qt


def test_the_component_index_heads_and_colours_blocks_and_copy_pastes_across_sequences(qtbot, window, tmp_path):  # noqa: F811
    new_project(qtbot, window, tmp_path / "release")
    assert window.authoring.add_component() == "component1"
    page = open_sequence(qtbot, window, "validate")
    canvas = page.canvas
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_Down)
    insert_by_keyboard(qtbot, window, canvas, "set-component-index")
    qtbot.keyClick(canvas, Qt.Key.Key_Return)  # the form: choose component 1 by keyboard
    chooser = page.form.fields["index"]
    assert QApplication.focusWidget() is chooser
    qtbot.keyClick(chooser, Qt.Key.Key_Down)
    qtbot.keyClick(page.form.apply_button, Qt.Key.Key_Space)
    assert page.model.entries[1] == {"set-component-index": 1}
    canvas.setFocus()
    insert_by_keyboard(qtbot, window, canvas, "image-match")
    first, last = canvas.widgets[(0,)], canvas.widgets[(2,)]
    assert first.header.text() == "component 0 · app (default)"
    assert last.header.text() == "component 1 · component1"
    assert first.colour() != last.colour()
    # Copy the set-component-index block and paste it into install, after its first block.
    canvas.select((1,))
    qtbot.keyClick(canvas, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    install = open_sequence(qtbot, window, "install")
    install.canvas.setFocus()
    qtbot.keyClick(install.canvas, Qt.Key.Key_Down)
    qtbot.keyClick(install.canvas, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert install.model.entries[1] == {"set-component-index": 1}
    assert install.canvas.widgets[(2,)].header.text() == "component 1 · component1"


def test_long_arguments_are_cut_to_their_block_not_clipped(qtbot, window, tmp_path):  # noqa: F811
    window.resize(1280, 800)
    new_project(qtbot, window, tmp_path / "release")
    page = open_sequence(qtbot, window, "shared")  # vendor-id and class-id: a long line
    label = page.canvas.root.blocks[0].summary
    assert "class-id" in label.full_text and label.toolTip() == label.full_text

    def fits() -> bool:
        width = label.fontMetrics().horizontalAdvance(label.text())
        return label.text() != label.full_text and width <= label.contentsRect().width()

    qtbot.waitUntil(fits, timeout=5000)
    assert label.text().endswith("…")


def test_a_copied_block_does_not_crash_the_exit(tmp_path: Path) -> None:
    """PySide6 6.11 crashes at interpreter exit when the clipboard holds a QMimeData made in
    Python; at quit the application leaves only the block's TOML text (gui.app)."""
    script = tmp_path / "copy_then_quit.py"
    script.write_text(
        "from PySide6.QtCore import QTimer\n"
        "from gui.app import application\n"
        "from gui.authoring.blocks import BLOCK_MIME, block_mime\n"
        "app = application()\n"
        "app.clipboard().setMimeData(block_mime('install', (0,), {'directive-fetch': 0}))\n"
        "assert app.clipboard().mimeData().hasFormat(BLOCK_MIME)\n"
        "QTimer.singleShot(0, app.quit)\n"
        "app.exec()\n"
        "assert not app.clipboard().mimeData().hasFormat(BLOCK_MIME)\n"
        "print(app.clipboard().text())\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=60, cwd=ROOT_DIR,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen",
                               "PYTHONPATH": str(ROOT_DIR)})
    assert done.returncode == 0, done.stderr
    assert "directive-fetch" in done.stdout
