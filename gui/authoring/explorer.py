"""The project explorer: the open project's components, dependencies, sequences and built
envelopes as a tree; choosing an entry selects it everywhere (or inspects a build)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem, QWidget

from gui.authoring.sequences import EDITED_SEQUENCES
from gui.workspace import Workspace

_KIND = Qt.ItemDataRole.UserRole
_NAME = Qt.ItemDataRole.UserRole + 1


class ProjectExplorer(QTreeWidget):
    """Project tree.

    Signals:
        inspectRequested(str): a built envelope was activated.
    """

    inspectRequested = Signal(str)

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.setHeaderHidden(True)
        self._syncing = False
        self.currentItemChanged.connect(self._chosen)
        self.itemActivated.connect(self._activated)
        workspace.projectOpened.connect(self.refresh)
        workspace.projectChanged.connect(self._changed)
        workspace.selectionChanged.connect(self.follow)

    def _changed(self, event: str, subject: object) -> None:
        # Structure changes, renames, display names and explicit sequences show here;
        # other member changes (a URI, an image) do not.
        shown = isinstance(subject, tuple) and (
            subject in (("name",), ("sequences",)) or (subject[:1] == ("component",) and (
                len(subject) == 2 or subject[-1] in ("display-name", "display_name"))))
        if event != "changed" or shown:
            self.refresh()

    def refresh(self) -> None:
        """Rebuild the tree from the project and its build folder."""
        self._syncing = True
        try:
            self.clear()
            project = self.workspace.project
            if project is None:
                return
            root = self._item(self, project.name, "manifest", project.name)
            components = self._item(root, f"Components ({len(project.components)})", "", "")
            for c in project.components[:2000]:  # a tree of more is no help to anyone
                self._item(components, c.display_name or c.name, "component", c.name)
            deps = self._item(root, f"Dependencies ({len(project.dependencies)})", "", "")
            for d in project.dependencies:
                self._item(deps, d.name, "dependency", d.name)
            sequences = self._item(root, "Sequences", "", "")
            for name in EDITED_SEQUENCES:
                self._item(sequences, name + (" (explicit)" if name in project.sequences else ""),
                           "sequence", name)
            builds = self._item(root, "Builds", "", "")
            for path in sorted((project.folder / "build").glob("*.suit")):
                self._item(builds, path.name, "build", str(path))
            self.expandToDepth(1)
        finally:
            self._syncing = False

    def _item(self, parent: QTreeWidget | QTreeWidgetItem, text: str, kind: str,
              name: str) -> QTreeWidgetItem:
        item = QTreeWidgetItem([text])
        item.setData(0, _KIND, kind)
        item.setData(0, _NAME, name)
        if isinstance(parent, QTreeWidget):
            parent.addTopLevelItem(item)
        else:
            parent.addChild(item)
        return item

    def _chosen(self, item: QTreeWidgetItem | None, _previous: QTreeWidgetItem | None) -> None:
        if self._syncing or item is None:
            return
        kind, name = item.data(0, _KIND), item.data(0, _NAME)
        if kind in ("manifest", "component", "dependency", "sequence"):
            self.workspace.select(kind, name)

    def _activated(self, item: QTreeWidgetItem) -> None:
        if item.data(0, _KIND) == "build":
            self.inspectRequested.emit(item.data(0, _NAME))

    def follow(self, kind: str, name: str) -> None:
        """Select the entry of what was selected elsewhere."""
        for item in self._items():
            if item.data(0, _KIND) == kind and item.data(0, _NAME) == name:
                self._syncing = True
                try:
                    self.setCurrentItem(item)
                finally:
                    self._syncing = False
                return

    def _items(self) -> list[QTreeWidgetItem]:
        out: list[QTreeWidgetItem] = []
        stack = [self.topLevelItem(i) for i in range(self.topLevelItemCount())]
        while stack:
            item = stack.pop()
            if item is None:  # Qt's None for an index past the end; never for a count
                continue
            out.append(item)
            stack.extend(item.child(i) for i in range(item.childCount()))
        return out

    def builds(self) -> list[Path]:
        """The built envelopes listed."""
        return [Path(i.data(0, _NAME)) for i in self._items() if i.data(0, _KIND) == "build"]
