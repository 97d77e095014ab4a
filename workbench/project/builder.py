"""Project -> SUIT envelope (M37 §8): deterministic, optionally signed, written atomically.

The same project and images give the same manifest bytes on every run and machine: the
format core encodes deterministically (RFC 8949 §4.2.1), nothing reads the clock unless
the project asks for a ``"utc"`` sequence number without SOURCE_DATE_EPOCH, and file
order never matters (components and commands keep the project's order).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from signing.audit import SigningAuditLog, new_record
from signing.envelope import SignedEnvelope, sign_envelope
from signing.mcuboot import McubootImage
from signing.signer import Signer
from suit import cbor
from suit.codec import decode_envelope, encode_envelope, encode_manifest, encode_severable
from suit.cose import algorithm_name
from suit.digest import digest_of
from suit.model import (
    AuthenticationWrapper,
    CommandSequence,
    Common,
    Envelope,
    EnvelopeKey,
    LanguageText,
    Manifest,
    TextComponentKey,
    TextKey,
    TextMap,
)
from suit.model import (
    Dependency as SuitDependency,
)
from suit.verify import manifest_bstr
from workbench.project import values
from workbench.project.encryption import (
    EncryptionOptions,
    check_signers,
    detached_chunks,
    encrypt_components,
    project_profile,
)
from workbench.project.errors import BuildError
from workbench.project.explicit import ExplicitSequences
from workbench.project.generate import Generator
from workbench.project.mcuboot import McubootSigning, build_images, with_images, write_images
from workbench.project.model import COMPONENT_TEXT_FIELDS, SEQUENCE_NAMES, SEVERABLE_NAMES, Project
from workbench.project.projectfile import load_project, write_atomic
from workbench.project.resolve import EncryptedComponent, Resolved, resolve

logger = logging.getLogger(__name__)

_TEXT_KEYS: Final = dict(zip(COMPONENT_TEXT_FIELDS, (
    TextComponentKey.VENDOR_NAME, TextComponentKey.MODEL_NAME, TextComponentKey.VENDOR_DOMAIN,
    TextComponentKey.MODEL_INFO, TextComponentKey.COMPONENT_DESCRIPTION,
    TextComponentKey.COMPONENT_VERSION), strict=True))
_ATTRIBUTES: Final = {name: name.replace("-", "_") for name in SEQUENCE_NAMES if name != "shared"}
_ENVELOPE_KEYS: Final = {"dependency-resolution": EnvelopeKey.DEPENDENCY_RESOLUTION,
                         "payload-fetch": EnvelopeKey.PAYLOAD_FETCH,
                         "candidate-verification": EnvelopeKey.CANDIDATE_VERIFICATION,
                         "install": EnvelopeKey.INSTALL, "text": EnvelopeKey.TEXT}
_MAX_DEPTH: Final = 8


@dataclass(frozen=True)
class BuildOptions:
    """How to build.

    Attributes:
        signers: Each adds one authentication block, to this envelope and to every
            dependency built from a project.
        sequence_number: Overrides the project's sequence number.
        environ: Where SOURCE_DATE_EPOCH is looked up (default: os.environ).
        clock: The clock a ``"utc"`` sequence number falls back to.
        mcuboot: Sign MCUboot images with their keys; None: SHA-256 TLV only (lint,
            previews).
        encryption: PINs for token-held KEKs, and the randomness seam of encrypted
            components (workbench.project.encryption).
    """

    signers: Sequence[Signer] = ()
    sequence_number: int | None = None
    environ: Mapping[str, str] | None = None
    clock: Callable[[], float] = time.time
    mcuboot: McubootSigning | None = None
    encryption: EncryptionOptions = field(default_factory=EncryptionOptions)


@dataclass(frozen=True)
class BuildResult:
    """A built envelope.

    Attributes:
        envelope: The envelope, decoded back from `data` when signed.
        data: The envelope bytes.
        manifest: The manifest bytes (what the manifest digest covers, bstr-wrapped).
        sequence_source: ``project``, ``option``, ``SOURCE_DATE_EPOCH`` or ``clock``.
        dependencies: Envelopes built from dependency projects, by dependency name.
        mcuboot_images: The MCUboot images the manifest describes, by component name.
        encrypted_payloads: Detached encrypted images, by component name: written (encrypted
            again, streaming, with the same key and IV) to `encrypted_path` beside the
            envelope; the device fetches them from the component's uri.
    """

    envelope: Envelope
    data: bytes
    manifest: bytes
    sequence_source: str
    dependencies: dict[str, bytes] = field(default_factory=dict)
    signatures: tuple[SignedEnvelope, ...] = ()
    mcuboot_images: dict[str, McubootImage] = field(default_factory=dict)
    encrypted_payloads: dict[str, EncryptedComponent] = field(default_factory=dict)

    @property
    def signed_mcuboot_images(self) -> int:
        """How many MCUboot images carry a signature (each one is recorded when written)."""
        return sum(1 for image in self.mcuboot_images.values() if image.identity is not None)

    @property
    def manifest_digest(self) -> bytes:
        return self.envelope.authentication.digest.value


def build_manifest(project: Project, resolved: Resolved) -> Manifest:
    """The manifest a project describes, every member inline (severing comes after)."""
    if not project.components:
        raise BuildError("component", "a manifest needs at least one component (M37 §8.4.5)",
                         hint="Add a [[component]] table.")
    _check_references(project)
    generator, explicit = Generator(project, resolved), ExplicitSequences(resolved)

    def sequence(name: str, generate: Callable[[], CommandSequence | None]) -> CommandSequence | None:
        if name in project.sequences:
            items = project.sequences[name]
            return explicit.sequence(items, f"sequences.{name}") if items else None
        return generate()

    common = Common(
        components=tuple(values.parse_component_id(c.id, f"component {c.name}.id")
                         for c in project.components),
        dependencies={project.component_index(d.name): SuitDependency(
            values.parse_component_id(d.prefix, f"dependency {d.name}.prefix"))
            for d in project.dependencies},
        shared_sequence=sequence("shared", generator.shared))
    members: dict[str, Any] = {attr: sequence(name, getattr(generator, attr, lambda: None))
                               for name, attr in _ATTRIBUTES.items()}
    return Manifest(
        sequence_number=resolved.sequence_number, common=common,
        reference_uri=project.reference_uri,
        manifest_component_id=None if project.manifest_component_id is None else
        values.parse_component_id(project.manifest_component_id, "manifest-component-id"),
        text=_text(project), **members)


def _check_references(project: Project) -> None:
    names = [c.name for c in project.components] + [d.name for d in project.dependencies]
    if len(set(names)) != len(names):
        raise BuildError("component", "two components or dependencies share a name")
    for c in project.components:
        for attr in ("staging", "load_from"):
            target = getattr(c, attr)
            if target is not None and target not in names:
                raise BuildError(f"component {c.name}.{attr.replace('_', '-')}",
                                 f"no component called {target!r}")
    for name in [*project.severable, *project.sequences]:
        if name not in SEVERABLE_NAMES and name not in SEQUENCE_NAMES:
            raise BuildError(name, "not a severable member or command sequence")


def _text(project: Project) -> TextMap | None:
    fields: dict[int, str] = {k: v for k, v in ((TextKey.MANIFEST_DESCRIPTION, project.description),
                                (TextKey.UPDATE_DESCRIPTION, project.update_description)) if v}
    components = {}
    for c in project.components:
        unknown = set(c.text) - set(_TEXT_KEYS)
        if unknown:
            raise BuildError(f"component {c.name}.text", f"unknown text {sorted(unknown)}",
                             hint="Use " + ", ".join(COMPONENT_TEXT_FIELDS) + ".")
        if c.text:
            cid = values.parse_component_id(c.id, f"component {c.name}.id")
            components[cid] = {int(_TEXT_KEYS[k]): v for k, v in c.text.items()}
    if not fields and not components:
        return None
    return TextMap({project.language: LanguageText(fields, components)})


def sever(manifest: Manifest, names: Sequence[str]) -> tuple[Manifest, dict[int, bytes]]:
    """Move the named members out: a SUIT_Digest stays in the manifest (M37 §8.4.12)."""
    severed: dict[int, bytes] = {}
    changes: dict[str, Any] = {}
    for name in names:
        attr = name.replace("-", "_")
        member = getattr(manifest, attr)
        if member is None:
            continue
        content = encode_severable(member)
        # The digest covers the bstr-wrapped member, header included, as auth[0] does.
        changes[attr] = digest_of(cbor.dumps(content))
        severed[int(_ENVELOPE_KEYS[name])] = content
    return dataclasses.replace(manifest, **changes), severed


def build_project(project: Project, options: BuildOptions = BuildOptions(),
                  _depth: int = 0) -> BuildResult:
    """Build (and sign) the envelope a project describes.

    Raises:
        ProjectError: the project cannot be built (its subclasses say why).
        SigningError: a signer failed.
    """
    if _depth > _MAX_DEPTH:
        raise BuildError("dependency", "dependency projects nest too deep (a cycle?)")
    built: dict[str, bytes] = {}

    def build_dependency(path: Path) -> bytes:
        result = build_project(load_project(path), dataclasses.replace(options, sequence_number=None),
                               _depth + 1)
        built[str(path)] = result.data
        return result.data

    resolved = resolve(project, build_dependency, options.sequence_number, options.environ,
                       options.clock)
    # The manifest describes the MCUboot image, not the raw binary it was made from.
    if _depth and any(c.mcuboot is not None for c in project.components):
        # Its image would be built (and maybe signed) but never written nor recorded.
        raise BuildError("dependency", f"{project.name}: a dependency project with MCUboot "
                         "components", hint="Build that project on its own and depend on "
                         "its envelope (envelope = \"....suit\").")
    mcuboot = build_images(project, options.mcuboot)
    resolved = with_images(project, resolved, mcuboot)
    check_signers(project_profile(project), options.signers)
    with ExitStack() as recipients:  # token sessions of KEKs close once wrapped
        resolved = encrypt_components(project, resolved, recipients, options.encryption)
    manifest, severed = sever(build_manifest(project, resolved), project.severable)
    envelope = Envelope(AuthenticationWrapper(digest_of(manifest_bstr(manifest))), manifest,
                        severed=severed, integrated=_integrated(project, resolved))
    data = encode_envelope(envelope)
    signatures: tuple[SignedEnvelope, ...] = ()
    if options.signers:
        data, signatures = sign(data, options.signers)
        envelope = decode_envelope(data)
    logger.info("built %s: sequence number %d (%s), %d bytes, %d signature(s)", project.name,
                manifest.sequence_number, resolved.sequence_source, len(data), len(signatures))
    detached = {name: e for name, e in resolved.encrypted.items() if e.ciphertext is None}
    return BuildResult(envelope, data, encode_manifest(manifest), resolved.sequence_source, built,
                       signatures, mcuboot, detached)


def encrypted_path(envelope: Path, component: str) -> Path:
    """Where a build writes a component's detached ciphertext: ``<stem>.<name>.enc`` beside
    the envelope, to be served at the component's uri."""
    return envelope.with_name(f"{envelope.stem}.{component}.enc")


def _integrated(project: Project, resolved: Resolved) -> dict[str, bytes]:
    out = dict(resolved.payloads)
    for dep in project.dependencies:
        info = resolved.dependencies[dep.name]
        if dep.integrated:
            if info.data is None:
                raise BuildError(f"dependency {dep.name}", "integrated, but no envelope given",
                                 hint="Give envelope = \"file.suit\" or project = \"dir/project.toml\".")
            out[f"#{dep.name}"] = info.data
    return out


def sign(data: bytes, signers: Sequence[Signer]) -> tuple[bytes, tuple[SignedEnvelope, ...]]:
    """Add one authentication block per signer (signing.envelope; M37 §8.3)."""
    signed = []
    for signer in signers:
        result = sign_envelope(decode_envelope(data), signer)
        signed.append(result)
        data = result.data
    return data, tuple(signed)


def write_envelope(result: BuildResult, path: Path, audit: SigningAuditLog | None = None,
                   protect: Sequence[Path] = ()) -> None:
    """Record each signature in the audit log, then write the envelope atomically; the
    MCUboot images go first, beside it (`workbench.project.mcuboot.image_path`).

    `protect` names the build's inputs, which the output must not replace (check them
    with `fileio.check_output` before signing, too: a refused output after signing leaves
    a recorded signature with no file).

    The order follows `workbench.signing`: a signature that was made is recorded even if
    the output cannot be written; no output appears unless its signatures are recorded.
    """
    write_images(result.mcuboot_images, Path(path), audit,
                 result.envelope.manifest.sequence_number, protect)
    for name, encrypted in result.encrypted_payloads.items():
        write_atomic(encrypted_path(Path(path), name), detached_chunks(encrypted), protect)
    if audit is not None:
        manifest = result.envelope.manifest
        for signed in result.signatures:
            identity = signed.identity
            audit.append(new_record(
                key_reference=identity.key_reference, kid=identity.kid,
                algorithm=algorithm_name(identity.algorithm.algorithm),
                manifest_digest=result.manifest_digest,
                sequence_number=manifest.sequence_number, output_path=str(Path(path).resolve()),
                output=result.data))
    write_atomic(path, result.data, protect)
