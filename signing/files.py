"""Writing the signing package's outputs through the one atomic writer (`fileio`),
reporting a refusal as the signing package's `OutputError`."""

from __future__ import annotations

from collections.abc import Iterable

import fileio
from fileio.paths import StrPath
from signing.errors import OutputError


def write_atomic(path: StrPath, data: bytes, *, mode: int = 0o644,
                 protect: Iterable[StrPath] = ()) -> None:
    """Write `data` to `path` atomically and durably (`fileio.write_atomic`).

    Raises:
        OutputError: the folder is missing or not writable, or the target is not a regular
            file or is one of `protect`; `path` is unchanged.
    """
    try:
        fileio.write_atomic(path, data, mode=mode, protect=protect)
    except OutputError:
        raise
    except fileio.FileAccessError as exc:
        raise OutputError(exc.path, exc.problem, hint=exc.hint) from exc
