"""The key manager: PKCS#11 tokens and their keys, key generation in a token, public-key
export, and software key files (ML-DSA among them: `gui.key_files`). `TokenBrowser`
(tokens and keys of the configured modules) is shared with the sign panel. All token work
runs in workers; PINs come from the PIN dialog.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gui.key_files import KeyFilesBox
from gui.stateful_keys_view import StatefulKeysView
from gui.tables import fill_table, make_table
from gui.workers import JobRunner, Progress
from signing import management
from signing.keyref import Pkcs11Uri
from signing.pin import PinProvider
from signing.token import find_modules
from signing.token_keys import KeyInfo, TokenInfo
from suit.errors import WorkbenchError
from workbench.files import write_atomic

KINDS = ("P-256", "P-384", "Ed25519")
#: Serialises the window's token work. python-pkcs11 loads each module once per process,
#: and two workers listing SoftHSM2's tokens at the same moment crashed the process (seen
#: in tests), so every PKCS#11 job of the GUI holds this lock; it is process-wide because
#: the loaded module is.
TOKEN_LOCK = threading.Lock()


def key_uri(token: TokenInfo, key: KeyInfo) -> str:
    """The RFC 7512 URI naming `key` on `token` (no PIN)."""
    return Pkcs11Uri({"token": token.label, "serial": token.serial, "object": key.label},
                     key.key_id or None, module_path=token.module).redacted()


def _discover(progress: Progress, module: str) -> list[management.TokenInventory]:
    progress(0, 0, f"listing tokens of {Path(module).name}")
    with TOKEN_LOCK:
        return management.inventory(module, None)


class TokenBrowser(QWidget):
    """Tokens of a module (label, model, serial) and the selected token's keys.

    Signals:
        failed(object, str): an error and what was being done.
        listed(): the token list was refreshed.
    """

    failed = Signal(object, str)
    listed = Signal()

    def __init__(self, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.inventories: list[management.TokenInventory] = []
        self.module = QComboBox()
        self.module.setObjectName("module-combo")
        self.module.setEditable(True)
        self.module.addItems(find_modules())
        # Not as wide as the longest module path (that pushed the sign view past the window
        # at 1280x800); a longer path scrolls in the editable field.
        self.module.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.module.setMinimumContentsLength(16)
        self.refresh_button = QPushButton("Refresh tokens")
        self.refresh_button.clicked.connect(self.refresh)
        self.tokens = make_table(["Token", "Manufacturer", "Model", "Serial"])
        self.tokens.setObjectName("token-table")
        self.keys = make_table(["Key", "Type", "Algorithm", "Id"])
        self.keys.setObjectName("key-table")
        self.tokens.itemSelectionChanged.connect(self._show_keys)
        row = QHBoxLayout()
        row.addWidget(QLabel("PKCS#11 module"))
        row.addWidget(self.module, 1)
        row.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.tokens, 1)
        layout.addWidget(self.keys, 2)

    def refresh(self) -> None:
        """List the module's tokens and their public keys (in a worker)."""
        module = self.module.currentText().strip()
        if module:
            self.runner.submit(_discover, module, title="Listing tokens", on_success=self._listed,
                               on_error=lambda exc: self.failed.emit(exc, "list the tokens"))

    def _listed(self, inventories: list[management.TokenInventory]) -> None:
        self.inventories = inventories
        fill_table(self.tokens, [[i.token.label, i.token.manufacturer, i.token.model,
                                  i.token.serial] for i in inventories])
        if inventories:
            self.tokens.selectRow(0)
        self._show_keys()
        self.listed.emit()

    def select_token(self, label: str) -> bool:
        """Select the token called `label`; False if it is not listed."""
        for row, inv in enumerate(self.inventories):
            if inv.token.label == label:
                self.tokens.selectRow(row)
                return True
        return False

    def select_key(self, label: str) -> bool:
        """Select the key called `label` on the selected token."""
        inv = self.current()
        for row, key in enumerate(inv.keys if inv else ()):
            if key.label == label:
                self.keys.selectRow(row)
                return True
        return False

    def current(self) -> management.TokenInventory | None:
        """The selected token and its keys."""
        rows = self.tokens.selectionModel().selectedRows()
        return self.inventories[rows[0].row()] if rows else None

    def current_key(self) -> tuple[TokenInfo, KeyInfo] | None:
        """The selected token and key."""
        inv = self.current()
        rows = self.keys.selectionModel().selectedRows()
        if inv is None or not rows:
            return None
        return inv.token, inv.keys[rows[0].row()]

    def _show_keys(self) -> None:
        inv = self.current()
        fill_table(self.keys, [[k.label, k.object_type, k.kind, k.key_id.hex()]
                               for k in (inv.keys if inv else ())])


class KeysPanel(QWidget):
    """List tokens and keys, generate a key in a token, export a public key.

    Signals:
        failed(object, str): an error and what was being done.
        generated(object): the `KeyInfo` of a new key.
        exported(str): the file a public key was written to.
    """

    failed = Signal(object, str)
    generated = Signal(object)
    exported = Signal(str)

    def __init__(self, runner: JobRunner, pins: PinProvider, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner, self.pins = runner, pins
        self.browser = TokenBrowser(runner)
        self.browser.failed.connect(self.failed)
        self.label = QLineEdit()
        self.label.setPlaceholderText("new key label")
        self.kind = QComboBox()
        self.kind.addItems(KINDS)
        self.generate_button = QPushButton("Generate in token")
        self.generate_button.clicked.connect(self.generate)
        self.format = QComboBox()
        self.format.addItems(list(management.FORMATS))
        self.export_button = QPushButton("Export public key…")
        self.export_button.clicked.connect(lambda: self.export(None))
        box = QGroupBox("Selected token")
        row = QHBoxLayout(box)
        for widget in (QLabel("Label"), self.label, self.kind, self.generate_button,
                       QLabel("Format"), self.format, self.export_button):
            row.addWidget(widget)
        self.files = KeyFilesBox(runner)
        self.files.failed.connect(self.failed)
        self.stateful = StatefulKeysView(runner)
        self.stateful.failed.connect(self.failed)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser, 1)
        layout.addWidget(box)
        layout.addWidget(self.files)
        layout.addWidget(self.stateful)

    def generate(self) -> None:
        """Generate a key labelled as typed in the selected token (PIN asked)."""
        inv = self.browser.current()
        label = self.label.text().strip()
        if inv is None or not label:
            self.failed.emit(WorkbenchError("choose a token and type a label for the new key"), "generate a key")
            return
        uri = Pkcs11Uri({"token": inv.token.label, "serial": inv.token.serial, "object": label},
                        module_path=inv.token.module)
        kind = self.kind.currentText()
        self.runner.submit(_generate, uri, kind, self.pins, title=f"Generating {kind} key {label}",
                           on_success=self._generated,
                           on_error=lambda exc: self.failed.emit(exc, "generate the key"))

    def _generated(self, info: KeyInfo) -> None:
        self.generated.emit(info)
        self.browser.refresh()

    def export(self, path: Path | None) -> None:
        """Write the selected key's public half to `path` (asked if None)."""
        chosen = self.browser.current_key()
        if chosen is None:
            self.failed.emit(WorkbenchError("choose a key in the key list"), "export a public key")
            return
        fmt = self.format.currentText()
        if path is None:
            name, _ = QFileDialog.getSaveFileName(self, "Export public key",
                                                  f"{chosen[1].label}.{fmt}")
            if not name:
                return
            path = Path(name)
        uri = Pkcs11Uri({"token": chosen[0].label, "serial": chosen[0].serial,
                         "object": chosen[1].label, "type": "public"},
                        chosen[1].key_id or None, module_path=chosen[0].module)
        self.runner.submit(_export, uri, fmt, path, self.pins, title=f"Exporting {uri.object_label}",
                           on_success=lambda p: self.exported.emit(str(p)),
                           on_error=lambda exc: self.failed.emit(exc, "export the public key"))


def _export(progress: Progress, uri: Pkcs11Uri, fmt: str, path: Path, pins: PinProvider) -> Path:
    progress(0, 0, f"reading {uri.object_label}")
    with TOKEN_LOCK:
        data = management.export_public(uri, fmt, pins)
    write_atomic(path, data)
    return path


def _generate(progress: Progress, uri: Pkcs11Uri, kind: str, pins: PinProvider) -> KeyInfo:
    progress(0, 0, f"generating {uri.object_label}")
    with TOKEN_LOCK:
        return management.generate(uri, kind, pins)
