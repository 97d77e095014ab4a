"""Records: the signing audit log and the factory records as filterable tables, with the
audit chain's verification and CSV export of what the filter shows.

The tables adapt the core's stores (`signing.audit.SigningAuditLog`,
`flasher.records.FactoryRecords`), read in workers; nothing here edits them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from flasher.records import COLUMNS, FactoryRecords, attempt_row, csv_text
from gui.workers import JobRunner, Progress
from signing.audit import FIELDS, AuditVerdict, SigningAuditLog
from signing.pin import PinProvider
from suit.errors import WorkbenchError
from workbench import flashing
from workbench.files import write_atomic

AUDIT_COLUMNS = ["seq", *FIELDS]
FACTORY_COLUMNS = list(COLUMNS)


def _audit_rows(progress: Progress, path: Path | None) -> list[list[str]]:
    progress(0, 0, "reading the signing audit log")
    return [[str(seq), *asdict(record).values()] for seq, record in SigningAuditLog(path).entries()]


def _factory_rows(progress: Progress, path: Path) -> list[list[str]]:
    progress(0, 0, "reading the factory records")
    return [attempt_row(record) for record in FactoryRecords(path).all()]


def _verify(progress: Progress, path: Path | None, pins: PinProvider | None) -> AuditVerdict:
    progress(0, 0, "verifying the audit chain")
    return SigningAuditLog(path, pins).check()  # check(), not verify(): anchored or not


def verdict_text(verdict: AuditVerdict) -> str:
    """The verdict in the words of `suitwb audit verify`: only an anchored log is intact."""
    if verdict.anchored:
        return (f"Audit chain intact and anchored: {verdict.count} record(s), the head "
                f"matches the token ({verdict.anchor}).")
    return (f"Audit chain self-consistent only: not anchored ({verdict.count} record(s)); "
            "anchor it with `suitwb audit init --anchor URI`.")


#: Where a cell keeps its text as read, for export: the display role holds whole numbers
#: as numbers so that they sort as numbers, which would turn a device id "0012" into 12.
_TEXT_ROLE = Qt.ItemDataRole.UserRole


def _item(text: str) -> QStandardItem:
    """A cell; whole numbers are shown as numbers so they sort as numbers."""
    item = QStandardItem()
    item.setData(int(text) if text.isdigit() else text, Qt.ItemDataRole.DisplayRole)
    item.setData(text, _TEXT_ROLE)
    return item


class RecordTable(QWidget):
    """One filterable, sortable table with CSV export of the rows the filter shows."""

    def __init__(self, columns: Sequence[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.columns = list(columns)
        self.model = QStandardItemModel(0, len(columns))
        self.model.setHorizontalHeaderLabels(self.columns)
        self.proxy = QSortFilterProxyModel()
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterKeyColumn(-1)  # any column
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter (any column)")
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(0, Qt.SortOrder.AscendingOrder)  # oldest first
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.filter)
        layout.addWidget(self.view, 1)

    def set_rows(self, rows: list[list[str]]) -> None:
        """Replace the rows."""
        self.model.removeRows(0, self.model.rowCount())
        for row in rows:
            self.model.appendRow([_item(text) for text in row])
        self.view.resizeColumnsToContents()

    def visible_rows(self) -> list[list[str]]:
        """The rows the filter lets through, in the view's order."""
        return [[self.proxy.index(r, c).data(_TEXT_ROLE) or "" for c in range(len(self.columns))]
                for r in range(self.proxy.rowCount())]

    def csv_text(self) -> str:
        """The visible rows as CSV with a header row: for the factory records, the same text
        as `suitwb records export --csv` gives for the same rows."""
        return csv_text(self.columns, self.visible_rows())


class RecordsPanel(QWidget):
    """The audit log and the factory records.

    Signals:
        failed(object, str): an error and what was being done.
        verified(int): the audit chain holds over this many records.
        loaded(): both tables were refreshed.
    """

    failed = Signal(object, str)
    verified = Signal(int)
    loaded = Signal()

    def __init__(self, runner: JobRunner, parent: QWidget | None = None, *,
                 pins: PinProvider | None = None) -> None:
        super().__init__(parent)
        self.runner, self.pins = runner, pins  # pins: the anchor token's PIN, if asked
        self.audit_path: Path | None = None  # None: the data dir's log
        self.audit = RecordTable(AUDIT_COLUMNS)
        self.factory = RecordTable(FACTORY_COLUMNS)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.audit, "Signing audit log")
        self.tabs.addTab(self.factory, "Factory records")
        self.chain = QLabel("Audit chain not checked yet.")
        self.chain.setObjectName("audit-chain")
        buttons = QHBoxLayout()
        for text, slot in (("Refresh", self.refresh), ("Verify audit chain", self.verify),
                           ("Export CSV…", lambda: self.export(None))):
            button = QPushButton(text)
            button.clicked.connect(lambda _c=False, s=slot: s())
            buttons.addWidget(button)
        buttons.addWidget(self.chain, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(buttons)
        self._pending = 0

    def refresh(self) -> None:
        """Reload both tables (in workers)."""
        self._pending = 2
        self._load(_audit_rows, self.audit_path, self.audit, "read the signing audit log")
        self._load(_factory_rows, flashing.records_path(), self.factory, "read the factory records")

    def _load(self, function: Callable[..., list[list[str]]], path: Path | None,
              table: RecordTable, doing: str) -> None:
        self.runner.submit(function, path, title=doing.capitalize(),
                           on_success=lambda rows: self._loaded(table, rows),
                           on_error=lambda exc: self.failed.emit(exc, doing))

    def _loaded(self, table: RecordTable, rows: list[list[str]]) -> None:
        table.set_rows(rows)
        self._pending -= 1
        if self._pending == 0:
            self.loaded.emit()

    def verify(self) -> None:
        """Check the audit log's hash chain (in a worker)."""
        self.chain.setText("Verifying the audit chain…")
        self.runner.submit(_verify, self.audit_path, self.pins, title="Verifying the audit chain",
                           on_success=self._verified, on_error=self._broken)

    def _verified(self, verdict: AuditVerdict) -> None:
        self.chain.setText(verdict_text(verdict))
        self.verified.emit(verdict.count)

    def _broken(self, exc: BaseException) -> None:
        self.chain.setText(f"Audit chain BROKEN: {exc}")
        self.failed.emit(exc, "verify the audit chain")

    def export(self, path: Path | None) -> Path | None:
        """Write the current tab's visible rows as CSV to `path` (asked if None)."""
        table: RecordTable = self.tabs.currentWidget()  # type: ignore[assignment]
        if path is None:
            name, _ = QFileDialog.getSaveFileName(self, "Export CSV", "records.csv", "CSV (*.csv)")
            if not name:
                return None
            path = Path(name)
        try:
            write_atomic(path, table.csv_text().encode("utf-8"))
        except WorkbenchError as exc:  # FileAccessError: the folder is not writable...
            self.failed.emit(exc, "export the records")
            return None
        return path
