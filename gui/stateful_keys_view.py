"""The key manager's stateful keys: every HSS-LMS key this machine's state journal knows,
with its remaining signatures, a low one marked and a refused one saying why (issue 16)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGroupBox, QPushButton, QTableWidget, QVBoxLayout, QWidget

from gui.tables import fill_table, make_table
from gui.workers import JobRunner, Progress
from workbench.stateful_keys import StatefulKey, stateful_keys

HEADERS = ["Key file", "Kid", "Signatures left", "Status"]


def _list(progress: Progress) -> list[StatefulKey]:
    progress(0, 0, "reading the HSS-LMS key states")
    return stateful_keys()


def row_of(key: StatefulKey) -> list[str]:
    """The table row of one key: path, kid, "left of capacity", and ok / LOW / why refused."""
    s = key.status
    if s is None:
        return [key.path, "", "", f"unreadable: {key.problem}"]
    state = f"refused: {s.problem}" if s.problem else "LOW: generate a successor" if key.low else "ok"
    return [key.path, s.kid.hex()[:16], f"{s.remaining} of {s.capacity}", state]


class StatefulKeysView(QGroupBox):
    """The HSS-LMS keys of this machine, refreshed in a worker.

    Signals:
        failed(object, str): an error and what was being done.
        listed(): the table was refreshed.
    """

    failed = Signal(object, str)
    listed = Signal()

    def __init__(self, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__("Stateful keys (HSS-LMS)", parent)
        self.runner = runner
        self.table: QTableWidget = make_table(HEADERS)
        self.table.setObjectName("stateful-key-table")
        self.refresh_button = QPushButton("Refresh stateful keys")
        self.refresh_button.clicked.connect(self.refresh)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.refresh_button)

    def refresh(self) -> None:
        """Read every known key's state (in a worker) and show it."""
        self.runner.submit(_list, title="Reading HSS-LMS keys", on_success=self._listed,
                           on_error=lambda exc: self.failed.emit(exc, "read the HSS-LMS keys"))

    def _listed(self, keys: list[StatefulKey]) -> None:
        fill_table(self.table, [row_of(k) for k in keys])
        self.listed.emit()
