"""Writing output files atomically: a temporary file beside the target, then os.replace,
so a reader sees the old file or the complete new one and never a half-written one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from signing.errors import OutputError


def write_atomic(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Write `data` to `path` atomically (POSIX rename semantics).

    Raises:
        OutputError: the directory is missing or not writable; `path` is unchanged.
    """
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise OutputError(str(path), f"cannot create a file in {directory}: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        _remove(tmp)
        raise OutputError(str(path), f"cannot write: {exc.strerror}") from exc


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
