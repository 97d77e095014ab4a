"""The processor's vocabulary, shared by the processor and its interpreter modules.

suit/processor.py (the `Processor`, the public API), suit/processor_commands.py (the
interpreter) and suit/processor_conditions.py (per-component handlers) form a stack:
each imports only the ones below it, and all of them this module. What a lower module
needs of a higher one it names here as a Protocol (`ManifestRun`, `CommandContext`), so
there is no import cycle, hidden in a function or not (issue 12; import-linter contracts
in pyproject.toml guard it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final, NoReturn, Protocol, runtime_checkable

from suit.codec import DEFAULT_MAX_SIZE, decode_envelope
from suit.commands import digest_value
from suit.errors import ManifestError
from suit.keys import TrustAnchor
from suit.model import (
    CommandSequence,
    ComponentId,
    Digest,
    Envelope,
    Manifest,
    ManifestKey,
    Parameter,
)
from suit.report import Record, ReportReason
from suit.verify import VerificationPolicy, VerificationReport, verify_envelope

#: Dependencies nest at most this deep (stops a loop of manifests, TD §5.6.4).
MAX_DEPENDENCY_DEPTH: Final = 4


class Procedure(Enum):
    """The two procedures and their sections in order (M37 §8.4.6, TD §7)."""

    UPDATE = ("dependency-resolution", "payload-fetch", "candidate-verification", "install")
    INVOCATION = ("validate", "load", "invoke")


#: Section name -> the manifest member holding it.
SECTION_KEYS: Final = {
    "dependency-resolution": ManifestKey.DEPENDENCY_RESOLUTION,
    "payload-fetch": ManifestKey.PAYLOAD_FETCH,
    "candidate-verification": ManifestKey.CANDIDATE_VERIFICATION,
    "install": ManifestKey.INSTALL, "validate": ManifestKey.VALIDATE,
    "load": ManifestKey.LOAD, "invoke": ManifestKey.INVOKE,
    "uninstall": ManifestKey.UNINSTALL,  # TD: run on its own, to remove components
}


@dataclass(frozen=True)
class Location:
    """Where a command is: its section, its offset (command number, from 0) in that
    section, the component index it ran for, and a path through nested sequences."""

    section: str
    offset: int
    component_index: int | None
    command: int
    path: str


class ProcessingFailed(ManifestError):
    """The manifest could not be processed to the end.

    Attributes:
        reason: The SUIT report reason.
        detail: What failed.
        location: Where, when a command failed (None for checks before running).
    """

    exit_status = 1

    def __init__(self, reason: ReportReason, detail: str,
                 location: Location | None = None) -> None:
        where = f" at {location.path} (component {location.component_index})" if location else ""
        super().__init__(f"{reason.name.lower().replace('_', '-')}{where}: {detail}",
                         hint="The manifest is not for this device, or its payload differs "
                              "from what it was signed for.")
        self.reason = reason
        self.detail = detail
        self.location = location


class DigestPending:
    """The type of `DIGEST_PENDING`, the only instance; public so that a store's
    `image_digest` can name it and satisfy `ComponentStore` (not a bare `object`)."""

    def __repr__(self) -> str:
        return "DIGEST_PENDING"


#: What a planning store's `image_digest` returns for a payload still to arrive.
DIGEST_PENDING: Final = DigestPending()


@dataclass(frozen=True)
class FetchRequest:
    """A fetch directive with the parameters in effect (M37 §8.4.10.4).

    Attributes:
        component_index: The index in the manifest's components.
        uri: The uri parameter.
        size: The image-size parameter, if set.
        digest: The image-digest parameter, if set.
        fetch_arguments: The fetch-arguments parameter, if set.
        integrated: The payload itself when the uri names an integrated payload (M37 §5.5).
        metadata: The component-metadata parameter's CBOR bytes, if set (UM §4: file type,
            permissions, creator), for devices whose components are files.
    """

    component_index: int
    uri: str
    size: int | None
    digest: Digest | None
    fetch_arguments: bytes | None = None
    integrated: bytes | None = None
    metadata: bytes | None = None


@runtime_checkable
class ComponentStore(Protocol):
    """Everything with effects, supplied by the device. Failures raise a WorkbenchError,
    which the processor reports with the location of the command that caused it.
    Facts a device does not know are None, and conditions on them fail (rule 12)."""

    def supports(self, component_id: ComponentId) -> bool: ...

    def vendor_id(self) -> bytes | None: ...

    def class_id(self) -> bytes | frozenset[bytes] | None:
        """The device's class id; a device with several CPUs may have one class per CPU
        (RFC 9019 §5.5) and answer with all of them (class-identifier matches any)."""
        ...

    def device_id(self) -> bytes | None: ...

    def component_slot(self, component_id: ComponentId) -> int | None: ...

    def image_digest(self, component_id: ComponentId, algorithm: int,
                     size: int | None) -> bytes | DigestPending | None: ...

    def read(self, component_id: ComponentId, size: int) -> bytes | None: ...

    def fetch(self, component_id: ComponentId, request: FetchRequest) -> None: ...

    def fetch_dependency(self, uri: str, max_size: int) -> bytes: ...

    def write(self, component_id: ComponentId, content: bytes, *,
              metadata: bytes | None = None) -> None:
        """directive-write; `metadata` is the component-metadata parameter (UM §4), which
        a store without files ignores."""
        ...

    def copy(self, destination: ComponentId, source: ComponentId, size: int | None) -> None: ...

    def swap(self, first: ComponentId, second: ComponentId) -> None: ...

    def invoke(self, component_id: ComponentId, arguments: bytes | None) -> None: ...

    def unlink(self, component_id: ComponentId) -> None: ...

    def wait(self, wait_info: bytes) -> bool: ...

    def facts(self) -> DeviceFacts: ...


class Decrypter(Protocol):
    """A device that decrypts payloads (FE §6: write and copy with
    suit-parameter-encryption-info in force). Given to `Processor` explicitly: without one,
    a manifest using encryption info is refused before it runs (rule 10).

    Failures raise a WorkbenchError, reported with the location of the directive."""

    def write_decrypted(self, component_id: ComponentId, content: bytes,
                        encryption_info: bytes) -> None:
        """Decrypt the content parameter (ciphertext) into the component."""
        ...

    def copy_decrypted(self, destination: ComponentId, source: ComponentId,
                       size: int | None, encryption_info: bytes) -> None:
        """Decrypt the source component's ciphertext into the destination."""
        ...


@dataclass(frozen=True)
class DeviceFacts:
    """Facts for the update-management conditions (UM §5); None = not known."""

    now: int | None = None  # seconds since the epoch
    battery_mwh: int | None = None
    authorized_priority: int | None = None  # updates with priority <= this are authorised
    versions: dict[ComponentId, tuple[int, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Authenticated:
    """An envelope whose authentication has been verified (the only input `Processor` takes)."""

    envelope: Envelope
    report: VerificationReport


def authenticate(envelope: bytes | Envelope, anchors: Sequence[TrustAnchor], *,
                 max_size: int = DEFAULT_MAX_SIZE,
                 policy: VerificationPolicy = VerificationPolicy.ANY) -> Authenticated:
    """Decode (if bytes) and verify before anything is parsed further (M37 §6.2, §8.3),
    under `policy` (``all``: every anchor must verify a block).

    Raises:
        DecodeError: Not a SUIT envelope.
        VerificationError: Not authentic or not intact (subclasses say why).
        UnsupportedAlgorithm: A digest or signature algorithm the core does not know.
    """
    if not isinstance(envelope, Envelope):
        envelope = decode_envelope(envelope, max_size=max_size)
    return Authenticated(envelope, verify_envelope(envelope, anchors, policy))


@dataclass(frozen=True)
class TraceStep:
    """One command as it ran, for a trace (`suitwb simulate`, the GUI's Simulate panel).

    Attributes:
        location: Where it ran (section, offset, component index, command, path).
        depth: 0 for the manifest itself, 1 and up inside dependencies (TD §5.6.4).
        component: The component id at `location.component_index`, None for commands
            that do not run per component or for a dependency index.
        parameters: The parameters in force for that component after the command ran
            (a copy; empty for commands that do not run per component).
        result: ``passed``, ``failed``, ``deferred`` (a planning store had no image yet) or
            ``nested`` (try-each and run-sequence, traced before what they run).
        detail: Why it failed, else "".
        argument: The command's argument as written: for most commands the reporting
            policy (M37 §8.4.7), which the device's report builder follows.
    """

    location: Location
    depth: int
    component: ComponentId | None
    parameters: dict[int, Any]
    result: str
    detail: str = ""
    argument: Any = None


#: Receives each step as it happens; None (the default) costs one comparison per command.
Tracer = Callable[[TraceStep], None]


@dataclass
class ProcessResult:
    """What a procedure did, for the device and for tests.

    Attributes:
        sections: The sections that ran, in order.
        deferred: Image checks a planning store answered `DIGEST_PENDING` for.
        dependencies: Manifest digests of dependencies processed.
    """

    sections: list[str] = field(default_factory=list)
    deferred: list[Location] = field(default_factory=list)
    dependencies: list[bytes] = field(default_factory=list)


class ManifestRun(Protocol):
    """What the interpreter and its handlers need of the `Processor` running a manifest."""

    envelope: Envelope
    manifest: Manifest
    store: ComponentStore
    decrypter: Decrypter | None
    anchors: tuple[TrustAnchor, ...]
    depth: int
    result: ProcessResult
    dependency_data: dict[int, bytes]
    dependency_verified: dict[int, Authenticated]
    dependency_matched: dict[int, bytes]
    trace: Tracer | None

    @property
    def components(self) -> tuple[ComponentId, ...]: ...

    @property
    def dependency_indices(self) -> frozenset[int]: ...

    @property
    def index_count(self) -> int: ...

    def section(self, section: str) -> CommandSequence | None: ...

    def run_dependency(self, dependency: Authenticated, section: str) -> ProcessResult:
        """Run `section` of a verified dependency with this store, one level deeper."""
        ...


class CommandContext(Protocol):
    """What a per-component handler needs of the interpreter running its command."""

    @property
    def p(self) -> ManifestRun: ...

    @property
    def section(self) -> str: ...

    def param(self, index: int, key: Parameter) -> Any: ...

    def require(self, index: int, key: Parameter, location: Location) -> Any: ...

    def component(self, index: int, location: Location) -> tuple[bytes, ...]: ...

    def fail(self, location: Location, detail: str) -> NoReturn: ...


#: A condition or directive for one selected component index.
Handler = Callable[[CommandContext, int, Any, Location], None]


# --- SUIT_Records of traced commands (draft-ietf-suit-report §4.1), for the device's
# reports and the simulator's --------------------------------------------------------

def record_properties(parameters: Mapping[int, Any]) -> dict[int, Any]:
    """Parameters as SUIT_Parameters for a record: plain CBOR values, digests as
    SUIT_Digest; anything else is left out."""
    properties: dict[int, Any] = {}
    for key, value in parameters.items():
        if isinstance(value, Digest):
            properties[key] = digest_value(value)
        elif isinstance(value, bool | int | bytes | str):
            properties[key] = value
    return properties


def section_key(location: Location) -> int:
    """The manifest member a command is in; the shared sequence is a member of
    suit-common (M37 §8.4.5), whichever section ran it."""
    if location.path.startswith("shared-sequence"):
        return int(ManifestKey.COMMON)
    return int(SECTION_KEYS[location.section])


def record_of(step: TraceStep) -> Record:
    """The SUIT_Record of a traced command. The offset is the command's index in its
    section (our processor's unit; the draft leaves the unit to the implementation)."""
    location = step.location
    return Record((), section_key(location), location.offset, location.component_index or 0,
                  record_properties(step.parameters))
