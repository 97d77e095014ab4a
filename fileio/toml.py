"""Parsing the TOML files people hand us (projects, ceremonies, answers) with a depth bound.

tomllib parses nested arrays and inline tables recursively, so ``x = [[[[...]]]]`` a few
thousand deep raises RecursionError from inside the parser; that, a syntax error and a
shallower but still absurd nesting all become one typed error here, once for every caller.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from typing import Any, Final

from fileio.errors import FileAccessError
from fileio.paths import StrPath
from fileio.read import read_limited
from suit.errors import WorkbenchError

#: How a caller's own file error is made: ``error(path, problem, hint=...)``.
FileErrorFactory = Callable[..., WorkbenchError]

#: Deepest nesting of tables and arrays accepted; our formats need five or six.
MAX_TOML_DEPTH: Final = 32


class TomlError(FileAccessError):
    """A TOML file that is not valid TOML or nests too deep (exit status 2).

    Callers with their own file error (ProjectFileError, CeremonyFileError) re-raise it as
    that, keeping `path`, `problem` and `hint`.
    """

    default_hint = "Check the file's TOML syntax."


def loads_toml(text: str, where: str, *, max_depth: int = MAX_TOML_DEPTH) -> dict[str, Any]:
    """Parse TOML `text` (from the file named `where`) into a table.

    Raises:
        TomlError: a syntax error, or tables and arrays nested more than `max_depth` deep.
    """
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TomlError(where, f"TOML syntax error: {exc}") from exc
    except RecursionError:  # `from None`: the chain would hold thousands of frames
        raise _too_deep(where, max_depth) from None
    if toml_depth(table, max_depth) > max_depth:
        raise _too_deep(where, max_depth)
    return table


def read_toml_file(path: StrPath, limit: int, error: FileErrorFactory) -> dict[str, Any]:
    """Read the UTF-8 TOML file at `path` (a regular file of at most `limit` bytes) into a
    table; every failure is raised as the caller's own file error.

    Raises:
        The error `error(str(path), problem, hint=...)` makes: unreadable, too large, not
        UTF-8, a TOML syntax error or nesting too deep (the hint of FileAccessError kept).
    """
    try:
        text = read_limited(path, limit, regular_only=True).decode("utf-8")
        return loads_toml(text, str(path))
    except FileAccessError as exc:
        raise error(str(path), exc.problem, hint=exc.hint) from exc
    except UnicodeDecodeError as exc:
        raise error(str(path), f"not UTF-8 text ({exc.reason})") from exc


def toml_depth(value: Any, limit: int = MAX_TOML_DEPTH) -> int:
    """How deep tables and arrays nest inside `value`, found without recursion and
    without looking more than one level past `limit`."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        for child in children:
            if isinstance(child, (dict, list)):
                deepest = max(deepest, level + 1)
                if level + 1 <= limit + 1:
                    stack.append((child, level + 1))
    return deepest


def _too_deep(where: str, max_depth: int) -> TomlError:
    return TomlError(where, f"tables or arrays nested more than {max_depth} deep",
                     hint="These files need only a few levels; check the file.")
