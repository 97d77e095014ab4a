"""Everything a build needs besides the project: image digests and sizes, dependency
manifests, device ids, the sequence number. Gathered once, before any CBOR is made."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from fileio import FileAccessError, read_limited
from suit.codec import decode_envelope
from suit.encrypt import Setup
from suit.errors import ManifestError
from suit.model import Digest
from workbench.project import values
from workbench.project.errors import BuildError, ImageError, ProjectFileError
from workbench.project.images import ImageInfo, digest_file
from workbench.project.model import Component, Image, Project
from workbench.project.paths import project_file
from workbench.project.validate import validate_project

#: Largest file read whole into a build: integrated payloads and dependency envelopes go
#: into the envelope, which `suitwb lint` reads up to the same size.
MAX_INTEGRATED: Final = 256 * 1024 * 1024


@dataclass(frozen=True)
class DependencyInfo:
    """A dependency manifest as the dependent states it (TD §5.2.2).

    Attributes:
        digest: Its manifest digest (not a digest of its envelope).
        size: Its envelope's size.
        data: The envelope bytes, when known (integrated dependencies need them).
    """

    digest: Digest
    size: int | None
    data: bytes | None = None


@dataclass(frozen=True)
class EncryptedComponent:
    """A component's encrypted payload (FE §4), as the generator and writer need it.

    Attributes:
        info: The SUIT_Encryption_Info bytes (detached ciphertext).
        ciphertext_digest: What the staging component checks before decrypting.
        ciphertext: The ciphertext when held (content, integrated payloads); None for a
            detached image, which `chunks` encrypts again, streaming, when written.
        setup: The CEK, IV and recipients (to encrypt a detached image again).
        source: The plaintext image file of a detached image.
        ciphertext_size: The ciphertext's length (the plaintext's, plus the tag of an AEAD
            mode): the image-size of the staging component that fetches it.
    """

    info: bytes
    ciphertext_digest: Digest
    ciphertext: bytes | None = None
    setup: Setup | None = None
    source: Path | None = None
    ciphertext_size: int | None = None


@dataclass(frozen=True)
class Resolved:
    """A project's values, resolved for one build."""

    vendor_id: bytes | None
    class_id: bytes | None
    images: dict[str, ImageInfo]
    slots: dict[str, list[ImageInfo]]
    dependencies: dict[str, DependencyInfo]
    sequence_number: int
    sequence_source: str
    payloads: dict[str, bytes] = field(default_factory=dict)
    encrypted: dict[str, EncryptedComponent] = field(default_factory=dict)


#: Builds a dependency project (with the dependent's signers) and returns its envelope.
DependencyBuilder = Callable[[Path], bytes]


def resolve(project: Project, build_dependency: DependencyBuilder,
            sequence_number: int | None = None, environ: Mapping[str, str] | None = None,
            clock: Callable[[], float] = time.time) -> Resolved:
    """Resolve `project` for a build.

    Raises:
        ImageError: an image file cannot be read.
        BuildError / ProjectFileError: a member that is invalid or cannot be resolved.
    """
    validate_project(project)
    algorithm = values.DIGEST_NAMES.get(project.digest_algorithm)
    if algorithm is None:
        raise ProjectFileError("digest-algorithm", f"unknown {project.digest_algorithm!r}")
    images = {c.name: _image(project, c.image, algorithm, f"component[{i}].image")
              for i, c in enumerate(project.components) if c.image is not None}
    slots = {c.name: [_image(project, s.image, algorithm, f"component[{i}].slot[{k}].image")
                      for k, s in enumerate(c.slots)]
             for i, c in enumerate(project.components) if c.slots}
    vendor, klass = device_ids(project)
    number, source = sequence(project, sequence_number, environ, clock)
    return Resolved(vendor, klass, images, slots,
                    {d.name: _dependency(project, i, build_dependency)
                     for i, d in enumerate(project.dependencies)},
                    number, source, _payloads(project))


def device_ids(project: Project) -> tuple[bytes | None, bytes | None]:
    """The vendor and class ids: as given, or UUID5-derived (M37 Appendix B).

    Raises:
        ProjectFileError: a given id that disagrees with the one its domain or model derives.
    """
    device = project.device
    vendor = values.parse_uuid(device.vendor_id, "device.vendor-id") if device.vendor_id else None
    if device.vendor_domain:
        derived = values.vendor_uuid(device.vendor_domain).bytes
        _agree(vendor, derived, "device.vendor-id", "UUID5(DNS, vendor-domain)")
        vendor = derived
    klass = values.parse_uuid(device.class_id, "device.class-id") if device.class_id else None
    if device.model:
        if vendor is None:
            raise ProjectFileError("device.model", "a class id derives from the vendor id",
                                   hint="Give device.vendor-domain or device.vendor-id too.")
        derived = values.class_uuid(uuid.UUID(bytes=vendor), device.model).bytes
        _agree(klass, derived, "device.class-id", "UUID5(vendor-id, model)")
        klass = derived
    return vendor, klass


def _agree(given: bytes | None, derived: bytes, where: str, rule: str) -> None:
    if given is not None and given != derived:
        raise ProjectFileError(where, f"{uuid.UUID(bytes=given)} is not {rule} = "
                               f"{uuid.UUID(bytes=derived)}",
                               hint="Remove the id to derive it, or fix the domain or model.")


def sequence(project: Project, override: int | None, environ: Mapping[str, str] | None,
             clock: Callable[[], float]) -> tuple[int, str]:
    """The sequence number and where it came from.

    ``"utc"`` takes SOURCE_DATE_EPOCH when set (reproducible builds), else the clock:
    only the first keeps builds deterministic (docs/project-format.md).
    """
    if override is not None:
        return values.check_uint64(override, "--sequence-number"), "option"
    number = project.sequence_number
    if isinstance(number, int):
        if number < 0:
            raise ProjectFileError("sequence-number", "must not be negative")
        return number, "project"
    if number != "utc":
        raise ProjectFileError("sequence-number", f"expected a number or \"utc\", found {number!r}")
    env = os.environ if environ is None else environ
    if "SOURCE_DATE_EPOCH" in env:
        try:
            epoch = int(env["SOURCE_DATE_EPOCH"])
        except ValueError as exc:
            raise BuildError("SOURCE_DATE_EPOCH", "not a whole number of seconds") from exc
        return values.check_uint64(epoch, "SOURCE_DATE_EPOCH"), "SOURCE_DATE_EPOCH"
    return int(clock()), "clock"


def _image(project: Project, image: Image, algorithm: int, where: str) -> ImageInfo:
    if image.file is not None:
        info = digest_file(project_file(project, image.file, f"{where}.file"), algorithm)
        if image.digest is not None and values.parse_digest(image.digest, where) != info.digest:
            raise BuildError(where, f"{image.file} does not have the stated digest",
                             hint="Remove the stated digest or rebuild the image.")
        return info
    if image.digest is None or image.size is None:
        raise ProjectFileError(where, "give a file, or a digest and a size")
    return ImageInfo(values.parse_digest(image.digest, f"{where}.digest"), image.size)


def _dependency(project: Project, index: int, build: DependencyBuilder) -> DependencyInfo:
    dep, where = project.dependencies[index], f"dependency[{index}]"
    data: bytes | None = None
    if dep.project is not None:
        data = build(project_file(project, dep.project, f"{where}.project"))
    elif dep.envelope is not None:
        data = _read(project_file(project, dep.envelope, f"{where}.envelope"))
    where = f"{where} ({dep.name})"
    if data is None:
        if dep.digest is None:
            raise ProjectFileError(where, "give an envelope, a project, or a digest and a size")
        return DependencyInfo(values.parse_digest(dep.digest, f"{where}.digest"), dep.size)
    try:
        stated = decode_envelope(data).authentication.digest
    except ManifestError as exc:
        raise BuildError(where, f"not a SUIT envelope: {exc}") from exc
    digest = Digest(stated.algorithm, stated.value, stated.extensions)  # without its source
    return DependencyInfo(digest, len(data), data)


def read_payload(project: Project, name: str, where: str) -> bytes:
    """An image file read whole (it goes into the envelope, or is encrypted)."""
    return _read(project_file(project, name, where))


def _payloads(project: Project) -> dict[str, bytes]:
    """Integrated payloads (M37 §5.5): read whole, as they go into the envelope."""
    return {f"#{c.name}": _read(project_file(project, c.image.file, f"component[{i}].image.file"))
            for i, c in enumerate(project.components) if c.integrated and c.image and c.image.file}


def _read(path: Path) -> bytes:
    try:
        return read_limited(path, MAX_INTEGRATED, regular_only=True)
    except FileAccessError as exc:
        raise ImageError(str(path), exc.problem, hint=exc.hint) from exc


def component_uri(component: Component) -> str | None:
    """Where the device fetches the component's image: ``#name`` when integrated."""
    return f"#{component.name}" if component.integrated else component.uri
