"""The dependency graph: the manifest, its components and its dependency manifests as
nodes; what contains, copies from or depends on what as edges (M37 §8.4.5, TD §5.2.2).

Dragging from one node to another creates a relation, as one undoable edit:
component → component sets where the first is loaded from (or staged via, as the
toolbar chooses); manifest → an available manifest file adds it as a dependency.
Selecting a node selects it everywhere; selecting elsewhere selects the node.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

import shiboken6
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QKeyEvent, QMouseEvent, QPainter, QPen, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QGraphicsItem,
    QGraphicsLineItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from gui.workspace import Workspace
from suit.errors import WorkbenchError
from workbench.project.commands import AddDependency, RemoveDependency, SetValue
from workbench.project.model import Dependency, Project

NODE_W, NODE_H, GAP = 170.0, 46.0, 30.0
_COLOURS: Final = {"manifest": "#bbdefb", "component": "#c8e6c9", "dependency": "#ffe0b2",
                   "available": "#eeeeee"}
RELATIONS: Final = (("loaded from", "load-from"), ("staged via", "staging"))


@dataclass(frozen=True)
class NodeKey:
    """What a node stands for: ``(kind, name)``; an available file's name is its path."""

    kind: str
    name: str


class Node(QGraphicsRectItem):
    """A box with a title and a subtitle."""

    def __init__(self, key: NodeKey, title: str, subtitle: str) -> None:
        super().__init__(0, 0, NODE_W, NODE_H)
        self.key = key
        self.setBrush(QBrush(QColor(_COLOURS[key.kind])))
        self.setPen(QPen(QColor("#455a64"), 1.2))
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setToolTip(f"{key.kind} {key.name}\nDrag onto another node to relate them.")
        text = QGraphicsSimpleTextItem(title[:24], self)
        text.setPos(8, 5)
        sub = QGraphicsSimpleTextItem(subtitle[:28], self)
        sub.setBrush(QBrush(QColor("#37474f")))
        sub.setPos(8, 24)

    def anchor(self) -> QPointF:
        return self.sceneBoundingRect().center()


class GraphScene(QGraphicsScene):
    """Lays out the project's nodes and edges; rebuilt after each change (it is small)."""

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace
        self.nodes: dict[NodeKey, Node] = {}
        self.edges: list[tuple[NodeKey, NodeKey, str]] = []

    def rebuild(self) -> None:
        """Lay the graph out again from the project."""
        self.clear()
        self.nodes, self.edges = {}, []
        project = self.workspace.project
        if project is None:
            return
        manifest = self._node(NodeKey("manifest", project.name), project.name,
                              f"manifest, sequence {project.sequence_number}", 0, 0)
        row_width = max(len(project.components), 1) * (NODE_W + GAP)
        for i, c in enumerate(project.components):
            x = i * (NODE_W + GAP) - row_width / 2 + NODE_W / 2
            self._node(NodeKey("component", c.name), c.display_name or c.name,
                       f"component {i} [{', '.join(c.id)}]", x, 120)
            self.edges.append((manifest.key, NodeKey("component", c.name), "contains"))
        self._dependency_nodes(project)
        self._relations(project)
        self._draw_edges()

    def _node(self, key: NodeKey, title: str, subtitle: str, x: float, y: float) -> Node:
        node = Node(key, title, subtitle)
        node.setPos(x - NODE_W / 2, y)
        node.setZValue(1)
        self.addItem(node)
        self.nodes[key] = node
        return node

    def _dependency_nodes(self, project: Project) -> None:
        manifest = NodeKey("manifest", project.name)
        for i, dep in enumerate(project.dependencies):
            key = NodeKey("dependency", dep.name)
            self._node(key, dep.name, f"dependency [{', '.join(dep.prefix)}]",
                       (i + 1) * (NODE_W + GAP) + 120, -20)
            self.edges.append((manifest, key, "depends on"))
        used = {d.envelope for d in project.dependencies} | {d.project for d in project.dependencies}
        for i, path in enumerate(p for p in available_manifests(project) if p not in used):
            self._node(NodeKey("available", path), Path(path).name, "available manifest",
                       -(i + 1) * (NODE_W + GAP) - 120, -20)

    def _relations(self, project: Project) -> None:
        for c in project.components:
            for label, member in RELATIONS:
                other = getattr(c, member.replace("-", "_"))
                if other:
                    self.edges.append((NodeKey("component", c.name), NodeKey("component", other), label))

    def _draw_edges(self) -> None:
        for source, target, label in self.edges:
            a, b = self.nodes.get(source), self.nodes.get(target)
            if a is None or b is None:
                continue
            line = QGraphicsLineItem(QLineF(a.anchor(), b.anchor()))
            dashed = label in ("loaded from", "staged via")
            line.setPen(QPen(QColor("#546e7a"), 1.5,
                             Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine))
            line.setZValue(0)
            self.addItem(line)
            if label != "contains":
                text = self.addSimpleText(label)
                text.setPos(line.line().center())

    def node_at(self, point: QPointF) -> Node | None:
        """The node under a scene point."""
        for item in self.items(point):
            while item is not None and not isinstance(item, Node):
                item = item.parentItem()
            if isinstance(item, Node):
                return item
        return None


def available_manifests(project: Project) -> list[str]:
    """Envelopes and projects beside this one that it could depend on (relative paths)."""
    folder = project.folder
    found = [p for p in sorted(folder.glob("*/project.toml")) if p.resolve() != project.path]
    found += [p for p in sorted(folder.glob("deps/*.suit"))]
    return [str(p.relative_to(folder)) for p in found]


class GraphView(QGraphicsView):
    """The graph; a drag from node to node relates them.

    Signals:
        refused(str): a relation that could not be made, and why.
    """

    refused = Signal(str)

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        self.graph = GraphScene(workspace)
        super().__init__(self.graph, parent)
        self.workspace = workspace
        self.relation = "load-from"
        self._drag_from: Node | None = None
        self._rubber: QGraphicsLineItem | None = None
        self._syncing = False
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.graph.selectionChanged.connect(self._scene_selected)
        workspace.selectionChanged.connect(self.follow)
        self._stale = True
        workspace.projectOpened.connect(self.refresh)
        workspace.projectChanged.connect(lambda *_: self.refresh())

    def refresh(self) -> None:
        """Rebuild the scene now if it is on screen, else when it is next shown (a large
        release has hundreds of nodes: no edit should wait for a graph nobody sees)."""
        self._stale = True
        if self.isVisible():
            self._rebuild()

    def showEvent(self, event: QShowEvent) -> None:
        if self._stale:
            self._rebuild()
        super().showEvent(event)

    def _rebuild(self) -> None:
        self._stale = False
        self._syncing = True
        try:
            self.graph.rebuild()
            self.setSceneRect(self.graph.itemsBoundingRect().adjusted(-40, -40, 40, 40))
        finally:
            self._syncing = False
        self.follow(*self.workspace.selection)

    # --- selection ------------------------------------------------------------------------

    def _scene_selected(self) -> None:
        if self._syncing or not shiboken6.isValid(self.graph):
            return  # the scene emits while it is being destroyed at shutdown
        selected = [i for i in self.graph.selectedItems() if isinstance(i, Node)]
        if selected and selected[0].key.kind != "available":
            self.workspace.select(selected[0].key.kind, selected[0].key.name)

    def follow(self, kind: str, name: str) -> None:
        """Select the node of what was selected elsewhere."""
        node = self.graph.nodes.get(NodeKey(kind, name))
        self._syncing = True
        try:
            self.graph.clearSelection()
            if node is not None:
                node.setSelected(True)
                self.ensureVisible(node)
        finally:
            self._syncing = False

    # --- drag to relate -------------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._drag_from = self.graph.node_at(self.mapToScene(event.position().toPoint()))
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag_from is not None and event.buttons() & Qt.MouseButton.LeftButton:
            end = self.mapToScene(event.position().toPoint())
            if self._rubber is None:
                self._rubber = self.graph.addLine(QLineF(self._drag_from.anchor(), end),
                                                  QPen(QColor("#d81b60"), 2, Qt.PenStyle.DotLine))
            self._rubber.setLine(QLineF(self._drag_from.anchor(), end))
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        source, self._drag_from = self._drag_from, None
        if self._rubber is not None:
            self.graph.removeItem(self._rubber)
            self._rubber = None
        target = self.graph.node_at(self.mapToScene(event.position().toPoint()))
        super().mouseReleaseEvent(event)
        if source is not None and target is not None and target is not source:
            self.relate(source.key, target.key)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Delete removes a selected dependency (components are removed in their list)."""
        selected = [i for i in self.graph.selectedItems() if isinstance(i, Node)]
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and selected \
                and selected[0].key.kind == "dependency":
            try:
                self.workspace.push(RemoveDependency(selected[0].key.name))
            except WorkbenchError as exc:
                self.refused.emit(str(exc))
            return
        super().keyPressEvent(event)

    def relate(self, source: NodeKey, target: NodeKey) -> bool:
        """Create the relation a drag from `source` to `target` means; False if none."""
        try:
            if source.kind == "component" and target.kind == "component":
                self.workspace.push(SetValue(("component", source.name, self.relation), target.name))
                return True
            if source.kind == "manifest" and target.kind == "available":
                self.workspace.push(AddDependency(_dependency_for(target.name)))
                return True
        except WorkbenchError as exc:
            self.refused.emit(str(exc))
            return False
        self.refused.emit(f"dragging a {source.kind} onto a {target.kind} means nothing")
        return False


def _dependency_for(path: str) -> Dependency:
    name = Path(path).parent.name if path.endswith("project.toml") else Path(path).stem
    if path.endswith(".toml"):
        return Dependency(name=name, prefix=[name], project=path)
    return Dependency(name=name, prefix=[name], envelope=path)


class GraphPanel(QWidget):
    """The graph view with its toolbar (what a component-to-component drag creates)."""

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = GraphView(workspace)
        self.relation = QComboBox()
        for label, member in RELATIONS:
            self.relation.addItem(f"component → component: {label}", member)
        self.relation.currentIndexChanged.connect(
            lambda _i: setattr(self.view, "relation", self.relation.currentData()))
        self.message = QLabel("Drag from a node onto another to relate them; "
                              "from the manifest onto an available manifest to depend on it.")
        self.view.refused.connect(self.message.setText)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Dragging creates:"))
        bar.addWidget(self.relation)
        bar.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.message)

    def scene_rect(self) -> QRectF:
        return self.view.sceneRect()
