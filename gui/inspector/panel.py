"""The inspector panel: tree, hex and diagnostic notation of one envelope, linked both ways,
with badges for signature, digest and severed members, and findings that jump to their
element. Decoding, locating and verifying run in a worker; only the views are built on
the UI thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtGui import QColor, QResizeEvent, QTextCursor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QSplitter,
    QTabWidget,
    QTextEdit,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from gui.inspector.diag_map import diag_paths, line_of
from gui.inspector.findings import (
    SEVERITY_ORDER,
    Finding,
    encoding_findings,
    lint_findings,
    verification_findings,
)
from gui.inspector.hex_view import HexView
from gui.inspector.tree_model import EnvelopeTreeModel, NodeTree, build_tree
from gui.workers import JobRunner, Progress
from suit.codec import decode_envelope
from suit.keys import TrustAnchor
from suit.model import Envelope
from suit.render import envelope_diag
from suit.spans import Path as SpanPath
from suit.spans import SpanIndex, locate
from suit.verify import VerificationReport, check_envelope
from workbench.errors import FileAccessError
from workbench.files import MAX_ENVELOPE, read_bytes

#: Pixels the tree needs beside the hex view to sit side by side with it.
TREE_WIDTH = 380
_BADGE_STYLE = {"ok": "#2e7d32", "bad": "#c62828", "warn": "#ef6c00", "info": "#546e7a"}


@dataclass
class Inspection:
    """Everything the panel shows about one file, computed off the UI thread."""

    name: str
    data: bytes
    envelope: Envelope
    spans: SpanIndex
    tree: NodeTree
    report: VerificationReport
    diag: str
    findings: list[Finding]
    anchors_given: bool
    #: The span path each diagnostic-notation line shows (`diag_map.diag_paths`).
    diag_lines: list[SpanPath] = field(default_factory=list)


def inspect_bytes(progress: Progress, data: bytes, name: str,
                  anchors: Sequence[TrustAnchor]) -> Inspection:
    """Decode, locate, verify and render `data` (a worker job)."""
    progress(0, 4, "decoding")
    envelope = decode_envelope(data)
    progress(1, 4, "locating items")
    spans = locate(data)
    tree = build_tree(data, spans)
    progress(2, 4, "verifying")
    report = check_envelope(envelope, anchors)
    progress(3, 4, "rendering")
    findings = (verification_findings(report, spans, bool(anchors)) + lint_findings(envelope, spans)
                + encoding_findings(data, spans))
    findings.sort(key=lambda f: SEVERITY_ORDER[f.severity])
    diag = envelope_diag(envelope)
    return Inspection(name, bytes(data), envelope, spans, tree, report, diag, findings,
                      bool(anchors), diag_paths(diag))


def badges(inspection: Inspection) -> list[tuple[str, str, str]]:
    """(name, text, state) for each badge; state is a key of the badge colours."""
    report = inspection.report
    out = [("digest", "manifest digest ok" if report.digest_ok else "manifest digest MISMATCH",
            "ok" if report.digest_ok else "bad")]
    if not report.blocks:
        out.append(("signature", "unsigned", "bad"))
    elif report.authentic:
        who = next(b.verified_by for b in report.blocks if b.verified_by)
        out.append(("signature", f"signature verified ({who})", "ok"))
    elif not inspection.anchors_given:
        out.append(("signature", f"{len(report.blocks)} signature(s), no trust anchor", "warn"))
    else:
        out.append(("signature", "signature NOT verified", "bad"))
    for name, member in report.severable.items():
        if not member.present:
            out.append((f"severed:{name}", f"{name}: severed, absent", "info"))
        else:
            state = "ok" if member.digest_ok else "bad"
            out.append((f"severed:{name}", f"{name}: carried, digest "
                        f"{'ok' if member.digest_ok else 'MISMATCH'}", state))
    return out


class InspectorPanel(QWidget):
    """Shows one envelope. `open_bytes` starts the work; `loaded` fires when shown.

    Signals:
        loaded(object): the `Inspection` now shown.
        failed(object): the exception that stopped it.
    """

    loaded = Signal(object)
    failed = Signal(object)

    def __init__(self, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._following = False  # set while one view moves another: no echo back
        self.inspection: Inspection | None = None
        self.model: EnvelopeTreeModel | None = None
        self._build()

    def _build(self) -> None:
        self.title = QLabel("Open a .suit file to inspect it (File ▸ Inspect envelope…).")
        self.badge_row = QHBoxLayout()
        self.tree = QTreeView()
        self.tree.setUniformRowHeights(True)  # keeps 50,000-row trees fast
        self.tree.setAlternatingRowColors(True)
        self.hex = HexView()
        self.diag = QPlainTextEdit(readOnly=True)
        self.diag.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.hex, "Hex")
        self.tabs.addTab(self.diag, "Diagnostic notation")
        self.findings = QListWidget()
        self.findings.setAccessibleName("inspector findings")
        self.splitter = splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.tree)
        splitter.addWidget(self.tabs)
        splitter.setSizes([460, 640])
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(self.badge_row)
        layout.addWidget(splitter, 1)
        layout.addWidget(QLabel("Findings"))
        layout.addWidget(self.findings)
        self.findings.setMaximumHeight(130)
        self.hex.byteClicked.connect(self.select_offset)
        self.diag.cursorPositionChanged.connect(self._diag_moved)
        self.findings.itemActivated.connect(self._finding_chosen)
        self.findings.itemClicked.connect(self._finding_chosen)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        # Side by side only when both fit: at 1280x800 with the docks open the panel is
        # narrower, and a squeezed tree hides its Value column (issue 17).
        wide = self.width() >= self.tabs.minimumSizeHint().width() + TREE_WIDTH
        orientation = Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical
        if self.splitter.orientation() != orientation:
            self.splitter.setOrientation(orientation)
            self._fit_tree_columns()

    def _fit_tree_columns(self) -> None:
        # The element column as wide as its labels, but never pushing Value out of sight.
        self.tree.resizeColumnToContents(0)
        room = int(self.tree.viewport().width() * 0.6)
        if self.tree.columnWidth(0) > room:
            self.tree.setColumnWidth(0, room)

    # --- opening --------------------------------------------------------------------------

    def open_file(self, path: str | Path, anchors: Sequence[TrustAnchor] = ()) -> None:
        """Read and inspect a file; reading errors arrive through `failed`."""
        try:
            data = read_bytes(path, limit=MAX_ENVELOPE)
        except FileAccessError as exc:
            self.failed.emit(exc)
            return
        self.open_bytes(data, Path(path).name, anchors)

    def open_bytes(self, data: bytes, name: str, anchors: Sequence[TrustAnchor] = ()) -> None:
        """Inspect `data` in a worker; the views update when it is done."""
        self.title.setText(f"Inspecting {name}…")
        self._runner.submit(inspect_bytes, bytes(data), name, list(anchors),
                            title=f"Inspecting {name}", on_success=self.show_inspection,
                            on_error=self.failed.emit)

    def show_inspection(self, inspection: Inspection) -> None:
        """Show a finished inspection (UI thread)."""
        self.inspection = inspection
        self.title.setText(f"<b>{inspection.name}</b> — {len(inspection.data)} bytes, "
                           f"sequence number {inspection.envelope.manifest.sequence_number}")
        old = self.model
        self.model = EnvelopeTreeModel(inspection.tree, self)
        self.tree.setModel(self.model)
        if old is not None:
            old.deleteLater()
        self.tree.expandToDepth(3)
        self._fit_tree_columns()
        self.tree.selectionModel().currentChanged.connect(self._tree_moved)
        self.hex.set_data(inspection.data)
        self._following = True
        self.diag.setPlainText(inspection.diag)
        self._following = False
        self._show_badges(inspection)
        self._show_findings(inspection.findings)
        self.loaded.emit(inspection)

    def _show_badges(self, inspection: Inspection) -> None:
        while self.badge_row.count():
            item = self.badge_row.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.badge_labels: dict[str, QLabel] = {}
        for name, text, state in badges(inspection):
            label = QLabel(text)
            label.setObjectName(f"badge-{name}")
            label.setProperty("state", state)
            label.setStyleSheet(f"background:{_BADGE_STYLE[state]};color:white;"
                                "border-radius:8px;padding:2px 8px;")
            self.badge_row.addWidget(label)
            self.badge_labels[name] = label
        self.badge_row.addStretch(1)

    def _show_findings(self, findings: list[Finding]) -> None:
        self.findings.clear()
        self.finding_list = list(findings)
        for number, finding in enumerate(findings):
            text = f"[{finding.severity}] {finding.message}"
            item = QListWidgetItem(text + (f" — {finding.hint}" if finding.hint else ""))
            item.setData(Qt.ItemDataRole.UserRole, number)  # paths hold enums Qt would not keep
            self.findings.addItem(item)
        if not findings:
            self.findings.addItem("No findings.")

    # --- linking --------------------------------------------------------------------------

    def _tree_moved(self, current, _previous) -> None:  # type: ignore[no-untyped-def]
        span = self.model.span_at(current) if self.model else None
        if span is not None:
            self.hex.highlight(span.start, span.end)
            self._show_in_diag(span.path)

    def _show_in_diag(self, path: SpanPath) -> None:
        """Put the diagnostic notation's cursor on the line showing `path`, highlighted."""
        if self.inspection is None or self._following:
            return
        line = line_of(self.inspection.diag_lines, path)
        if line is None:
            return
        block = self.diag.document().findBlockByNumber(line)
        cursor = QTextCursor(block)
        self._following = True
        try:
            self.diag.setTextCursor(cursor)
            self.diag.centerCursor()
        finally:
            self._following = False
        marked = QTextEdit.ExtraSelection()
        marked.format.setBackground(QColor("#fff59d"))
        marked.format.setProperty(marked.format.Property.FullWidthSelection, True)
        marked.cursor = cursor
        self.diag.setExtraSelections([marked])

    def diag_line(self) -> int:
        """The line of the diagnostic notation the cursor is on."""
        return self.diag.textCursor().blockNumber()

    def _diag_moved(self) -> None:
        # A click (or arrow key) in the notation selects its element in the tree, which
        # highlights its bytes (and marks the line) as a tree selection does.
        if self._following or self.inspection is None:
            return
        line = self.diag.textCursor().blockNumber()
        if 0 <= line < len(self.inspection.diag_lines):
            self._following = True
            try:
                self.select_path(self.inspection.diag_lines[line])
            finally:
                self._following = False

    def reverify(self, anchors: Sequence[TrustAnchor]) -> bool:
        """Inspect the open envelope again with other trust anchors; False if none is open."""
        if self.inspection is None:
            return False
        self.open_bytes(self.inspection.data, self.inspection.name, anchors)
        return True

    def select_path(self, path: tuple) -> bool:  # type: ignore[type-arg]
        """Select the element at `path` in the tree (which highlights its bytes)."""
        if self.model is None:
            return False
        index = self.model.index_of(path)
        if not index.isValid():
            return False
        self.tree.scrollTo(index)
        self.tree.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows)
        return True

    def select_offset(self, offset: int) -> None:
        """Select the innermost element containing byte `offset`."""
        if self.inspection is None:
            return
        span = self.inspection.spans.at(offset)
        if span is not None:
            self.select_path(span.path)

    def _finding_chosen(self, item: QListWidgetItem) -> None:
        number = item.data(Qt.ItemDataRole.UserRole)
        if isinstance(number, int):
            self.select_path(self.finding_list[number].path)
