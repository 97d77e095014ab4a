"""The inspector's tree: an item model over the spans of one envelope's bytes.

Built once per opened file from `suit.spans.locate`; every row knows its byte range, so the
hex view can highlight it and a byte can be mapped back to its row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt

from gui.inspector import naming
from suit.spans import ItemSpan, Path, SpanIndex

SpanRole = Qt.ItemDataRole.UserRole + 1
_Index = QModelIndex | QPersistentModelIndex


@dataclass(eq=False)
class Node:
    """One row: an item and its children; its texts are made when first shown (a large
    envelope has tens of thousands of items, most of them never scrolled to)."""

    span: ItemSpan | None
    parent: Node | None
    row: int
    role: int = naming.ANY
    before: ItemSpan | None = None
    children: list[Node] = field(default_factory=list)
    texts: tuple[str, str] | None = None
    number: int = -1  # position in NodeTree.nodes: the index's internal id

    def text(self, column: int, data: bytes) -> str:
        """The label (column 0) or value (column 1)."""
        if self.texts is None:
            span = self.span
            assert span is not None  # noqa: S101 - invariant: the invisible root is never shown
            key = span.path[-1] if span.path else None
            self.texts = (naming.label(self.role, key, span, self.before),
                          naming.value_text(span, data))
        return self.texts[column]


@dataclass
class NodeTree:
    """The rows of one envelope, built off the UI thread by `build_tree`."""

    root: Node
    by_path: dict[Path, Node]
    data: bytes
    nodes: list[Node] = field(default_factory=list)


def build_tree(data: bytes, spans: SpanIndex) -> NodeTree:
    """Label every located item with its spec name (pure Python: safe in a worker)."""
    root = Node(None, None, 0)
    by_path: dict[Path, Node] = {}
    nodes: list[Node] = []
    roles: dict[Path, int] = {(): naming.ENVELOPE}
    previous: dict[Path, ItemSpan] = {}
    for span in spans:
        parent_path = span.path[:-1]
        parent = by_path.get(parent_path, root) if span.path else root
        key = span.path[-1] if span.path else None
        before = previous.get(parent_path)
        role = roles.get(parent_path, naming.ANY)
        if span.path:
            roles[span.path] = naming.child_role(role, key, before)
        node = Node(span, parent, len(parent.children), role, before, number=len(nodes))
        nodes.append(node)
        parent.children.append(node)
        by_path[span.path] = node
        previous[parent_path] = span
    return NodeTree(root, by_path, data, nodes)


class EnvelopeTreeModel(QAbstractItemModel):
    """Two columns, the element and its value; `SpanRole` gives the `ItemSpan`."""

    HEADERS = ("Element", "Value")

    def __init__(self, tree: NodeTree, parent: Any = None) -> None:
        super().__init__(parent)
        self._root, self._by_path, self._data = tree.root, tree.by_path, tree.data
        # Indexes carry a node's number, not a pointer to it: Qt may still hold an index
        # after Python collected what a pointer would point to.
        self._nodes = tree.nodes

    # --- lookups --------------------------------------------------------------------------

    def index_of(self, path: Path) -> QModelIndex:
        """The index of the item at `path`, or an invalid index."""
        node = self._by_path.get(path)
        if node is None:
            return QModelIndex()
        return self.createIndex(node.row, 0, node.number)

    def span_at(self, index: _Index) -> ItemSpan | None:
        """The span of a row."""
        return self._node(index).span if index.isValid() else None

    def _node(self, index: _Index) -> Node:
        return self._nodes[index.internalId()] if index.isValid() else self._root

    # --- QAbstractItemModel ---------------------------------------------------------------

    def index(self, row: int, column: int, parent: _Index = QModelIndex()) -> QModelIndex:
        node = self._node(parent)
        if not (0 <= row < len(node.children) and 0 <= column < 2):
            return QModelIndex()
        return self.createIndex(row, column, node.children[row].number)

    def parent(self, index: _Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]
        if not index.isValid():
            return QModelIndex()
        up = self._node(index).parent
        if up is None or up is self._root:
            return QModelIndex()
        return self.createIndex(up.row, 0, up.number)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:
        if parent.isValid() and parent.column() != 0:
            return 0
        return len(self._node(parent).children)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:
        return 2

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        node = self._node(index)
        if role == Qt.ItemDataRole.DisplayRole:
            return node.text(index.column(), self._data)
        if role == Qt.ItemDataRole.ToolTipRole and node.span is not None:
            return f"bytes {node.span.start}–{node.span.end - 1} ({node.span.end - node.span.start})"
        if role == SpanRole:
            return node.span
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None
