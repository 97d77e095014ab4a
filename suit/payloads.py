"""Which payloads a manifest fetches, and with what digest and size (M37 §5.5, §8.4.10).

A light walk over the command sequences that tracks parameters per component the way the
processor does (the shared sequence runs before each sequence; set-component-index selects;
override-parameters replaces; set-parameters fills only what is unset), recording at each
fetch the URI, digest and size then in effect. Used to check integrated payloads and to
tell the flasher what to send; it decides nothing about validity.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from suit.model import (
    Command,
    CommandSequence,
    Digest,
    Envelope,
    Manifest,
    Parameter,
)


@dataclass(frozen=True)
class FetchTarget:
    """A fetch directive as the manifest sets it up."""

    component_index: int
    uri: str
    digest: Digest | None
    size: int | None

    @property
    def integrated_key(self) -> str | None:
        """The envelope key of an integrated payload (``#name``), else None."""
        return self.uri if self.uri.startswith("#") else None


def manifest_sequences(manifest: Manifest, envelope: Envelope | None = None) -> Iterator[tuple[str, CommandSequence]]:
    """Every non-shared command sequence present, with its name, in procedure order.

    Severed sequences are taken from the envelope when it carries them.
    """
    from suit.codec import member_name, severed_member_content
    from suit.model import SEVERABLE_ATTRIBUTES
    for key, attr in [(15, "dependency_resolution"), (16, "payload_fetch"),
                      (18, "candidate_verification"), (20, "install"), (7, "validate"),
                      (8, "load"), (9, "invoke"), (24, "uninstall")]:
        value = getattr(manifest, attr)
        if isinstance(value, Digest):
            if envelope is None or key not in envelope.severed or key not in SEVERABLE_ATTRIBUTES:
                continue
            value = severed_member_content(envelope, key)
        if isinstance(value, CommandSequence):
            yield member_name(key), value


def fetch_targets(envelope: Envelope) -> list[FetchTarget]:
    """Every fetch the manifest's sequences perform, with the parameters in effect."""
    shared = envelope.manifest.common.shared_sequence
    targets: list[FetchTarget] = []
    for _name, sequence in manifest_sequences(envelope.manifest, envelope):
        state: dict[int, dict[int, Any]] = {}
        selected: list[int] = [0]
        if shared is not None:
            _walk(shared, state, selected, targets, record=False)
        _walk(sequence, state, selected, targets, record=True)
    return targets


def integrated_digests(envelope: Envelope) -> dict[str, Digest]:
    """Envelope key of each integrated payload -> the digest the manifest states for it."""
    return {t.integrated_key: t.digest for t in fetch_targets(envelope)
            if t.integrated_key and t.digest is not None}


def _walk(sequence: CommandSequence, state: dict[int, dict[int, Any]], selected: list[int],
          targets: list[FetchTarget], *, record: bool) -> None:
    for item in sequence.commands:
        command, arg = item.command, item.argument
        if command == Command.SET_COMPONENT_INDEX:
            selected[:] = _indices(arg, state)
        elif command in (Command.OVERRIDE_PARAMETERS, Command.SET_PARAMETERS):
            for index in selected:
                params = state.setdefault(index, {})
                for key, value in arg.items():
                    if command == Command.OVERRIDE_PARAMETERS or key not in params:
                        params[key] = value
        elif command == Command.OVERRIDE_MULTIPLE:
            for index, params in arg.items():
                state.setdefault(index, {}).update(params)
        elif command == Command.TRY_EACH:
            for alternative in arg:
                if alternative is not None:
                    _walk(alternative, state, selected, targets, record=record)
        elif command == Command.RUN_SEQUENCE:
            _walk(arg, state, selected, targets, record=record)
        elif command == Command.FETCH and record:
            targets.extend(_targets(state, selected))


def _targets(state: dict[int, dict[int, Any]], selected: list[int]) -> Iterator[FetchTarget]:
    for index in selected:
        params = state.get(index, {})
        uri = params.get(Parameter.URI)
        if isinstance(uri, str):
            digest = params.get(Parameter.IMAGE_DIGEST)
            size = params.get(Parameter.IMAGE_SIZE)
            yield FetchTarget(index, uri, digest if isinstance(digest, Digest) else None,
                              size if isinstance(size, int) else None)


def _indices(arg: Any, state: dict[int, dict[int, Any]]) -> list[int]:
    if arg is True:
        return sorted(state) or [0]
    if isinstance(arg, tuple):
        return list(arg)
    return [arg] if isinstance(arg, int) else []
