"""Every edit of a project as a command object: ``do(project)``, ``undo(project)``,
``label`` (STYLE.md §7). The GUI pushes them through a QUndoStack; scripts and tests use
`EditHistory`. Each command notifies the project's listeners after it changes something.

Values are given in the project file's notation (see `workbench.project.model`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Protocol

from workbench.project.errors import ProjectFileError
from workbench.project.model import Project, Slot

_MISSING: Any = object()


class EditCommand(Protocol):
    """What every edit offers."""

    @property
    def label(self) -> str:
        """A short description for the Edit menu: ``Set uri of app``."""
        ...

    def do(self, project: Project) -> None:
        """Apply the edit (also used to redo)."""
        ...

    def undo(self, project: Project) -> None:
        """Revert exactly what `do` changed."""
        ...


def _target(project: Project, path: tuple[str, ...]) -> tuple[Any, str]:
    """(object, attribute) a path names: ``("device", "model")``,
    ``("component", "app", "image", "file")``, ``("dependency", "d", "uri")``."""
    obj: Any = project
    parts = list(path)
    while len(parts) > 1:
        head = parts.pop(0)
        if head in ("component", "dependency"):
            obj = _named(obj.components if head == "component" else obj.dependencies,
                         parts.pop(0), head)
        else:
            obj = getattr(obj, head.replace("-", "_"), _MISSING)
        if obj is _MISSING or obj is None:
            raise ProjectFileError(".".join(path), "no such member")
    attr = parts[0].replace("-", "_")
    if not hasattr(obj, attr):
        raise ProjectFileError(".".join(path), "no such member")
    return obj, attr


def _named(items: list[Any], name: str, kind: str) -> Any:
    for item in items:
        if item.name == name:
            return item
    raise ProjectFileError(f"{kind} {name}", f"no {kind} called {name!r}")


@dataclass
class SetValue:
    """Set one member: a project field, a device id, a component's uri..."""

    path: tuple[str, ...]
    value: Any
    _old: Any = field(default=_MISSING, repr=False)

    @property
    def label(self) -> str:
        return f"Set {' '.join(self.path)}"

    def do(self, project: Project) -> None:
        obj, attr = _target(project, self.path)
        self._old = getattr(obj, attr)
        setattr(obj, attr, self.value)
        project.notify("changed", self.path)

    def undo(self, project: Project) -> None:
        obj, attr = _target(project, self.path)
        setattr(obj, attr, self._old)
        project.notify("changed", self.path)


@dataclass
class SetMapEntry:
    """Set or remove (value None) one entry of a map member: component text, report
    policies, wait events, explicit sequences."""

    path: tuple[str, ...]
    key: str
    value: Any
    _old: Any = field(default=_MISSING, repr=False)

    @property
    def label(self) -> str:
        return f"Set {' '.join(self.path)} {self.key}"

    def do(self, project: Project) -> None:
        mapping = getattr(*_target(project, self.path))
        self._old = mapping.get(self.key, _MISSING)
        if self.value is None:
            mapping.pop(self.key, None)
        else:
            mapping[self.key] = copy.deepcopy(self.value)
        project.notify("changed", self.path)

    def undo(self, project: Project) -> None:
        mapping = getattr(*_target(project, self.path))
        if self._old is _MISSING:
            mapping.pop(self.key, None)
        else:
            mapping[self.key] = self._old
        project.notify("changed", self.path)


@dataclass
class SetSeverable:
    """Sever a member, or keep it inline (M37 §8.4.12)."""

    member: str
    severed: bool
    _before: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{'Sever' if self.severed else 'Keep inline'} {self.member}"

    def do(self, project: Project) -> None:
        self._before = list(project.severable)
        if self.severed and self.member not in project.severable:
            project.severable.append(self.member)
        elif not self.severed and self.member in project.severable:
            project.severable.remove(self.member)
        project.notify("changed", ("severable",))

    def undo(self, project: Project) -> None:
        project.severable[:] = self._before
        project.notify("changed", ("severable",))


def _members(project: Project, kind: str) -> list[Any]:
    """The project's components or dependencies."""
    return project.components if kind == "component" else project.dependencies


@dataclass
class _Insert:
    """Insert a component or dependency (at the end, or at `index`)."""

    item: Any
    index: int | None = None
    kind = "component"

    @property
    def label(self) -> str:
        return f"Add {self.kind} {self.item.name}"

    def do(self, project: Project) -> None:
        items = _members(project, self.kind)
        if any(other.name == self.item.name for other in items):
            raise ProjectFileError(f"{self.kind} {self.item.name}", "the name is taken")
        items.insert(len(items) if self.index is None else self.index, self.item)
        project.notify(f"{self.kind}-added", self.item)

    def undo(self, project: Project) -> None:
        _members(project, self.kind).remove(self.item)
        project.notify(f"{self.kind}-removed", self.item)


@dataclass
class _Remove:
    """Remove a component or dependency by name."""

    name: str
    _removed: tuple[int, Any] | None = None
    kind = "component"

    @property
    def label(self) -> str:
        return f"Remove {self.kind} {self.name}"

    def do(self, project: Project) -> None:
        items = _members(project, self.kind)
        item = _named(items, self.name, self.kind)
        self._removed = (items.index(item), item)
        items.remove(item)
        project.notify(f"{self.kind}-removed", item)

    def undo(self, project: Project) -> None:
        if self._removed is None:
            return  # never done: nothing to revert
        index, item = self._removed
        _members(project, self.kind).insert(index, item)
        project.notify(f"{self.kind}-added", item)


class AddComponent(_Insert):
    """Add a component: ``AddComponent(Component(...), index=None)``."""


class RemoveComponent(_Remove):
    """Remove a component by name."""


class AddDependency(_Insert):
    """Add a dependency manifest (TD §5.2.2): ``AddDependency(Dependency(...))``."""

    kind = "dependency"


class RemoveDependency(_Remove):
    """Remove a dependency by name."""

    kind = "dependency"


@dataclass
class MoveComponent:
    """Move a component to another index (its SUIT component index changes)."""

    name: str
    index: int
    _from: int = 0

    @property
    def label(self) -> str:
        return f"Move component {self.name}"

    def do(self, project: Project) -> None:
        component = _named(project.components, self.name, "component")
        self._from = project.components.index(component)
        project.components.remove(component)
        project.components.insert(self.index, component)
        project.notify("component-moved", component)

    def undo(self, project: Project) -> None:
        MoveComponent(self.name, self._from).do(project)


@dataclass
class RenameComponent:
    """Rename a component and every reference to it (staging, load-from)."""

    old: str
    new: str

    @property
    def label(self) -> str:
        return f"Rename component {self.old} to {self.new}"

    def do(self, project: Project) -> None:
        self._rename(project, self.old, self.new)

    def undo(self, project: Project) -> None:
        self._rename(project, self.new, self.old)

    @staticmethod
    def _rename(project: Project, old: str, new: str) -> None:
        if any(c.name == new for c in project.components):
            raise ProjectFileError(f"component {new}", "the name is taken")
        component = _named(project.components, old, "component")
        component.name = new
        for c in project.components:
            c.staging = new if c.staging == old else c.staging
            c.load_from = new if c.load_from == old else c.load_from
        project.notify("changed", ("component", new))


@dataclass
class AddSlot:
    """Add an A/B slot to a component."""

    component: str
    slot: Slot

    @property
    def label(self) -> str:
        return f"Add slot to {self.component}"

    def do(self, project: Project) -> None:
        _named(project.components, self.component, "component").slots.append(self.slot)
        project.notify("changed", ("component", self.component, "slots"))

    def undo(self, project: Project) -> None:
        _named(project.components, self.component, "component").slots.remove(self.slot)
        project.notify("changed", ("component", self.component, "slots"))


class EditHistory:
    """An undo/redo stack for scripts and tests (the GUI uses QUndoStack instead)."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self._done: list[EditCommand] = []
        self._undone: list[EditCommand] = []

    def push(self, command: EditCommand) -> None:
        """Do `command` and remember it; clears what could be redone."""
        command.do(self.project)
        self._done.append(command)
        self._undone.clear()

    def undo(self) -> str | None:
        """Undo the last command; returns its label, or None when there is none."""
        if not self._done:
            return None
        command = self._done.pop()
        command.undo(self.project)
        self._undone.append(command)
        return command.label

    def redo(self) -> str | None:
        """Redo the last undone command."""
        if not self._undone:
            return None
        command = self._undone.pop()
        command.do(self.project)
        self._done.append(command)
        return command.label
