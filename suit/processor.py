"""The SUIT manifest processor: the interpreter a device runs (M37 §6, TD §5-7, UM §5).

The processor owns the format's logic and nothing with effects: every fetch, write, copy,
swap, invoke, image digest and device fact goes through a `ComponentStore` the device
supplies. It runs an authenticated manifest only (`authenticate` first, M37 §6.2 and
SUIT-FACTS §10 rule 2), checks that every command, parameter and component is supported
before running anything (rules 6, 10, 20), then runs a procedure:

- Update: dependency-resolution, payload-fetch, candidate-verification, install (TD §7);
- Invocation: validate, load, invoke (M37 §8.4.6).

The shared sequence runs before each sequence with fresh parameter storage (rule 9).
A failure says where: the section, the command's offset in it, the component index.

A device that receives payloads after the manifest (manifest first, RFC 9019 §3) runs the
Update procedure twice: first with a *planning* store whose `image_digest` answers
`DIGEST_PENDING` for components it has not received yet (the checks are deferred and
listed in the result), then, with the payloads stored, with its real store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final, Protocol

from suit.codec import DEFAULT_MAX_SIZE, decode_envelope, severed_member_content
from suit.errors import ManifestError
from suit.keys import TrustAnchor
from suit.model import (
    CommandSequence,
    ComponentId,
    Digest,
    Envelope,
    ManifestKey,
)
from suit.report import ReportReason
from suit.verify import VerificationReport, verify_envelope


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
}
_ATTRIBUTES: Final = {name: name.replace("-", "_") for name in SECTION_KEYS}


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


class _Pending:
    def __repr__(self) -> str:
        return "DIGEST_PENDING"


#: What a planning store's `image_digest` returns for a payload still to arrive.
DIGEST_PENDING: Final = _Pending()


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
    """

    component_index: int
    uri: str
    size: int | None
    digest: Digest | None
    fetch_arguments: bytes | None = None
    integrated: bytes | None = None


class ComponentStore(Protocol):
    """Everything with effects, supplied by the device. Failures raise a WorkbenchError,
    which the processor reports with the location of the command that caused it.
    Facts a device does not know are None, and conditions on them fail (rule 12)."""

    def supports(self, component_id: ComponentId) -> bool: ...

    def vendor_id(self) -> bytes | None: ...

    def class_id(self) -> bytes | None: ...

    def device_id(self) -> bytes | None: ...

    def component_slot(self, component_id: ComponentId) -> int | None: ...

    def image_digest(self, component_id: ComponentId, algorithm: int,
                     size: int | None) -> bytes | _Pending | None: ...

    def read(self, component_id: ComponentId, size: int) -> bytes | None: ...

    def fetch(self, component_id: ComponentId, request: FetchRequest) -> None: ...

    def fetch_dependency(self, uri: str, max_size: int) -> bytes: ...

    def write(self, component_id: ComponentId, content: bytes) -> None: ...

    def copy(self, destination: ComponentId, source: ComponentId, size: int | None) -> None: ...

    def swap(self, first: ComponentId, second: ComponentId) -> None: ...

    def invoke(self, component_id: ComponentId, arguments: bytes | None) -> None: ...

    def unlink(self, component_id: ComponentId) -> None: ...

    def wait(self, wait_info: bytes) -> bool: ...

    def facts(self) -> DeviceFacts: ...


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
                 max_size: int = DEFAULT_MAX_SIZE) -> Authenticated:
    """Decode (if bytes) and verify before anything is parsed further (M37 §6.2, §8.3).

    Raises:
        DecodeError: Not a SUIT envelope.
        VerificationError: Not authentic or not intact (subclasses say why).
        UnsupportedAlgorithm: A digest or signature algorithm the core does not know.
    """
    if not isinstance(envelope, Envelope):
        envelope = decode_envelope(envelope, max_size=max_size)
    return Authenticated(envelope, verify_envelope(envelope, anchors))


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


class Processor:
    """Runs the procedures of one authenticated manifest against a store.

    Args:
        authenticated: The result of `authenticate`.
        store: The device's effects and facts.
        anchors: Trust anchors for dependencies (dependency-integrity, TD §5.6.1).
        depth: Nesting of dependencies (limited to stop a loop of manifests).

    Raises:
        ProcessingFailed: The manifest version is not 1, or it uses a command, parameter
            or component the processor or the store does not support.
    """

    MAX_DEPTH: Final = 4

    def __init__(self, authenticated: Authenticated, store: ComponentStore,
                 anchors: Sequence[TrustAnchor], *, depth: int = 0) -> None:
        from suit.processor_commands import check_supported
        self.envelope = authenticated.envelope
        self.manifest = authenticated.envelope.manifest
        self.store = store
        self.anchors = tuple(anchors)
        self.depth = depth
        self.result = ProcessResult()
        self.dependency_data: dict[int, bytes] = {}
        self.dependency_verified: dict[int, Authenticated] = {}
        self.dependency_matched: dict[int, bytes] = {}
        if self.manifest.manifest_version != 1:
            raise ProcessingFailed(ReportReason.CBOR_PARSE,
                                   f"manifest-version {self.manifest.manifest_version}, not 1 "
                                   "(M37 §6.1)")
        check_supported(self)

    @property
    def components(self) -> tuple[ComponentId, ...]:
        """The manifest's components, by index."""
        return self.manifest.common.components

    @property
    def dependency_indices(self) -> frozenset[int]:
        """Indices that name dependencies (TD §5.2.2; they follow the components)."""
        return frozenset(self.manifest.common.dependencies)

    @property
    def index_count(self) -> int:
        """How many indices are valid: components plus dependencies."""
        return max([len(self.components) - 1, *self.dependency_indices]) + 1

    def run(self, procedure: Procedure) -> ProcessResult:
        """Run every section of `procedure` the manifest has, in order."""
        for section in procedure.value:
            self.run_section(section)
        return self.result

    def run_shared(self) -> None:
        """Run the shared sequence alone: its vendor and class checks (M37 §6.2) say
        whether the manifest is for this device before any procedure runs."""
        from suit.processor_commands import Interpreter
        shared = self.manifest.common.shared_sequence
        if shared is not None:
            Interpreter(self, "shared-sequence").run_top(shared, "shared-sequence")

    def run_section(self, section: str) -> bool:
        """Run the shared sequence, then `section` if present; whether it was present."""
        from suit.processor_commands import Interpreter
        sequence = self.section(section)
        if sequence is None:
            return False
        interpreter = Interpreter(self, section)
        shared = self.manifest.common.shared_sequence
        if shared is not None:
            interpreter.run_top(shared, "shared-sequence")
        interpreter.run_top(sequence, section)
        self.result.sections.append(section)
        return True

    def section(self, section: str) -> CommandSequence | None:
        """The command sequence of `section`, taken from the envelope when severed.

        Raises:
            ProcessingFailed: The member is severed and the envelope does not carry it.
        """
        value: Any = getattr(self.manifest, _ATTRIBUTES[section])
        if isinstance(value, Digest):
            key = int(SECTION_KEYS[section])
            if key not in self.envelope.severed:
                raise ProcessingFailed(ReportReason.OPERATION_FAILED,
                                       f"{section} is severed and the envelope does not "
                                       "carry it (M37 §8.4.12)")
            value = severed_member_content(self.envelope, key)
        return value
