"""Commands in the project file's notation (workbench.project.explicit), for the sequence
editor: showing a command, editing its argument in place as TOML, and turning a generated
sequence into an explicit one when the person first edits it.

An argument is written as a TOML value (``15``, ``{ uri = "http://…" }``); digests and
sizes equal to a component's image become ``"@name"`` references, so a customised
sequence follows its images when they change.
"""

from __future__ import annotations

import json
from typing import Any, Final

from fileio.toml import TomlError, loads_toml
from suit.commands import command_name, parameter_name
from suit.model import (
    Command,
    CommandItem,
    CommandSequence,
    Digest,
    EmbeddedCbor,
    Parameter,
    VersionMatch,
)
from workbench.project import values
from workbench.project.errors import ProjectFileError
from workbench.project.explicit import COMMANDS, PARAMETERS
from workbench.project.images import ImageInfo

#: The argument a command dragged from the palette starts with (M37 Appendix B policies).
DEFAULT_ARGUMENTS: Final[dict[str, Any]] = {
    "set-component-index": 0, "override-parameters": {}, "set-parameters": {},
    "fetch": 2, "copy": 2, "invoke": 2, "swap": 15, "write": 15, "unlink": 15,
    "process-dependency": 0, "try-each": [[], "nil"], "run-sequence": [],
}
_COMPARISON_NAMES: Final[dict[int, str]] = {v: k for k, v in values.COMPARISONS.items()}


def default_argument(name: str) -> Any:
    """What a new command from the palette takes; conditions report with policy 15."""
    return DEFAULT_ARGUMENTS.get(name, 15)


def palette_commands() -> list[tuple[str, str, bool]]:
    """(notation name, spec name, is condition) for every command the palette offers."""
    return [(c.name.lower().replace("_", "-"), c.spec_name, c.is_condition)
            for c in sorted(Command, key=lambda c: (not c.is_condition, c.spec_name))]


def command_entry(item: dict[str, Any]) -> tuple[str, Any]:
    """The (name, argument) of one ``{name = argument}`` table."""
    ((name, argument),) = item.items()
    return name, argument


def spec_name(name: str) -> str:
    """``condition-vendor-identifier`` for ``vendor-identifier``."""
    number = COMMANDS.get(name)
    return Command(number).spec_name if number is not None else name


def toml_value(value: Any) -> str:
    """A value as an inline TOML value (the inverse of `parse_argument`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{_toml_key(k)} = {toml_value(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    raise ProjectFileError("argument", f"cannot write {type(value).__name__} in a project")


def safe_toml(value: Any) -> str:
    """`toml_value`, or Python's repr for what a project file may hold but the notation
    does not write (a TOML date-time, say): shown, never raised."""
    try:
        return toml_value(value)
    except ProjectFileError:
        return repr(value)


def _toml_key(key: Any) -> str:
    text = str(key)
    return text if text.replace("-", "").replace("_", "").isalnum() else json.dumps(text)


def parse_argument(text: str, where: str) -> Any:
    """An argument typed by the person, as a TOML value.

    Raises:
        ProjectFileError: not a TOML value.
    """
    try:  # loads_toml: a pasted [[[[…]]]] is refused, not a RecursionError
        return loads_toml(f"value = {text.strip()}", where)["value"]
    except TomlError as exc:
        raise ProjectFileError(where, f"not a valid value: {exc.problem}",
                               hint='Write 15, "text", [1, 2] or { uri = "http://…" }.') from exc


def describe(item: dict[str, Any]) -> str:
    """One line for a sequence row: spec name and argument."""
    name, argument = command_entry(item)
    return f"{spec_name(name)}  {toml_value(argument)}"


# --- generated -> explicit ----------------------------------------------------------------

def explicit_sequence(sequence: CommandSequence, images: dict[str, ImageInfo]) -> list[dict[str, Any]]:
    """A built `CommandSequence` in explicit notation, references for known images."""
    digests = {info.digest.value: name for name, info in images.items()}
    return [_explicit_item(item, digests) for item in sequence.commands]


def _explicit_item(item: CommandItem, digests: dict[bytes, str]) -> dict[str, Any]:
    name = command_name(item.command)
    arg = item.argument
    if item.command in (Command.SET_PARAMETERS, Command.OVERRIDE_PARAMETERS):
        return {name: _explicit_parameters(arg, digests)}
    if item.command == Command.TRY_EACH:
        return {name: ["nil" if alt is None else [_explicit_item(i, digests) for i in alt.commands]
                       for alt in arg]}
    if item.command == Command.RUN_SEQUENCE:
        return {name: [_explicit_item(i, digests) for i in arg.commands]}
    if item.command == Command.OVERRIDE_MULTIPLE:
        return {name: {str(k): _explicit_parameters(v, digests) for k, v in arg.items()}}
    if item.command == Command.COPY_PARAMS:
        return {name: {str(k): [parameter_name(p) for p in ids] for k, ids in arg.items()}}
    if isinstance(arg, tuple):
        return {name: list(arg)}
    return {name: arg}


def _explicit_parameters(params: dict[int, Any], digests: dict[bytes, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    digest_name = None
    for key, value in params.items():
        name = parameter_name(key)
        if isinstance(value, Digest):
            digest_name = digests.get(value.value)
            out[name] = f"@{digest_name}" if digest_name else values.format_digest(value)
        elif key == Parameter.IMAGE_SIZE and digest_name:
            out[name] = f"@{digest_name}"
        elif isinstance(value, VersionMatch):
            out[name] = {"comparison": _COMPARISON_NAMES.get(value.comparison, value.comparison),
                         "version": ".".join(map(str, value.version))}
        elif isinstance(value, EmbeddedCbor):
            out[name] = f"h'{value.data.hex()}'"
        elif isinstance(value, bytes):
            out[name] = f"h'{value.hex()}'"
        else:
            out[name] = value
    return out


def known_parameter(name: str) -> bool:
    """Whether the explicit notation knows a parameter name."""
    return name in PARAMETERS
