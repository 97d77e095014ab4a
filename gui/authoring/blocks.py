"""A command sequence drawn as blocks: conditions and directives in order, a try-each as
side-by-side lanes (one per branch), a run-sequence as a nested group, and the component
index in effect as each block's coloured header (M37 §8.4.10.1).

Blocks are plain widgets in lanes; a lane accepts drops from the palette (a new block),
from its own sequence (a move) and from another sequence (a move between sequences). The
canvas owns the selection and every keyboard action, so nothing needs a mouse.
"""

from __future__ import annotations

import json
from typing import Any, Final

from PySide6.QtCore import QMimeData, QPoint, Qt, Signal
from PySide6.QtGui import (
    QDrag,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeyEvent,
    QMouseEvent,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from gui.authoring.notation import default_argument, safe_toml
from gui.authoring.sequences import COMMAND_MIME, SequenceModel
from suit.errors import WorkbenchError
from workbench.project import sequence_tree as tree

BLOCK_MIME: Final = "application/x-suitwb-block"
#: Block colours by component index: the same component has the same colour everywhere.
COLOURS: Final = ("#e3f2fd", "#f3e5f5", "#e8f5e9", "#fff3e0", "#fce4ec", "#e0f7fa", "#f9fbe7")
#: A block from the clipboard or a drag is a few hundred bytes; more is not ours.
MAX_BLOCK_BYTES: Final = 1 << 20


def exec_drag(drag: QDrag, action: Qt.DropAction) -> Qt.DropAction:
    """Run a drag to its drop (the one place a QDrag runs, so a test can drive the drop:
    QDrag.exec waits for the windowing system's button release, which offscreen Qt never
    delivers)."""
    return drag.exec(action)


def block_mime(sequence: str, path: tree.Path, item: Any) -> QMimeData:
    """What a dragged or copied block carries: where it came from and the block itself."""
    mime = QMimeData()
    payload = {"sequence": sequence, "path": list(path), "item": item}
    mime.setData(BLOCK_MIME, json.dumps(payload, default=str).encode("utf-8"))  # a TOML date: text
    mime.setText(safe_toml(item))
    return mime


def release_clipboard() -> None:
    """Leave only plain text on the clipboard before the application goes away.

    A QMimeData handed to the clipboard from Python crashes PySide6 6.11 when the
    QApplication is destroyed at interpreter exit (seen with the offscreen platform:
    segmentation fault after a copy); plain text does not. So at quit a copied block stays
    on the clipboard as its TOML text, without the block format only we read.
    """
    clipboard = QApplication.clipboard()
    data = clipboard.mimeData()
    if data is not None and data.hasFormat(BLOCK_MIME):
        clipboard.setText(data.text())


def dragged_block(data: QMimeData) -> tuple[str, tree.Path, dict[str, Any]] | None:
    """(sequence, path, block) of dragged or pasted block data, or None when it is not
    ours: another application may offer the same MIME type with anything in it."""
    raw = bytes(data.data(BLOCK_MIME).data())
    if len(raw) > MAX_BLOCK_BYTES:
        return None
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested past the stack
        return None
    if not isinstance(payload, dict):
        return None
    sequence, path, item = payload.get("sequence"), payload.get("path"), payload.get("item")
    if not isinstance(sequence, str) or not isinstance(path, list) or not isinstance(item, dict) \
            or len(item) != 1 or not all(isinstance(p, int) and not isinstance(p, bool) for p in path):
        return None
    return sequence, tuple(path), item


class ElidedLabel(QLabel):
    """A block's argument on one line: cut with "…" to the width it has, never wider than
    its lane and never clipped (the tooltip has it all)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.full_text = text
        self.setToolTip(text)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.setText(self.fontMetrics().elidedText(self.full_text, Qt.TextElideMode.ElideRight,
                                                   max(0, self.contentsRect().width())))


class BlockWidget(QFrame):
    """One condition or directive; a try-each or run-sequence holds its lanes."""

    def __init__(self, canvas: SequenceCanvas, path: tree.Path, item: Any) -> None:
        super().__init__()
        self.canvas, self.path, self.item = canvas, path, item
        self._pressed: QPoint | None = None
        name, argument = tree.command_or_none(item) or ("not a command", item)
        self.header = QLabel(canvas.context_text(path))
        self.title = QLabel(f"<b>{tree.spec_name(name)}</b>")
        self.badge = QLabel()
        self.badge.setStyleSheet("color:#b71c1c;")
        self.badge.hide()
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.badge)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 3, 6, 3)
        layout.setSpacing(1)
        layout.addWidget(self.header)
        layout.addLayout(top)
        lanes = tree.branches(item)
        if lanes is None:
            self.summary = ElidedLabel(safe_toml(argument))
            layout.addWidget(self.summary)
        else:
            self._add_lanes(layout, name, lanes)
        self.setToolTip("Click to select (Up/Down); drag to move (Ctrl+Up/Down); double-click "
                        "or Enter to edit; Delete removes; Ctrl+C / Ctrl+V copy and paste; "
                        "Insert or Ctrl+Shift+P inserts from the palette.")
        self.set_selected(False)

    def _add_lanes(self, layout: QVBoxLayout, name: str, lanes: list[list[Any]]) -> None:
        row = QHBoxLayout()
        self.lanes = [LaneWidget(self.canvas, (*self.path, k),
                                 f"branch {k + 1}" if "try-each" in name else "runs")
                      for k in range(len(lanes))]
        for lane, items in zip(self.lanes, lanes, strict=True):
            lane.fill(items)
            row.addWidget(lane, 1)
        layout.addLayout(row)

    def colour(self) -> str:
        context = self.canvas.context(self.path)
        return COLOURS[context % len(COLOURS)] if isinstance(context, int) and \
            not isinstance(context, bool) else "#eeeeee"

    def set_selected(self, selected: bool) -> None:
        border = "2px solid #1565c0" if selected else "1px solid #9e9e9e"
        self.setStyleSheet(f"BlockWidget {{ background:{self.colour()}; border:{border}; "
                           "border-radius:4px; }")
        self.setProperty("selected", selected)

    def set_findings(self, findings: list[str]) -> None:
        """Lint findings about this block: a badge with each finding in its tooltip."""
        self.badge.setText(f"⚠ {len(findings)}" if findings else "")
        self.badge.setToolTip("\n".join(findings))
        self.badge.setVisible(bool(findings))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._pressed = event.position().toPoint()
            self.canvas.select(self.path)
            self.canvas.setFocus()
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pressed is not None and (event.position().toPoint() - self._pressed) \
                .manhattanLength() >= QApplication.startDragDistance():
            self._pressed = None
            self.canvas.start_drag(self.path, self)
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._pressed = None
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        self.canvas.select(self.path)
        self.canvas.editRequested.emit(self.path)
        event.accept()


class LaneWidget(QFrame):
    """A list of blocks: the sequence itself, a try-each branch or a run-sequence body."""

    def __init__(self, canvas: SequenceCanvas, lane_path: tree.Path, title: str = "") -> None:
        super().__init__()
        self.canvas, self.lane_path = canvas, lane_path
        self.blocks: list[BlockWidget] = []
        self.setAcceptDrops(True)
        self.setObjectName("lane")
        self.setStyleSheet("QFrame#lane { border:1px dashed #bdbdbd; background:#fafafa; }")
        self.column = QVBoxLayout(self)
        self.column.setContentsMargins(4, 4, 4, 4)
        self.column.setSpacing(4)
        if title:
            self.column.addWidget(QLabel(f"<i>{title}</i>"))

    def fill(self, items: list[Any]) -> None:
        """Add a block per item, then room to drop at the end."""
        for row, item in enumerate(items):
            widget = BlockWidget(self.canvas, (*self.lane_path, row), item)
            self.blocks.append(widget)
            self.canvas.widgets[widget.path] = widget
            self.column.addWidget(widget)
        hint = QLabel("drop here" if not items else "")
        hint.setStyleSheet("color:#9e9e9e;")
        hint.setMinimumHeight(14)
        self.column.addWidget(hint)
        self.column.addStretch(1)

    def index_at(self, y: int) -> int:
        """Where a drop at height `y` (lane coordinates) goes: before the first block whose
        middle is below it."""
        for row, widget in enumerate(self.blocks):
            if y < widget.geometry().center().y():
                return row
        return len(self.blocks)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self.canvas.accepts(event.mimeData()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if self.canvas.accepts(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        index = self.index_at(event.position().toPoint().y())
        if self.canvas.drop(event.mimeData(), self.lane_path, index):
            event.acceptProposedAction()
        else:
            event.ignore()


class SequenceCanvas(QScrollArea):
    """One command sequence as blocks, with the selection and the keyboard actions.

    Signals:
        selectionChanged(object): the selected block's path, or None.
        editRequested(object): edit the block at a path (double-click, Enter).
        insertRequested(): insert from the palette by keyboard (Insert, Ctrl+Shift+P).
        crossDrop(str, object, object, int): a block of another sequence (name, path)
            dropped into this one's lane before an index.
    """

    selectionChanged = Signal(object)
    editRequested = Signal(object)
    insertRequested = Signal()
    crossDrop = Signal(str, object, object, int)

    def __init__(self, model: SequenceModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.selected: tree.Path | None = None
        self.widgets: dict[tree.Path, BlockWidget] = {}
        self.root = LaneWidget(self, ())
        self.setWidgetResizable(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setToolTip("The sequence as blocks. Up/Down select, Ctrl+Up/Down move, Delete "
                        "removes, Ctrl+C/Ctrl+X/Ctrl+V copy, cut and paste, Enter edits, Insert or "
                        "Ctrl+Shift+P inserts from the palette; drop palette entries or blocks "
                        "into any lane.")
        model.modelReset.connect(self.rebuild)
        self.rebuild()

    # --- drawing --------------------------------------------------------------------------

    def rebuild(self) -> None:
        """Draw the sequence again (after any change), keeping the selection if it exists."""
        self.widgets = {}
        self.root = LaneWidget(self, ())
        self.root.fill(self.model.entries)
        old = self.takeWidget()
        self.setWidget(self.root)
        if old is not None:
            # Later, not now: the rebuild may run inside one of the old lane's own drop
            # or key handlers (the edit it made reset the model).
            old.hide()
            old.deleteLater()
        if self.selected not in self.widgets:
            self.selected = None
        self.select(self.selected)

    def context(self, path: tree.Path) -> Any:
        """The component index in effect at a block (None: the default 0)."""
        return tree.component_context(self.model.entries, path)

    def context_text(self, path: tree.Path) -> str:
        """``component 1 · app``: the header naming the component a block acts on."""
        index = self.context(path)
        project = self.model.workspace.project
        names = [c.name for c in project.components] if project else []
        if index is None:  # M37 §8.4.10.1: the index starts at 0
            return "component 0" + (f" · {names[0]}" if names else "") + " (default)"
        if isinstance(index, int) and not isinstance(index, bool):
            return f"component {index}" + (f" · {names[index]}" if 0 <= index < len(names) else "")
        return "all components" if index is True else f"components {index}"

    # --- selection ------------------------------------------------------------------------

    def select(self, path: tree.Path | None) -> None:
        """Select a block (None: nothing) and scroll to it."""
        for widget in self.widgets.values():
            widget.set_selected(widget.path == path)
        self.selected = path if path in self.widgets else None
        if self.selected is not None:
            # Vertically only: a wide block scrolled into view would hide the lanes' left.
            widget = self.widgets[self.selected]
            top = widget.mapTo(self.root, QPoint(0, 0)).y()
            self.ensureVisible(0, top + widget.height() // 2, 0, widget.height() // 2 + 8)
        self.selectionChanged.emit(self.selected)

    def _step(self, delta: int) -> None:
        order = list(tree.walk(self.model.entries))
        if not order:
            return
        here = order.index(self.selected) if self.selected in order else -1 if delta > 0 else len(order)
        self.select(order[max(0, min(len(order) - 1, here + delta))])

    # --- keyboard -------------------------------------------------------------------------

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key, mods = event.key(), event.modifiers()
        ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
        path = self.selected
        if key in (Qt.Key.Key_Up, Qt.Key.Key_Down) and ctrl and path is not None:
            self._nudge(path, -1 if key == Qt.Key.Key_Up else 2)
        elif key in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            self._step(-1 if key == Qt.Key.Key_Up else 1)
        elif key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and path is not None:
            self._guard(lambda: self.model.remove_block(path))
        elif ctrl and key == Qt.Key.Key_C and path is not None:
            self.copy()
        elif ctrl and key == Qt.Key.Key_X and path is not None:
            self.copy()  # cut: with paste, how a block moves between lanes by keyboard
            self._guard(lambda: self.model.remove_block(path, "Cut"))
        elif ctrl and key == Qt.Key.Key_V:
            self.paste()
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_F2) and path is not None:
            self.editRequested.emit(path)
        elif key == Qt.Key.Key_Insert or (ctrl and mods & Qt.KeyboardModifier.ShiftModifier
                                          and key == Qt.Key.Key_P):
            self.insertRequested.emit()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def _nudge(self, path: tree.Path, offset: int) -> None:
        """Ctrl+Up / Ctrl+Down: move the selected block one place in its lane."""
        target = path[-1] + offset
        if 0 <= target <= len(tree.lane(self.model.entries, path[:-1])):
            self._guard(lambda: self._moved(self.model.move_block(path, path[:-1], target)))

    def _moved(self, path: tree.Path) -> None:
        self.select(path)

    def insertion_point(self) -> tuple[tree.Path, int]:
        """Where a keyboard insert or paste goes: into the first empty lane of a selected
        try-each or run-sequence (an empty lane has no block to select), else after the
        selected block in its lane, else at the end."""
        if self.selected is None:
            return (), len(self.model.entries)
        lanes = tree.branches(tree.block(self.model.entries, self.selected)) or []
        empty = next((k for k, items in enumerate(lanes) if not items), None)
        if empty is not None:
            return (*self.selected, empty), 0
        return self.selected[:-1], self.selected[-1] + 1

    def insert(self, name: str, argument: Any) -> bool:
        """Insert a command at the insertion point and select it."""
        lane, index = self.insertion_point()
        return self._guard(lambda: self.model.insert_block(lane, index, {name: argument})) \
            and self._select_inserted(lane, index)

    def _select_inserted(self, lane: tree.Path, index: int) -> bool:
        self.select((*lane, min(index, len(tree.lane(self.model.entries, lane)) - 1)))
        return True

    # --- clipboard ------------------------------------------------------------------------

    def copy(self) -> None:
        """Ctrl+C: the selected block to the clipboard (and as TOML text)."""
        if self.selected is not None:
            item = tree.block(self.model.entries, self.selected)
            QApplication.clipboard().setMimeData(block_mime(self.model.name, self.selected, item))

    def paste(self) -> bool:
        """Ctrl+V: a copied block after the selected one."""
        data = QApplication.clipboard().mimeData()
        found = None if data is None else dragged_block(data)
        if found is None:
            return False
        lane, index = self.insertion_point()
        return self._guard(lambda: self.model.insert_block(lane, index, found[2], "Paste")) \
            and self._select_inserted(lane, index)

    # --- drag and drop --------------------------------------------------------------------

    def start_drag(self, path: tree.Path, source: QWidget) -> None:
        """Drag a block (a real QDrag; the drop happens in a lane)."""
        drag = QDrag(source)
        drag.setMimeData(block_mime(self.model.name, path, tree.block(self.model.entries, path)))
        exec_drag(drag, Qt.DropAction.MoveAction)

    def accepts(self, data: QMimeData) -> bool:
        """Whether a lane takes this drag: a palette command or a block."""
        return data.hasFormat(COMMAND_MIME) or dragged_block(data) is not None

    def drop(self, data: QMimeData, lane: tree.Path, index: int) -> bool:
        """A palette command is inserted; a block of this sequence moves; a block of
        another sequence is handed to the panel (`crossDrop`)."""
        if data.hasFormat(COMMAND_MIME):
            name = bytes(data.data(COMMAND_MIME).data()).decode("utf-8", "replace")
            return self._guard(lambda: self.model.insert_block(lane, index, {name: default_argument(name)})) \
                and self._select_inserted(lane, index)
        found = dragged_block(data)
        if found is None:
            return False
        sequence, path, _item = found
        if sequence != self.model.name:
            self.crossDrop.emit(sequence, path, lane, index)
            return True
        return self._guard(lambda: self._moved(self.model.move_block(path, lane, index)))

    def _guard(self, action: Any) -> bool:
        try:
            action()
        except WorkbenchError as exc:
            self.model.refused.emit(f"{exc}" + (f" — {exc.hint}" if exc.hint else ""))
            return False
        return True
