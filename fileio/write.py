"""The one atomic writer: every output of SUIT Workbench goes through `write_atomic`.

Readers see the old file or the complete new one, never a part, and a power cut after
`write_atomic` returns keeps the new one: the bytes go to a temporary file in the target's
folder, which is fsynced, renamed over the target (atomic within a file system, POSIX
rename(2)), and then the folder is fsynced so the rename itself is durable.

What may be replaced: nothing but a regular file. A device, FIFO, socket or folder is
refused (as root, ``-o /dev/null`` would otherwise replace /dev/null), and so is a
symbolic link, whatever it points to: replacing it would swap the link for a file and
leave its target untouched, which nobody expects; writing through it would let a link
planted in an output folder redirect the write. The caller names the real path instead.
A target that is the same file as one of the command's own inputs is refused too.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable, Iterable
from typing import Final

from fileio.errors import FileAccessError
from fileio.paths import StrPath, same_file

logger = logging.getLogger(__name__)

Data = bytes | bytearray | memoryview | Iterable[bytes]
_DEFAULT_MODE: Final = 0o644


def check_output(path: StrPath, protect: Iterable[StrPath] = ()) -> None:
    """Refuse `path` as an output unless it is absent or a regular file that is none of
    the `protect`ed inputs. Commands call it before expensive or recorded work (signing).

    Raises:
        FileAccessError: the target may not be replaced.
    """
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    except (OSError, ValueError) as exc:
        raise FileAccessError(str(path), f"cannot write: {getattr(exc, 'strerror', None) or exc}") from exc
    if stat.S_ISLNK(info.st_mode):
        raise FileAccessError(str(path), "is a symbolic link; refusing to replace it",
                              hint="Give the path of the file it points to, or remove the link.")
    if not stat.S_ISREG(info.st_mode):
        raise FileAccessError(str(path), "exists and is not a regular file; refusing to replace it",
                              hint="Write to a new or regular file.")
    for source in protect:
        if same_file(path, source):
            raise FileAccessError(str(path), f"is this command's input {source}; refusing to "
                                  "overwrite it", hint="Give another output path.")


def write_atomic(path: StrPath, data: Data, *, mode: int = _DEFAULT_MODE,
                 protect: Iterable[StrPath] = (),
                 before_publish: Callable[[], None] | None = None) -> None:
    """Write `data` (bytes, or an iterable of byte chunks) to `path` atomically and durably.

    Args:
        path: The output. Its folder must exist.
        data: The content; chunks let big outputs stream without one big buffer.
        mode: The file's permission bits (0o600 for secrets).
        protect: The command's inputs, which the output must not be.
        before_publish: Called once the bytes are durable in the temporary file and just
            before the rename that publishes them. If it raises, nothing is published and
            the exception propagates (signing records its audit entry here, so no record
            names an output that could not be written).

    Raises:
        FileAccessError: the target may not be replaced (see the module docstring), or the
            folder cannot be written; `path` is then unchanged.
    """
    protected = tuple(protect)
    check_output(path, protected)
    directory = os.path.dirname(os.fspath(path)) or "."
    name = os.path.basename(os.fspath(path))
    try:
        import tempfile  # here: reading commands (inspect, verify) start without it (issue 12)
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise FileAccessError(str(path), f"cannot create a file in {directory}: {exc.strerror}",
                              hint="Check that the folder exists and is writable.") from exc
    try:
        _fill(fd, data, mode)
        check_output(path, protected)  # again: narrow the window since the first look
        if before_publish is not None:
            before_publish()
        os.replace(tmp, path)
    except OSError as exc:
        _remove_quietly(tmp)
        raise FileAccessError(str(path), f"cannot write: {exc.strerror or exc}") from exc
    except BaseException:
        _remove_quietly(tmp)
        raise
    _fsync_directory(directory)


def _fill(fd: int, data: Data, mode: int) -> None:
    with os.fdopen(fd, "wb") as out:
        if isinstance(data, (bytes, bytearray, memoryview)):
            out.write(data)
        else:
            for chunk in data:
                out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
        os.fchmod(out.fileno(), mode)


def _fsync_directory(directory: str) -> None:
    """Make the rename durable. Some file systems cannot fsync a folder; the file is
    complete either way, so that is logged rather than raised."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        logger.warning("cannot open %s to fsync it: %s", directory, exc)
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        logger.warning("cannot fsync %s: %s", directory, exc)
    finally:
        os.close(fd)


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
