"""Bounded reads: at most limit + 1 bytes are ever read, whatever the file is.

The size a file system reports is not trusted: /dev/zero and FIFOs report 0 and never end,
and a regular file may grow while it is read. So the limit is enforced on the bytes read.
Image inputs additionally refuse anything that is not a regular file, and do so before
opening it: opening a FIFO for reading blocks until a writer appears. Other reads open
without blocking and give a FIFO's writer `FIFO_WAIT` seconds to come, so a FIFO nobody
writes to is refused rather than waited on forever.
"""

from __future__ import annotations

import io
import logging
import os
import select
import stat
from typing import BinaryIO, Final

from fileio.errors import FileAccessError
from fileio.paths import StrPath

logger = logging.getLogger(__name__)

#: Bytes read per call; bounded so a huge limit does not mean a huge single read.
CHUNK: Final = 1 << 20
#: Seconds a FIFO nobody has open for writing is given for a writer to come.
FIFO_WAIT: Final = 3
#: Largest key file read (PEM or COSE_Key, private or public); real ones are under 10 KiB.
MAX_KEY_FILE: Final = 1 << 20
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
    handle, first = (open_regular(path), b"") if regular_only else _open_any(path)
    with handle:
        data = _read_at_most(handle, limit + 1, path, first)
    if len(data) > limit:
        raise FileAccessError(str(path), f"larger than the limit of {limit} bytes",
                              hint="Check that this is the right file.")
    return data


def open_regular(path: StrPath) -> io.FileIO:
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


def _open_any(path: StrPath) -> tuple[BinaryIO, bytes]:
    """Open any kind of file for blocking reads, and the bytes already read from it.

    Opened with O_NONBLOCK: a blocking open of a FIFO nobody writes to never returns.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except (OSError, ValueError) as exc:
        raise _os_error(path, exc) from exc
    try:
        first = _await_writer(fd, path) if stat.S_ISFIFO(os.fstat(fd).st_mode) else b""
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb", buffering=0), first


def _await_writer(fd: int, path: StrPath) -> bytes:
    """Give a FIFO's writer `FIFO_WAIT` seconds to appear; the bytes read meanwhile.

    A non-blocking read tells the cases apart (pipe(7)): bytes, or EAGAIN when a writer
    is there but quiet (a pipe from a program that is still working: wait for it), or
    b"" when nobody has the FIFO open for writing. Only then we poll, with a timeout:
    Linux reports POLLHUP only once a writer has come, so poll waits for one to come.
    """
    try:
        first = os.read(fd, CHUNK)
    except BlockingIOError:
        return b""  # a writer, still quiet: the blocking reads wait for it
    except OSError as exc:
        raise _os_error(path, exc) from exc
    if first:
        return first
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    if not poller.poll(FIFO_WAIT * 1000):
        raise FileAccessError(str(path), f"is a FIFO nobody wrote to within {FIFO_WAIT} s",
                              hint="Start the program that writes to it first, or give a file.")
    return b""


def _read_at_most(handle: BinaryIO, count: int, path: StrPath, first: bytes = b"") -> bytes:
    data = bytearray(first[:count])
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
