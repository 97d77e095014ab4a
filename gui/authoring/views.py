"""Widgets around the authoring models: the sequence editor (one block canvas per
sequence, with its lint findings on their blocks and the selected block's form), the
palette, the keyboard's insert dialog, and the lint panel whose findings jump to their
place."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDrag, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from gui.authoring import blocks
from gui.authoring.block_form import BlockForm
from gui.authoring.blocks import SequenceCanvas
from gui.authoring.notation import default_argument, palette_commands
from gui.authoring.sequences import EDITED_SEQUENCES, PaletteModel, SequenceModel
from gui.authoring.session import Preview
from gui.workspace import Workspace
from suit.errors import WorkbenchError
from suit.lint import Finding, Severity
from workbench.project import sequence_tree as tree


class InsertDialog(QDialog):
    """Insert from the palette without a mouse: type to filter, Enter inserts."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Insert a condition or directive")
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("type to filter, Enter to insert")
        self.filter.setToolTip("Part of the name, like vendor or fetch.")
        self.list = QListWidget()
        self.list.setToolTip("Up/Down to choose, Enter to insert.")
        for name, spec, _condition in palette_commands():
            item = QListWidgetItem(spec)
            item.setData(Qt.ItemDataRole.UserRole, name)
            self.list.addItem(item)
        self.filter.textChanged.connect(self._narrow)
        self.filter.returnPressed.connect(self.accept)
        self.list.itemActivated.connect(lambda _item: self.accept())
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter)
        layout.addWidget(self.list)
        self._narrow("")

    def _narrow(self, text: str) -> None:
        first = None
        for row in range(self.list.count()):
            item = self.list.item(row)
            item.setHidden(text.lower() not in item.text().lower())
            first = first if first is not None or item.isHidden() else item
        if first is not None:
            self.list.setCurrentItem(first)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Up, Qt.Key.Key_Down) and self.filter.hasFocus():
            QApplication.sendEvent(self.list, event)  # arrows choose while typing
            return
        super().keyPressEvent(event)

    def choice(self) -> str | None:
        """The chosen command's notation name."""
        item = self.list.currentItem()
        return None if item is None or item.isHidden() else item.data(Qt.ItemDataRole.UserRole)


class SequencePage(QWidget):
    """A sequence drawn as blocks, with its state (generated or explicit), the form of the
    selected block and the sequence's lint findings (a click selects the block)."""

    def __init__(self, model: SequenceModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.canvas = SequenceCanvas(model)
        self.form = BlockForm()
        self.state = QLabel()
        self.revert = QPushButton("Generate again")
        self.revert.setToolTip("Drop the explicit sequence; the builder generates it again.")
        self.revert.clicked.connect(model.revert)
        self.findings = QListWidget()
        self.findings.setToolTip("Lint findings about this sequence; click one to select its block.")
        self.findings.setMaximumHeight(90)
        self.findings.setStyleSheet("color:#b71c1c;")
        self.findings.itemClicked.connect(self._finding_clicked)
        self.findings.itemActivated.connect(self._finding_clicked)
        self.found: list[tuple[Finding, tree.Path | None]] = []
        top = QHBoxLayout()
        top.addWidget(self.state, 1)
        top.addWidget(self.revert)
        split = QSplitter()
        split.addWidget(self.canvas)
        split.addWidget(self.form)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setSizes([640, 300])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        layout.addWidget(self.findings)
        model.modelReset.connect(self.update_state)
        self.canvas.selectionChanged.connect(self._selected)
        self.canvas.editRequested.connect(lambda _path: self._focus_form())
        self.update_state()

    def update_state(self) -> None:
        explicit = self.model.explicit
        self.state.setText("explicit: the project gives this sequence" if explicit else
                           "generated by the builder (drop a command to customise)")
        self.revert.setEnabled(explicit)
        self._mark_findings()

    def _selected(self, path: tree.Path | None) -> None:
        item = None if path is None else tree.block(self.model.entries, path)
        if (path, item) != (self.form.path, self.form.item or None):
            # Only when it changed: a redraw must not throw away what is being typed.
            context = None if path is None else self.canvas.context(path)
            self.form.show_block(path, item, self.model.workspace.project, context)

    def _focus_form(self) -> None:
        first = next(iter(self.form.fields.values()), None)
        (first or self.form.apply_button).setFocus()

    def show_findings(self, findings: list[Finding]) -> None:
        """Lint findings about this sequence, each with its fix hint, on their blocks."""
        self.found = [(f, tree.finding_block(self.model.entries, f.id, f.message)) for f in findings]
        self.findings.clear()
        for finding, path in self.found:
            where = "" if path is None else f" (block {'.'.join(str(p + 1) for p in path)})"
            self.findings.addItem(f"⚠ {finding.id}{where}: {finding.message} — {finding.rule.hint}")
        self.findings.setVisible(bool(findings))
        self._mark_findings()

    def _mark_findings(self) -> None:
        by_block: dict[tree.Path, list[str]] = {}
        for finding, path in self.found:
            if path is not None:
                by_block.setdefault(path, []).append(f"{finding.id}: {finding.message}")
        for path, widget in self.canvas.widgets.items():
            widget.set_findings(by_block.get(path, []))

    def select_finding(self, finding: Finding) -> None:
        """Select the block a finding concerns (the first block when it is the sequence's)."""
        path = tree.finding_block(self.model.entries, finding.id, finding.message)
        self.canvas.select(path if path is not None else (0,) if self.model.entries else None)
        self.canvas.setFocus()

    def _finding_clicked(self, item: QListWidgetItem) -> None:
        self.select_finding(self.found[self.findings.row(item)][0])


class SequencesPanel(QWidget):
    """A tab per command sequence.

    Signals:
        refused(str): an edit a model refused (shown in the status bar too).
    """

    refused = Signal(str)

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.tabs = QTabWidget()
        self.models: dict[str, SequenceModel] = {}
        self.pages: dict[str, SequencePage] = {}
        self.message = QLabel()
        self.message.setStyleSheet("color:#c62828;")
        self.insert_dialog: InsertDialog | None = None
        for name in EDITED_SEQUENCES:
            model = SequenceModel(workspace, name, self)
            model.refused.connect(self.message.setText)
            model.refused.connect(self.refused.emit)
            page = SequencePage(model)
            page.canvas.crossDrop.connect(
                lambda source, path, lane, index, to=name: self.move_between(source, path, lane, index, to))
            page.canvas.insertRequested.connect(self.open_insert)
            page.form.applied.connect(lambda path, form, m=model: self._apply(m, path, form))
            self.models[name], self.pages[name] = model, page
            self.tabs.addTab(page, name)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.message)
        workspace.selectionChanged.connect(self._follow)
        # A refusal stays only until the next edit that works (or another project).
        workspace.projectChanged.connect(lambda *_: self.message.clear())
        workspace.projectOpened.connect(self.message.clear)

    def set_preview(self, preview: Preview) -> None:
        """Generated sequences and lint findings from a new preview."""
        for name, model in self.models.items():
            model.set_preview(preview)
            where = f"manifest/{'common' if name == 'shared' else name}"
            self.pages[name].show_findings([f for f in preview.lint.findings if f.where == where])

    def show_sequence(self, name: str) -> SequencePage:
        """Bring a sequence's tab to the front."""
        self.tabs.setCurrentWidget(self.pages[name])
        return self.pages[name]

    def current(self) -> SequencePage:
        """The page in front."""
        page = self.tabs.currentWidget()
        assert isinstance(page, SequencePage)  # noqa: S101 - every tab is one
        return page

    def show_finding(self, finding: Finding) -> None:
        """Bring a finding's sequence to the front and select the block it concerns."""
        kind, name = place(finding.where, self.workspace)
        if kind == "sequence":
            self.show_sequence(name).select_finding(finding)

    def move_between(self, source: str, path: tree.Path, lane: tree.Path, index: int,
                     target: str) -> None:
        """A block dragged from one sequence into another: one undoable move."""
        models = self.models
        if source not in models:
            return
        try:
            item = tree.block(models[source].entries, path)
            inserted = tree.insert(models[target].entries, lane, index, item)
            removed = tree.remove(models[source].entries, path)
            models[target].validate(inserted)
            models[source].validate(removed)
        except WorkbenchError as exc:
            models[target].refused.emit(f"{exc}" + (f" — {exc.hint}" if exc.hint else ""))
            return
        stack = self.workspace.undo_stack
        stack.beginMacro(f"Move {tree.spec_name(tree.command_of(item)[0])} from {source} to {target}")
        try:
            models[target].commit(inserted)
            models[source].commit(removed)
        finally:
            stack.endMacro()

    def open_insert(self) -> InsertDialog:
        """The keyboard's palette: Insert (or Ctrl+Shift+P) on a sequence."""
        dialog = InsertDialog(self)
        page = self.current()
        dialog.accepted.connect(lambda: self._insert_chosen(page, dialog))
        dialog.open()
        self.insert_dialog = dialog
        return dialog

    def insert_command(self, name: str) -> None:
        """Insert a palette command into the sequence in front, after its selected block."""
        page = self.current()
        page.canvas.insert(name, default_argument(name))

    def _insert_chosen(self, page: SequencePage, dialog: InsertDialog) -> None:
        name = dialog.choice()
        if name is not None:
            page.canvas.insert(name, default_argument(name))
            page.canvas.setFocus()

    def _apply(self, model: SequenceModel, path: tree.Path, form: BlockForm) -> None:
        try:
            model.replace_block(path, form.value())
        except WorkbenchError as exc:
            model.refused.emit(f"{exc}" + (f" — {exc.hint}" if exc.hint else ""))
            return
        self.pages[model.name].canvas.select(path)

    def _follow(self, kind: str, name: str) -> None:
        if kind == "sequence" and name in self.pages:
            self.show_sequence(name)


class PaletteView(QListView):
    """Conditions (blue) and directives (purple) to drag into a sequence; Enter (or a
    double-click) inserts the current one after the selected block.

    Signals:
        commandChosen(str): a command's notation name, chosen by Enter or double-click.
    """

    commandChosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModel(PaletteModel(self))
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.setToolTip("Drag a condition or directive into a sequence, or press Enter to "
                        "insert it after the selected block.")
        self.activated.connect(lambda index: self.commandChosen.emit(index.data(Qt.ItemDataRole.UserRole)))

    def startDrag(self, supportedActions: Qt.DropAction) -> None:
        """The palette's drag, through the same `exec_drag` as a block's."""
        index = self.currentIndex()
        if not index.isValid():
            return
        drag = QDrag(self)
        drag.setMimeData(self.model().mimeData([index]))
        blocks.exec_drag(drag, Qt.DropAction.CopyAction)


class LintPanel(QListWidget):
    """Every lint finding with its hint; activating one selects its place.

    Signals:
        findingActivated(object): the `Finding` clicked (the sequence editor selects its block).
    """

    findingActivated = Signal(object)

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.setWordWrap(True)
        self.findings: list[Finding] = []
        self.itemActivated.connect(self._jump)
        self.itemClicked.connect(self._jump)

    def show_findings(self, findings: tuple[Finding, ...] | list[Finding], build_error: str = "") -> None:
        """Replace the list."""
        self.clear()
        self.findings = list(findings)
        for number, finding in enumerate(self.findings):
            mark = "✖" if finding.severity is Severity.ERROR else "⚠"
            item = QListWidgetItem(f"{mark} {finding.id} {finding.where}: {finding.message}\n"
                                   f"    fix: {finding.rule.hint}")
            item.setData(Qt.ItemDataRole.UserRole, number)
            self.addItem(item)
        if build_error:
            self.addItem(f"✖ build: {build_error}")
        if not self.findings and not build_error:
            self.addItem("✔ No lint findings.")

    def _jump(self, item: QListWidgetItem) -> None:
        number = item.data(Qt.ItemDataRole.UserRole)
        if isinstance(number, int):
            kind, name = place(self.findings[number].where, self.workspace)
            self.workspace.select(kind, name)
            self.findingActivated.emit(self.findings[number])


def place(where: str, workspace: Workspace) -> tuple[str, str]:
    """The (kind, name) a finding's ``where`` points at, for `Workspace.select`."""
    if where.startswith("component "):
        return "component", where.split(" ", 1)[1]
    if where.startswith("dependency "):
        return "dependency", where.split(" ", 1)[1]
    if where.startswith(("manifest/", "envelope/")):
        member = where.split("/", 1)[1]
        if member == "common":
            return "sequence", "shared"
        if member in EDITED_SEQUENCES:
            return "sequence", member
    project = workspace.project
    return "manifest", "" if project is None else project.name
