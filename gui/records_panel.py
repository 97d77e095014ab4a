"""Records: the signing audit log and the factory records as filterable tables, with the
audit chain's verification and CSV export of what the filter shows.

The tables adapt the core's stores (`signing.audit.SigningAuditLog`,
`flasher.records.FactoryRecords`), read in workers; nothing here edits them. The factory
records show each attempt's SUIT report: a column with whether it verified and its result,
and, for the selected attempt, the decoded report (workbench.report_view). Either store may
be a PostgreSQL database (issue 18): the panel's Databases fields name them, and the
factory records filter by station, operator, release and device.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from flasher.records import COLUMNS, attempt_row, csv_text
from gui.settings import Settings
from gui.workers import JobRunner, Progress
from signing.audit import AUDIT_ENV, FIELDS, AuditVerdict, SigningAuditLog
from signing.pin import PinProvider
from storage.dsn import is_dsn, redact_dsn
from suit.errors import WorkbenchError
from workbench import flashing
from workbench.files import write_atomic
from workbench.report_view import report_cell, report_details

AUDIT_COLUMNS = ["seq", *FIELDS]
FACTORY_COLUMNS = list(COLUMNS)
#: Shown after the factory columns, not exported (the CSV stays `suitwb records export`'s).
REPORT_COLUMN = "SUIT report"


@dataclass(frozen=True)
class TableRows:
    """What a worker read for a table: the rows, and per row the details text (if any)."""

    rows: list[list[str]]
    details: list[str] | None = None


#: The factory filters: (label, the columns a filter's text is looked for in).
FACTORY_FILTERS: dict[str, tuple[str, ...]] = {
    "station": ("station",), "operator": ("operator",),
    "release": ("bundle", "bundle_digest", "sequence_number", "image_version"),
    "device": ("device_id", "port")}


class StorageTargetError(WorkbenchError):
    """A records or audit-log location the settings cannot keep."""


def check_target(text: str) -> str:
    """`text` as a settings value: a file or a DSN without a password (settings files are
    plain text; libpq reads the password from ~/.pgpass or PGPASSWORD instead)."""
    text = text.strip()
    if is_dsn(text) and redact_dsn(text) != text:
        raise StorageTargetError("the DSN holds a password; it would be stored in the "
                                 "settings file", hint="Remove it from the DSN and put it in "
                                 "~/.pgpass (or PGPASSFILE / PGPASSWORD).")
    return text


def apply_targets(records: str, audit: str) -> None:
    """Make `records` and `audit` where every panel (and the workbench's defaults) read
    and write, for this process ("" leaves the default)."""
    for name, value in ((flashing.RECORDS_ENV, records), (AUDIT_ENV, audit)):
        if value:
            os.environ[name] = value
        else:
            os.environ.pop(name, None)


def _audit_rows(progress: Progress, path: Path | None) -> TableRows:
    progress(0, 0, "reading the signing audit log")
    return TableRows([[str(seq), *asdict(record).values()]
                      for seq, record in SigningAuditLog(path).entries()])


def _factory_rows(progress: Progress, path: Path | str | None) -> TableRows:
    progress(0, 0, "reading the factory records")
    records = flashing.records_store(path).all()
    return TableRows([[*attempt_row(r), report_cell(r)] for r in records],
                     ["\n".join(report_details(r)) for r in records])


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
#: Where a row's first cell keeps the row's details text (the selected row's is shown).
_DETAILS_ROLE = Qt.ItemDataRole.UserRole + 1
#: Digits a signed 64-bit integer always holds (Qt's display role overflows beyond).
_MAX_DIGITS = 18


def _item(text: str) -> QStandardItem:
    """A cell; whole numbers are shown as numbers so they sort as numbers (those a Qt
    integer holds: a digest of digits only, or a long device id, stays text)."""
    item = QStandardItem()
    number = text.isdigit() and len(text) <= _MAX_DIGITS
    item.setData(int(text) if number else text, Qt.ItemDataRole.DisplayRole)
    item.setData(text, _TEXT_ROLE)
    return item


class _RowFilter(QSortFilterProxyModel):
    """The free-text filter (any column) and, besides it, one text per group of columns:
    a row shows when each group has a cell containing its text (case-insensitive)."""

    def __init__(self) -> None:
        super().__init__()
        self.groups: dict[tuple[int, ...], str] = {}

    def set_group(self, columns: tuple[int, ...], text: str) -> None:
        self.beginFilterChange()
        self.groups[columns] = text.strip().casefold()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex) -> bool:  # noqa: N802 - Qt's name
        model = self.sourceModel()
        for columns, needle in self.groups.items():
            if needle and not any(needle in str(model.index(source_row, c, source_parent).data(_TEXT_ROLE)
                                                or "").casefold() for c in columns):
                return False
        return super().filterAcceptsRow(source_row, source_parent)


class RecordTable(QWidget):
    """One filterable, sortable table with CSV export of the rows the filter shows.

    Args:
        columns: The exported columns.
        shown: Display-only columns after them (not exported).
        details: Show the selected row's details text under the table.
        filters: Named filters over groups of columns (a field each, above the table).
    """

    def __init__(self, columns: Sequence[str], parent: QWidget | None = None, *,
                 shown: Sequence[str] = (), details: bool = False,
                 filters: Mapping[str, Sequence[str]] | None = None) -> None:
        super().__init__(parent)
        self.columns = list(columns)
        self.model = QStandardItemModel(0, len(columns) + len(shown))
        self.model.setHorizontalHeaderLabels([*self.columns, *shown])
        self.proxy = _RowFilter()
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
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.filter)
        self.column_filters: dict[str, QLineEdit] = {}
        if filters:
            layout.addLayout(self._filter_row(filters))
        layout.addWidget(self.view, 1)
        self.details: QPlainTextEdit | None = None
        if details:
            self.details = QPlainTextEdit()
            self.details.setObjectName("record-details")
            self.details.setReadOnly(True)
            self.details.setPlaceholderText("Select an attempt to see its SUIT report.")
            layout.addWidget(self.details)
            self.view.selectionModel().currentRowChanged.connect(lambda *_: self._show_details())

    def _filter_row(self, filters: Mapping[str, Sequence[str]]) -> QHBoxLayout:
        row = QHBoxLayout()
        for name, columns in filters.items():
            field = QLineEdit()
            field.setObjectName(f"filter-{name}")
            field.setPlaceholderText(name.capitalize())
            group = tuple(self.columns.index(c) for c in columns)
            field.textChanged.connect(lambda text, g=group: self.proxy.set_group(g, text))
            self.column_filters[name] = field
            row.addWidget(field)
        return row

    def set_rows(self, rows: list[list[str]], details: list[str] | None = None) -> None:
        """Replace the rows (and their details texts, one per row)."""
        self.model.removeRows(0, self.model.rowCount())
        for index, row in enumerate(rows):
            items = [_item(text) for text in row]
            if details is not None:
                items[0].setData(details[index], _DETAILS_ROLE)
            self.model.appendRow(items)
        self.view.resizeColumnsToContents()
        self._show_details()

    def select_row(self, row: int) -> None:
        """Select the `row`-th row as the view shows it."""
        self.view.selectRow(row)

    def _show_details(self) -> None:
        if self.details is None:
            return
        current = self.view.selectionModel().currentIndex()
        text = self.proxy.index(current.row(), 0).data(_DETAILS_ROLE) if current.isValid() else None
        self.details.setPlainText(text or "")

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
        exported(str): the CSV file just written.
        verified(int): the audit chain holds over this many records.
        loaded(): both tables were refreshed.
    """

    failed = Signal(object, str)
    exported = Signal(str)
    verified = Signal(int)
    loaded = Signal()

    def __init__(self, runner: JobRunner, parent: QWidget | None = None, *,
                 pins: PinProvider | None = None, settings: Settings | None = None) -> None:
        super().__init__(parent)
        self.runner, self.pins = runner, pins  # pins: the anchor token's PIN, if asked
        self.settings = settings
        self.audit_path: Path | None = None  # None: $SUITWB_AUDIT, else the data dir's log
        self.audit = RecordTable(AUDIT_COLUMNS)
        self.factory = RecordTable(FACTORY_COLUMNS, shown=[REPORT_COLUMN], details=True,
                                   filters=FACTORY_FILTERS)
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
        layout.addLayout(self._databases_row())
        layout.addWidget(self.tabs, 1)
        layout.addLayout(buttons)
        self._pending = 0

    def _databases_row(self) -> QHBoxLayout:
        self.records_field = QLineEdit(self.settings.records_target() if self.settings else "")
        self.audit_field = QLineEdit(self.settings.audit_target() if self.settings else "")
        for field, what in ((self.records_field, "Factory records"), (self.audit_field, "Audit log")):
            field.setPlaceholderText(f"{what}: file or postgresql://user@host/db (default: data dir)")
        self.records_field.setObjectName("records-target")
        self.audit_field.setObjectName("audit-target")
        use = QPushButton("Use these databases")
        use.clicked.connect(lambda _c=False: self.use_databases())
        row = QHBoxLayout()
        row.addWidget(QLabel("Databases:"))
        row.addWidget(self.records_field, 1)
        row.addWidget(self.audit_field, 1)
        row.addWidget(use)
        return row

    def use_databases(self) -> bool:
        """Keep the Databases fields in the settings and read from them; False (and
        `failed`) when one holds a password."""
        try:
            records, audit = check_target(self.records_field.text()), check_target(self.audit_field.text())
        except StorageTargetError as exc:
            self.failed.emit(exc, "use these databases")
            return False
        if self.settings is not None:
            self.settings.set_storage_targets(records, audit)
        apply_targets(records, audit)
        self.refresh()
        return True

    def refresh(self) -> None:
        """Reload both tables (in workers)."""
        self._pending = 2
        self._load(_audit_rows, self.audit_path, self.audit, "read the signing audit log")
        self._load(_factory_rows, None, self.factory, "read the factory records")

    def _load(self, function: Callable[..., TableRows], path: Path | str | None,
              table: RecordTable, doing: str) -> None:
        self.runner.submit(function, path, title=doing.capitalize(),
                           on_success=lambda rows: self._loaded(table, rows),
                           on_error=lambda exc: self.failed.emit(exc, doing))

    def _loaded(self, table: RecordTable, rows: TableRows) -> None:
        table.set_rows(rows.rows, rows.details)
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
        self.exported.emit(str(path))
        return path
