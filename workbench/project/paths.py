"""The files a project names, confined to its folder (docs/project-format.md, "Paths").

An image or dependency file's bytes become digests in the signed manifest, and with
``integrated = true`` the bytes themselves go into the envelope. So a project may name
only files inside its own folder (after ``..`` and symbolic links are resolved), unless
the project file says ``allow-outside-project = true``, which `suitwb lint` then reports.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Final

from fileio import is_within
from workbench.project.errors import ProjectFileError
from workbench.project.model import Project

_HINT: Final = ("Move the file into the project folder, or put allow-outside-project = true "
                "at the top of the project file (lint reports it).")


def project_file(project: Project, name: str, where: str) -> Path:
    """The file `name` (relative to the project folder), checked to be inside it.

    Raises:
        ProjectFileError: it resolves outside the folder and the project does not allow it.
    """
    path = project.folder / name
    if not project.allow_outside_project and not is_within(path, project.folder):
        raise ProjectFileError(where, f"{name} is outside the project folder {project.folder}",
                               hint=_HINT)
    return path


def named_files(project: Project) -> Iterator[tuple[str, str]]:
    """Every (TOML path, file name) the project names: images and dependency files."""
    for i, c in enumerate(project.components):
        if c.image is not None and c.image.file is not None:
            yield f"component[{i}].image.file", c.image.file
        for k, slot in enumerate(c.slots):
            if slot.image.file is not None:
                yield f"component[{i}].slot[{k}].image.file", slot.image.file
    for i, d in enumerate(project.dependencies):
        for member in ("envelope", "project"):
            name = getattr(d, member)
            if name is not None:
                yield f"dependency[{i}].{member}", name


def outside_files(project: Project) -> Iterator[tuple[str, str]]:
    """The (TOML path, file name) of every named file outside the project folder."""
    for where, name in named_files(project):
        if not is_within(project.folder / name, project.folder):
            yield where, name


def input_files(project: Project) -> list[Path]:
    """The project file and every file it names: what a build's output must not replace."""
    inputs = [project.path] if project.path is not None else []
    return inputs + [project.folder / name for _, name in named_files(project)]
