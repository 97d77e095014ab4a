"""The release's device and dependency fields (issue 17): vendor and class ids, edited or
derived as UUID5 from the vendor's domain and model name (`values.derived_ids`, the same
derivation `suitwb new` records), and the manifest's dependencies, added from a file
dialog (an envelope or a release project) and removed.

Every edit is a core command on the workspace's undo stack; the fields follow the open
project and its undo/redo.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Final

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from fileio import is_within
from gui.file_dialog import open_existing_file
from gui.workspace import Workspace
from suit.errors import WorkbenchError
from workbench.project import values
from workbench.project.commands import AddDependency, RemoveDependency, SetValue
from workbench.project.errors import ProjectFileError
from workbench.project.model import Dependency, Project

if TYPE_CHECKING:
    from gui.main_window import MainWindow

logger = logging.getLogger(__name__)

#: (Device member, label, tooltip) in the order of the [device] table.
DEVICE_FIELDS: Final = (
    ("vendor_domain", "Vendor domain",
     "The vendor's DNS domain; the vendor id derives from it as UUID5(DNS, domain)"),
    ("model", "Model name", "The device model; the class id derives as UUID5(vendor id, model)"),
    ("vendor_id", "Vendor id", "condition-vendor-identifier (M37 §8.4.8.3): a UUID"),
    ("class_id", "Class id", "condition-class-identifier (M37 §8.4.8.3): a UUID"),
)
_UUIDS: Final = ("vendor_id", "class_id")
DEPENDENCY_FILTER: Final = ("SUIT envelopes and release projects (*.suit *.toml);;"
                            "SUIT envelopes (*.suit);;Release projects (*.toml);;All files (*)")


class ReleaseFields(QWidget):
    """Device identity and dependencies of the open project.

    Signals:
        said(str): what an action did or why it was refused (the window's status bar).
    """

    said = Signal(str)

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.fields: dict[str, QLineEdit] = {}
        self.message = QLabel()
        self.message.setObjectName("release-message")
        self.message.setWordWrap(True)
        self.derive_button = QPushButton("Derive ids from domain and model")
        self.derive_button.setObjectName("derive-ids")
        self.derive_button.setToolTip("Set the vendor id to UUID5(DNS, domain) and the class id "
                                      "to UUID5(vendor id, model), as suitwb new does")
        self.derive_button.clicked.connect(self.derive_ids)
        self.dependencies = QListWidget()
        self.dependencies.setObjectName("dependency-list")
        self.dependencies.setToolTip("The manifests this release depends on (TD §5.2.2)")
        self.add_button = QPushButton("Add dependency…")
        self.add_button.setObjectName("add-dependency")
        self.add_button.setToolTip("Pick a signed envelope (.suit) or a release project "
                                   "(project.toml) inside the project folder")
        self.add_button.clicked.connect(self.choose_dependency)
        self.remove_button = QPushButton("Remove dependency")
        self.remove_button.setObjectName("remove-dependency")
        self.remove_button.setToolTip("Remove the selected dependency")
        self.remove_button.clicked.connect(self.remove_dependency)
        self.file_dialog: QFileDialog | None = None
        self._layout()
        workspace.projectOpened.connect(self.refresh)
        workspace.projectChanged.connect(lambda _event, _subject: self.refresh())
        self.refresh()

    def _layout(self) -> None:
        device = QGroupBox("Device identity")
        form = QFormLayout(device)
        for member, label, tip in DEVICE_FIELDS:
            edit = QLineEdit()
            edit.setObjectName(f"device-{member.replace('_', '-')}")
            edit.setToolTip(tip)
            edit.editingFinished.connect(lambda m=member: self.commit(m))
            self.fields[member] = edit
            form.addRow(label, edit)
        form.addRow("", self.derive_button)
        deps = QGroupBox("Dependencies")
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        column = QVBoxLayout(deps)
        column.addWidget(self.dependencies, 1)
        column.addLayout(buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(device)
        layout.addWidget(deps, 1)
        layout.addWidget(self.message)

    # --- following the project -------------------------------------------------------------

    def refresh(self) -> None:
        """Show the open project's device fields and dependencies."""
        project = self.workspace.project
        for member, edit in self.fields.items():
            value = None if project is None else getattr(project.device, member)
            if not edit.hasFocus() or edit.text() == (value or ""):
                edit.setText(value or "")
            edit.setEnabled(project is not None)
        self.dependencies.clear()
        for dependency in [] if project is None else project.dependencies:
            self.dependencies.addItem(f"{dependency.name} — {_source(dependency)}")
        for button in (self.derive_button, self.add_button, self.remove_button):
            button.setEnabled(project is not None)

    # --- device identity --------------------------------------------------------------------

    def commit(self, member: str) -> bool:
        """Put the field's text into the project (empty: not given); False if refused."""
        project = self.workspace.project
        if project is None:
            return False
        text = self.fields[member].text().strip() or None
        if text == getattr(project.device, member):
            return True
        try:
            if member in _UUIDS and text is not None:
                values.parse_uuid(text, f"device.{member.replace('_', '-')}")
            self.workspace.push(SetValue(("device", member), text))
        except WorkbenchError as exc:
            self._say(str(exc))
            self.fields[member].setText(getattr(project.device, member) or "")
            return False
        return True

    def derive_ids(self) -> bool:
        """Set the vendor and class ids from the domain and model (one undo step)."""
        project = self.workspace.project
        if project is None or not all(self.commit(m) for m in ("vendor_domain", "model")):
            return False
        domain, model = project.device.vendor_domain, project.device.model
        if not domain:
            self._say("Give the vendor's domain first: the vendor id is UUID5(DNS, domain).")
            return False
        vendor_id, class_id = values.derived_ids(domain, model)
        stack = self.workspace.undo_stack
        stack.beginMacro(f"Derive vendor and class ids from {domain}" +
                         (f" and {model}" if model else ""))
        try:
            self.workspace.push(SetValue(("device", "vendor_id"), vendor_id))
            if class_id is not None:
                self.workspace.push(SetValue(("device", "class_id"), class_id))
        finally:
            stack.endMacro()
        self._say(f"Vendor id {vendor_id}" + (f", class id {class_id}" if class_id else
                                              " (give a model name for the class id)"))
        return True

    # --- dependencies -----------------------------------------------------------------------

    def choose_dependency(self) -> QFileDialog | None:
        """Open the file dialog for an envelope or a release project."""
        project = self.workspace.project
        if project is None:
            return None
        deps = project.folder / "deps"  # where dependency envelopes usually are
        start = deps if deps.is_dir() else project.folder
        self.file_dialog = open_existing_file(self, "Add dependency", start, DEPENDENCY_FILTER,
                                              "dependency-dialog", self.add_dependency)
        return self.file_dialog

    def add_dependency(self, path: str | Path) -> bool:
        """Depend on the envelope or release project at `path`; False if refused."""
        project = self.workspace.project
        if project is None:
            return False
        try:
            dependency = dependency_for(project, Path(path))
            self.workspace.push(AddDependency(dependency))
        except WorkbenchError as exc:
            self._say(f"Not added: {exc}" + (f" {exc.hint}" if exc.hint else ""))
            return False
        self._say(f"Added dependency {dependency.name} ({_source(dependency)})")
        return True

    def remove_dependency(self) -> None:
        """Remove the selected dependency."""
        project = self.workspace.project
        row = self.dependencies.currentRow()
        if project is None or not 0 <= row < len(project.dependencies):
            return
        name = project.dependencies[row].name
        self.workspace.push(RemoveDependency(name))
        self._say(f"Removed dependency {name}")

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.said.emit(text)


def dependency_for(project: Project, path: Path) -> Dependency:
    """The dependency on the file at `path`, named after it and relative to the project.

    Raises:
        ProjectFileError: not an envelope or a project file, the project itself, or
            outside the project folder when the project does not allow that.
    """
    path = path.resolve()
    where = f"dependency {path.name}"
    if path.suffix not in (".suit", ".toml"):
        raise ProjectFileError(where, "neither a SUIT envelope (.suit) nor a release project "
                               "(.toml)")
    if project.path is not None and path == project.path.resolve():
        raise ProjectFileError(where, "a project cannot depend on itself")
    if not project.allow_outside_project and not is_within(path, project.folder):
        raise ProjectFileError(where, f"outside the project folder {project.folder}",
                               hint="Copy it into the project folder (deps/ is the usual "
                               "place), or set allow-outside-project = true in the project file.")
    relative = os.path.relpath(path, project.folder)
    name = _free_name(project, path.parent.name if path.suffix == ".toml" else path.stem)
    if path.suffix == ".toml":
        return Dependency(name=name, prefix=[name], project=relative)
    return Dependency(name=name, prefix=[name], envelope=relative)


def _free_name(project: Project, wanted: str) -> str:
    taken = {d.name for d in project.dependencies} | {c.name for c in project.components}
    name, number = wanted, 2
    while name in taken:
        name, number = f"{wanted}-{number}", number + 1
    return name


def _source(dependency: Dependency) -> str:
    return dependency.envelope or dependency.project or dependency.digest or "digest only"


def install(window: MainWindow) -> ReleaseFields:
    """Add the Release view (device identity and dependencies) to `window`."""
    panel = ReleaseFields(window.workspace)
    window.add_view("release", "Release", panel)
    panel.said.connect(lambda text: window.statusBar().showMessage(text, 10000))
    window.release_fields = panel  # type: ignore[attr-defined]
    return panel
