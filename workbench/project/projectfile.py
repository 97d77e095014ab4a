"""Reading and writing project files (TOML; docs/project-format.md).

Members are written with dashes (``sequence-number``) and map one to one onto the
dataclasses of `workbench.project.model`; unknown members are refused with their place,
so a typo never silently drops a condition. Reading is bounded (a project file is small and
regular: a FIFO or /dev/zero is refused), tables may nest only so deep (tomllib recurses),
and saving goes through the one atomic writer (`fileio`).

Saving edits the file the project came from in place (tomlkit's round-trip document):
members that did not change keep their text, comments and layout, so a person's notes in
a hand-written project survive the GUI (issue 17).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import AoT

import fileio
from fileio import FileAccessError
from fileio.toml import MAX_TOML_DEPTH, TomlError, loads_toml
from fileio.write import Data
from workbench.project.errors import ProjectFileError
from workbench.project.model import (
    Component,
    Dependency,
    Device,
    Image,
    Mcuboot,
    Project,
    Slot,
    UpdatePolicy,
)

#: Project members that hold tables or lists of tables, and the TOML name of each.
_NESTED: Final[dict[str, tuple[str, type]]] = {
    "device": ("device", Device), "update": ("update", UpdatePolicy),
    "components": ("component", Component), "dependencies": ("dependency", Dependency),
    "image": ("image", Image), "slots": ("slot", Slot),
    "mcuboot": ("mcuboot", Mcuboot)}
_SKIP: Final = frozenset({"path", "listeners"})
#: Largest project file read; real ones are a few KiB.
MAX_PROJECT_FILE: Final = 1 << 20
#: Deepest nesting of tables and arrays accepted; the format needs five or six.
MAX_DEPTH: Final = MAX_TOML_DEPTH


def load_project(path: Path) -> Project:
    """Read a project file.

    Raises:
        ProjectFileError: unreadable or not a regular file, over `MAX_PROJECT_FILE`, not
            UTF-8, a TOML syntax error, nested too deep, or an invalid member.
    """
    try:
        text = fileio.read_limited(path, MAX_PROJECT_FILE, regular_only=True).decode("utf-8")
    except FileAccessError as exc:
        raise ProjectFileError(str(path), exc.problem,
                               hint="Give the path of a project.toml file.") from exc
    except UnicodeDecodeError as exc:
        raise ProjectFileError(str(path), f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                               hint="Save the project file as UTF-8.") from exc
    project = loads_project(text, str(path))
    project.path = Path(path).resolve()
    return project


def loads_project(text: str, where: str = "project") -> Project:
    """Parse project-file text (without a path: relative images start at the cwd)."""
    try:
        table = loads_toml(text, where, max_depth=MAX_DEPTH)
    except TomlError as exc:
        raise ProjectFileError(where, exc.problem, hint=exc.hint) from exc
    return project_from_dict(table)


def project_from_dict(table: dict[str, Any]) -> Project:
    """The project a parsed TOML table describes."""
    project: Project = _from_table(Project, table, "")
    return project


def project_to_dict(project: Project) -> dict[str, Any]:
    """The TOML table of a project, leaving out members at their defaults."""
    return _to_table(project)


def dumps_project(project: Project, original: str = "") -> str:
    """The project-file text of a project; with `original` (the text it was read from),
    that text edited: only the members whose values changed are rewritten."""
    table = project_to_dict(project)
    if original:
        try:
            document = tomlkit.parse(original)
            before = project_to_dict(loads_project(original))
        except (TOMLKitError, ProjectFileError):
            pass  # no longer a project (edited outside meanwhile): write it afresh
        else:
            _merge(document, before, table)
            return document.as_string()
    return tomlkit.dumps(table)


def save_project(project: Project, path: Path | None = None) -> Path:
    """Write the project file atomically; returns where it went and remembers it.

    The file the project was read from (`project.path`) is the base the edits are made
    in, so its comments and layout are kept, also when saving under a new name.
    """
    target = Path(path or project.path or "project.toml")
    write_atomic(target, dumps_project(project, _original_text(project.path)).encode("utf-8"))
    project.path = target.resolve()
    return target


def _original_text(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return fileio.read_limited(path, MAX_PROJECT_FILE, regular_only=True).decode("utf-8")
    except (FileAccessError, UnicodeDecodeError):
        return ""  # gone or unreadable: the model is all there is


def _merge(document: Any, before: dict[str, Any], after: dict[str, Any]) -> None:
    """Edit tomlkit container `document` (which reads as `before`) to read as `after`.

    Members equal in both are not touched, so their comments, layout and even values
    spelled out at their defaults stay as the person wrote them.
    """
    for key in before:
        if key not in after and key in document:
            del document[key]
    for key, value in after.items():
        old = before.get(key)
        if old == value:
            continue
        if key in document and isinstance(value, dict) and isinstance(document[key], dict):
            _merge(document[key], old if isinstance(old, dict) else {}, value)
        elif key in document and isinstance(document[key], AoT) and _tables(value):
            _merge_tables(document[key], old if isinstance(old, list) else [], value)
        else:
            document[key] = value


def _merge_tables(tables: AoT, before: list[dict[str, Any]], after: list[dict[str, Any]]) -> None:
    # An array of tables ([[component]]) is edited table by table: a component added or
    # removed at the end leaves the others' comments in place.
    while len(tables) > len(after):
        del tables[len(tables) - 1]
    for index, value in enumerate(after):
        if index < len(tables):
            _merge(tables[index], before[index] if index < len(before) else {}, value)
        else:
            tables.append(value)


def _tables(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def write_atomic(path: Path, data: Data, protect: Sequence[Path] = ()) -> None:
    """Write `data` (bytes, or chunks that stream) with `fileio.write_atomic`, creating the
    folder if needed.

    Raises:
        FileAccessError: the folder cannot be written, or the target may not be replaced
            (not a regular file, or one of `protect`).
    """
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FileAccessError(str(path), exc.strerror or str(exc)) from exc
    fileio.write_atomic(path, data, protect=protect)


# --- generic mapping between dataclasses and tables ----------------------------------------

def _toml_name(field_name: str) -> str:
    return _NESTED[field_name][0] if field_name in _NESTED else field_name.replace("_", "-")


def _from_table(cls: type, table: Any, where: str) -> Any:
    if not isinstance(table, dict):
        raise ProjectFileError(where or "project", f"expected a table, found {type(table).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {_toml_name(f.name): f for f in dataclasses.fields(cls) if f.name not in _SKIP}
    values: dict[str, Any] = {}
    for key, value in table.items():
        sub = f"{where}.{key}" if where else key
        if key not in fields:
            raise ProjectFileError(sub, "unknown member",
                                   hint="Known here: " + ", ".join(sorted(fields)) + ".")
        f = fields[key]
        values[f.name] = _convert(f.name, hints[f.name], value, sub)
    missing = [name for name, f in fields.items() if f.default is dataclasses.MISSING
               and f.default_factory is dataclasses.MISSING and f.name not in values]
    if missing:
        raise ProjectFileError(where or "project", f"missing {', '.join(missing)}")
    return cls(**values)


def _convert(name: str, hint: Any, value: Any, where: str) -> Any:
    if name in _NESTED:
        nested = _NESTED[name][1]
        if isinstance(value, list):
            return [_from_table(nested, item, f"{where}[{i}]") for i, item in enumerate(value)]
        return _from_table(nested, value, where)
    if not _matches(hint, value):
        raise ProjectFileError(where, f"expected {_describe(hint)}, found {type(value).__name__}")
    return value


def _matches(hint: Any, value: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(arg, value) for arg in typing.get_args(hint))
    if hint is Any:
        return True
    if hint is type(None):
        return value is None
    if origin is list:
        (item,) = typing.get_args(hint)
        return isinstance(value, list) and all(_matches(item, v) for v in value)
    if origin is dict:
        _key_hint, item = typing.get_args(hint)
        return isinstance(value, dict) and all(_matches(item, v) for v in value.values())
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def _describe(hint: Any) -> str:
    text = str(hint).replace("typing.", "")
    return {"str": "a string", "int": "an integer", "bool": "true or false"}.get(text, text)


def _to_table(obj: Any) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        if f.name in _SKIP:
            continue
        value = getattr(obj, f.name)
        if _is_default(f, value):
            continue
        if dataclasses.is_dataclass(value):
            value = _to_table(value)
        elif isinstance(value, list) and value and dataclasses.is_dataclass(value[0]):
            value = [_to_table(v) for v in value]
        table[_toml_name(f.name)] = value
    return table


def _is_default(f: dataclasses.Field[Any], value: Any) -> bool:
    if value is None:
        return True
    if f.default is not dataclasses.MISSING:
        return bool(value == f.default)
    if f.default_factory is not dataclasses.MISSING:
        default = f.default_factory()
        if dataclasses.is_dataclass(default):
            return not _to_table(value)
        return bool(value == default)
    return False
