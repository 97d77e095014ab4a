"""Software key files in the key manager: generate one (P-256, P-384, Ed25519 or ML-DSA,
which no token here holds) or list an existing one, with the algorithm it signs with and
its kid. Generation runs in a worker; the file is PKCS#8 PEM, mode 0600, never overwritten.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QPushButton,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from gui.tables import fill_table, make_table
from gui.workers import JobRunner, Progress
from signing import management
from signing.management import KeyFileInfo

logger = logging.getLogger(__name__)


def fill_rows(table: QTableWidget, infos: list[KeyFileInfo]) -> None:
    """Show key files as rows: file, algorithm, kid."""
    fill_table(table, [[str(i.path), i.algorithm, i.kid.hex()] for i in infos])


class KeyFilesBox(QGroupBox):
    """The key files known to this window, and generating a new one.

    Signals:
        failed(object, str): an error and what was being done.
        added(object): the `KeyFileInfo` of a file generated or added.
    """

    failed = Signal(object, str)
    added = Signal(object)

    def __init__(self, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__("Software key files", parent)
        self.runner = runner
        self.infos: list[KeyFileInfo] = []
        self.kind = QComboBox()
        self.kind.setObjectName("file-key-kind")
        self.kind.addItems(list(management.FILE_KINDS))
        self.kind.setCurrentText("ML-DSA-65")
        self.table = make_table(["File", "Algorithm", "Kid"])
        self.table.setObjectName("key-file-table")
        generate, add = QPushButton("Generate key file…"), QPushButton("Add key file…")
        generate.clicked.connect(lambda: self.generate(None))
        add.clicked.connect(lambda: self.add(None))
        row = QHBoxLayout()
        for widget in (self.kind, generate, add):
            row.addWidget(widget)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.table)

    def generate(self, path: Path | None) -> None:
        """Generate a key of the chosen kind into `path` (asked if None), in a worker."""
        kind = self.kind.currentText()
        if path is None:
            name, _ = QFileDialog.getSaveFileName(self, "New key file", f"{kind.lower()}.pem",
                                                  "PEM keys (*.pem)")
            if not name:
                return
            path = Path(name)
        self.runner.submit(_generate, path, kind, title=f"Generating {kind} key file",
                           on_success=self._show,
                           on_error=lambda exc: self.failed.emit(exc, "generate the key file"))

    def add(self, path: Path | None) -> None:
        """List an existing key file (asked if None) with its algorithm and kid."""
        if path is None:
            name, _ = QFileDialog.getOpenFileName(self, "Key file", "",
                                                  "Keys (*.pem *.cose *.key);;All files (*)")
            if not name:
                return
            path = Path(name)
        self.runner.submit(_describe, path, title=f"Reading {path.name}", on_success=self._show,
                           on_error=lambda exc: self.failed.emit(exc, "read the key file"))

    def _show(self, info: KeyFileInfo) -> None:
        self.infos = [i for i in self.infos if i.path != info.path] + [info]
        fill_rows(self.table, self.infos)
        self.added.emit(info)


def _generate(progress: Progress, path: Path, kind: str) -> KeyFileInfo:
    progress(0, 0, f"generating {path.name}")
    management.generate_file_key(path, kind)
    return management.describe_key_file(path)


def _describe(progress: Progress, path: Path) -> KeyFileInfo:
    progress(0, 0, f"reading {path.name}")
    return management.describe_key_file(path)
