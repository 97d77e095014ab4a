"""Every project value checked before a build, with its TOML path (issue 11 item 7).

The build must refuse what `suitwb verify` and the decoder refuse (suit.checks): a
sequence number past 2**64 - 1 would otherwise encode as a CBOR bignum that our own
decoder rejects, and an ``h'zz'`` id would silently become text. Checks here run on the
project as loaded or edited, so the GUI's edits are held to the same rules as the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workbench.project import mcuboot, values
from workbench.project.errors import ProjectFileError
from workbench.project.model import Component, Dependency, Image, Project
from workbench.project.projectfile import project_to_dict


def validate_project(project: Project) -> None:
    """Check every member's range and syntax.

    Raises:
        ProjectFileError: the first invalid member, named by its TOML path
            (``component[1].id[0]``).
    """
    _every_int(project_to_dict(project), "")
    _sequence_number(project.sequence_number)
    if project.digest_algorithm not in values.DIGEST_NAMES:
        raise ProjectFileError("digest-algorithm", f"unknown {project.digest_algorithm!r}",
                               hint="Use " + ", ".join(values.DIGEST_NAMES) + ".")
    if project.manifest_component_id is not None:
        values.parse_component_id(project.manifest_component_id, "manifest-component-id")
    _device(project)
    _update(project)
    for kind, policy in project.report.items():
        values.parse_policy(policy, f"report.{kind}")
    for i, component in enumerate(project.components):
        _component(component, f"component[{i}]")
    for i, dependency in enumerate(project.dependencies):
        _dependency(dependency, f"dependency[{i}]")


def _every_int(value: Any, where: str) -> None:
    """No integer anywhere (explicit sequences included) needs a CBOR bignum."""
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        values.check_cbor_int(value, where or "project")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _every_int(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _every_int(item, f"{where}[{i}]")


def _sequence_number(number: int | str) -> None:
    # M37 §8.4.2: a uint, compared for anti-rollback; "utc" is resolved at build.
    if number != "utc":
        values.check_uint64(number, "sequence-number")


def _device(project: Project) -> None:
    if project.device.vendor_id:
        values.parse_uuid(project.device.vendor_id, "device.vendor-id")
    if project.device.class_id:
        values.parse_uuid(project.device.class_id, "device.class-id")


def _update(project: Project) -> None:
    # update-management §4: use-before is seconds since the epoch and battery mWh, uints.
    update = project.update
    for name, value in (("use-before", update.use_before),
                        ("minimum-battery", update.minimum_battery)):
        if value is not None:
            values.check_uint64(value, f"update.{name}")


def _component(component: Component, where: str) -> None:
    values.parse_component_id(component.id, f"{where}.id")
    if component.image is not None:
        _image(component.image, f"{where}.image")
    for k, slot in enumerate(component.slots):
        _image(slot.image, f"{where}.slot[{k}].image")
    if component.content is not None:
        values.parse_bytes(component.content, f"{where}.content")
    if component.invoke_args is not None:
        values.parse_bytes(component.invoke_args, f"{where}.invoke-args")
    if component.version is not None:
        values.parse_version(component.version, f"{where}.version")
    if component.metadata is not None:
        values.parse_file_metadata(component.metadata, f"{where}.metadata")
    mcuboot.check_component(component, where)


def _image(image: Image, where: str) -> None:
    if image.size is not None:
        values.check_uint64(image.size, f"{where}.size")
    if image.digest is not None:
        values.parse_digest(image.digest, f"{where}.digest")


def _dependency(dependency: Dependency, where: str) -> None:
    values.parse_component_id(dependency.prefix, f"{where}.prefix")
    if dependency.size is not None:
        values.check_uint64(dependency.size, f"{where}.size")
    if dependency.digest is not None:
        values.parse_digest(dependency.digest, f"{where}.digest")
