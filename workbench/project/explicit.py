"""Explicit command sequences: the expert's escape hatch (docs/project-format.md).

A sequence is a list of one-member tables, ``{command-name = argument}``, in order:

    install = [
      { set-component-index = 1 },
      { override-parameters = { image-digest = "@app", uri = "http://example.com/a.bin" } },
      { fetch = 2 },
      { image-match = 15 },
    ]

Command and parameter names are the spec's without the ``condition-``/``directive-``/
``parameter-`` prefix (the prefixed forms are accepted too). References: ``"@NAME"`` is
the image digest (or image size) of component NAME, or the manifest digest of dependency
NAME; ``"@device"`` is the project's vendor or class id.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any, Final

from suit.model import (
    Command,
    CommandItem,
    CommandSequence,
    EmbeddedCbor,
    Parameter,
    VersionMatch,
)
from workbench.project import values
from workbench.project.errors import ProjectFileError
from workbench.project.images import ImageInfo
from workbench.project.resolve import Resolved

COMMANDS: Final = {**{c.name.lower().replace("_", "-"): int(c) for c in Command},
                   **{c.spec_name: int(c) for c in Command}}
PARAMETERS: Final = {**{p.name.lower().replace("_", "-"): int(p) for p in Parameter},
                     **{p.spec_name: int(p) for p in Parameter}, "slot": int(Parameter.COMPONENT_SLOT)}
_BYTE_PARAMETERS: Final = frozenset({Parameter.CONTENT, Parameter.INVOKE_ARGS,
                                     Parameter.FETCH_ARGUMENTS})
_ID_PARAMETERS: Final[dict[int, int | None]] = {Parameter.VENDOR_ID: 0, Parameter.CLASS_ID: 1, Parameter.DEVICE_ID: None}
#: ``@app[1]``: slot 1's image of component app.
_SLOT_REFERENCE: Final = re.compile(r"^(.+)\[(\d{1,4})\]$")
_EMBEDDED: Final = frozenset({Parameter.ENCRYPTION_INFO, Parameter.WAIT_INFO,
                              Parameter.COMPONENT_METADATA})


class ExplicitSequences:
    """Turns explicit sequences into `CommandSequence`, resolving references."""

    def __init__(self, resolved: Resolved) -> None:
        self.resolved = resolved

    def sequence(self, items: Any, where: str) -> CommandSequence:
        """A list of one-member tables -> `CommandSequence`."""
        if not isinstance(items, list):
            raise ProjectFileError(where, "a sequence is a list of {command = argument} tables")
        return CommandSequence(tuple(self._item(item, f"{where}[{i}]")
                                     for i, item in enumerate(items)))

    def _item(self, item: Any, where: str) -> CommandItem:
        if not isinstance(item, dict) or len(item) != 1:
            raise ProjectFileError(where, "each command is a table with exactly one member")
        ((name, argument),) = item.items()
        if name not in COMMANDS:
            raise ProjectFileError(where, f"unknown command {name!r}",
                                   hint="Use spec names like override-parameters, fetch, image-match.")
        command = COMMANDS[name]
        return CommandItem(command, self._argument(command, argument, f"{where}.{name}"))

    def _argument(self, command: int, arg: Any, where: str) -> Any:
        handlers: dict[int, Callable[[Any, str], Any]] = {
            Command.SET_COMPONENT_INDEX: _component_index,
            Command.OVERRIDE_PARAMETERS: self.parameters,
            Command.SET_PARAMETERS: self.parameters,
            Command.TRY_EACH: self._try_each,
            Command.RUN_SEQUENCE: self.sequence,
            Command.OVERRIDE_MULTIPLE: self._override_multiple,
            Command.COPY_PARAMS: _copy_params,
        }
        handler = handlers.get(command)
        return handler(arg, where) if handler else values.parse_policy(arg, where)

    def _try_each(self, arg: Any, where: str) -> tuple[CommandSequence | None, ...]:
        if not isinstance(arg, list) or not arg:
            raise ProjectFileError(where, "try-each takes a list of sequences")
        # M37 §8.4.10.2: a final nil alternative is written "nil".
        return tuple(None if alt == "nil" and i == len(arg) - 1
                     else self.sequence(alt, f"{where}[{i}]") for i, alt in enumerate(arg))

    def _override_multiple(self, arg: Any, where: str) -> dict[int, dict[int, Any]]:
        if not isinstance(arg, dict):
            raise ProjectFileError(where, "override-multiple takes {index = {parameters}}")
        return {_index_key(k, where): self.parameters(v, f"{where}.{k}") for k, v in arg.items()}

    def parameters(self, arg: Any, where: str) -> dict[int, Any]:
        """A table of parameters by name -> {parameter id: typed value}."""
        if not isinstance(arg, dict):
            raise ProjectFileError(where, "parameters are a table {name = value}")
        out: dict[int, Any] = {}
        for name, value in arg.items():
            if name not in PARAMETERS:
                raise ProjectFileError(f"{where}.{name}", "unknown parameter")
            key = PARAMETERS[name]
            out[key] = self._parameter(key, value, f"{where}.{name}")
        return out

    def _parameter(self, key: int, value: Any, where: str) -> Any:
        if key == Parameter.IMAGE_DIGEST:
            return self._reference(value, where, size=False) if str(value).startswith("@") \
                else values.parse_digest(value, where)
        if key == Parameter.IMAGE_SIZE and isinstance(value, str):
            return self._reference(value, where, size=True)
        if key in _ID_PARAMETERS:
            return self._identifier(key, value, where)
        if key in _BYTE_PARAMETERS:
            return values.parse_bytes(value, where)
        if key == Parameter.ENCRYPTION_INFO and isinstance(value, str) and value.startswith("@"):
            return self._encryption_info(value[1:], where)
        if key in _EMBEDDED:
            return EmbeddedCbor(values.parse_bytes(value, where))
        if key == Parameter.VERSION:
            return VersionMatch(*values.parse_version(value, where))
        return value

    def _encryption_info(self, name: str, where: str) -> EmbeddedCbor:
        # FE §5: the COSE_Encrypt wraps a content key made afresh at each build, so an
        # explicit sequence names the component ("@app") rather than holding a stale copy.
        encrypted = self.resolved.encrypted.get(name)
        if encrypted is None:
            raise ProjectFileError(where, f"'@{name}' names no encrypted component",
                                   hint=f"Set encrypt = true and recipients on component {name}.")
        return EmbeddedCbor(encrypted.info)

    def _identifier(self, key: int, value: Any, where: str) -> bytes:
        if value == "@device":
            index = _ID_PARAMETERS[key]
            found = None if index is None else (self.resolved.vendor_id, self.resolved.class_id)[index]
            if found is None:
                raise ProjectFileError(where, "the project gives no such device id")
            return found
        if isinstance(value, str) and not value.startswith("h'"):
            try:
                return uuid.UUID(value).bytes
            except ValueError:
                pass
        return values.parse_bytes(value, where)

    def _reference(self, value: str, where: str, *, size: bool) -> Any:
        name = value[1:]
        info = self.resolved.images.get(name) or self._slot_image(name)
        if info is not None:
            return info.size if size else info.digest
        if name in self.resolved.dependencies:
            dep = self.resolved.dependencies[name]
            return dep.size if size else dep.digest
        raise ProjectFileError(where, f"{value!r} names no component image or dependency")

    def _slot_image(self, name: str) -> ImageInfo | None:
        """``NAME[k]``: the image of slot k of component NAME (an A/B component), the
        reference a generated slot-selecting try-each is written back with."""
        match = _SLOT_REFERENCE.match(name)
        if match is None:
            return None
        slots = self.resolved.slots.get(match.group(1), [])
        k = int(match.group(2))
        return slots[k] if k < len(slots) else None


def _component_index(arg: Any, where: str) -> Any:
    if arg is True or (isinstance(arg, int) and not isinstance(arg, bool) and arg >= 0):
        return arg
    if isinstance(arg, list) and arg and all(isinstance(i, int) for i in arg):
        return tuple(arg)
    raise ProjectFileError(where, "set-component-index takes an index, a list, or true")


def _copy_params(arg: Any, where: str) -> dict[int, tuple[int, ...]]:
    if not isinstance(arg, dict):
        raise ProjectFileError(where, "copy-params takes {index = [parameter names]}")
    out = {}
    for k, names in arg.items():
        ids = [PARAMETERS.get(n) for n in names] if isinstance(names, list) else [None]
        if None in ids:
            raise ProjectFileError(f"{where}.{k}", "expected a list of parameter names")
        out[_index_key(k, where)] = tuple(int(i) for i in ids if i is not None)
    return out


def _index_key(key: str, where: str) -> int:
    try:
        return int(key)
    except ValueError as exc:
        raise ProjectFileError(f"{where}.{key}", "expected a component index") from exc
