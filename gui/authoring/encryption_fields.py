"""The component editor's encryption fields (issue 16, issue 17): the release's algorithm
profile, and per component `encrypt` and its `recipients` (key files picked in a dialog,
``pkcs11:`` URIs typed). Every change is one core edit through the editor's commit, so it
is undone as one step and saved by the tomlkit round trip like any other member. The
format knowledge (which profiles exist, what the build will generate) is the workbench's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Final

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
)

from gui.file_dialog import open_existing_file
from workbench.project.encryption_summary import encryption_summary, profile_names, recipient_text
from workbench.project.model import Component, Project

if TYPE_CHECKING:
    from gui.authoring.component_editor import ComponentEditor

KEY_FILTER: Final = "Keys (*.pem *.cose *.cbor *.key);;All files (*)"
NO_PROFILE: Final = "(none)"


class EncryptionFields:
    """The profile combo (a release row) and the encryption rows of a component form."""

    def __init__(self, editor: ComponentEditor) -> None:
        self.editor = editor
        self.file_dialog: QFileDialog | None = None
        self.profile = QComboBox()
        self.profile.setObjectName("profile")
        self.profile.addItems([NO_PROFILE, *profile_names()])
        self.profile.activated.connect(lambda i: editor._commit(lambda: self._set_profile(i)))
        self.encrypt = QCheckBox("Encrypt the payload")
        self.encrypt.setObjectName("encrypt")
        self.encrypt.toggled.connect(
            lambda on: editor._commit(lambda: editor._field("encrypt", on)))
        self.recipients = QListWidget()
        self.recipients.setObjectName("recipients")
        self.recipients.setMaximumHeight(70)
        self.recipient_entry = QLineEdit()
        self.recipient_entry.setObjectName("recipient-entry")
        self.recipient_entry.setPlaceholderText("key file or pkcs11: URI")
        self.recipient_entry.returnPressed.connect(self._add_typed)
        self.add_button = QPushButton("Add")
        self.add_button.clicked.connect(self._add_typed)
        self.choose_button = QPushButton("Key file…")
        self.choose_button.clicked.connect(self.choose_key_file)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(lambda: editor._commit(self._remove))
        self.summary = QLabel()
        self.summary.setObjectName("encryption-summary")
        self.summary.setWordWrap(True)
        self._tooltips()

    def _tooltips(self) -> None:
        for widget, tip in (
                (self.profile, "The MTI algorithm profile: digest, signature, key distribution "
                               "and content encryption together (draft-ietf-suit-mti §3)"),
                (self.encrypt, "Encrypt this component's payload, with a fresh content key at "
                               "each build (draft-ietf-suit-firmware-encryption)"),
                (self.recipients, "Who can decrypt it: device public keys (ECDH-ES) or "
                                  "key-encryption keys (AES-KW)"),
                (self.recipient_entry, "A key file (relative to the project folder) or a "
                                       "pkcs11: URI of a KEK in a token; Enter adds it"),
                (self.add_button, "Add the typed key file or pkcs11: URI as a recipient"),
                (self.choose_button, "Choose a recipient's key file in a file dialog"),
                (self.remove_button, "Remove the selected recipient")):
            widget.setToolTip(tip)

    def add_release_rows(self, form: QFormLayout) -> None:
        """The profile: release-wide, it picks every algorithm together (MTI §3)."""
        form.addRow("Profile", self.profile)

    def add_component_rows(self, form: QFormLayout) -> None:
        """Encrypt, the recipients list with its buttons, and what the build will make."""
        form.addRow("", self.encrypt)
        column = QVBoxLayout()
        column.addWidget(self.recipients)
        column.addWidget(self.recipient_entry)
        buttons = QHBoxLayout()
        for button in (self.add_button, self.choose_button, self.remove_button):
            buttons.addWidget(button)
        column.addLayout(buttons)
        form.addRow("Recipients", column)
        form.addRow("Encryption", self.summary)

    # --- loading --------------------------------------------------------------------------

    def load_project(self, project: Project) -> None:
        """Show the project's profile (an unknown name is shown as it is, to be replaced)."""
        name = project.profile or NO_PROFILE
        index = self.profile.findText(name)
        if index < 0:
            self.profile.addItem(name)
            index = self.profile.count() - 1
        self.profile.setCurrentIndex(index)

    def load_component(self, project: Project, c: Component) -> None:
        """Show the component's encryption, and the summary of what the build generates."""
        self.encrypt.setChecked(c.encrypt)
        self.recipients.clear()
        self.recipients.addItems([recipient_text(r) for r in c.recipients])
        summary = encryption_summary(project, c)
        self.summary.setText(summary or "not encrypted")

    # --- committing -----------------------------------------------------------------------

    def _set_profile(self, index: int) -> None:
        text = self.profile.itemText(index)
        self.editor._set(("profile",), None if text == NO_PROFILE else text)

    def _add_typed(self) -> None:
        text = self.recipient_entry.text().strip()
        if text:
            self.editor._commit(lambda: self._add(text))

    def _add(self, reference: str) -> None:
        c = self.editor.component
        if c is None:
            return
        self.editor._field("recipients", [*c.recipients, reference])
        self.recipient_entry.clear()

    def _remove(self) -> None:
        c = self.editor.component
        row = self.recipients.currentRow()
        if c is not None and 0 <= row < len(c.recipients):
            self.editor._field("recipients", [r for k, r in enumerate(c.recipients) if k != row])

    def choose_key_file(self) -> QFileDialog | None:
        """A recipient's key file: a device public key or a KEK."""
        project = self.editor.workspace.project
        if project is None or self.editor.component is None:
            return None
        self.file_dialog = open_existing_file(self.editor, "Recipient key file", project.folder,
                                              KEY_FILTER, "recipient-dialog", self._picked)
        return self.file_dialog

    def _picked(self, path: str) -> None:
        relative: Callable[[str], str] = self.editor._relative
        self.editor._commit(lambda: self._add(relative(str(Path(path)))))
