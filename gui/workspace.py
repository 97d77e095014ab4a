"""The workspace: the open release project, its undo stack, and the selection every view
follows. Views never hold project state of their own; they read the project and listen.

Every edit is a core command object from `workbench.project.commands` (do/undo/label),
pushed through the QUndoStack by `CoreCommand`, so undo and redo cover all of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from workbench.project.commands import EditCommand
from workbench.project.model import Project


class CoreCommand(QUndoCommand):
    """A core edit command on the QUndoStack: redo runs `do`, undo runs `undo`.

    The first `do` happens before the push (see `Workspace.push`), so a refused edit
    raises to its caller and never reaches the stack; QUndoStack's initial redo is skipped.
    """

    def __init__(self, workspace: Workspace, command: EditCommand) -> None:
        super().__init__(command.label)
        self.workspace = workspace
        self.command = command
        self._applied = True

    def redo(self) -> None:
        if self._applied:
            self._applied = False
            return
        project = self.workspace.project
        if project is not None:
            self.command.do(project)

    def undo(self) -> None:
        project = self.workspace.project
        if project is not None:
            self.command.undo(project)


class Workspace(QObject):
    """The open project and what is selected in it.

    Signals:
        projectOpened(): a different project (or none) is now open.
        projectChanged(str, object): the project's own change event and subject.
        selectionChanged(str, str): kind (``component``, ``dependency``, ``manifest``,
            ``sequence``) and name of what is selected; every view follows it.
        dirtyChanged(bool): whether there are unsaved changes.
    """

    projectOpened = Signal()
    projectChanged = Signal(str, object)
    selectionChanged = Signal(str, str)
    dirtyChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project: Project | None = None
        self.undo_stack = QUndoStack(self)
        # A bound slot, not a lambda: Qt drops a receiver's connections when it is destroyed,
        # before its children; the stack, a child, reports "clean" as it goes, and a lambda
        # would then emit from a deleted workspace ("Signal source has been deleted").
        self.undo_stack.cleanChanged.connect(self._clean_changed)
        self.selection: tuple[str, str] = ("manifest", "")
        self.last_build: Path | None = None

    # --- the project ----------------------------------------------------------------------

    def set_project(self, project: Project | None) -> None:
        """Open `project` (or close): clears undo history and selection."""
        if self.project is not None:
            self.project.listeners[:] = [listener for listener in self.project.listeners
                                         if listener != self._relay]
        self.project = project
        if project is not None:
            project.listeners.append(self._relay)
        self.undo_stack.clear()
        self.undo_stack.setClean()
        self.selection = ("manifest", "")
        self.projectOpened.emit()
        self.dirtyChanged.emit(False)

    def _clean_changed(self, clean: bool) -> None:
        self.dirtyChanged.emit(not clean)

    def _relay(self, event: str, subject: Any) -> None:
        self.projectChanged.emit(event, subject)

    @property
    def path(self) -> Path | None:
        """The project file, once saved."""
        return None if self.project is None else self.project.path

    @property
    def dirty(self) -> bool:
        """Whether the project has changes not saved."""
        return self.project is not None and not self.undo_stack.isClean()

    def mark_saved(self) -> None:
        """The project was written: the current state is the clean one."""
        self.undo_stack.setClean()

    # --- edits and selection --------------------------------------------------------------

    def push(self, command: EditCommand) -> None:
        """Apply a core edit command and put it on the undo stack.

        Raises:
            WorkbenchError: the edit is refused (the project is unchanged, the stack too).
        """
        if self.project is None:
            return
        command.do(self.project)
        self.undo_stack.push(CoreCommand(self, command))

    def select(self, kind: str, name: str) -> None:
        """Select something everywhere (views that show it follow)."""
        if (kind, name) != self.selection:
            self.selection = (kind, name)
            self.selectionChanged.emit(kind, name)
