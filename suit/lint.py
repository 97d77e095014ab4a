"""Format checks on one envelope: rules with stable ids, a severity and a fix hint.

Pure: bytes in, findings out (no files), so the GUI inspector shows the same findings as
`suitwb lint`. Project-level rules (image files, dependency files) live in
`workbench.project.lint`. Rule ids never change meaning; new rules take new ids.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final

from suit import cbor
from suit.codec import decode_envelope, member_name, severed_member_content
from suit.cose import CoseAlgorithm, algorithm_name
from suit.digest import algorithm_name as digest_name
from suit.digest import compute
from suit.errors import ManifestError
from suit.model import (
    SEVERABLE_ATTRIBUTES,
    Command,
    CommandSequence,
    Digest,
    Envelope,
    Parameter,
    TextMap,
)
from suit.payloads import integrated_digests, manifest_sequences
from suit.unknown import unknown_members
from suit.verify import manifest_bstr


class Severity(Enum):
    """How much a finding matters: errors make `suitwb lint` exit 1."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Rule:
    """A lint rule: stable id, short name, severity, what it means and how to fix it."""

    id: str
    name: str
    severity: Severity
    summary: str
    hint: str


@dataclass(frozen=True)
class Finding:
    """One place where a rule applies.

    Attributes:
        rule: The rule.
        message: What was found, naming the component or member.
        where: The member, like ``manifest/invoke`` or ``component app``.
    """

    rule: Rule
    message: str
    where: str

    @property
    def id(self) -> str:
        return self.rule.id

    @property
    def severity(self) -> Severity:
        return self.rule.severity


def _rules(*rules: Rule) -> dict[str, Rule]:
    return {r.id: r for r in rules}


RULES: Final = _rules(
    Rule("SUIT001", "no-device-condition", Severity.ERROR,
         "no vendor-identifier or class-identifier condition: the envelope could install on "
         "the wrong device (RFC 9019 §3)",
         "Give the project's device vendor and class ids (or domain and model)."),
    Rule("SUIT002", "sequence-rollback", Severity.ERROR,
         "the sequence number is not above the last release's: devices refuse it, or it "
         "rolls them back (M37 §8.4.2)",
         "Raise sequence-number above the previous release's, or use \"utc\"."),
    Rule("SUIT003", "invoke-unchecked", Severity.ERROR,
         "a component is invoked but its image is never checked before (secure boot)",
         "Check the image at validate (image-match), or at load after the copy."),
    Rule("SUIT004", "fetch-without-uri", Severity.ERROR,
         "a detached payload is fetched with no URI in effect",
         "Give the component a uri, or mark it integrated."),
    Rule("SUIT005", "severed-member-unreferenced", Severity.ERROR,
         "the envelope carries a severable member that the manifest does not sever (no "
         "digest covers it)", "Rebuild the envelope; do not add members by hand."),
    Rule("SUIT006", "severed-member-absent", Severity.WARNING,
         "the manifest severs a member the envelope does not carry; that procedure cannot "
         "run until the member is supplied", "Distribute the unsevered envelope to devices."),
    Rule("SUIT007", "dependency-digest-mismatch", Severity.ERROR,
         "a dependency's manifest digest differs from the digest the dependent binds it to "
         "(TD §5.2.2)", "Rebuild the dependent against the dependency it carries."),
    Rule("SUIT008", "written-not-validated", Severity.WARNING,
         "a component is written (fetch, copy, swap) but no condition ever checks it",
         "Add image-match after the write, or validate the component."),
    Rule("SUIT009", "text-unknown-component", Severity.WARNING,
         "text describes a component the manifest does not have", "Fix the component id."),
    Rule("SUIT010", "non-deterministic-encoding", Severity.WARNING,
         "the manifest is not deterministically encoded (M37 §8.1, RFC 8949 §4.2.1)",
         "Re-encode it with a deterministic CBOR encoder (suitwb build does)."),
    Rule("SUIT011", "unknown-member", Severity.WARNING,
         "the envelope, manifest or common has a member draft-37 does not define; a "
         "processor ignores it (M37 §8.4, §11)",
         "Remove it, or check which draft or extension the envelope was written for."),
    Rule("SUIT012", "legacy-member-number", Severity.ERROR,
         "a member carries the number an older draft gave it (e.g. install = 17 in drafts "
         "-17 to -27, now 20): a draft-37 processor never runs it",
         "Rebuild the envelope for draft-37 (suitwb build), or convert its member numbers."),
    Rule("SUIT013", "algorithms-outside-profile", Severity.WARNING,
         "the digest, authentication, key-distribution and encryption algorithms are not "
         "all those of one MTI profile: a recipient implementing only the mandatory "
         "profiles may not process it (draft-ietf-suit-mti §3)",
         "Choose one profile (profile = \"suit-sha256-esp256-ecdh-a128gcm\"...) and build with it."),
    Rule("SUIT014", "deprecated-algorithm", Severity.WARNING,
         "a polymorphic algorithm id deprecated by RFC 9864 (ES256 -7, EdDSA -8); no MTI "
         "profile uses it", "Sign with ESP256 (-9) or Ed25519 (-19), the fully specified ids."),
)

_CHECKS: Final = frozenset({Command.IMAGE_MATCH, Command.CHECK_CONTENT})
_WRITES: Final = frozenset({Command.FETCH, Command.COPY, Command.SWAP, Command.WRITE})


@dataclass
class _Facts:
    """What the command sequences do, per component index."""

    conditions: set[int] = field(default_factory=set)
    checked: dict[str, set[int]] = field(default_factory=dict)
    written: dict[int, str] = field(default_factory=dict)
    invoked: list[tuple[int, bool]] = field(default_factory=list)
    uriless: list[tuple[str, int]] = field(default_factory=list)


class _Walker:
    """Follows one sequence the way a processor would, tracking parameters and selection."""

    def __init__(self, facts: _Facts, name: str, count: int, prior: set[int]) -> None:
        self.facts, self.name, self.count, self.prior = facts, name, count, prior
        self.params: dict[int, dict[int, Any]] = {}
        self.selected: list[int] = [0]
        self.checked = facts.checked.setdefault(name, set())

    def walk(self, sequence: CommandSequence) -> None:
        for item in sequence.commands:
            self.step(item.command, item.argument)

    def step(self, command: int, arg: Any) -> None:
        if command == Command.SET_COMPONENT_INDEX:
            self.selected = list(range(self.count)) if arg is True else (
                list(arg) if isinstance(arg, tuple) else [arg])
        elif command in (Command.OVERRIDE_PARAMETERS, Command.SET_PARAMETERS):
            for index in self.selected:
                current = self.params.setdefault(index, {})
                for key, value in arg.items():
                    if command == Command.OVERRIDE_PARAMETERS or key not in current:
                        current[key] = value
        elif command in (Command.TRY_EACH, Command.RUN_SEQUENCE):
            for alternative in (arg if command == Command.TRY_EACH else (arg,)):
                if alternative is not None:
                    self.walk(alternative)
        else:
            self._act(command)

    def _act(self, command: int) -> None:
        self.facts.conditions.add(command)
        for index in self.selected:
            params = self.params.get(index, {})
            if command in _CHECKS:
                self.checked.add(index)
            elif command == Command.FETCH and not isinstance(params.get(Parameter.URI), str):
                self.facts.uriless.append((self.name, index))
            if command in _WRITES and not (command == Command.WRITE and Parameter.CONTENT in params):
                # A write of the content parameter is covered by the manifest's own digest.
                self.facts.written.setdefault(index, self.name)
            if command == Command.INVOKE:
                self.facts.invoked.append((index, index in self.prior or index in self.checked))


def _facts(envelope: Envelope) -> _Facts:
    manifest, facts = envelope.manifest, _Facts()
    count = len(manifest.common.components) + len(manifest.common.dependencies)
    shared = manifest.common.shared_sequence
    sequences = dict(manifest_sequences(manifest, envelope))
    for name in ("validate", "load", *[n for n in sequences if n not in ("validate", "load")]):
        if name not in sequences:
            continue
        prior = set(facts.checked.get("shared", set()))
        if name == "invoke":
            prior |= facts.checked.get("validate", set()) | facts.checked.get("load", set())
        walker = _Walker(facts, name, count, prior)
        if shared is not None:
            shared_walker = _Walker(facts, "shared", count, set())
            shared_walker.walk(shared)
            walker.params, walker.selected = shared_walker.params, shared_walker.selected
            prior |= shared_walker.checked
        walker.walk(sequences[name])
    if shared is not None and not sequences:
        _Walker(facts, "shared", count, set()).walk(shared)
    return facts


def lint_envelope(envelope: Envelope, *, previous_sequence: int | None = None) -> list[Finding]:
    """Every finding of the format rules on `envelope`.

    Args:
        envelope: A decoded envelope (signed or not).
        previous_sequence: The last release's sequence number, for SUIT002.
    """
    facts = _facts(envelope)
    findings = [*_device(facts), *_invoke(facts), *_uriless(facts), *_severed(envelope),
                *_dependencies(envelope), *_unvalidated(facts), *_text(envelope),
                *_encoding(envelope), *_unknown(envelope), *_profiles(envelope)]
    number = envelope.manifest.sequence_number
    if previous_sequence is not None and number <= previous_sequence:
        findings.insert(0, Finding(RULES["SUIT002"], f"sequence number {number} is not above "
                                   f"the previous release's {previous_sequence}",
                                   "manifest/sequence-number"))
    return findings


def _device(facts: _Facts) -> Iterator[Finding]:
    missing = [name for command, name in ((Command.VENDOR_IDENTIFIER, "vendor-identifier"),
                                          (Command.CLASS_IDENTIFIER, "class-identifier"))
               if command not in facts.conditions]
    if missing:
        yield Finding(RULES["SUIT001"], f"no {' or '.join(missing)} condition", "manifest")


def _invoke(facts: _Facts) -> Iterator[Finding]:
    for index, checked in facts.invoked:
        if not checked:
            yield Finding(RULES["SUIT003"], f"component {index} is invoked without an image "
                          "check before it", "manifest/invoke")


def _uriless(facts: _Facts) -> Iterator[Finding]:
    for name, index in facts.uriless:
        yield Finding(RULES["SUIT004"], f"component {index} is fetched with no uri",
                      f"manifest/{name}")


def _unvalidated(facts: _Facts) -> Iterator[Finding]:
    checked = set().union(*facts.checked.values()) if facts.checked else set()
    for index, name in sorted(facts.written.items()):
        if index not in checked:
            yield Finding(RULES["SUIT008"], f"component {index} is written in {name} but "
                          "never checked", f"manifest/{name}")


def _severed(envelope: Envelope) -> Iterator[Finding]:
    for key, attr in SEVERABLE_ATTRIBUTES.items():
        stated = getattr(envelope.manifest, attr)
        name = member_name(key)
        if key in envelope.severed and not isinstance(stated, Digest):
            yield Finding(RULES["SUIT005"], f"{name} is in the envelope but not severed in "
                          "the manifest", f"envelope/{name}")
        elif isinstance(stated, Digest) and key not in envelope.severed:
            yield Finding(RULES["SUIT006"], f"{name} is severed and absent", f"envelope/{name}")


def _dependencies(envelope: Envelope) -> Iterator[Finding]:
    for key, digest in integrated_digests(envelope).items():
        data = envelope.integrated.get(key)
        if data is None or compute(digest.algorithm, data) == digest.value:
            continue
        try:
            dependency = decode_envelope(data)
        except ManifestError:
            continue  # a plain payload: `suitwb verify` reports its digest mismatch
        actual = compute(digest.algorithm, manifest_bstr(dependency.manifest))
        if actual != digest.value:
            yield Finding(RULES["SUIT007"], f"{key}: manifest digest {actual.hex()[:16]}… "
                          f"but bound to {digest.value.hex()[:16]}…", f"envelope/{key}")


def _text(envelope: Envelope) -> Iterator[Finding]:
    text = envelope.manifest.text
    if isinstance(text, Digest) and 23 in envelope.severed:
        text = severed_member_content(envelope, 23)
    if not isinstance(text, TextMap):
        return
    known = set(envelope.manifest.common.components)
    for language, entry in text.languages.items():
        for cid in entry.components:
            if cid not in known:
                yield Finding(RULES["SUIT009"], f"text ({language}) for component "
                              f"{[p.hex() for p in cid]} which the manifest does not have",
                              "manifest/text")


def _encoding(envelope: Envelope) -> Iterator[Finding]:
    source = envelope.manifest.source
    if source is not None and not cbor.is_deterministic(source):
        yield Finding(RULES["SUIT010"], "the manifest's maps or integers are not in "
                      "deterministic form", "manifest")


def _unknown(envelope: Envelope) -> Iterator[Finding]:
    for member in unknown_members(envelope):
        if member.legacy is not None:
            yield Finding(RULES["SUIT012"], f"{member.where} key {member.key} is "
                          f"{member.legacy}", member.path)
        else:
            yield Finding(RULES["SUIT011"], f"{member.where} key {member.key!r} is not "
                          "a draft-37 member", member.path)


def _profiles(envelope: Envelope) -> Iterator[Finding]:
    from suit.algorithms_used import algorithms_used
    from suit.profiles import FULLY_SPECIFIED, matching_profiles
    used = algorithms_used(envelope)
    for alg in sorted(used.auth):
        if alg in FULLY_SPECIFIED:
            better = FULLY_SPECIFIED[CoseAlgorithm(alg)]
            yield Finding(RULES["SUIT014"], f"{algorithm_name(alg)} ({alg}) is deprecated: use "
                          f"{algorithm_name(better)} ({int(better)})", "authentication-wrapper")
    if not matching_profiles(used):
        names = [digest_name(a) for a in sorted(used.digests)] + [
            f"{algorithm_name(a)} ({a})" for kind in (used.auth, used.key_exchange, used.encryption)
            for a in sorted(kind)]
        yield Finding(RULES["SUIT013"], "no MTI profile has all of " + ", ".join(names), "envelope")
