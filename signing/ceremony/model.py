"""The ceremony file: a declarative TOML description of one key ceremony.

One file drives the whole ceremony (as Let's Encrypt's ceremony tool does): who takes part
in which role (as the ICANN KSK ceremony scripts name them), the HSM, the keys to create,
the M-of-N quorum for the token PIN, where outputs go, and the steps in order. The file's
exact text and SHA-256 go into the transcript, so the transcript proves which script ran.
docs/ceremonies.md describes every table with examples.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import fileio
from fileio.toml import TomlError, loads_toml
from signing.algorithms import kind_for_algorithm, parse_algorithm
from signing.ceremony.errors import CeremonyFileError
from signing.errors import KeyReferenceError
from suit.cose import CoseAlgorithm

#: What a step can do. ``read`` only shows its text and collects confirmations.
ACTIONS: Final = ("read", "record-hsm", "init-token", "generate-key", "export-public",
                  "split-pin", "sign-rotation")
ROLES: Final = ("administrator", "custodians", "witnesses", "all")
#: Largest ceremony or answers file read; real ones are a few KiB.
MAX_CEREMONY_FILE: Final = 1 << 20
_STEP_ID: Final = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


@dataclass(frozen=True)
class Roles:
    """The people of the ceremony, by role."""

    administrator: str
    custodians: tuple[str, ...]
    witnesses: tuple[str, ...]

    def members(self, role: str) -> tuple[str, ...]:
        """The people a step's `role` names: a role, ``all``, or ``custodian:NAME``."""
        if role == "administrator":
            return (self.administrator,)
        if role == "custodians":
            return self.custodians
        if role == "witnesses":
            return self.witnesses
        if role == "all":
            return (self.administrator, *self.custodians, *self.witnesses)
        return (role.split(":", 1)[1],) if role.startswith("custodian:") else ()

    def role_of(self, person: str) -> str:
        """The role a person holds (for the transcript and the signature lines)."""
        if person == self.administrator:
            return "administrator"
        return "custodian" if person in self.custodians else "witness"


@dataclass(frozen=True)
class HsmSpec:
    """The HSM: a PKCS#11 module and the label to give the token it initialises.

    Attributes:
        module: Path of the PKCS#11 module.
        token_label: The label the new token gets (at most 32 bytes).
        serial: Which uninitialised token to use, if the module offers several.

    The SO PIN is random and destroyed: nobody can reset the user PIN and so bypass the
    custodians (docs/ceremonies.md, "PINs").
    """

    module: str
    token_label: str
    serial: str | None = None


@dataclass(frozen=True)
class KeySpec:
    """A key to generate inside the token."""

    label: str
    algorithm: CoseAlgorithm

    @property
    def kind(self) -> str:
        """``P-256``, ``P-384`` or ``Ed25519``."""
        return kind_for_algorithm(self.algorithm)


@dataclass(frozen=True)
class Rotation:
    """A rotation: the old key (unlocked by its custodians' shares) signs an envelope that
    installs the new key as the device's trust anchor.

    Attributes:
        old_module: The PKCS#11 module holding the old key.
        old_token_label: The old key's token.
        old_key_label: The old key's label.
        new_key: The label of the key this ceremony creates, to be installed.
        sequence_number: The rotation envelope's sequence number (above any in the field).
        vendor_id: The devices' vendor UUID (16 bytes), checked by the envelope.
        class_id: The devices' class UUID (16 bytes), checked by the envelope.
    """

    old_module: str
    old_token_label: str
    old_key_label: str
    new_key: str
    sequence_number: int
    vendor_id: bytes
    class_id: bytes


@dataclass(frozen=True)
class Step:
    """One step of the script.

    Attributes:
        id: Unique short name (``generate-root``), used by answers files.
        action: One of `ACTIONS`.
        role: Who confirms it: a role, ``all`` or ``custodian:NAME``.
        text: What is read aloud and shown.
        key: The key label for ``generate-key`` and ``export-public``.
    """

    id: str
    action: str
    role: str
    text: str
    key: str | None = None


@dataclass(frozen=True)
class Ceremony:
    """A parsed, checked ceremony file."""

    name: str
    description: str
    roles: Roles
    hsm: HsmSpec
    keys: tuple[KeySpec, ...]
    threshold: int
    steps: tuple[Step, ...]
    output_directory: Path
    rotation: Rotation | None
    source: str
    path: Path

    @property
    def source_sha256(self) -> str:
        """SHA-256 of the file's text, hex: which script ran."""
        return hashlib.sha256(self.source.encode("utf-8")).hexdigest()

    @property
    def signing_key(self) -> KeySpec:
        """The key that signs the transcript: the first key created."""
        return self.keys[0]

    def key(self, label: str) -> KeySpec:
        """The key spec named `label` (checked to exist when the file was loaded)."""
        return next(k for k in self.keys if k.label == label)


def load_ceremony(path: Path) -> Ceremony:
    """Read and check a ceremony file.

    Raises:
        CeremonyFileError: unreadable, not TOML, or not a consistent ceremony.
    """
    text = read_text(path)
    return parse_ceremony(text, path)


def read_text(path: Path) -> str:
    """A ceremony or answers file's UTF-8 text (a regular file of at most
    `MAX_CEREMONY_FILE` bytes), or a `CeremonyFileError`."""
    try:
        return fileio.read_limited(path, MAX_CEREMONY_FILE, regular_only=True).decode("utf-8")
    except fileio.FileAccessError as exc:
        raise CeremonyFileError(str(path), "", exc.problem, hint=exc.hint) from exc
    except UnicodeDecodeError as exc:
        raise CeremonyFileError(str(path), "", "not UTF-8 text") from exc


def parse_toml(text: str, path: Path) -> dict[str, Any]:
    """TOML text to a dict, or a `CeremonyFileError` naming the line (or the nesting)."""
    try:
        return loads_toml(text, str(path))
    except TomlError as exc:
        raise CeremonyFileError(str(path), "", exc.problem) from exc


def parse_ceremony(text: str, path: Path) -> Ceremony:
    """Parse ceremony-file text (see `load_ceremony`)."""
    reader = _Reader(parse_toml(text, path), str(path))
    roles = _roles(reader)
    keys = _keys(reader)
    ceremony = Ceremony(
        name=reader.text("ceremony.name"),
        description=reader.text("ceremony.description", ""),
        roles=roles, hsm=_hsm(reader), keys=keys,
        threshold=reader.integer("quorum.threshold"),
        steps=_steps(reader), rotation=_rotation(reader),
        output_directory=path.parent / reader.text("outputs.directory", "ceremony-output"),
        source=text, path=path)
    _check(ceremony, reader)
    return ceremony


class _Reader:
    """Typed access to dotted keys, each failure naming the key."""

    def __init__(self, data: dict[str, Any], path: str) -> None:
        self.data = data
        self.path = path

    def fail(self, where: str, problem: str) -> CeremonyFileError:
        return CeremonyFileError(self.path, where, problem)

    def get(self, dotted: str, default: Any = ...) -> Any:
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                if default is ...:
                    raise self.fail(dotted, "missing")
                return default
            node = node[part]
        return node

    def text(self, dotted: str, default: Any = ...) -> str:
        value = self.get(dotted, default)
        if not isinstance(value, str) or (default is ... and not value.strip()):
            raise self.fail(dotted, "expected a non-empty string")
        return value

    def integer(self, dotted: str, default: Any = ...) -> int:
        value = self.get(dotted, default)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail(dotted, "expected an integer")
        return value

    def names(self, dotted: str, default: Any = ...) -> tuple[str, ...]:
        value = self.get(dotted, default)
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(dotted, "expected a list of names")
        return tuple(value)

    def tables(self, dotted: str) -> list[dict[str, Any]]:
        value = self.get(dotted)
        if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
            raise self.fail(dotted, f"expected one or more [[{dotted}]] tables")
        return value


def _roles(reader: _Reader) -> Roles:
    roles = Roles(reader.text("roles.administrator"), reader.names("roles.custodians"),
                  reader.names("roles.witnesses", []))
    everyone = roles.members("all")
    if len(set(everyone)) != len(everyone):
        raise reader.fail("roles", "a person may hold only one role (names must be unique)")
    if any(":" in name for name in everyone):
        raise reader.fail("roles", "names may not contain ':'")
    return roles


def _hsm(reader: _Reader) -> HsmSpec:
    spec = HsmSpec(reader.text("hsm.module"), reader.text("hsm.token_label"),
                   reader.get("hsm.serial", None))
    if len(spec.token_label.encode("utf-8")) > 32:
        raise reader.fail("hsm.token_label", "at most 32 bytes (PKCS#11 CK_TOKEN_INFO.label)")
    return spec


def _keys(reader: _Reader) -> tuple[KeySpec, ...]:
    keys = []
    for i, table in enumerate(reader.tables("keys")):
        sub = _Reader(table, reader.path)
        try:
            algorithm = parse_algorithm(sub.text("algorithm", "ESP256"))
        except KeyReferenceError as exc:
            raise reader.fail(f"keys[{i}].algorithm", exc.problem) from exc
        key = KeySpec(sub.text("label"), algorithm)
        if key.kind == "secret":
            raise reader.fail(f"keys[{i}].algorithm", "a ceremony creates signing key pairs, "
                                                      "not HMAC secrets")
        keys.append(key)
    if len({k.label for k in keys}) != len(keys):
        raise reader.fail("keys", "key labels must be unique")
    return tuple(keys)


def _steps(reader: _Reader) -> tuple[Step, ...]:
    steps = []
    for i, table in enumerate(reader.tables("steps")):
        sub = _Reader(table, reader.path)
        step = Step(sub.text("id"), sub.text("action", "read"), sub.text("role"),
                    sub.text("text"), sub.get("key", None))
        if not _STEP_ID.match(step.id):
            raise reader.fail(f"steps[{i}].id", "use lower-case letters, digits and '-'")
        if step.action not in ACTIONS:
            raise reader.fail(f"steps[{i}].action", f"must be one of {', '.join(ACTIONS)}")
        steps.append(step)
    return tuple(steps)


def _rotation(reader: _Reader) -> Rotation | None:
    if reader.get("rotation", None) is None:
        return None
    return Rotation(reader.text("rotation.old_module"), reader.text("rotation.old_token_label"),
                    reader.text("rotation.old_key_label"), reader.text("rotation.new_key"),
                    reader.integer("rotation.sequence_number"),
                    _uuid(reader, "rotation.vendor_id"), _uuid(reader, "rotation.class_id"))


def _uuid(reader: _Reader, dotted: str) -> bytes:
    try:
        return uuid.UUID(reader.text(dotted)).bytes
    except ValueError as exc:
        raise reader.fail(dotted, "expected a UUID like 'fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe'") from exc


def _check(ceremony: Ceremony, reader: _Reader) -> None:
    count = len(ceremony.roles.custodians)
    if not 1 <= ceremony.threshold <= count:
        raise reader.fail("quorum.threshold", f"must be between 1 and the {count} custodians")
    if reader.integer("quorum.shares", count) != count:
        raise reader.fail("quorum.shares", "must equal the number of custodians (one share each)")
    _check_steps(ceremony, reader)
    if ceremony.rotation is not None and ceremony.rotation.new_key not in {k.label for k in ceremony.keys}:
        raise reader.fail("rotation.new_key", "names no key of [[keys]]")


def _check_steps(ceremony: Ceremony, reader: _Reader) -> None:
    seen: set[str] = set()
    done: set[str] = set()  # actions done so far, and "key:LABEL" for generated keys
    for i, step in enumerate(ceremony.steps):
        where = f"steps[{i}]"
        if step.id in seen:
            raise reader.fail(f"{where}.id", f"{step.id!r} is used twice")
        seen.add(step.id)
        if step.role not in ROLES and not ceremony.roles.members(step.role):
            raise reader.fail(f"{where}.role", f"{step.role!r} is not a role or custodian:NAME "
                                               "of a named custodian")
        if step.role.startswith("custodian:") and step.role[10:] not in ceremony.roles.custodians:
            raise reader.fail(f"{where}.role", f"{step.role[10:]!r} is not a custodian")
        problem = _order_problem(ceremony, step, done)
        if problem:
            raise reader.fail(where, problem)
        done.add(step.action)
        if step.action == "generate-key":
            done.add(f"key:{step.key}")
    missing = [k.label for k in ceremony.keys if f"key:{k.label}" not in done]
    if missing or "split-pin" not in done:
        raise reader.fail("steps", "every key needs a generate-key step and the PIN a "
                                   f"split-pin step (missing: {', '.join(missing) or 'split-pin'})")


def _order_problem(ceremony: Ceremony, step: Step, done: set[str]) -> str:
    labels = {k.label for k in ceremony.keys}
    if step.action in ("generate-key", "export-public") and step.key not in labels:
        return f"action {step.action} needs key = one of the [[keys]] labels"
    needs = {"generate-key": "init-token", "split-pin": "init-token",
             "export-public": f"key:{step.key}", "sign-rotation": "export-public"}
    if step.action in needs and needs[step.action] not in done:
        return f"action {step.action} must come after {needs[step.action].replace('key:', 'generate-key ')}"
    if step.action in ("init-token", "split-pin") and step.action in done:
        return f"action {step.action} may appear once"
    if step.action == "generate-key" and f"key:{step.key}" in done:
        return f"key {step.key} is generated twice"
    if step.action == "sign-rotation" and ceremony.rotation is None:
        return "action sign-rotation needs a [rotation] table"
    return ""
