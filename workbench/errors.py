"""Errors of the application layer (files, projects, use cases)."""

from __future__ import annotations

from suit.errors import WorkbenchError


class FileAccessError(WorkbenchError):
    """A file that cannot be read or written.

    Attributes:
        path: The file.
        reason: The operating system's reason.
    """

    def __init__(self, path: str, reason: str, *, hint: str | None = None) -> None:
        super().__init__(f"{path}: {reason}", hint=hint or "Check the path and its permissions.")
        self.path = path
        self.reason = reason
