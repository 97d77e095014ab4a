"""Spec names for the items `suit.spans` locates, so the inspector's tree reads like the
published diagnostic notation (M37 Appendix B) rather than bare CBOR.

Each item gets a *role* from its parent's role and its key: the envelope map, the
manifest map, a command sequence, a parameter map, and so on. Roles only name; they never
decide validity (that is `suit.verify`'s job).
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, Final

from suit.model import (
    Command,
    CommonKey,
    EnvelopeKey,
    ManifestKey,
    Parameter,
    TextComponentKey,
    TextKey,
)
from suit.spans import ItemSpan, Step

ENVELOPE, AUTH, DIGEST, COSE, MANIFEST, COMMON, COMPONENTS, SEQUENCE, PARAMETERS, TEXT, \
    LANGUAGE, COMPONENT_TEXT, SEQUENCE_LIST, ANY = range(14)

_SEQUENCE_KEYS: Final = {ManifestKey.VALIDATE, ManifestKey.LOAD, ManifestKey.INVOKE,
                         ManifestKey.UNINSTALL, ManifestKey.DEPENDENCY_RESOLUTION,
                         ManifestKey.PAYLOAD_FETCH, ManifestKey.CANDIDATE_VERIFICATION,
                         ManifestKey.INSTALL}
_COSE_TAGS: Final = {16: "COSE_Encrypt0", 17: "COSE_Mac0", 18: "COSE_Sign1", 96: "COSE_Encrypt",
                     97: "COSE_Mac", 98: "COSE_Sign"}


def _enum_name(enum: type[IntEnum], key: Any) -> str | None:
    if isinstance(key, int) and not isinstance(key, bool):
        try:
            return enum(key).name.lower().replace("_", "-")
        except ValueError:
            return None
    return None


def child_role(role: int, key: Any, previous: ItemSpan | None) -> int:
    """The role of the child reached from an item of `role` through `key`; `previous` is
    the sibling before it (a command number, for an argument)."""
    if key is Step.TAGGED or key is Step.WRAPPED:
        return role  # tags and bstr wrapping keep the role of what they hold
    if role == ENVELOPE:
        return _envelope_child(key)
    if role == AUTH:
        return DIGEST if key == 0 else COSE
    if role == MANIFEST:
        if key == ManifestKey.COMMON:
            return COMMON
        if key in _SEQUENCE_KEYS:
            return SEQUENCE
        return TEXT if key == ManifestKey.TEXT else ANY
    if role == COMMON:
        return {CommonKey.COMPONENTS: COMPONENTS, CommonKey.SHARED_SEQUENCE: SEQUENCE}.get(key, ANY)
    if role == SEQUENCE:
        return _argument_role(previous, key)
    if role == SEQUENCE_LIST:
        return SEQUENCE
    if role == TEXT:
        return LANGUAGE
    if role == LANGUAGE:
        return COMPONENT_TEXT if isinstance(key, tuple) else ANY
    return ANY


def _envelope_child(key: Any) -> int:
    if key == EnvelopeKey.AUTHENTICATION_WRAPPER:
        return AUTH
    if key == EnvelopeKey.MANIFEST:
        return MANIFEST
    if key == EnvelopeKey.TEXT:
        return TEXT
    if isinstance(key, int) and key in (15, 16, 18, 20):
        return SEQUENCE
    return ENVELOPE if isinstance(key, str) else ANY  # an integrated dependency is an envelope


def _argument_role(command: ItemSpan | None, index: Any) -> int:
    # Arguments sit at odd positions; set-/override-parameters take a parameter map,
    # try-each a list of sequences, run-sequence one sequence (M37 §8.4.10).
    if not (isinstance(index, int) and index % 2) or command is None:
        return ANY
    return {Command.SET_PARAMETERS: PARAMETERS, Command.OVERRIDE_PARAMETERS: PARAMETERS,
            Command.TRY_EACH: SEQUENCE_LIST, Command.RUN_SEQUENCE: SEQUENCE}.get(command.value, ANY)


def label(role: int, key: Any, span: ItemSpan, previous: ItemSpan | None) -> str:
    """The tree label of an item: its key with the spec's name, like ``3 manifest``."""
    if key is None:
        return "SUIT_Envelope" if span.kind == "tag" and span.value == 107 else "item"
    if key is Step.TAGGED:
        return f"tagged {span.kind}"
    if key is Step.WRAPPED:
        return "<< wrapped CBOR >>"
    name = key_name(role, key, previous)
    if role == SEQUENCE and isinstance(key, int) and key % 2 == 0 and span.kind in ("uint", "nint"):
        name = command_label(span.value)
    shown = _show_key(key)
    return f"{shown}  {name}" if name else shown


def key_name(role: int, key: Any, previous: ItemSpan | None) -> str | None:
    """The spec's name for `key` within an item of `role`, if it has one."""
    if role == ENVELOPE:
        return _enum_name(EnvelopeKey, key) or ("integrated payload" if isinstance(key, str) else None)
    if role == MANIFEST:
        return _enum_name(ManifestKey, key)
    if role == COMMON:
        return _enum_name(CommonKey, key)
    if role == AUTH:
        return "digest" if key == 0 else "authentication block"
    if role == DIGEST:
        return {0: "algorithm-id", 1: "digest-bytes"}.get(key)
    if role == PARAMETERS:
        name = _enum_name(Parameter, key)
        return None if name is None else f"parameter-{name}"
    if role == SEQUENCE:
        return _sequence_entry_name(key, previous)
    if role == TEXT:
        return "language"
    if role == LANGUAGE:
        return "component text" if isinstance(key, tuple) else _enum_name(TextKey, key)
    if role == COMPONENT_TEXT:
        return _enum_name(TextComponentKey, key)
    if role == COMPONENTS:
        return "component-identifier"
    return None


def _sequence_entry_name(index: Any, previous: ItemSpan | None) -> str | None:
    if not isinstance(index, int):
        return None
    if index % 2 == 0:
        return None  # a command number: `label` names it from its value
    if previous is not None and previous.kind in ("uint", "nint"):
        return f"argument of {command_label(previous.value)}"
    return "argument"


def command_label(number: int) -> str:
    """``directive-override-parameters``: the spec name of a command number."""
    try:
        return Command(number).spec_name
    except ValueError:
        return f"command {number}"


def cose_label(tag: int) -> str | None:
    """The COSE structure a tag number introduces (RFC 9052 §2)."""
    return _COSE_TAGS.get(tag)


def _show_key(key: Any) -> str:
    if isinstance(key, bytes):
        return f"h'{key.hex()}'"
    if isinstance(key, str):
        return f'"{key}"'
    if isinstance(key, tuple):
        return "[" + ", ".join(_show_key(k) for k in key) + "]"
    return str(key)


def value_text(span: ItemSpan, data: bytes) -> str:
    """A short rendering of a leaf's value, or a container's size."""
    if span.kind in ("uint", "nint", "simple"):
        if span.value is None or isinstance(span.value, bool):
            return {None: "null", True: "true", False: "false"}[span.value]
        return str(span.value)
    if span.kind == "bstr":
        raw = data[span.content_start:span.end]
        shown = raw[:24].hex()
        return f"h'{shown}{'…' if len(raw) > 24 else ''}' ({len(raw)} bytes)"
    if span.kind == "tstr":
        text = data[span.content_start:span.end].decode("utf-8", "replace")
        return f'"{text[:60]}{"…" if len(text) > 60 else ""}"'
    if span.kind == "tag":
        return f"tag {span.value}" + (f" ({cose_label(span.value)})" if cose_label(span.value) else "")
    noun = "items" if span.kind == "array" else "members"
    return f"{span.kind}, {span.value} {noun}"
