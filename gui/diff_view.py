"""Two envelopes side by side: what changed between them as SUIT sees it (`suit.diff`),
grouped by section, left value beside right value. Not a text diff."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QResizeEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from gui.workers import JobRunner, Progress
from suit.codec import decode_envelope
from suit.diff import Change, EnvelopeDiff, diff_envelopes
from workbench.files import MAX_ENVELOPE, read_bytes

_Index = QModelIndex | QPersistentModelIndex
_KIND_COLOURS = {"added": "#e8f5e9", "removed": "#ffebee", "changed": "#fff8e1"}


class DiffModel(QAbstractTableModel):
    """Rows are `Change`s: section, element, left value, right value."""

    HEADERS = ("Section", "Element", "Left", "Right")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._changes: list[Change] = []

    def set_diff(self, diff: EnvelopeDiff) -> None:
        """Show the changes of `diff`."""
        self.beginResetModel()
        self._changes = list(diff.changes)
        self.endResetModel()

    def change(self, row: int) -> Change:
        """The change shown in `row`."""
        return self._changes[row]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._changes)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else 4

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        change = self._changes[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            value = (change.section, change.where, change.left, change.right)[index.column()]
            return "—" if value is None else value
        if role == Qt.ItemDataRole.BackgroundRole:
            return QBrush(QColor(_KIND_COLOURS[change.kind]))
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None


def diff_files(progress: Progress, left: str, right: str) -> EnvelopeDiff:
    """Read, decode and compare two envelope files (a worker job)."""
    envelopes = []
    for done, path in enumerate((left, right)):
        progress(done, 3, f"reading {Path(path).name}")
        envelopes.append(decode_envelope(read_bytes(path, limit=MAX_ENVELOPE)))
    progress(2, 3, "comparing")
    return diff_envelopes(*envelopes)


class DiffPanel(QWidget):
    """Pick two envelopes; see their structural differences.

    Signals:
        compared(object): the `EnvelopeDiff` now shown.
        failed(object): the exception that stopped the comparison.
    """

    compared = Signal(object)
    failed = Signal(object)

    def __init__(self, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self.paths: list[str | None] = [None, None]
        self.model = DiffModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.table.setWordWrap(False)
        self.summary = QLabel("Choose two envelopes to compare.")
        self.buttons = [QPushButton("Left envelope…"), QPushButton("Right envelope…")]
        row = QHBoxLayout()
        for side, button in enumerate(self.buttons):
            button.clicked.connect(lambda _=False, s=side: self._choose(s))
            row.addWidget(button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)

    def _choose(self, side: int) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose an envelope", "",
                                              "SUIT envelopes (*.suit *.cbor);;All files (*)")
        if path:
            self.set_file(side, path)

    def set_file(self, side: int, path: str | Path) -> None:
        """Set the left (0) or right (1) envelope; compares once both are set."""
        self.paths[side] = str(path)
        self.buttons[side].setText(("Left: ", "Right: ")[side] + Path(path).name)
        if all(self.paths):
            self.compare(*self.paths)  # type: ignore[arg-type]

    def compare(self, left: str, right: str) -> None:
        """Compare two files in a worker."""
        self.summary.setText("Comparing…")
        self._runner.submit(diff_files, left, right, title="Comparing envelopes",
                            on_success=self._show, on_error=self.failed.emit)

    def _show(self, diff: EnvelopeDiff) -> None:
        self.model.set_diff(diff)
        left, right = (Path(p or "").name for p in self.paths)
        if diff.identical:
            self.summary.setText(f"{left} and {right} are structurally identical.")
        else:
            counts = {k: sum(c.kind == k for c in diff.changes) for k in ("changed", "added", "removed")}
            self.summary.setText(f"{left} → {right}: " + ", ".join(f"{n} {k}" for k, n in counts.items()))
        self._fit_columns()
        self.compared.emit(diff)

    def _fit_columns(self) -> None:
        # Section and element as wide as their text; Left and Right share what is left, so
        # both stay on screen (long digests are elided, whole in their tooltip) (issue 17).
        self.table.resizeColumnsToContents()
        header = self.table.horizontalHeader()
        if header.count() < 4:
            return
        room = self.table.viewport().width() - header.sectionSize(0) - header.sectionSize(1)
        half = max(room // 2, header.fontMetrics().horizontalAdvance("Right") + 16)
        for column in (2, 3):
            if header.sectionSize(column) > half:
                header.resizeSection(column, half)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_columns()
