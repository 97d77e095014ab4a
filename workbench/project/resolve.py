"""Everything a build needs besides the project: image digests and sizes, dependency
manifests, device ids, the sequence number. Gathered once, before any CBOR is made."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path


from suit.codec import decode_envelope
from suit.errors import ManifestError
from suit.model import Digest
from workbench.project import values
from workbench.project.errors import BuildError, ImageError, ProjectFileError
from workbench.project.images import ImageInfo, digest_file
from workbench.project.model import Component, Dependency, Image, Project


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


#: Builds a dependency project (with the dependent's signers) and returns its envelope.
DependencyBuilder = Callable[[Path], bytes]


def resolve(project: Project, build_dependency: DependencyBuilder,
            sequence_number: int | None = None, environ: Mapping[str, str] | None = None,
            clock: Callable[[], float] = time.time) -> Resolved:
    """Resolve `project` for a build.

    Raises:
        ImageError: an image file cannot be read.
        BuildError / ProjectFileError: a member that cannot be resolved.
    """
    algorithm = values.DIGEST_NAMES.get(project.digest_algorithm)
    if algorithm is None:
        raise ProjectFileError("digest-algorithm", f"unknown {project.digest_algorithm!r}")
    images = {c.name: _image(project, c.image, algorithm, f"component {c.name}")
              for c in project.components if c.image is not None}
    slots = {c.name: [_image(project, s.image, algorithm, f"component {c.name} slot {k}")
                      for k, s in enumerate(c.slots)] for c in project.components if c.slots}
    vendor, klass = device_ids(project)
    number, source = sequence(project, sequence_number, environ, clock)
    return Resolved(vendor, klass, images, slots,
                    {d.name: _dependency(project, d, build_dependency) for d in project.dependencies},
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
        return override, "option"
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
            return int(env["SOURCE_DATE_EPOCH"]), "SOURCE_DATE_EPOCH"
        except ValueError as exc:
            raise BuildError("SOURCE_DATE_EPOCH", "not a whole number of seconds") from exc
    return int(clock()), "clock"


def _image(project: Project, image: Image, algorithm: int, where: str) -> ImageInfo:
    if image.file is not None:
        info = digest_file(project.folder / image.file, algorithm)
        if image.digest is not None and values.parse_digest(image.digest, where) != info.digest:
            raise BuildError(where, f"{image.file} does not have the stated digest",
                             hint="Remove the stated digest or rebuild the image.")
        return info
    if image.digest is None or image.size is None:
        raise ProjectFileError(f"{where} image", "give a file, or a digest and a size")
    return ImageInfo(values.parse_digest(image.digest, f"{where} image.digest"), image.size)


def _dependency(project: Project, dep: Dependency, build: DependencyBuilder) -> DependencyInfo:
    where = f"dependency {dep.name}"
    data: bytes | None = None
    if dep.project is not None:
        data = build(project.folder / dep.project)
    elif dep.envelope is not None:
        data = _read(project.folder / dep.envelope)
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


def _payloads(project: Project) -> dict[str, bytes]:
    """Integrated payloads (M37 §5.5): read whole, as they go into the envelope."""
    return {f"#{c.name}": _read(project.folder / c.image.file)
            for c in project.components if c.integrated and c.image and c.image.file}


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ImageError(str(path), f"cannot read: {exc.strerror or exc}") from exc


def component_uri(component: Component) -> str | None:
    """Where the device fetches the component's image: ``#name`` when integrated."""
    return f"#{component.name}" if component.integrated else component.uri
