"""Errors of release projects: the project file, its images, the build and the templates.

`ProjectError` is the root for this package (docs/architecture.md: each package has one
root under `WorkbenchError`). Errors carry fields, not pre-formatted strings, and a hint.
"""

from __future__ import annotations

from suit.errors import WorkbenchError


def escaped(text: str) -> str:
    """`text` with control characters escaped (``\\n``, ``\\x1b``): a member's name comes from
    the file, and a newline or an escape sequence in a TOML key must not forge a second
    line or move the terminal's cursor when the error is printed."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class ProjectError(WorkbenchError):
    """Root of every error about a release project."""

    default_hint = "Check the project file against docs/project-format.md."


class ProjectFileError(ProjectError):
    """A project file that cannot be read or says something invalid.

    Attributes:
        where: The member, like ``component[1].image.digest``.
        problem: What is wrong with it.
    """

    def __init__(self, where: str, problem: str, *, hint: str | None = None) -> None:
        where = escaped(where)
        super().__init__(f"{where}: {problem}", hint=hint)
        self.where = where
        self.problem = problem


class ImageError(ProjectError):
    """A payload image that cannot be read.

    Attributes:
        path: The image file.
        problem: What went wrong.
    """

    default_hint = "Check the image path; relative paths start at the project file's folder."

    def __init__(self, path: str, problem: str, *, hint: str | None = None) -> None:
        super().__init__(f"{path}: {problem}", hint=hint)
        self.path = path
        self.problem = problem


class BuildError(ProjectError):
    """A project that is well-formed but cannot be turned into a manifest.

    Attributes:
        where: The member that blocks the build.
        problem: Why.
    """

    def __init__(self, where: str, problem: str, *, hint: str | None = None) -> None:
        super().__init__(f"{where}: {problem}", hint=hint)
        self.where = where
        self.problem = problem


class TemplateError(ProjectError):
    """An unknown template, or a destination that cannot be used.

    Attributes:
        name: The template asked for.
    """

    default_hint = "`suitwb new --list` shows the templates."

    def __init__(self, name: str, problem: str, *, hint: str | None = None) -> None:
        super().__init__(f"template {name!r}: {problem}", hint=hint)
        self.name = name
