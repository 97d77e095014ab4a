"""Project templates for the device classes of RFC 9019 §5 (package data of
`workbench.resources`, read with importlib.resources so an installed wheel has them too).

A new project is a copy of a template folder (project files and placeholder images, so it
builds at once) whose project files record the vendor and class ids they target: the
given or template vendor domain and model, and the UUIDs derived from them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Final

from workbench.project import values
from workbench.project.errors import TemplateError
from workbench.project.projectfile import load_project, loads_project, save_project
from workbench.resources import TEMPLATES, copy_tree, resource

TEMPLATES_DIR: Final = resource(TEMPLATES)
PROJECT_FILE: Final = "project.toml"
#: The templates, in the order of RFC 9019 §5, then an MCU running MCUboot (issue 13).
NAMES: Final = ("single-mcu", "secure-normal", "dual-cpu-shared", "dual-cpu-bus", "linux",
                  "mcuboot")


@dataclass(frozen=True)
class TemplateInfo:
    """A template: its name and one line saying what it is for."""

    name: str
    description: str


def list_templates(folder: Traversable = TEMPLATES_DIR) -> list[TemplateInfo]:
    """The templates there are, with their descriptions."""
    return [TemplateInfo(name, _description(folder / name, name))
            for name in NAMES if (folder / name / PROJECT_FILE).is_file()]


def _description(template: Traversable, name: str) -> str:
    text = (template / PROJECT_FILE).read_text(encoding="utf-8")
    return loads_project(text, f"template {name}").description


def create_project(name: str, destination: Path, *, vendor_domain: str | None = None,
                   model: str | None = None, folder: Traversable = TEMPLATES_DIR) -> Path:
    """Copy template `name` to `destination` and record its device ids.

    Args:
        vendor_domain: The vendor's DNS domain (vendor id = UUID5(DNS, domain)).
        model: The model name (class id = UUID5(vendor id, model)); dependency projects
            of the template get ``<model>-<their folder>``.

    Returns:
        The new project file.

    Raises:
        TemplateError: unknown template, or a destination that is not empty.
    """
    source = folder / name
    if name not in NAMES or not (source / PROJECT_FILE).is_file():
        raise TemplateError(name, "no such template")
    destination = Path(destination)
    if destination.exists() and any(destination.iterdir()):
        raise TemplateError(name, f"{destination} exists and is not empty",
                            hint="Give a new or empty folder.")
    try:
        copy_tree(source, destination)
    except OSError as exc:
        raise TemplateError(name, f"cannot create {destination}: {exc.strerror or exc}") from exc
    for project_file in sorted(destination.rglob(PROJECT_FILE)):
        sub = project_file.parent.relative_to(destination)
        sub_model = None if model is None else (model if sub == Path(".") else f"{model}-{sub.name}")
        record_device(project_file, vendor_domain, sub_model)
    return destination / PROJECT_FILE


def record_device(project_file: Path, vendor_domain: str | None, model: str | None) -> None:
    """Set the device's domain and model (when given) and write the ids they derive.

    The file is edited in place (`save_project` keeps the template's comments).
    """
    project = load_project(project_file)
    device = project.device
    domain, model = vendor_domain or device.vendor_domain, model or device.model
    if not domain:
        return
    vendor_id, class_id = values.derived_ids(domain, model)
    project.device = dataclasses.replace(device, vendor_domain=domain, model=model,
                                         vendor_id=vendor_id, class_id=class_id)
    save_project(project, project_file)
