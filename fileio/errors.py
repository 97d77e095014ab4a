"""The one error of the file layer, under the project's root `WorkbenchError`."""

from __future__ import annotations

from suit.errors import WorkbenchError


class FileAccessError(WorkbenchError):
    """A file that cannot be read or written, or that we refuse to read or replace.

    Exit status 2 (bad input or misuse): the file was named by the person.

    Attributes:
        path: The file, as given.
        problem: What is wrong (the operating system's reason, or our refusal).
    """

    default_hint = "Check the path and its permissions."

    def __init__(self, path: str, problem: str, *, hint: str | None = None) -> None:
        super().__init__(f"{path}: {problem}", hint=hint)
        self.path = path
        self.problem = problem

    @property
    def reason(self) -> str:
        """The older name of `problem` (workbench.errors.FileAccessError had `reason`)."""
        return self.problem
