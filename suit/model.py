"""The SUIT model: typed, frozen dataclasses and IntEnums named as in the specifications.

Numbers and names come from draft-ietf-suit-manifest-37 (M37), trust domains (TD), update
management (UM) and firmware encryption (FE); docs/SUIT-FACTS.md lists them with sections.

Nodes that travel bstr-wrapped (manifest, common, command sequences, digests, text) carry
`source`: the exact bytes they were decoded from. It is not a constructor argument, so
`dataclasses.replace` yields a node without it, which then encodes deterministically; an
untouched node re-encodes to exactly the bytes that arrived, keeping digests and
signatures valid. Unknown and private-use members are kept in `extensions`, never dropped.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from enum import IntEnum, IntFlag
from typing import Any, Final, TypeAlias, TypeVar

from suit.cose import AuthenticationMessage
from suit.frozen import quick_init

#: A component identifier: a list of byte strings (M37 §8.4.5.1). `(b"\x00",)` and
#: `(b"00",)` are different identifiers.
ComponentId: TypeAlias = tuple[bytes, ...]

ENVELOPE_TAG: Final = 107
MANIFEST_TAG: Final = 1070


class EnvelopeKey(IntEnum):
    """SUIT_Envelope members (M37 §11.1, TD §9, UM §7)."""

    DELEGATION = 1  # reserved: moved out of M37
    AUTHENTICATION_WRAPPER = 2
    MANIFEST = 3
    COSWID = 14
    DEPENDENCY_RESOLUTION = 15
    PAYLOAD_FETCH = 16
    CANDIDATE_VERIFICATION = 18
    INSTALL = 20
    TEXT = 23


class ManifestKey(IntEnum):
    """SUIT_Manifest members (M37 §11.2, TD, UM)."""

    MANIFEST_VERSION = 1
    SEQUENCE_NUMBER = 2
    COMMON = 3
    REFERENCE_URI = 4
    MANIFEST_COMPONENT_ID = 5
    SET_VERSION = 6
    VALIDATE = 7
    LOAD = 8
    INVOKE = 9
    COSWID = 14
    DEPENDENCY_RESOLUTION = 15
    PAYLOAD_FETCH = 16
    CANDIDATE_VERIFICATION = 18
    INSTALL = 20
    TEXT = 23
    UNINSTALL = 24


#: Members that may be severed: a SUIT_Digest in the manifest, a bstr in the envelope.
SEVERABLE: Final = frozenset({ManifestKey.COSWID, ManifestKey.DEPENDENCY_RESOLUTION,
                              ManifestKey.PAYLOAD_FETCH, ManifestKey.CANDIDATE_VERIFICATION,
                              ManifestKey.INSTALL, ManifestKey.TEXT})


class CommonKey(IntEnum):
    """SUIT_Common members (M37 §11.3, TD §5.2.2)."""

    DEPENDENCIES = 1
    COMPONENTS = 2
    SHARED_SEQUENCE = 4


class DependencyKey(IntEnum):
    """SUIT_Dependency members (TD §5.2.2)."""

    DEPENDENCY_PREFIX = 1


class Command(IntEnum):
    """Conditions and directives (M37 §11.4, TD §9, UM §7)."""

    VENDOR_IDENTIFIER = 1
    CLASS_IDENTIFIER = 2
    IMAGE_MATCH = 3
    USE_BEFORE = 4
    COMPONENT_SLOT = 5
    CHECK_CONTENT = 6
    DEPENDENCY_INTEGRITY = 7
    IS_DEPENDENCY = 8
    PROCESS_DEPENDENCY = 11
    SET_COMPONENT_INDEX = 12
    ABORT = 14
    TRY_EACH = 15
    WRITE = 18
    SET_PARAMETERS = 19
    OVERRIDE_PARAMETERS = 20
    FETCH = 21
    COPY = 22
    INVOKE = 23
    DEVICE_IDENTIFIER = 24
    IMAGE_NOT_MATCH = 25
    MINIMUM_BATTERY = 26
    UPDATE_AUTHORIZED = 27
    VERSION = 28
    WAIT = 29
    SWAP = 31
    RUN_SEQUENCE = 32
    UNLINK = 33
    OVERRIDE_MULTIPLE = 34
    COPY_PARAMS = 35

    @property
    def is_condition(self) -> bool:
        """Conditions test; directives act (M37 §8.4.9, §8.4.10)."""
        return self in _CONDITIONS

    @property
    def spec_name(self) -> str:
        """The spec's name, like ``condition-vendor-identifier``."""
        kind = "condition" if self.is_condition else "directive"
        return f"{kind}-{self.name.lower().replace('_', '-')}"


_CONDITIONS: Final = frozenset({
    Command.VENDOR_IDENTIFIER, Command.CLASS_IDENTIFIER, Command.IMAGE_MATCH,
    Command.USE_BEFORE, Command.COMPONENT_SLOT, Command.CHECK_CONTENT,
    Command.DEPENDENCY_INTEGRITY, Command.IS_DEPENDENCY, Command.ABORT,
    Command.DEVICE_IDENTIFIER, Command.IMAGE_NOT_MATCH, Command.MINIMUM_BATTERY,
    Command.UPDATE_AUTHORIZED, Command.VERSION})


class Parameter(IntEnum):
    """SUIT parameters (M37 §11.5, FE §4, UM §4)."""

    VENDOR_ID = 1
    CLASS_ID = 2
    IMAGE_DIGEST = 3
    USE_BEFORE = 4
    COMPONENT_SLOT = 5
    STRICT_ORDER = 12
    SOFT_FAILURE = 13
    IMAGE_SIZE = 14
    CONTENT = 18
    ENCRYPTION_INFO = 19
    URI = 21
    SOURCE_COMPONENT = 22
    INVOKE_ARGS = 23
    DEVICE_ID = 24
    FETCH_ARGUMENTS = 25
    MINIMUM_BATTERY = 26
    UPDATE_PRIORITY = 27
    VERSION = 28
    WAIT_INFO = 29
    COMPONENT_METADATA = 30

    @property
    def spec_name(self) -> str:
        """The spec's name, like ``parameter-vendor-identifier``."""
        return "parameter-" + self.name.lower().replace("_", "-")


class DigestAlgorithm(IntEnum):
    """SUIT_Digest algorithms (M37 §10); SHA-256 is mandatory."""

    SHA256 = -16
    SHAKE128 = -18
    SHA384 = -43
    SHA512 = -44
    SHAKE256 = -45


class ReportingPolicy(IntFlag):
    """The reporting-policy bitfield of conditions and directives (M37 §8.4.7)."""

    SEND_RECORD_ON_SUCCESS = 1
    SEND_RECORD_ON_FAILURE = 2
    SEND_SYSINFO_SUCCESS = 4
    SEND_SYSINFO_FAILURE = 8


class TextKey(IntEnum):
    """Manifest-level text (M37 §8.4.4)."""

    MANIFEST_DESCRIPTION = 1
    UPDATE_DESCRIPTION = 2
    MANIFEST_JSON_SOURCE = 3
    MANIFEST_YAML_SOURCE = 4


class TextComponentKey(IntEnum):
    """Component-level text (M37 §8.4.4, UM)."""

    VENDOR_NAME = 1
    MODEL_NAME = 2
    VENDOR_DOMAIN = 3
    MODEL_INFO = 4
    COMPONENT_DESCRIPTION = 5
    COMPONENT_VERSION = 6
    VERSION_REQUIRED = 7
    CURRENT_VERSION = 8


class VersionComparison(IntEnum):
    """Comparison types of the version parameter (UM §4)."""

    GREATER = 1
    GREATER_EQUAL = 2
    EQUAL = 3
    LESSER_EQUAL = 4
    LESSER = 5


def _source() -> Any:
    return field(default=None, init=False, compare=False, repr=False)


@quick_init
@dataclass(frozen=True)
class Digest:
    """SUIT_Digest: ``[algorithm-id, digest-bytes, *extensions]`` (M37 §10)."""

    algorithm: int
    value: bytes
    extensions: tuple[Any, ...] = ()
    source: bytes | None = _source()


@quick_init
@dataclass(frozen=True)
class EmbeddedCbor:
    """A ``bstr .cbor`` member we carry as its exact bytes (encryption info, wait info,
    component metadata, CoSWID); decoded for display by the renderers."""

    data: bytes


@quick_init
@dataclass(frozen=True)
class VersionMatch:
    """The version parameter (UM §4): a comparison and a version array."""

    comparison: int
    version: tuple[int, ...]
    source: bytes | None = _source()


@quick_init
@dataclass(frozen=True)
class CommandItem:
    """One condition or directive with its argument.

    The argument's type follows the command: a reporting policy (int) for conditions and
    most directives; `int | True | tuple[int, ...]` for set-component-index; a parameter
    map for set-/override-parameters; `tuple[CommandSequence | None, ...]` for try-each;
    a `CommandSequence` for run-sequence; `{index: parameters}` for override-multiple;
    `{index: (parameter ids)}` for copy-params; any value for private-use commands.
    """

    command: int
    argument: Any


@quick_init
@dataclass(frozen=True)
class CommandSequence:
    """A SUIT_Command_Sequence: conditions and directives in order."""

    commands: tuple[CommandItem, ...] = ()
    source: bytes | None = _source()


@quick_init
@dataclass(frozen=True)
class Dependency:
    """An entry of common.dependencies (TD §5.2.2), keyed by component index."""

    prefix: ComponentId | None = None
    extensions: dict[Any, Any] = field(default_factory=dict)


@quick_init
@dataclass(frozen=True)
class Common:
    """SUIT_Common (M37 §8.4.5)."""

    components: tuple[ComponentId, ...] = ()
    dependencies: dict[int, Dependency] = field(default_factory=dict)
    shared_sequence: CommandSequence | None = None
    extensions: dict[Any, Any] = field(default_factory=dict)
    source: bytes | None = _source()


@quick_init
@dataclass(frozen=True)
class LanguageText:
    """The text of one language: manifest-level fields and per-component fields."""

    fields: dict[int, str] = field(default_factory=dict)
    components: dict[ComponentId, dict[int, str]] = field(default_factory=dict)


@quick_init
@dataclass(frozen=True)
class TextMap:
    """SUIT_Text_Map (M37 §8.4.4): language tag -> text."""

    languages: dict[str, LanguageText] = field(default_factory=dict)
    source: bytes | None = _source()


SeverableSequence: TypeAlias = "CommandSequence | Digest | None"


@quick_init
@dataclass(frozen=True)
class Manifest:
    """SUIT_Manifest (M37 §8.4). Severable members hold their content when inline, or a
    `Digest` when severed (the content then travels in the envelope)."""

    sequence_number: int
    common: Common
    manifest_version: int = 1
    reference_uri: str | None = None
    manifest_component_id: ComponentId | None = None
    set_version: tuple[int, ...] | None = None
    validate: CommandSequence | None = None
    load: CommandSequence | None = None
    invoke: CommandSequence | None = None
    uninstall: CommandSequence | None = None
    dependency_resolution: CommandSequence | Digest | None = None
    payload_fetch: CommandSequence | Digest | None = None
    candidate_verification: CommandSequence | Digest | None = None
    install: CommandSequence | Digest | None = None
    text: TextMap | Digest | None = None
    coswid: EmbeddedCbor | Digest | None = None
    extensions: dict[Any, Any] = field(default_factory=dict)
    source: bytes | None = _source()


#: The manifest attribute holding each severable member.
SEVERABLE_ATTRIBUTES: Final = {
    ManifestKey.COSWID: "coswid", ManifestKey.DEPENDENCY_RESOLUTION: "dependency_resolution",
    ManifestKey.PAYLOAD_FETCH: "payload_fetch",
    ManifestKey.CANDIDATE_VERIFICATION: "candidate_verification",
    ManifestKey.INSTALL: "install", ManifestKey.TEXT: "text"}


@quick_init
@dataclass(frozen=True)
class AuthenticationBlock:
    """One SUIT_Authentication_Block: a COSE message, kept with its exact bytes."""

    message: AuthenticationMessage
    source: bytes


@quick_init
@dataclass(frozen=True)
class AuthenticationWrapper:
    """SUIT_Authentication (M37 §8.3): the manifest digest, then authentication blocks.

    `digest.source` is the encoded SUIT_Digest: the detached COSE payload."""

    digest: Digest
    blocks: tuple[AuthenticationBlock, ...] = ()
    source: bytes | None = _source()


@quick_init
@dataclass(frozen=True)
class Envelope:
    """SUIT_Envelope (M37 §8.2).

    Attributes:
        severed: Severable members carried in the envelope, as their exact bstr contents,
            keyed by `EnvelopeKey` value.
        integrated: Integrated payloads and dependencies (M37 §5.5, TD §8.1.1): URI
            fragment key, like ``"#dependent.suit"``, to bytes.
        extensions: Unknown or private-use members, kept as decoded values.
        tagged: Whether the envelope carried tag 107.
        dependency_depth: How many envelopes integrate this one (0 for the envelope given);
            set by the decoder, which bounds it.
    """

    authentication: AuthenticationWrapper
    manifest: Manifest
    severed: dict[int, bytes] = field(default_factory=dict)
    integrated: dict[str, bytes] = field(default_factory=dict)
    extensions: dict[Any, Any] = field(default_factory=dict)
    tagged: bool = True
    source: bytes | None = _source()
    dependency_depth: int = field(default=0, compare=False, repr=False)


_Node = TypeVar("_Node")


def attach_source(node: _Node, source: bytes) -> _Node:
    """Record the exact bytes `node` was decoded from (the decoder's job only)."""
    # Straight into the instance dictionary, as `object.__setattr__` would put it.
    node.__dict__["source"] = source if type(source) is bytes else bytes(source)
    return node


def decoded_node(cls: type[_Node], values: dict[str, Any], source: bytes) -> _Node:
    """A node of `cls` made by the decoder from `values` and its exact bytes.

    The same node as ``cls(**values)`` with its source attached, made without the
    generated ``__init__``: a frozen dataclass sets every field through
    ``object.__setattr__``, which for the manifest's 18 fields costs 2 us of a 50 us
    decode. `values` must hold every field that has no plain default (those with a
    default factory included); the decoder's callers always give them.
    """
    node: _Node = object.__new__(cls)
    state = node.__dict__
    state.update(_plain_defaults(cls))
    state.update(values)
    state["source"] = source if type(source) is bytes else bytes(source)
    return node


_DEFAULTS: Final[dict[type, dict[str, Any]]] = {}


def _plain_defaults(cls: type) -> dict[str, Any]:
    """The fields of `cls` that have a plain default, with it (worked out once per class)."""
    defaults = _DEFAULTS.get(cls)
    if defaults is None:
        defaults = _DEFAULTS[cls] = {f.name: f.default for f in fields(cls)
                                     if f.default is not MISSING}
    return defaults
