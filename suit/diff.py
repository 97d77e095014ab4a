"""Structural differences between two SUIT envelopes, for people reviewing a release.

Not a text diff: the envelopes are compared as SUIT sees them (M37 §8): the manifest's
sequence number and other scalars, the component list, the image digest and size each
component ends up with, every command sequence command by command, the authentication
blocks, and which severable members are severed and carried. Components are matched by
identifier, so a reordered list reports moves, not a cascade of changes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any, Final

from suit.codec import member_name
from suit.commands import command_name, parameter_name
from suit.cose import CoseSign, algorithm_name
from suit.model import (
    SEVERABLE_ATTRIBUTES,
    Command,
    CommandItem,
    CommandSequence,
    ComponentId,
    Digest,
    DigestAlgorithm,
    Envelope,
    Parameter,
    VersionMatch,
)
from suit.payloads import manifest_sequences

#: Sections in the order a reviewer reads them.
SECTIONS: Final = ("manifest", "components", "digests", "commands", "authentication",
                   "severed")


@dataclass(frozen=True)
class Change:
    """One difference.

    Attributes:
        section: One of `SECTIONS`.
        where: What differs, like ``sequence-number``, ``components[1]`` or
            ``install[3]``.
        kind: ``added``, ``removed`` or ``changed``.
        left: The left envelope's value as text, or None when absent there.
        right: The right envelope's value as text, or None when absent there.
    """

    section: str
    where: str
    kind: str
    left: str | None
    right: str | None


@dataclass(frozen=True)
class EnvelopeDiff:
    """All differences between two envelopes, grouped by `SECTIONS` order."""

    changes: tuple[Change, ...]

    @property
    def identical(self) -> bool:
        """No structural difference at all."""
        return not self.changes

    def section(self, name: str) -> list[Change]:
        """The changes of one section."""
        return [c for c in self.changes if c.section == name]


def diff_envelopes(left: Envelope, right: Envelope) -> EnvelopeDiff:
    """Compare two decoded envelopes structurally."""
    changes = [*_manifest(left, right), *_components(left, right), *_digests(left, right),
               *_commands(left, right), *_authentication(left, right), *_severed(left, right)]
    return EnvelopeDiff(tuple(changes))


# --- helpers ------------------------------------------------------------------------------

def _compare(section: str, where: str, left: str | None, right: str | None) -> Iterator[Change]:
    if left == right:
        return
    kind = "added" if left is None else "removed" if right is None else "changed"
    yield Change(section, where, kind, left, right)


def _keyed(section: str, left: dict[str, str], right: dict[str, str]) -> Iterator[Change]:
    for key in [*left, *(k for k in right if k not in left)]:
        yield from _compare(section, key, left.get(key), right.get(key))


def show_component_id(cid: ComponentId) -> str:
    """``[h'00', h'02']``: a component identifier as in diagnostic notation."""
    return "[" + ", ".join(f"h'{part.hex()}'" for part in cid) + "]"


def show_digest(digest: Digest) -> str:
    """``sha256:0011…``: a digest as algorithm and hex value."""
    try:
        algorithm = DigestAlgorithm(digest.algorithm).name.lower()
    except ValueError:
        algorithm = str(digest.algorithm)
    return f"{algorithm}:{digest.value.hex()}"


def show_value(value: Any) -> str:
    """A parameter or argument value, compactly."""
    if isinstance(value, Digest):
        return show_digest(value)
    if isinstance(value, VersionMatch):
        return f"version {value.comparison} {'.'.join(map(str, value.version))}"
    if isinstance(value, bytes):
        return f"h'{value.hex()}'"
    if isinstance(value, CommandSequence):
        return "[" + "; ".join(show_command(c) for c in value.commands) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key_name(k)}: {show_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, tuple):
        return "(" + ", ".join("nil" if v is None else show_value(v) for v in value) + ")"
    data = getattr(value, "data", None)
    if isinstance(data, bytes):
        return f"<< {len(data)} bytes: {hashlib.sha256(data).hexdigest()[:16]} >>"
    return repr(value)


def _key_name(key: Any) -> str:
    return parameter_name(key) if isinstance(key, int) and key in Parameter._value2member_map_ else str(key)


def show_command(item: CommandItem) -> str:
    """``override-parameters {image-size: 34768}``: one command with its argument."""
    return f"{command_name(item.command)} {show_value(item.argument)}"


# --- sections -----------------------------------------------------------------------------

def _manifest(left: Envelope, right: Envelope) -> Iterator[Change]:
    for name, get in (
        ("sequence-number", lambda e: str(e.manifest.sequence_number)),
        ("manifest-version", lambda e: str(e.manifest.manifest_version)),
        ("reference-uri", lambda e: e.manifest.reference_uri),
        ("manifest-component-id", lambda e: None if e.manifest.manifest_component_id is None
         else show_component_id(e.manifest.manifest_component_id)),
        ("set-version", lambda e: None if e.manifest.set_version is None
         else ".".join(map(str, e.manifest.set_version))),
        ("manifest digest", lambda e: show_digest(e.authentication.digest)),
    ):
        yield from _compare("manifest", name, get(left), get(right))


def _components(left: Envelope, right: Envelope) -> Iterator[Change]:
    a = [show_component_id(c) for c in left.manifest.common.components]
    b = [show_component_id(c) for c in right.manifest.common.components]
    for tag, i1, i2, j1, j2 in SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        for k in range(max(i2 - i1, j2 - j1)):
            lv = a[i1 + k] if i1 + k < i2 else None
            rv = b[j1 + k] if j1 + k < j2 else None
            where = f"components[{i1 + k if lv is not None else j1 + k}]"
            yield from _compare("components", where, lv, rv)


def _digests(left: Envelope, right: Envelope) -> Iterator[Change]:
    yield from _keyed("digests", image_facts(left), image_facts(right))


def image_facts(envelope: Envelope) -> dict[str, str]:
    """``component [h'00'] image-digest`` -> value: the image digest, size and URI each
    component is given, the last value set in any sequence (M37 §8.4.8)."""
    components = envelope.manifest.common.components
    facts: dict[str, str] = {}
    shared = envelope.manifest.common.shared_sequence
    sequences = [("shared", shared)] if shared is not None else []
    for _name, sequence in [*sequences, *manifest_sequences(envelope.manifest, envelope)]:
        selected = [0]
        for item in _flatten(sequence.commands):
            if item.command == Command.SET_COMPONENT_INDEX:
                arg = item.argument
                selected = (list(range(len(components))) if arg is True
                            else list(arg) if isinstance(arg, tuple) else [arg])
            elif item.command in (Command.SET_PARAMETERS, Command.OVERRIDE_PARAMETERS):
                _record(facts, components, selected, item.argument)
    return facts


_FACT_PARAMETERS: Final = (Parameter.IMAGE_DIGEST, Parameter.IMAGE_SIZE, Parameter.URI)


def _record(facts: dict[str, str], components: tuple[ComponentId, ...], selected: list[int],
            params: dict[int, Any]) -> None:
    for index in selected:
        cid = show_component_id(components[index]) if index < len(components) else f"#{index}"
        for key in _FACT_PARAMETERS:
            if key in params:
                facts[f"component {cid} {parameter_name(key)}"] = show_value(params[key])


def _flatten(items: Iterable[CommandItem]) -> Iterator[CommandItem]:
    """Commands in order, with try-each alternatives and run-sequence bodies inlined."""
    for item in items:
        yield item
        if item.command == Command.TRY_EACH:
            for alternative in item.argument:
                if alternative is not None:
                    yield from _flatten(alternative.commands)
        elif item.command == Command.RUN_SEQUENCE:
            yield from _flatten(item.argument.commands)


def _sequences(envelope: Envelope) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    shared = envelope.manifest.common.shared_sequence
    if shared is not None:
        out["shared-sequence"] = [show_command(c) for c in shared.commands]
    for name, sequence in manifest_sequences(envelope.manifest, envelope):
        out[name] = [show_command(c) for c in sequence.commands]
    return out


def _commands(left: Envelope, right: Envelope) -> Iterator[Change]:
    a, b = _sequences(left), _sequences(right)
    for name in [*a, *(n for n in b if n not in a)]:
        if name not in b or name not in a:
            yield from _compare("commands", name, _summary(a.get(name)), _summary(b.get(name)))
            continue
        yield from _sequence_changes(name, a[name], b[name])


def _summary(commands: list[str] | None) -> str | None:
    return None if commands is None else f"{len(commands)} commands"


def _sequence_changes(name: str, a: list[str], b: list[str]) -> Iterator[Change]:
    for tag, i1, i2, j1, j2 in SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        for k in range(max(i2 - i1, j2 - j1)):
            lv = a[i1 + k] if i1 + k < i2 else None
            rv = b[j1 + k] if j1 + k < j2 else None
            yield from _compare("commands", f"{name}[{i1 + k if lv is not None else j1 + k}]",
                                lv, rv)


def _blocks(envelope: Envelope) -> dict[str, str]:
    out: dict[str, str] = {}
    for i, block in enumerate(envelope.authentication.blocks, start=1):
        message = block.message
        first = message.signatures[0] if isinstance(message, CoseSign) else message
        kid = getattr(first, "kid", None)
        kind = type(message).__name__.replace("Cose", "COSE_")
        out[f"block {i}"] = (f"{kind} {algorithm_name(first.algorithm)}"
                             f"{'' if kid is None else ' kid ' + kid.hex()}"
                             f" ({hashlib.sha256(block.source).hexdigest()[:12]})")
    return out


def _authentication(left: Envelope, right: Envelope) -> Iterator[Change]:
    yield from _keyed("authentication", _blocks(left), _blocks(right))


def _severance(envelope: Envelope) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, attr in SEVERABLE_ATTRIBUTES.items():
        member = getattr(envelope.manifest, attr)
        if member is None:
            continue
        if isinstance(member, Digest):
            carried = "carried" if key in envelope.severed else "absent"
            out[member_name(key)] = f"severed ({carried}), {show_digest(member)}"
        else:
            out[member_name(key)] = "inline"
    for name, data in envelope.integrated.items():
        out[f"integrated {name}"] = f"{len(data)} bytes, sha256:{hashlib.sha256(data).hexdigest()}"
    return out


def _severed(left: Envelope, right: Envelope) -> Iterator[Change]:
    yield from _keyed("severed", _severance(left), _severance(right))
