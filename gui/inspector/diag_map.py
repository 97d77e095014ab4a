"""Which element each line of the diagnostic notation shows (issue 17: diag <-> tree and
hex linked both ways).

`suit.render.envelope_diag` prints the envelope in encoding order, one map member or a few
array items per line, with ``/ name /`` comments and ``<< >>`` around embedded CBOR. This
module reads that layout back: it strips the comments, follows the openers and closers,
and counts map keys and array items, giving each line the span path (`suit.spans`) of the
first item it names. A line it cannot place gets the path of the container it is in, so
a click always lands somewhere sensible.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from suit.spans import Path, PathStep, Step

_COMMENT: Final = re.compile(r"/[^/]*/")
_KEY: Final = re.compile(r'^(-?\d+|"(?:[^"\\]|\\.)*")\s*:\s*(.*)$')
_TAGGED: Final = re.compile(r"^\d+\(")


@dataclass
class _Container:
    path: Path
    is_map: bool
    next_index: int = 0
    children: list[_Container] = field(default_factory=list)


def _items(text: str) -> list[str]:
    """Top-level comma-separated items of one line (brackets and strings kept whole)."""
    items, depth, current, quoted = [], 0, "", False
    for char in text:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in "[{(":
            depth += 1
        elif not quoted and char in "]})":
            depth -= 1
        if char == "," and depth == 0 and not quoted:
            items.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        items.append(current.strip())
    return items


def _opens(value: str) -> Path | None:
    """The steps from an item to the container `value` opens and leaves open on this line
    (``<<`` embedded CBOR, then a ``17(`` tag), and whether it is a map; None if none."""
    steps: list[PathStep] = []
    body = value
    if body.startswith("<<"):
        steps.append(Step.WRAPPED)
        body = body[2:].strip()
    tag = _TAGGED.match(body)
    if tag is not None:
        steps.append(Step.TAGGED)
        body = body[tag.end():]
    if body.endswith("{") and body.count("{") > body.count("}"):
        return (*steps, True)
    if body.endswith("[") and body.count("[") > body.count("]"):
        return (*steps, False)
    return None


def _key(text: str) -> PathStep:
    return int(text) if not text.startswith('"') else text[1:-1]


def diag_paths(text: str) -> list[Path]:
    """The span path each line of `text` (envelope diagnostic notation) shows."""
    stack: list[_Container] = []
    paths: list[Path] = []
    for raw in text.splitlines():
        line = _COMMENT.sub("", raw).strip().rstrip(",").strip()
        if not stack:
            paths.append(_open_root(line, stack))
            continue
        container = stack[-1]
        if not line or line[0] in "]})>":
            paths.append(container.path)
            _close(line, stack)
            continue
        paths.append(_member_line(line, container, stack))
    return paths


def _open_root(line: str, stack: list[_Container]) -> Path:
    path: Path = (Step.TAGGED,) if _TAGGED.match(line) else ()
    stack.append(_Container(path, line.endswith("{")))
    return path


def _close(line: str, stack: list[_Container]) -> None:
    closers = sum(line.count(c) for c in "]}")
    for _ in range(min(closers, len(stack))):
        stack.pop()


def _member_line(line: str, container: _Container, stack: list[_Container]) -> Path:
    if container.is_map:
        match = _KEY.match(line)
        if match is None:
            return container.path
        path = (*container.path, _key(match.group(1)))
        _maybe_open(match.group(2).strip(), path, stack)
        return path
    items = _items(line)
    first: Path = (*container.path, container.next_index)
    for item in items:
        path = (*container.path, container.next_index)
        container.next_index += 1
        _maybe_open(item, path, stack)
    return first


def _maybe_open(value: str, path: Path, stack: list[_Container]) -> None:
    opened = _opens(value)
    if opened is not None:
        *steps, is_map = opened
        stack.append(_Container((*path, *steps), bool(is_map)))


def line_of(paths: list[Path], wanted: Path) -> int | None:
    """The first line showing `wanted`, else its nearest ancestor that a line shows."""
    first: dict[Path, int] = {}
    for number, path in enumerate(paths):
        first.setdefault(path, number)
    for length in range(len(wanted), -1, -1):
        if wanted[:length] in first:
            return first[wanted[:length]]
    return None
