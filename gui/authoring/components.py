"""The component list: an item model over the project's components (it keeps no state of
its own), reordered by drag and drop through `MoveComponent`, with each image's computed
digest and size from the latest preview."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from PySide6.QtCore import (
    QAbstractTableModel,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtWidgets import QAbstractItemView, QTableView, QWidget

from gui.authoring.session import Preview
from gui.workspace import Workspace
from suit.diff import show_digest
from suit.errors import WorkbenchError
from workbench.project.commands import MoveComponent
from workbench.project.images import ImageInfo
from workbench.project.model import Component

COMPONENT_MIME: Final = "application/x-suitwb-component"
_Index = QModelIndex | QPersistentModelIndex


class ComponentsModel(QAbstractTableModel):
    """Rows are the project's components in SUIT component-index order."""

    HEADERS = ("#", "Name", "Component id", "Image", "Size", "Digest", "Fetch URI")

    def __init__(self, workspace: Workspace, parent: Any = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.preview = Preview()
        workspace.projectOpened.connect(self._reset)
        workspace.projectChanged.connect(self._changed)

    def _reset(self) -> None:
        self.beginResetModel()
        self.endResetModel()

    def _changed(self, event: str, _subject: Any) -> None:
        if event.startswith("component") or event == "changed":
            self._reset()

    def set_preview(self, preview: Preview) -> None:
        """Show computed digests and sizes from a new preview."""
        self.preview = preview
        if self.rowCount():
            self.dataChanged.emit(self.index(0, 3), self.index(self.rowCount() - 1, 5))

    @property
    def components(self) -> list[Component]:
        project = self.workspace.project
        return [] if project is None else project.components

    def component(self, row: int) -> Component:
        """The component in `row`."""
        return self.components[row]

    def row_of(self, name: str) -> int:
        """The row of the component called `name`, or -1."""
        return next((i for i, c in enumerate(self.components) if c.name == name), -1)

    # --- display --------------------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.components)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.HEADERS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        component = self.components[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self._cell(index.row(), index.column(), component)
        return None

    def _cell(self, row: int, column: int, c: Component) -> str:
        if column == 0:
            return str(row)
        if column == 1:
            return (c.display_name and f"{c.name} ({c.display_name})") or c.name
        if column == 2:
            return "[" + ", ".join(c.id) + "]"
        if column == 6:
            return c.uri or ("integrated" if c.integrated else
                             f"{len(c.slots)} slot URIs" if c.slots else "")
        return self._image_cell(column, c)

    def _image_cell(self, column: int, c: Component) -> str:
        keys = [c.name] if c.image is not None else [f"{c.name}[{k}]" for k in range(len(c.slots))]
        files = [c.image.file] if c.image is not None else [s.image.file for s in c.slots]
        if column == 3:
            return ", ".join(f or "(stated digest)" for f in files) or ("content" if c.content else "")
        infos = [self.preview.images.get(k) for k in keys]
        texts = []
        for info in infos:
            if isinstance(info, WorkbenchError):
                texts.append(f"error: {info}")
            elif isinstance(info, ImageInfo):
                texts.append(str(info.size) if column == 4 else show_digest(info.digest))
            elif c.image is not None and c.image.digest and column == 5:
                texts.append(c.image.digest)
        return ", ".join(texts)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    # --- drag and drop --------------------------------------------------------------------

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.ItemIsDropEnabled
        return (Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                | Qt.ItemFlag.ItemIsDragEnabled)

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:
        return [COMPONENT_MIME]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        mime = QMimeData()
        rows = sorted({i.row() for i in indexes if i.isValid()})
        if rows:
            mime.setData(COMPONENT_MIME, self.components[rows[0]].name.encode("utf-8"))
        return mime

    def canDropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int,
                        parent: _Index) -> bool:
        return data.hasFormat(COMPONENT_MIME) and action == Qt.DropAction.MoveAction

    def dropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int,
                     parent: _Index) -> bool:
        """Move the dragged component to where it was dropped (one undoable edit)."""
        if not self.canDropMimeData(data, action, row, column, parent):
            return False
        name = bytes(data.data(COMPONENT_MIME).data()).decode("utf-8")
        source = self.row_of(name)
        target = row if row >= 0 else parent.row() if parent.isValid() else self.rowCount()
        if source < 0:
            return False
        if target > source:
            target -= 1  # the component leaves its old row before it is inserted
        if target != source:
            self.workspace.push(MoveComponent(name, target))
        # False: the move is done; the view must not also remove the source row.
        return False


class ComponentsView(QTableView):
    """The component table; selecting a row selects the component everywhere."""

    def __init__(self, model: ComponentsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setDragDropOverwriteMode(False)
        self.setDropIndicatorShown(True)
        self.verticalHeader().hide()
        self.horizontalHeader().setStretchLastSection(True)
        self.setWordWrap(False)
        self._model = model
        workspace = model.workspace
        self.selectionModel().currentRowChanged.connect(self._row_changed)
        workspace.selectionChanged.connect(self._follow)
        model.modelReset.connect(lambda: self._follow(*workspace.selection))

    def _row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self._model.workspace.select("component", self._model.component(current.row()).name)

    def _follow(self, kind: str, name: str) -> None:
        if kind != "component":
            return
        row = self._model.row_of(name)
        if row >= 0 and self.currentIndex().row() != row:
            self.selectRow(row)
