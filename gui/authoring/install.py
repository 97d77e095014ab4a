"""Puts authoring into the main window: its views, docks, menu entries and shortcuts, and
the project file handlers (open, save, unsaved-changes prompt)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from gui.authoring.component_editor import ComponentEditor
from gui.authoring.components import ComponentsModel, ComponentsView
from gui.authoring.demo import data_dir
from gui.authoring.explorer import ProjectExplorer
from gui.authoring.graph import GraphPanel
from gui.authoring.session import AuthoringSession, Preview
from gui.authoring.views import LintPanel, PaletteView, SequencesPanel
from gui.main_window import MainWindow
from suit.errors import WorkbenchError
from suit.lint import Severity
from workbench.project.commands import AddComponent, RemoveComponent
from workbench.project.lint import LintReport
from workbench.project.model import Component
from workbench.project.templates import list_templates


@dataclass
class Authoring:
    """The authoring parts of a window (tests and later panels reach them here)."""

    window: MainWindow
    session: AuthoringSession
    components: ComponentsModel
    components_view: ComponentsView
    editor: ComponentEditor
    sequences: SequencesPanel
    palette: PaletteView
    graph: GraphPanel
    lint: LintPanel
    explorer: ProjectExplorer
    add_button: QPushButton | None = None
    remove_button: QPushButton | None = None
    build_gate: QMessageBox | None = None

    # --- actions --------------------------------------------------------------------------

    def new_project(self, template: str, folder: Path) -> None:
        """Create a project from a template and open it (asking about unsaved changes)."""
        if self.window.confirm_discard():
            if self._guard(lambda: self.session.new_from_template(template, Path(folder)),
                           "create the project"):
                self.window.statusBar().showMessage(
                    f"Created {Path(folder) / 'project.toml'} from the {template} template", 10000)
            self.window.show_view("components")

    def open_project(self, path: str | Path) -> None:
        """Open a project file."""
        if self.window.confirm_discard():
            if self._guard(lambda: self.session.open(path), f"open {Path(path).name}"):
                self.window.settings.add_recent(path)
                self.window.show_view("components")

    def save(self) -> bool:
        """Save to the project's file (or ask where)."""
        if self.window.workspace.project is None:
            return False
        if self.window.workspace.path is None:
            return self.save_as()
        return self._saved(self._guard(lambda: self.session.save(), "save the project"))

    def _saved(self, ok: bool) -> bool:
        if ok:
            self.window.statusBar().showMessage(f"Saved {self.window.workspace.path}", 10000)
        return ok

    def save_as(self) -> bool:
        """Ask for a file name and save there."""
        path, _ = QFileDialog.getSaveFileName(self.window, "Save project",
                                              self.window.settings.last_folder(), "Projects (*.toml)")
        return bool(path) and self._saved(self._guard(lambda: self.session.save(path),
                                                      "save the project"))

    def add_component(self) -> str | None:
        """Add a new component after the others and select it; returns its name."""
        project = self.window.workspace.project
        if project is None:
            return None
        names = {c.name for c in project.components}
        number = len(project.components)
        while f"component{number}" in names:
            number += 1
        name = f"component{number}"
        if self._guard(lambda: self.window.workspace.push(
                AddComponent(Component(name=name, id=[f"h'{number:02x}'"]))), "add a component"):
            self.window.workspace.select("component", name)
            return name
        return None

    def remove_component(self) -> None:
        """Remove the selected component."""
        kind, name = self.window.workspace.selection
        if kind == "component":
            self._guard(lambda: self.window.workspace.push(RemoveComponent(name)),
                        "remove the component")

    def build(self) -> None:
        """Build the open project (in a worker); lint errors ask first (`confirm_build`)."""
        self.session.build()

    def confirm_build(self, report: LintReport, target: str) -> QMessageBox:
        """A build stopped by lint errors: "Build anyway" builds, Cancel leaves it."""
        box = build_anyway_box(self.window, report)
        box.buttonClicked.connect(lambda button: self._gate_answered(
            box.buttonRole(button) == QMessageBox.ButtonRole.AcceptRole, report, Path(target)))
        box.open()
        self.build_gate = box
        return box

    def inspect_last_build(self) -> None:
        """Open the last build (or the project's default build file) in the inspector."""
        path = self.window.workspace.last_build
        if path is None and self.window.workspace.project is not None:
            path = self.session.build_path()
        if path is not None:
            self.window.open_envelope(path)

    def _gate_answered(self, anyway: bool, report: LintReport, target: Path) -> None:
        if anyway:
            self.session.build(target, anyway=True)
        else:
            self.window.statusBar().showMessage(
                f"Not built: {report.errors} lint error(s), see the Lint panel", 10000)

    def _guard(self, action, doing: str) -> bool:  # type: ignore[no-untyped-def]
        try:
            action()
        except WorkbenchError as exc:
            self.window.errors.show(exc, doing)
            return False
        return True

    def preview_ready(self, preview: Preview) -> None:
        """Fan a new preview out to the views."""
        self.components.set_preview(preview)
        self.editor.set_preview(preview)
        self.sequences.set_preview(preview)
        self.lint.show_findings(preview.lint.findings,
                                "" if preview.error is None else str(preview.error))


class NewProjectDialog(QDialog):
    """Choose a template and a folder for a new project."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New project from template")
        self.template = QComboBox()
        for info in list_templates():
            self.template.addItem(f"{info.name} — {info.description}", info.name)
        self.folder = QLineEdit(str(data_dir() / "projects" / "new-release"))
        browse = QPushButton("…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Template", self.template)
        form.addRow("Folder (new or empty)", row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.buttons = buttons
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder for the project")
        if folder:
            self.folder.setText(folder)

    def choice(self) -> tuple[str, Path]:
        """The chosen template name and folder."""
        return self.template.currentData(), Path(self.folder.text())


def install_authoring(window: MainWindow) -> Authoring:
    """Create the authoring views and wire them into `window`."""
    workspace = window.workspace
    session = AuthoringSession(workspace, window.runner, window)
    components = ComponentsModel(workspace, window)
    parts = Authoring(window, session, components, ComponentsView(components),
                      ComponentEditor(workspace), SequencesPanel(workspace),
                      PaletteView(), GraphPanel(workspace), LintPanel(workspace),
                      ProjectExplorer(workspace))
    _views(window, parts)
    _menus(window, parts)
    session.previewed.connect(parts.preview_ready)
    session.failed.connect(lambda exc, doing: window.errors.show(exc, doing))
    session.built.connect(lambda path: _built(window, parts, path))
    session.blocked.connect(parts.confirm_build)
    parts.sequences.refused.connect(lambda text: window.statusBar().showMessage(text, 8000))
    parts.explorer.inspectRequested.connect(window.open_envelope)
    parts.lint.findingActivated.connect(parts.sequences.show_finding)
    parts.palette.commandChosen.connect(parts.sequences.insert_command)
    workspace.selectionChanged.connect(lambda kind, _n: _show_for(window, kind))
    window.openers[".toml"] = parts.open_project
    window.save_hook = parts.save  # type: ignore[method-assign]
    window.authoring = parts  # type: ignore[attr-defined]
    return parts


def _views(window: MainWindow, parts: Authoring) -> None:
    page = QWidget()
    bar = QHBoxLayout()
    add, remove = QPushButton("Add component"), QPushButton("Remove component")
    add.clicked.connect(parts.add_component)
    remove.clicked.connect(parts.remove_component)
    bar.addWidget(add)
    bar.addWidget(remove)
    bar.addStretch(1)
    layout = QVBoxLayout(page)
    layout.addLayout(bar)
    layout.addWidget(parts.components_view, 1)
    parts.add_button, parts.remove_button = add, remove
    window.add_view("components", "Components", page, 0)
    window.add_view("sequences", "Sequences", parts.sequences, 1)
    window.add_view("graph", "Dependencies", parts.graph, 2)
    window.register_dock("explorer", "Project", parts.explorer, Qt.DockWidgetArea.LeftDockWidgetArea)
    scroll = QScrollArea()
    scroll.setWidget(parts.editor)
    scroll.setWidgetResizable(True)
    window.register_dock("editor", "Component editor", scroll)
    window.register_dock("palette", "Conditions and directives", parts.palette)
    window.register_dock("lint", "Lint", parts.lint, Qt.DockWidgetArea.BottomDockWidgetArea)
    window.tabifyDockWidget(window.docks["editor"], window.docks["palette"])
    window.docks["editor"].raise_()
    # The editor dock leaves the central view room for the inspector's 16 hex bytes a row
    # at 1280x800 (at 380 px the inspector scrolled sideways by a pixel).
    window.default_layout.append(lambda: window.resizeDocks(
        [window.docks["explorer"], window.docks["editor"]], [180, 376], Qt.Orientation.Horizontal))
    window.default_layout.append(lambda: window.resizeDocks(
        [window.docks["lint"]], [120], Qt.Orientation.Vertical))
    window.tabs.setCurrentIndex(0)


def _menus(window: MainWindow, parts: Authoring) -> None:
    menu = window.file_menu
    first = menu.actions()[0]
    for text, slot, keys in (("&New project from template…", lambda: _new_dialog(window, parts), "Ctrl+N"),
                             ("&Open project…", lambda: _open_dialog(window, parts), "Ctrl+O"),
                             ("&Save project", parts.save, "Ctrl+S"),
                             ("Save project &as…", parts.save_as, "Ctrl+Shift+S")):
        action = window.add_action(menu, text, slot, keys)
        menu.insertAction(first, action)
    menu.insertSeparator(first)
    build = window.menuBar().addMenu("&Build")
    window.add_action(build, "&Build envelope", parts.build, "Ctrl+B")
    window.add_action(build, "&Inspect last build", parts.inspect_last_build, "Ctrl+Shift+I")
    window.edit_menu.addSeparator()
    window.add_action(window.edit_menu, "Add &component", parts.add_component, "Ctrl+Shift+N")


def build_anyway_box(window: QWidget, report: LintReport) -> QMessageBox:
    """The question a build with lint errors asks (window-modal, never blocking)."""
    errors = [f for f in report.findings if f.severity is Severity.ERROR]
    box = QMessageBox(QMessageBox.Icon.Warning, "Lint errors",
                      f"The project has {len(errors)} lint error(s); the envelope would carry "
                      "them. Build anyway?", QMessageBox.StandardButton.Cancel, window)
    box.setObjectName("build-anyway")
    box.setInformativeText("\n".join(f"{f.rule.id}: {f.message}" for f in errors[:5]))
    anyway = box.addButton("Build anyway", QMessageBox.ButtonRole.AcceptRole)
    anyway.setObjectName("build-anyway-button")
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.setWindowModality(Qt.WindowModality.WindowModal)
    return box


def _new_dialog(window: MainWindow, parts: Authoring) -> NewProjectDialog:
    dialog = NewProjectDialog(window)
    dialog.accepted.connect(lambda: parts.new_project(*dialog.choice()))
    dialog.open()
    window.new_project_dialog = dialog  # type: ignore[attr-defined]
    return dialog


def _open_dialog(window: MainWindow, parts: Authoring) -> None:
    path, _ = QFileDialog.getOpenFileName(window, "Open project", window.settings.last_folder(),
                                          "Projects (*.toml)")
    if path:
        parts.open_project(path)


def _built(window: MainWindow, parts: Authoring, path: str) -> None:
    window.statusBar().showMessage(f"Built {path} — Build ▸ Inspect last build (Ctrl+Shift+I)", 10000)
    window.settings.add_recent(path)
    parts.explorer.refresh()


def _show_for(window: MainWindow, kind: str) -> None:
    """Selecting a sequence (from the explorer or a finding) shows the sequence editor."""
    if kind == "sequence":
        window.show_view("sequences")
