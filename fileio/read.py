"""Bounded reads: at most limit + 1 bytes are ever read, whatever the file is.

The size a file system reports is not trusted: /dev/zero and FIFOs report 0 and never end,
and a regular file may grow while it is read. So the limit is enforced on the bytes read.
Image inputs additionally refuse anything that is not a regular file, and do so before
opening it: opening a FIFO for reading blocks until a writer appears.
"""

from __future__ import annotations

import logging
import os
import stat
from typing import BinaryIO, Final

from fileio.errors import FileAccessError
from fileio.paths import StrPath

logger = logging.getLogger(__name__)

#: Bytes read per call; bounded so a huge limit does not mean a huge single read.
CHUNK: Final = 1 << 20
_NOT_REGULAR_HINT: Final = "Give a regular file (not a device, FIFO, socket or folder)."


def read_limited(path: StrPath, limit: int, *, regular_only: bool = False) -> bytes:
    """Read a whole file of at most `limit` bytes.

    Args:
        path: The file. Symbolic links are followed.
        limit: The most bytes accepted; limit + 1 are read at most to tell.
        regular_only: Refuse anything but a regular file (image inputs), before opening.

    Raises:
        FileAccessError: missing, unreadable, a folder, not regular when required, or
            larger than `limit`.
    """
    info = _stat(path)
    if stat.S_ISDIR(info.st_mode):
        raise FileAccessError(str(path), "is a folder, not a file", hint=_NOT_REGULAR_HINT)
    handle = open_regular(path) if regular_only else _open_any(path)
    with handle:
        data = _read_at_most(handle, limit + 1, path)
    if len(data) > limit:
        raise FileAccessError(str(path), f"larger than the limit of {limit} bytes",
                              hint="Check that this is the right file.")
    return data


def open_regular(path: StrPath) -> BinaryIO:
    """Open a regular file for unbuffered binary reading (streaming big images).

    The kind is checked before opening, and again on the open descriptor: O_NONBLOCK makes
    opening a FIFO swapped in between the two return at once instead of hanging.

    Raises:
        FileAccessError: missing, unreadable, or not a regular file.
    """
    if not stat.S_ISREG(_stat(path).st_mode):
        raise _not_regular(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise _os_error(path, exc) from exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise _not_regular(path)
    return os.fdopen(fd, "rb", buffering=0)


def _open_any(path: StrPath) -> BinaryIO:
    try:
        return open(path, "rb", buffering=0)
    except (OSError, ValueError) as exc:
        raise _os_error(path, exc) from exc


def _read_at_most(handle: BinaryIO, count: int, path: StrPath) -> bytes:
    data = bytearray()
    try:
        while len(data) < count:
            block = handle.read(min(CHUNK, count - len(data)))
            if not block:
                break
            data += block
    except OSError as exc:
        raise _os_error(path, exc) from exc
    return bytes(data)


def _stat(path: StrPath) -> os.stat_result:
    try:
        return os.stat(path)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise _os_error(path, exc) from exc


def _not_regular(path: StrPath) -> FileAccessError:
    return FileAccessError(str(path), "is not a regular file", hint=_NOT_REGULAR_HINT)


def _os_error(path: StrPath, exc: Exception) -> FileAccessError:
    reason = getattr(exc, "strerror", None) or str(exc)
    logger.debug("cannot read %s: %s", path, exc)
    return FileAccessError(str(path), f"cannot read: {reason}")
