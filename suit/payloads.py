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
    CommandItem,
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
    """Every fetch the manifest's sequences may perform, with the parameters in effect.

    Each try-each alternative is followed as its own branch (M37 §8.4.10.2), so an A/B
    manifest yields the fetch of each slot.
    """
    shared = envelope.manifest.common.shared_sequence
    prefix = [(item, False) for item in shared.commands] if shared is not None else []
    targets = _Targets()
    for _name, sequence in manifest_sequences(envelope.manifest, envelope):
        _run(prefix + [(item, True) for item in sequence.commands], {}, [0], targets, {})
    return targets.found


def integrated_digests(envelope: Envelope) -> dict[str, Digest]:
    """Envelope key of each integrated payload -> the digest the manifest states for it."""
    return {t.integrated_key: t.digest for t in fetch_targets(envelope)
            if t.integrated_key and t.digest is not None}


_MAX_BRANCHES = 64  # bounds the walk on hostile nesting of try-each


class _Targets:
    """The targets found, each once, in the order first met. Membership goes through a
    dict keyed by the target's hashable parts, not a scan of the list: a scan made verify
    and inspect quadratic in the number of components (issue 12). The full equality is
    still what decides, inside a key's (nearly always single-entry) bucket, since digest
    extensions may hold unhashable CBOR values."""

    def __init__(self) -> None:
        self.found: list[FetchTarget] = []
        self._buckets: dict[tuple[Any, ...], list[FetchTarget]] = {}

    def add(self, target: FetchTarget) -> None:
        digest = target.digest
        key = (target.component_index, target.uri, target.size,
               None if digest is None else (digest.algorithm, digest.value))
        bucket = self._buckets.setdefault(key, [])
        if target not in bucket:
            bucket.append(target)
            self.found.append(target)


def _run(steps: list[tuple[CommandItem, bool]], state: dict[int, dict[int, Any]],
         selected: list[int], targets: _Targets, slots: dict[int, Any],
         budget: list[int] | None = None) -> None:
    """Follow `steps`; `slots` holds the slot each branch has assumed per component, so
    that a branch contradicting itself (slot 0 in one try-each, slot 1 in the next) ends."""
    budget = budget if budget is not None else [_MAX_BRANCHES]
    for pos, (item, record) in enumerate(steps):
        command, arg = item.command, item.argument
        if command in (Command.TRY_EACH, Command.RUN_SEQUENCE):
            alternatives = arg if command == Command.TRY_EACH else (arg,)
            for alternative in alternatives:
                if budget[0] <= 0:
                    return
                budget[0] -= 1
                inner = [(c, record) for c in alternative.commands] if alternative else []
                branch = {i: dict(p) for i, p in state.items()}
                _run(inner + steps[pos + 1:], branch, list(selected), targets, dict(slots), budget)
            return
        if command == Command.COMPONENT_SLOT and not _assume_slot(state, selected, slots):
            return
        _apply(command, arg, state, selected)
        if command == Command.FETCH and record:
            for target in _targets(state, selected):
                targets.add(target)


def _assume_slot(state: dict[int, dict[int, Any]], selected: list[int], slots: dict[int, Any]) -> bool:
    for index in selected:
        slot = state.get(index, {}).get(Parameter.COMPONENT_SLOT)
        if slots.setdefault(index, slot) != slot:
            return False
    return True


def _apply(command: int, arg: Any, state: dict[int, dict[int, Any]], selected: list[int]) -> None:
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
