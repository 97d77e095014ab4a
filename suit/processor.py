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
from typing import Any, Final

from suit.codec import severed_member_content
from suit.keys import TrustAnchor
from suit.model import CommandSequence, ComponentId, Digest
from suit.processor_commands import Interpreter, check_supported
from suit.processor_model import (
    DIGEST_PENDING,
    MAX_DEPENDENCY_DEPTH,
    SECTION_KEYS,
    Authenticated,
    ComponentStore,
    Decrypter,
    DeviceFacts,
    DigestPending,
    FetchRequest,
    Location,
    Procedure,
    ProcessingFailed,
    ProcessResult,
    Tracer,
    TraceStep,
    authenticate,
)
from suit.report import ReportReason

_ATTRIBUTES: Final = {name: name.replace("-", "_") for name in SECTION_KEYS}


class Processor:
    """Runs the procedures of one authenticated manifest against a store.

    Args:
        authenticated: The result of `authenticate`.
        store: The device's effects and facts.
        anchors: Trust anchors for dependencies (dependency-integrity, TD §5.6.1).
        depth: Nesting of dependencies (limited to stop a loop of manifests).
        trace: Called with each command as it runs (its dependencies' too); None to not
            trace.
        decrypter: The device's payload decryption (FE §6); None: encryption info is
            refused.

    Raises:
        ProcessingFailed: The manifest version is not 1, or it uses a command, parameter
            or component the processor or the store does not support.
    """

    MAX_DEPTH: Final = MAX_DEPENDENCY_DEPTH

    def __init__(self, authenticated: Authenticated, store: ComponentStore,
                 anchors: Sequence[TrustAnchor], *, depth: int = 0,
                 trace: Tracer | None = None, decrypter: Decrypter | None = None) -> None:
        self.envelope = authenticated.envelope
        self.manifest = authenticated.envelope.manifest
        self.store = store
        self.decrypter = decrypter
        self.anchors = tuple(anchors)
        self.depth = depth
        self.trace = trace
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
        shared = self.manifest.common.shared_sequence
        if shared is not None:
            Interpreter(self, "shared-sequence").run_top(shared, "shared-sequence")

    def run_section(self, section: str) -> bool:
        """Run the shared sequence, then `section` if present; whether it was present."""
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

    def run_dependency(self, dependency: Authenticated, section: str) -> ProcessResult:
        """Run `section` of a verified dependency with this store, one level deeper
        (TD §5.6.4: process-dependency)."""
        nested = Processor(dependency, self.store, self.anchors, depth=self.depth + 1,
                           trace=self.trace, decrypter=self.decrypter)
        nested.run_section(section)
        return nested.result

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
        sequence: CommandSequence | None = value
        return sequence


__all__ = ["DIGEST_PENDING", "Authenticated", "ComponentStore", "Decrypter", "DeviceFacts",
           "DigestPending", "FetchRequest", "Location", "ProcessResult", "ProcessingFailed", "Procedure",
           "Processor", "ReportReason", "TraceStep", "Tracer", "authenticate"]
