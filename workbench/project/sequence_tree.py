"""Command sequences as trees of blocks, for the visual sequence editor (no Qt here).

A sequence in the project's explicit notation is a list of ``{command = argument}``
tables. ``try-each`` holds a list of alternative sequences (M37 §8.4.10.2) and
``run-sequence`` one nested sequence (M37 §8.4.10.3), so a sequence is a tree. A block is
addressed by a *path*: ``(3,)`` is row 3; ``(1, 0, 2)`` is row 2 of branch 0 of the
try-each at row 1 (a run-sequence has the one branch 0). A *lane* (a list blocks go in)
is addressed by an even-length path: ``()`` is the sequence itself, ``(1, 0)`` a branch.

Every edit returns a new list and leaves its input alone, so the GUI can push it as one
undoable `SequenceEdit` whose label says what happened.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from suit.model import Command, Digest, DigestAlgorithm
from workbench.project.commands import SetMapEntry
from workbench.project.errors import ProjectFileError
from workbench.project.explicit import COMMANDS, ExplicitSequences
from workbench.project.images import ImageInfo
from workbench.project.model import Project
from workbench.project.resolve import DependencyInfo, EncryptedComponent, Resolved, device_ids

Path = tuple[int, ...]
#: Lint rules that concern one command of a sequence, by the command they flag
#: (suit/lint.py: SUIT003 invoke-unchecked, SUIT004 fetch-without-uri, SUIT008
#: written-not-validated); every other rule concerns the sequence as a whole.
FINDING_COMMANDS: Final[dict[str, tuple[str, ...]]] = {
    "SUIT003": ("invoke",), "SUIT004": ("fetch",), "SUIT008": ("fetch", "copy", "swap", "write"),
}


def spec_name(name: str) -> str:
    """``condition-vendor-identifier`` for ``vendor-identifier`` (unknown names as given)."""
    number = COMMANDS.get(name)
    return Command(number).spec_name if number is not None else name


def command_of(item: Any) -> tuple[str, Any]:
    """The (name, argument) of a ``{name = argument}`` table."""
    if not isinstance(item, dict) or len(item) != 1:
        raise ProjectFileError("sequence", "each command is a table with exactly one member")
    ((name, argument),) = item.items()
    return str(name), argument


def command_or_none(item: Any) -> tuple[str, Any] | None:
    """`command_of`, or None for something that is not a command (a hand-edited project
    file may hold anything; the editor draws it and lets it be deleted)."""
    if not isinstance(item, dict) or len(item) != 1:
        return None
    ((name, argument),) = item.items()
    return str(name), argument


def branches(item: Any) -> list[list[Any]] | None:
    """The nested lanes of a try-each or run-sequence block (None for any other block).

    A final ``"nil"`` alternative (M37 §8.4.10.2) is not a lane: nothing goes in it.
    """
    found = command_or_none(item)
    if found is None:
        return None
    name, argument = found
    if name in ("try-each", "directive-try-each") and isinstance(argument, list):
        return [alt for alt in argument if isinstance(alt, list)]
    if name in ("run-sequence", "directive-run-sequence") and isinstance(argument, list):
        return [argument]
    return None


def lane(entries: list[Any], lane_path: Path) -> list[Any]:
    """The list a lane path names (raises ProjectFileError if there is none)."""
    if len(lane_path) % 2:
        raise ProjectFileError("sequence", f"no lane at {list(lane_path)}")
    current = entries
    for k in range(0, len(lane_path), 2):
        row, branch = lane_path[k], lane_path[k + 1]
        lanes = branches(current[row]) if 0 <= row < len(current) else None
        if lanes is None or not 0 <= branch < len(lanes):
            raise ProjectFileError("sequence", f"no lane at {list(lane_path)}")
        current = lanes[branch]
    return current


def block(entries: list[Any], path: Path) -> Any:
    """The block a path names."""
    items = lane(entries, path[:-1])
    if not path or not 0 <= path[-1] < len(items):
        raise ProjectFileError("sequence", f"no block at {list(path)}")
    return items[path[-1]]


def insert(entries: list[Any], lane_path: Path, index: int, item: Any) -> list[Any]:
    """A copy of `entries` with `item` before `index` of a lane (-1 or past the end: last)."""
    out = copy.deepcopy(entries)
    items = lane(out, lane_path)
    items.insert(index if 0 <= index <= len(items) else len(items), copy.deepcopy(item))
    return out


def remove(entries: list[Any], path: Path) -> list[Any]:
    """A copy of `entries` without the block at `path`."""
    block(entries, path)  # raises if there is none
    out = copy.deepcopy(entries)
    del lane(out, path[:-1])[path[-1]]
    return out


def replace(entries: list[Any], path: Path, item: Any) -> list[Any]:
    """A copy of `entries` with the block at `path` replaced by `item`."""
    block(entries, path)
    out = copy.deepcopy(entries)
    lane(out, path[:-1])[path[-1]] = copy.deepcopy(item)
    return out


def move(entries: list[Any], source: Path, lane_path: Path, index: int) -> tuple[list[Any], Path]:
    """Move a block into a lane before `index`; returns the new list and the block's new path.

    Raises:
        ProjectFileError: no such block or lane, or a block dropped into itself.
    """
    if lane_path[:len(source)] == source:
        raise ProjectFileError("sequence", "a block cannot go inside itself")
    item = block(entries, source)
    out = copy.deepcopy(entries)
    source_lane = lane(out, source[:-1])
    del source_lane[source[-1]]
    target_lane_path = _shifted(lane_path, source)
    if target_lane_path == source[:-1] and 0 <= source[-1] < index:
        index -= 1  # the block left a gap above the drop point
    target = lane(out, target_lane_path)
    index = index if 0 <= index <= len(target) else len(target)
    target.insert(index, copy.deepcopy(item))
    return out, (*target_lane_path, index)


def _shifted(lane_path: Path, removed: Path) -> Path:
    """`lane_path` after the block at `removed` is taken out (a later sibling moves up)."""
    depth = len(removed) - 1
    if len(lane_path) > depth and lane_path[:depth] == removed[:-1] \
            and lane_path[depth] > removed[-1]:
        return (*lane_path[:depth], lane_path[depth] - 1, *lane_path[depth + 1:])
    return lane_path


def walk(entries: list[Any], prefix: Path = ()) -> Iterator[Path]:
    """Every block's path, in reading order (a block before what it contains)."""
    for row, item in enumerate(entries):
        path = (*prefix, row)
        yield path
        for k, nested in enumerate(branches(item) or []):
            yield from walk(nested, (*path, k))


def component_context(entries: list[Any], path: Path) -> Any:
    """The component index in effect at a block: the last set-component-index before it
    on its way from the top (M37 §8.4.10.1), or None (index 0, the default)."""
    found: Any = None
    current = entries
    for depth in range(0, len(path), 2):
        row = path[depth]
        for item in current[:row + 1 if depth + 1 == len(path) else row]:
            command = command_or_none(item) or ("", None)
            if command[0] in ("set-component-index", "directive-set-component-index"):
                found = command[1]
        if depth + 1 < len(path):
            current = (branches(current[row]) or [[]])[path[depth + 1]]
    return found


def finding_block(entries: list[Any], rule_id: str, message: str) -> Path | None:
    """The block a lint finding concerns: the first command the rule flags whose component
    index the message names (``component 1 is fetched…``), else None (the whole sequence)."""
    names = FINDING_COMMANDS.get(rule_id)
    if not names:
        return None
    words = message.split()
    index = int(words[1]) if len(words) > 1 and words[0] == "component" and words[1].isdigit() \
        else None
    for path in walk(entries):
        name = (command_or_none(block(entries, path)) or ("", None))[0]
        context = component_context(entries, path)
        if name in names and (index is None or context == index or (context is None and index == 0)):
            return path
    return None


def check_shape(project: Project, entries: list[Any], where: str) -> None:
    """Refuse a sequence the builder would refuse (unknown command, bad argument, a
    reference to nothing). Images are not hashed: a reference needs a name, not a digest.

    Raises:
        ProjectFileError: with where and why.
    """
    vendor, klass = device_ids(project)
    placeholder = ImageInfo(Digest(DigestAlgorithm.SHA256, bytes(32)), 0)
    images = {c.name: placeholder for c in project.components if c.image is not None}
    slots = {c.name: [placeholder] * len(c.slots) for c in project.components if c.slots}
    deps = {d.name: DependencyInfo(placeholder.digest, 0) for d in project.dependencies}
    # An encrypted component's info is made at build ("@app" needs only that it is one).
    encrypted = {c.name: EncryptedComponent(b"", placeholder.digest)
                 for c in project.components if c.encrypt}
    ExplicitSequences(Resolved(vendor, klass, images, slots, deps, 0, "project",
                               encrypted=encrypted)).sequence(entries, where)


@dataclass
class SequenceEdit(SetMapEntry):
    """Replace one explicit sequence, labelled with what the person did
    (``Insert condition-vendor-identifier into install``), not which member changed."""

    description: str = ""

    @property
    def label(self) -> str:
        return self.description or super().label


def describe_edit(verb: str, item: Any, sequence: str, lane_path: Path = ()) -> str:
    """``Insert condition-vendor-identifier into install try-each 2 branch 1``."""
    name = (command_or_none(item) or ("block", None))[0]
    preposition = {"Insert": "into", "Paste": "into", "Delete": "from", "Cut": "from", "Edit": "in",
                   "Move": "to"}.get(verb, "in")
    place = sequence + "".join(f" block {lane_path[k] + 1} branch {lane_path[k + 1] + 1}"
                               for k in range(0, len(lane_path), 2))
    return f"{verb} {spec_name(name)} {preposition} {place}"
