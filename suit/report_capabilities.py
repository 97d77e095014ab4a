"""SUIT_Capability_Report (draft-ietf-suit-report-18 §6, "Capability Reporting").

What a manifest processor can process: the component ids it has (a trailing ``true``
is a wildcard for every id with that prefix), the commands, parameters and COSE
algorithms it supports, and optionally the envelope, manifest, common, text,
text-component and dependency members it knows. A member the map lacks is reported
under the CBOR path to it (an array key, e.g. ``[3, 3, 1] => [3]``); such extension keys
are decoded and kept. It travels as key 8 of a SUIT_Report (suit.report) or, answering
the recovery protocol's CAPABILITIES request, on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Final

from suit.checks import expect_bytes, expect_int, expect_list, expect_map
from suit.errors import DecodeError


class CapabilityKey(IntEnum):
    """Keys of SUIT_Capability_Report (report draft §6)."""

    COMPONENT = 1
    COMMAND = 2
    PARAMETERS = 3
    CRYPT_ALGO = 4
    ENVELOPE = 5
    MANIFEST = 6
    COMMON = 7
    TEXT = 8
    TEXT_COMPONENT = 9
    DEPENDENCY = 10


#: The four lists the CDDL requires (each non-empty: ``[+ ...]``).
REQUIRED: Final = (CapabilityKey.COMPONENT, CapabilityKey.COMMAND, CapabilityKey.PARAMETERS,
                   CapabilityKey.CRYPT_ALGO)


@dataclass(frozen=True)
class ComponentCapability:
    """SUIT_Component_Capability ``[* bstr, ? true]``: an id, or a prefix if `wildcard`."""

    prefix: tuple[bytes, ...]
    wildcard: bool = False

    def value(self) -> list[Any]:
        return [*self.prefix, True] if self.wildcard else list(self.prefix)


@dataclass(frozen=True)
class CapabilityReport:
    """SUIT_Capability_Report. `lists` holds the optional keys 5..10 and any path-keyed
    extension (key: the CBOR path as a tuple of ints); every list is non-empty."""

    components: tuple[ComponentCapability, ...]
    commands: tuple[int, ...]
    parameters: tuple[int, ...]
    algorithms: tuple[int, ...]
    lists: dict[int | tuple[int, ...], tuple[int, ...]] = field(default_factory=dict)

    def value(self) -> dict[Any, Any]:
        """The CBOR value (a map), ready for deterministic encoding."""
        value: dict[Any, Any] = {
            CapabilityKey.COMPONENT: [c.value() for c in self.components],
            CapabilityKey.COMMAND: list(self.commands),
            CapabilityKey.PARAMETERS: list(self.parameters),
            CapabilityKey.CRYPT_ALGO: list(self.algorithms)}
        value.update({k: list(v) for k, v in self.lists.items()})
        return value


def _ints(value: Any, path: str) -> tuple[int, ...]:
    items = expect_list(value, path, min_len=1)
    return tuple(expect_int(v, f"{path}[{i}]") for i, v in enumerate(items))


def _component(value: Any, path: str) -> ComponentCapability:
    parts = expect_list(value, path)
    wildcard = bool(parts) and parts[-1] is True
    ids = parts[:-1] if wildcard else parts
    return ComponentCapability(tuple(expect_bytes(p, f"{path}[{i}]") for i, p in enumerate(ids)),
                               wildcard)


def _key(key: Any, path: str) -> int | tuple[int, ...]:
    if isinstance(key, list | tuple):  # * [+int] => [+int]: a path into the manifest
        return _ints(key, f"{path}/key")
    return expect_int(key, f"{path}/key")


def decode_capabilities(value: Any, path: str = "capability-report") -> CapabilityReport:
    """An already CBOR-decoded SUIT_Capability_Report.

    Raises:
        DecodeError: A required list is missing or empty, or an entry has the wrong type.
    """
    members = expect_map(value, path)
    missing = [k.name.lower() for k in REQUIRED if k not in members]
    if missing:
        raise DecodeError(path, f"{', '.join(missing)} capabilities are required")
    components = tuple(_component(c, f"{path}/component[{i}]") for i, c in enumerate(
        expect_list(members[CapabilityKey.COMPONENT], f"{path}/component", min_len=1)))
    lists = {_key(k, path): _ints(v, f"{path}/{k}") for k, v in members.items()
             if k not in REQUIRED}
    return CapabilityReport(components,
                            _ints(members[CapabilityKey.COMMAND], f"{path}/command"),
                            _ints(members[CapabilityKey.PARAMETERS], f"{path}/parameters"),
                            _ints(members[CapabilityKey.CRYPT_ALGO], f"{path}/crypt-algo"),
                            lists)


def _list_name(key: int | tuple[int, ...]) -> str:
    if isinstance(key, tuple):
        return "path-" + ".".join(str(k) for k in key)
    try:
        return CapabilityKey(key).name.lower().replace("_", "-")
    except ValueError:
        return str(key)


def capabilities_json(report: CapabilityReport) -> dict[str, Any]:
    """JSON-ready values (component ids as hex; a wildcard prefix ends in ``"*"``)."""
    return {"components": [[p.hex() for p in c.prefix] + (["*"] if c.wildcard else [])
                           for c in report.components],
            "commands": list(report.commands), "parameters": list(report.parameters),
            "crypt-algo": list(report.algorithms),
            **{_list_name(k): list(v) for k, v in report.lists.items()}}
