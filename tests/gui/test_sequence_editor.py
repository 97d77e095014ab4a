"""The visual sequence editor, driven with real mouse and keyboard events: blocks, try-each
lanes, drops from the palette, parameter forms, lint findings on blocks, undo labels."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QModelIndex, Qt

from suit.codec import decode_envelope
from suit.model import Command
from tests.gui.test_authoring import action, new_project, window  # noqa: F401 - the fixture
from workbench.project.builder import BuildOptions, build_project


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
