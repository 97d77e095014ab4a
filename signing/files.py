"""The signing package's files through `fileio`: key files read bounded (and only when
regular), outputs written through the one atomic writer, each refusal reported as the
signing package's own error (`KeyFileError`, `OutputError`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final

import fileio
from fileio.paths import StrPath
from signing.errors import KeyFileError, OutputError

MAX_KEY_FILE: Final = fileio.MAX_KEY_FILE


def read_key_file(path: StrPath, limit: int = MAX_KEY_FILE) -> bytes:
    """Read a key file (private or public, PEM or COSE_Key) or a detached signature.

    Only regular files are read: a FIFO named as a key would block the open forever, and a
    device would be read to the limit for nothing.

    Raises:
        KeyFileError: missing, unreadable, not a regular file, or over `limit` bytes.
    """
    try:
        return fileio.read_limited(path, limit, regular_only=True)
    except fileio.FileAccessError as exc:
        missing = isinstance(exc.__cause__, FileNotFoundError)
        raise KeyFileError(exc.path, "no such file" if missing else exc.problem) from exc


#: Largest small state file (an audit head, an anchor configuration) read.
MAX_STATE_FILE: Final = 64 * 1024


def read_state_file(path: StrPath, limit: int = MAX_STATE_FILE) -> bytes | None:
    """Read one of the signing package's own small state files, or None when it is absent.

    Raises:
        fileio.FileAccessError: unreadable, not a regular file, or over `limit` bytes
            (callers report it as their own error: the log is what is broken).
    """
    try:
        return fileio.read_limited(path, limit, regular_only=True)
    except fileio.FileAccessError as exc:
        if isinstance(exc.__cause__, FileNotFoundError):
            return None
        raise


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
