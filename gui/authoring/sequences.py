"""Command sequences (the model behind the block editor, gui.authoring.blocks), and the
palette of conditions and directives.

A sequence the project does not give explicitly shows what the builder generates (in
grey). The first edit — a command dragged in from the palette, a move, a removal or an
argument edited — makes it explicit: one `SequenceEdit` (a `SetMapEntry` on ``sequences``
labelled with what happened) carrying the whole new list, so one undo restores the
previous state, generated or explicit. Edits address blocks by path
(workbench.project.sequence_tree), so try-each branches and run-sequence bodies are edited
like the sequence itself.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

from PySide6.QtCore import (
    QAbstractListModel,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont

from gui.authoring.notation import (
    command_entry,
    default_argument,
    describe,
    palette_commands,
    parse_argument,
    toml_value,
)
from gui.authoring.session import Preview
from gui.workspace import Workspace
from suit.errors import WorkbenchError
from workbench.project import sequence_tree as tree

COMMAND_MIME: Final = "application/x-suitwb-command"
ENTRY_MIME: Final = "application/x-suitwb-sequence-entry"
#: The sequences the editor shows, in the order a device runs them (M37 §6, §8.4.6).
EDITED_SEQUENCES: Final = ("shared", "dependency-resolution", "payload-fetch", "install",
                           "validate", "load", "invoke")
_Index = QModelIndex | QPersistentModelIndex


class PaletteModel(QAbstractListModel):
    """Every condition and directive, to drag into a sequence."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._commands = palette_commands()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._commands)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        name, spec, condition = self._commands[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return spec
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{spec}: drag into a sequence (starts as {toml_value(default_argument(name))})"
        if role == Qt.ItemDataRole.ForegroundRole:
            return QBrush(QColor("#1565c0" if condition else "#6a1b9a"))
        if role == Qt.ItemDataRole.UserRole:
            return name
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled

    def mimeTypes(self) -> list[str]:
        return [COMMAND_MIME]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        mime = QMimeData()
        rows = [i.row() for i in indexes if i.isValid()]
        if rows:
            mime.setData(COMMAND_MIME, self._commands[rows[0]][0].encode("utf-8"))
        return mime

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction

    def row_of(self, name: str) -> int:
        """The row of a command by its notation name (``vendor-identifier``)."""
        return next(i for i, c in enumerate(self._commands) if c[0] == name)


class SequenceModel(QAbstractListModel):
    """One command sequence of the open project.

    Signals:
        refused(str): an edit was refused, with the reason and hint.
    """

    refused = Signal(str)

    def __init__(self, workspace: Workspace, name: str, parent: Any = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.name = name
        self.preview = Preview()
        workspace.projectOpened.connect(self._reset)
        workspace.projectChanged.connect(self._changed)

    def _reset(self) -> None:
        self.beginResetModel()
        self.endResetModel()

    def _changed(self, _event: str, subject: Any) -> None:
        if subject == ("sequences",) or _event.startswith("component"):
            self._reset()

    def set_preview(self, preview: Preview) -> None:
        """New generated sequences (shown while this one is not explicit)."""
        self.preview = preview
        if not self.explicit:
            self._reset()

    @property
    def explicit(self) -> bool:
        """Whether the project gives this sequence itself."""
        project = self.workspace.project
        return project is not None and self.name in project.sequences

    @property
    def entries(self) -> list[dict[str, Any]]:
        """The commands shown: explicit, else generated."""
        project = self.workspace.project
        if project is None:
            return []
        if self.name in project.sequences:
            return project.sequences[self.name]
        return self.preview.generated.get(self.name, [])

    # --- display and in-place editing -----------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.entries)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        entry = self.entries[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{index.row()}  {describe(entry)}"
        if role == Qt.ItemDataRole.EditRole:
            return toml_value(command_entry(entry)[1])
        if role == Qt.ItemDataRole.ToolTipRole:
            return ("Double-click to edit the argument." if self.explicit else
                    "Generated by the builder; any edit makes this sequence explicit.")
        if role == Qt.ItemDataRole.ForegroundRole and not self.explicit:
            return QBrush(QColor("#757575"))
        if role == Qt.ItemDataRole.FontRole and not self.explicit:
            font = QFont()
            font.setItalic(True)
            return font
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.ItemIsDropEnabled
        return (Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                | Qt.ItemFlag.ItemIsEditable | Qt.ItemFlag.ItemIsDragEnabled)

    def setData(self, index: _Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        """Edit an argument in place; refused (with `refused`) when it does not parse."""
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        name, _old = command_entry(self.entries[index.row()])
        try:
            argument = parse_argument(str(value), f"{self.name}[{index.row()}].{name}")
            self.replace_block((index.row(),), {name: argument})
        except WorkbenchError as exc:
            self.refused.emit(f"{exc}" + (f" — {exc.hint}" if exc.hint else ""))
            return False
        return True

    # --- edits ----------------------------------------------------------------------------

    def validate(self, entries: list[dict[str, Any]]) -> None:
        """Refuse a sequence the builder would refuse (unknown command, bad argument).

        Raises:
            ProjectFileError: with where and why.
        """
        project = self.workspace.project
        assert project is not None  # noqa: S101 - invariant: edits only happen with a project open
        tree.check_shape(project, entries, f"sequences.{self.name}")

    def commit(self, entries: list[dict[str, Any]], label: str = "") -> None:
        """Replace the sequence with `entries` as one undoable edit labelled `label`."""
        self.validate(entries)
        self.workspace.push(tree.SequenceEdit(("sequences",), self.name, entries, description=label))

    def insert_command(self, row: int, name: str, argument: Any = None) -> None:
        """Insert a command (from the palette) before `row` (-1: at the end)."""
        self.insert_block((), row, {name: default_argument(name) if argument is None else argument})

    def insert_block(self, lane: tree.Path, index: int, item: dict[str, Any],
                     verb: str = "Insert") -> None:
        """Insert a block into a lane (the sequence, or a try-each branch) before `index`."""
        self.commit(tree.insert(self.entries, lane, index, item),
                    tree.describe_edit(verb, item, self.name, lane))

    def move(self, source: int, target: int) -> None:
        """Move the command at `source` to before row `target`."""
        self.move_block((source,), (), target)

    def move_block(self, source: tree.Path, lane: tree.Path, index: int) -> tree.Path:
        """Move a block into a lane before `index`; returns its new path."""
        entries, path = tree.move(self.entries, source, lane, index)
        self.commit(entries, tree.describe_edit("Move", tree.block(self.entries, source),
                                                self.name, lane))
        return path

    def remove(self, rows: list[int]) -> None:
        """Remove commands."""
        for row in sorted(set(rows), reverse=True):
            self.remove_block((row,))

    def remove_block(self, path: tree.Path, verb: str = "Delete") -> None:
        """Delete (or cut) one block and what it contains."""
        self.commit(tree.remove(self.entries, path),
                    tree.describe_edit(verb, tree.block(self.entries, path), self.name, path[:-1]))

    def replace_block(self, path: tree.Path, item: dict[str, Any]) -> None:
        """Replace a block (its parameters edited in a form)."""
        self.commit(tree.replace(self.entries, path, item),
                    tree.describe_edit("Edit", item, self.name, path[:-1]))

    def revert(self) -> None:
        """Drop the explicit sequence: the builder generates it again."""
        if self.explicit:
            self.workspace.push(tree.SequenceEdit(("sequences",), self.name, None,
                                                  description=f"Generate {self.name} again"))

    # --- drag and drop --------------------------------------------------------------------

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction | Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:
        return [COMMAND_MIME, ENTRY_MIME]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        mime = QMimeData()
        rows = sorted({i.row() for i in indexes if i.isValid()})
        if rows:
            mime.setData(ENTRY_MIME, json.dumps({"sequence": self.name, "row": rows[0]}).encode())
        return mime

    def canDropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int,
                        parent: _Index) -> bool:
        if data.hasFormat(COMMAND_MIME):
            return True
        if data.hasFormat(ENTRY_MIME):
            entry = dragged_entry(data)
            return entry is not None and entry[0] == self.name
        return False

    def dropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int,
                     parent: _Index) -> bool:
        """A palette command is inserted; an entry of this sequence is moved."""
        if not self.canDropMimeData(data, action, row, column, parent):
            return False
        target = row if row >= 0 else parent.row() if parent.isValid() else self.rowCount()
        try:
            if data.hasFormat(COMMAND_MIME):
                name = bytes(data.data(COMMAND_MIME).data()).decode("utf-8", "replace")
                self.insert_command(target, name)
            else:
                entry = dragged_entry(data)
                if entry is None or not 0 <= entry[1] < len(self.entries):
                    return False  # not ours, or a row this sequence does not have
                self.move(entry[1], target)
        except WorkbenchError as exc:
            self.refused.emit(f"{exc}" + (f" — {exc.hint}" if exc.hint else ""))
            return False
        return True


def dragged_entry(data: QMimeData) -> tuple[str, int] | None:
    """(sequence, row) of a dragged sequence entry, or None when the drag's data is not
    ours: another application may offer the same MIME type with anything in it."""
    try:
        entry = json.loads(bytes(data.data(ENTRY_MIME).data()))
    except ValueError:  # not JSON, or not UTF-8
        return None
    if not isinstance(entry, dict):
        return None
    sequence, row = entry.get("sequence"), entry.get("row")
    if not isinstance(sequence, str) or not isinstance(row, int) or isinstance(row, bool):
        return None
    return sequence, row
