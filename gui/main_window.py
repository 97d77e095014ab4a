"""The workstation window: central views in tabs, dockable panels, menus with shortcuts,
recent files, settings, undo/redo, progress of background jobs and the unsaved-changes
prompt. Views and docks are registered (`add_view`, `register_dock`), so later panels
(signing, keys, flashing) plug in without this module knowing them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QFrame,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QTabBar,
    QTabWidget,
    QToolBar,
    QWidget,
)

from gui.diff_view import DiffPanel
from gui.errors import ErrorPresenter
from gui.inspector.panel import InspectorPanel
from gui.settings import Settings
from gui.workers import Job, JobRunner
from gui.workspace import Workspace
from signing.files import MAX_KEY_FILE
from suit.errors import WorkbenchError
from suit.keys import TrustAnchor
from workbench.files import read_bytes

ENVELOPE_FILTER = "SUIT envelopes (*.suit *.cbor);;All files (*)"
#: The window's first size: every panel fits at 1280x800 (the README's screenshots).
DEFAULT_SIZE = (1280, 800)


class MainWindow(QMainWindow):
    """The main window. `workspace` holds the project; `runner` runs long work."""

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__()
        self.setWindowTitle("SUIT Workbench")
        self.setObjectName("main-window")
        self.settings = settings or Settings()
        self.workspace = Workspace(self)
        self.runner = JobRunner(self)
        self.errors = ErrorPresenter(self)
        self.docks: dict[str, QDockWidget] = {}
        #: Called on first show when no saved layout was restored (dock sizes need a shown window).
        self.default_layout: list[Callable[[], None]] = []
        self._layout_restored = False
        self._default_state: QByteArray | None = None
        #: File suffix -> how to open it (authoring registers ``.toml``).
        self.openers: dict[str, Callable[[str | Path], None]] = {}
        self.views: dict[str, QWidget] = {}
        self._holders: dict[str, QScrollArea] = {}
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.setCentralWidget(self.tabs)
        self.view_bar = self._view_bar()
        self._menus()
        self._status_bar()
        self.inspector = InspectorPanel(self.runner)
        self.inspector.failed.connect(lambda exc: self.errors.show(exc, "inspect the envelope"))
        self.diff = DiffPanel(self.runner)
        self.diff.failed.connect(lambda exc: self.errors.show(exc, "compare the envelopes"))
        self.add_view("inspector", "Inspector", self.inspector)
        self.add_view("diff", "Diff", self.diff)
        self.workspace.dirtyChanged.connect(lambda _dirty: self._update_title())
        self.workspace.projectOpened.connect(self._update_title)
        self.resize(*DEFAULT_SIZE)

    # --- extension points -----------------------------------------------------------------

    def add_view(self, key: str, title: str, widget: QWidget, position: int | None = None) -> None:
        """Add a central view as a tab (Ctrl+1, Ctrl+2… switch between them)."""
        widget.setObjectName(f"view-{key}")
        self.views[key] = widget
        # In a scroll area, so one wide view cannot force the whole window (and its docks)
        # wider: it scrolls instead when the window is narrower than it needs.
        holder = QScrollArea()
        holder.setWidgetResizable(True)
        holder.setFrameShape(QFrame.Shape.NoFrame)
        holder.setWidget(widget)
        self._holders[key] = holder
        index = self.tabs.insertTab(-1 if position is None else position, holder, title)
        self.view_bar.insertTab(index, title)
        self.view_bar.setTabToolTip(index, f"Show the {title} view")
        self.view_bar.setCurrentIndex(self.tabs.currentIndex())  # the insert shifted both
        self._refresh_view_shortcuts()

    def _view_bar(self) -> QTabBar:
        """The views' tabs in a fixed tool bar across the whole window, above the docks.

        Inside the central area (between the docks) a dozen tabs did not fit at 1280x800
        and scrolled, the first one reading "ents"; across the window each shows its whole
        title. The central tab widget keeps the pages; its own bar is hidden."""
        bar = QTabBar()
        bar.setObjectName("view-tabs")
        bar.setDocumentMode(True)
        bar.setExpanding(False)
        bar.setElideMode(Qt.TextElideMode.ElideNone)
        bar.setUsesScrollButtons(False)
        bar.setDrawBase(False)
        self.tabs.tabBar().hide()
        bar.currentChanged.connect(self.tabs.setCurrentIndex)
        self.tabs.currentChanged.connect(bar.setCurrentIndex)
        holder = QToolBar("Views")
        holder.setObjectName("toolbar-views")  # saveState needs stable names
        holder.setMovable(False)
        holder.setFloatable(False)
        holder.toggleViewAction().setVisible(False)  # the only way to switch views by mouse
        holder.addWidget(bar)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, holder)
        return bar

    def show_view(self, key: str) -> QWidget:
        """Bring a central view to the front."""
        self.tabs.setCurrentWidget(self._holders[key])
        return self.views[key]

    def current_view(self) -> str | None:
        """The key of the central view in front."""
        current = self.tabs.currentWidget()
        return next((k for k, h in self._holders.items() if h is current), None)

    def register_dock(self, key: str, title: str, widget: QWidget,
                      area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea) -> QDockWidget:
        """Add a dockable panel; its visibility toggle appears in the View menu."""
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock-{key}")  # saveState needs stable names
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        self.docks[key] = dock
        self.view_menu.addAction(dock.toggleViewAction())
        return dock

    # --- menus and shortcuts --------------------------------------------------------------

    def add_action(self, menu: QMenu, text: str, slot: Callable[[], object],
                   shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None) -> QAction:
        """Add a menu entry (with an optional shortcut) that calls `slot`."""
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        return action

    def _menus(self) -> None:
        bar = self.menuBar()
        self.file_menu = bar.addMenu("&File")
        self.inspect_action = self.add_action(self.file_menu, "&Inspect envelope…",
                                           self.choose_envelope, "Ctrl+I")
        self.compare_action = self.add_action(self.file_menu, "&Compare envelopes…",
                                           lambda: self.show_view("diff"), "Ctrl+D")
        self.recent_menu = self.file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self.file_menu.addSeparator()
        self.add_action(self.file_menu, "Trust &anchors…", self.choose_trust_anchors)
        self.file_menu.addSeparator()
        self.add_action(self.file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.edit_menu = bar.addMenu("&Edit")
        undo = self.workspace_action("undo")
        redo = self.workspace_action("redo")
        self.edit_menu.addAction(undo)
        self.edit_menu.addAction(redo)
        self.view_menu = bar.addMenu("&View")
        self.reset_action = self.add_action(self.view_menu, "&Reset layout", self.reset_layout)
        self.view_menu.addSeparator()
        self.view_shortcuts: list[QAction] = []

    def workspace_action(self, which: str) -> QAction:
        """The undo or redo action of the workspace's stack, with standard shortcuts."""
        stack = self.workspace.undo_stack
        if which == "undo":
            action = stack.createUndoAction(self, "&Undo")
            action.setShortcut(QKeySequence.StandardKey.Undo)
        else:
            action = stack.createRedoAction(self, "&Redo")
            action.setShortcuts(QKeySequence.StandardKey.Redo)  # Ctrl+Y and Ctrl+Shift+Z here
        return action

    def _refresh_view_shortcuts(self) -> None:
        for action in self.view_shortcuts:
            self.removeAction(action)
        self.view_shortcuts = []
        for number in range(1, min(len(self.views), 9) + 1):  # in tab order
            action = QAction(self)
            action.setShortcut(QKeySequence(f"Ctrl+{number}"))
            action.triggered.connect(lambda _c=False, i=number - 1: self.tabs.setCurrentIndex(i))
            self.addAction(action)
            self.view_shortcuts.append(action)

    def _status_bar(self) -> None:
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(240)
        self.progress.hide()
        self.job_label = QLabel()
        self.statusBar().addPermanentWidget(self.job_label)
        self.statusBar().addPermanentWidget(self.progress)
        self.runner.started.connect(self._job_started)

    def _job_started(self, job: Job) -> None:
        self.job_label.setText(job.title)
        self.progress.setRange(0, 0)
        self.progress.show()
        job.progressed.connect(self._job_progress)
        job.finished.connect(self._job_finished)

    def _job_progress(self, done: int, total: int, what: str) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        if what:
            self.job_label.setText(what)

    def _job_finished(self) -> None:
        if not self.runner.busy:
            self.progress.hide()
            self.job_label.clear()

    # --- files ----------------------------------------------------------------------------

    def choose_envelope(self) -> None:
        """Ask for a .suit file and inspect it."""
        path, _ = QFileDialog.getOpenFileName(self, "Inspect envelope", self.settings.last_folder(),
                                              ENVELOPE_FILTER)
        if path:
            self.open_envelope(path)

    def open_envelope(self, path: str | Path) -> None:
        """Inspect an envelope file with the configured trust anchors."""
        path = Path(path)
        self.settings.set_last_folder(path.parent)
        self.settings.add_recent(path)
        self.show_view("inspector")
        self.inspector.open_file(path, self.trust_anchors())

    def trust_anchors(self) -> list[TrustAnchor]:
        """The trust anchors from settings; unreadable ones are reported, not used."""
        anchors = []
        for name in self.settings.trust_anchor_files():
            try:
                data = read_bytes(name, limit=MAX_KEY_FILE, regular_only=True)
                anchors.append(TrustAnchor.load(data, Path(name).name))
            except WorkbenchError as exc:
                self.statusBar().showMessage(f"trust anchor {name} not used: {exc}", 8000)
        return anchors

    def choose_trust_anchors(self) -> None:
        """Pick the PEM or COSE_Key files the inspector verifies with."""
        paths, _ = QFileDialog.getOpenFileNames(self, "Trust anchors", self.settings.last_folder(),
                                                "Keys (*.pem *.cose *.cbor);;All files (*)")
        if paths:
            self.set_trust_anchors(paths)

    def set_trust_anchors(self, paths: list[str]) -> None:
        """Use these trust anchor files from now on; the open envelope is verified again
        with them (its badges would otherwise speak of the old anchors)."""
        self.settings.set_trust_anchor_files(paths)
        if self.inspector.reverify(self.trust_anchors()):
            self.statusBar().showMessage(f"Verifying again with {len(paths)} trust anchor(s)",
                                         8000)

    def open_path(self, path: str | Path) -> None:
        """Open a file by kind: a project file for authoring, else an envelope to inspect."""
        opener = self.openers.get(Path(path).suffix.lower(), self.open_envelope)
        opener(path)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.settings.recent_files():
            action = self.recent_menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.triggered.connect(lambda _c=False, p=path: self.open_path(p))
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("(none)").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear", self.settings.clear_recent)

    # --- title, layout, closing ------------------------------------------------------------

    def _update_title(self) -> None:
        # The path, not only the name: two checkouts of one product have the same name.
        project = self.workspace.project
        if project is None:
            name = ""
        else:
            name = f" — {project.name} ({project.path or 'not saved yet'})"
        self.setWindowModified(self.workspace.dirty)
        self.setWindowTitle(f"SUIT Workbench{name}[*]")

    def restore_layout(self) -> None:
        """Geometry and dock layout from the last run."""
        self._remember_default()
        geometry, state = self.settings.window_state()
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self._layout_restored = self.restoreState(state)

    def showEvent(self, event: QShowEvent) -> None:
        self._remember_default()
        super().showEvent(event)
        if not self._layout_restored:  # first run: the registered default dock sizes
            self._layout_restored = True
            for apply in self.default_layout:
                apply()

    def _remember_default(self) -> None:
        # Every dock is registered by now and none was moved: this is the layout that
        # View > Reset layout brings back (a saved layout may hide or float docks).
        if self._default_state is None:
            self._default_state = self.saveState()

    def reset_layout(self) -> None:
        """View > Reset layout: the default size, docks where they started, default sizes."""
        self.resize(*DEFAULT_SIZE)
        if self._default_state is not None:
            self.restoreState(self._default_state)
        for apply in self.default_layout:
            apply()
        self.statusBar().showMessage("Layout reset", 5000)

    def confirm_discard(self) -> bool:
        """If there are unsaved changes, ask to save, discard or cancel; True to go on."""
        if not self.workspace.dirty:
            return True
        answer = QMessageBox.question(
            self, "Unsaved changes", "The project has unsaved changes. Save them first?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Save:
            return self.save_hook()
        return answer == QMessageBox.StandardButton.Discard

    def save_hook(self) -> bool:
        """Save the project; authoring replaces it (False: nothing saved)."""
        return False

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.confirm_discard():
            event.ignore()
            return
        self.settings.save_window_state(self.saveGeometry(), self.saveState())
        self.settings.sync()
        self.runner.wait(5000)
        event.accept()
