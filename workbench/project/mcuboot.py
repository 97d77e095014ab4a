"""Components that are MCUboot images (issue 13; docs/project-format.md, "MCUboot images").

A component with a ``[component.mcuboot]`` table has its raw binary turned into an
MCUboot image at build (`signing.mcuboot`); the SUIT manifest then states that image's
digest and size, an integrated payload is that image, and the build writes it beside the
envelope. The image is signed when a key is named (the table's ``key`` or the build's
``--mcuboot-key``) and the build is asked to sign (`McubootSigning`); each such signature
is recorded in the signing audit log like a SUIT signature.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from fileio import FileAccessError, read_limited
from signing.audit import SigningAuditLog, new_record
from signing.backends import open_signer
from signing.keyref import FileKeyRef, KeyRef, parse_key_reference
from signing.mcuboot import (
    McubootError,
    McubootImage,
    McubootOptions,
    check_options,
    make_image,
)
from signing.pin import PinProvider
from suit.digest import digest_of
from workbench.project import values
from workbench.project.errors import ImageError, ProjectFileError
from workbench.project.images import ImageInfo
from workbench.project.model import Component, Mcuboot, Project
from workbench.project.paths import project_file
from workbench.project.projectfile import write_atomic

if TYPE_CHECKING:  # resolve -> validate -> this module: the type only
    from workbench.project.resolve import Resolved

logger = logging.getLogger(__name__)

#: Largest raw binary made into an MCUboot image: MCU slots are KiB to a few MiB.
MAX_MCUBOOT_IMAGE: Final = 64 * 1024 * 1024
#: What the audit log calls an MCUboot signature, by imgtool's signature type.
AUDIT_ALGORITHM: Final = "MCUboot {}"


@dataclass(frozen=True)
class McubootSigning:
    """A build that signs MCUboot images (`BuildOptions.mcuboot`).

    Without one, MCUboot images are built with their SHA-256 TLV only (lint and previews
    never open a key).

    Attributes:
        key: Signs every MCUboot image, over the project's ``key`` (``--mcuboot-key``);
            a relative path starts at the current directory.
        pins: Asked for a token PIN or key passphrase.
    """

    key: str | None = None
    pins: PinProvider | None = None


def options_of(mcuboot: Mcuboot, where: str) -> McubootOptions:
    """The image options a project's table states, checked.

    Raises:
        ProjectFileError: an invalid option, named by its TOML path.
    """
    fields = {f.name: getattr(mcuboot, f.name) for f in dataclasses.fields(McubootOptions)}
    options = McubootOptions(**fields)
    try:
        check_options(options)
    except McubootError as exc:
        raise ProjectFileError(f"{where}.{exc.option}", exc.problem, hint=exc.hint) from exc
    return options


def check_component(component: Component, where: str) -> None:
    """An MCUboot component needs one image file (not slots, not content) and valid options."""
    if component.mcuboot is None:
        return
    if component.image is None or component.image.file is None or component.slots:
        raise ProjectFileError(f"{where}.mcuboot", "needs image = { file = \"...\" } (the raw "
                               "binary), without slots", hint="Name the raw binary in image.file.")
    if component.image.digest is not None or component.image.size is not None:
        raise ProjectFileError(f"{where}.image", "an MCUboot component's digest and size are "
                               "the built image's", hint="Remove digest and size.")
    if component.mcuboot.key == "":
        raise ProjectFileError(f"{where}.mcuboot.key", "empty", hint="Remove it or name a key.")
    options_of(component.mcuboot, f"{where}.mcuboot")


def key_files(project: Project) -> list[Path]:
    """The key files MCUboot tables name (a build's output must not replace them)."""
    return [ref.path for ref in (_project_key(project, c) for c in project.components)
            if isinstance(ref, FileKeyRef)]


def _project_key(project: Project, component: Component) -> KeyRef | None:
    if component.mcuboot is None or not component.mcuboot.key:
        return None
    ref = parse_key_reference(component.mcuboot.key)
    # Keys usually live outside the project (they never go into the envelope): a
    # relative path starts at the project folder, as image paths do.
    return FileKeyRef(project.folder / ref.path) if isinstance(ref, FileKeyRef) else ref


def build_images(project: Project, signing: McubootSigning | None) -> dict[str, McubootImage]:
    """Build every MCUboot component's image, by component name.

    Raises:
        ImageError: a raw binary cannot be read.
        ProjectFileError / McubootError: invalid options, an image too large for its slot.
        SigningError: a key cannot be opened or cannot sign.
    """
    images = {}
    for index, component in enumerate(project.components):
        if component.mcuboot is not None:
            images[component.name] = _build(project, index, signing)
    return images


def _build(project: Project, index: int, signing: McubootSigning | None) -> McubootImage:
    component, where = project.components[index], f"component[{index}]"
    check_component(component, where)
    mcuboot, file = component.mcuboot, component.image.file if component.image else None
    if mcuboot is None or file is None:  # check_component refused both already
        raise ProjectFileError(f"{where}.mcuboot", "needs an image file")
    options = options_of(mcuboot, f"{where}.mcuboot")
    payload = _read(project_file(project, file, f"{where}.image.file"))
    key = _key(project, component, signing)
    if key is None or signing is None:
        return make_image(payload, options)
    signer = open_signer(key, None, signing.pins)
    try:
        return make_image(payload, options, signer)
    finally:
        signer.close()


def _key(project: Project, component: Component, signing: McubootSigning | None) -> KeyRef | None:
    if signing is None:
        if component.mcuboot is not None and component.mcuboot.key:
            logger.info("component %s: MCUboot image built unsigned (not asked to sign)",
                        component.name)
        return None
    if signing.key is not None:
        return parse_key_reference(signing.key)
    return _project_key(project, component)


def _read(path: Path) -> bytes:
    try:
        return read_limited(path, MAX_MCUBOOT_IMAGE, regular_only=True)
    except FileAccessError as exc:
        raise ImageError(str(path), exc.problem, hint=exc.hint) from exc


def with_images(project: Project, resolved: Resolved,
                images: Mapping[str, McubootImage]) -> Resolved:
    """`resolved` with the MCUboot images' digests and sizes, and as integrated payloads."""
    if not images:
        return resolved
    algorithm = values.DIGEST_NAMES[project.digest_algorithm]
    infos = dict(resolved.images)
    payloads = dict(resolved.payloads)
    for component in project.components:
        image = images.get(component.name)
        if image is None:
            continue
        infos[component.name] = ImageInfo(digest_of(image.data, algorithm), len(image.data))
        if component.integrated:
            payloads[f"#{component.name}"] = image.data
    return dataclasses.replace(resolved, images=infos, payloads=payloads)


def image_path(envelope: Path, component: str) -> Path:
    """Where a build writes a component's MCUboot image: ``<envelope stem>.<name>.signed.bin``
    beside the envelope (``.signed.bin`` as Zephyr names MCUboot images)."""
    return envelope.with_name(f"{envelope.stem}.{component}.signed.bin")


def write_images(images: Mapping[str, McubootImage], envelope: Path,
                 audit: SigningAuditLog | None, sequence_number: int,
                 protect: Sequence[Path] = ()) -> None:
    """Record each signed image in the audit log, then write it atomically.

    As for envelopes (`builder.write_envelope`), a signature that was made is recorded
    even if its image cannot then be written.
    """
    for name, image in images.items():
        path = image_path(envelope, name)
        if audit is not None and image.identity is not None:
            audit.append(new_record(
                key_reference=image.identity.key_reference, kid=image.identity.kid,
                algorithm=AUDIT_ALGORITHM.format(image.signature_type),
                manifest_digest=image.image_hash, sequence_number=sequence_number,
                output_path=str(path.resolve()), output=image.data))
        write_atomic(path, image.data, protect)
