"""Writing the signing package's outputs through the one atomic writer (`fileio`),
reporting a refusal as the signing package's `OutputError`."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import fileio
from fileio.paths import StrPath
from signing.errors import OutputError


def write_atomic(path: StrPath, data: bytes, *, mode: int = 0o644,
                 protect: Iterable[StrPath] = (),
                 before_publish: Callable[[], None] | None = None) -> None:
    """Write `data` to `path` atomically and durably (`fileio.write_atomic`).

    Raises:
        OutputError: the folder is missing or not writable, or the target is not a regular
            file or is one of `protect`; `path` is unchanged.
    """
    try:
        fileio.write_atomic(path, data, mode=mode, protect=protect, before_publish=before_publish)
    except OutputError:
        raise
    except fileio.FileAccessError as exc:
        raise OutputError(exc.path, exc.problem, hint=exc.hint) from exc


def check_output(path: StrPath, protect: Iterable[StrPath] = ()) -> None:
    """Refuse `path` as an output before any work (`fileio.check_output`).

    Raises:
        OutputError: the target is not a regular file, or is one of `protect`.
    """
    try:
        fileio.check_output(path, protect)
    except fileio.FileAccessError as exc:
        raise OutputError(exc.path, exc.problem, hint=exc.hint) from exc
