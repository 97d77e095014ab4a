"""Descriptor-relative file operations for the file tree (flasher/loader/files.py): each
works on a directory descriptor the tree walked to, never on a path string from the root.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Final

from flasher.loader.file_meta import FileMeta
from flasher.loader.state import FileRecord

logger = logging.getLogger(__name__)

TEMP_SUFFIX: Final = ".suitwb-new"
DEFAULT_DIR_MODE: Final = 0o755
_CHUNK: Final = 64 * 1024


def temp_name(leaf: str) -> str:
    """The temporary file beside `leaf` that an install writes first."""
    return f".{leaf}{TEMP_SUFFIX}"


def readlink(path: Path) -> str | None:
    try:
        return os.readlink(path)
    except OSError:
        return None


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def rename_if_present(parent: int, leaf: str) -> None:
    try:
        os.rename(temp_name(leaf), leaf, src_dir_fd=parent, dst_dir_fd=parent)
    except FileNotFoundError:
        pass  # renamed before a cut: the journal is being replayed


def unlink_if_present(parent: int, leaf: str) -> None:
    try:
        os.unlink(leaf, dir_fd=parent)
    except FileNotFoundError:
        pass
    except IsADirectoryError:
        os.rmdir(leaf, dir_fd=parent)  # a folder that is not empty: OSError, a refusal


def mkdir_if_missing(parent: int, leaf: str, record: FileRecord | None) -> None:
    mode = DEFAULT_DIR_MODE if record is None else record.mode
    try:
        os.mkdir(leaf, mode, dir_fd=parent)
    except FileExistsError:
        pass
    fd = os.open(leaf, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=parent)
    try:
        os.fchmod(fd, mode)  # mkdir's mode is filtered by the umask
    finally:
        os.close(fd)


def apply_owner(fd: int, meta: FileMeta, path: str) -> None:
    if meta.owner is None and meta.group is None:
        return
    if os.geteuid() != 0:
        # Only root may give a file away; a loader running as a service user installs the
        # files as itself and says what it left out.
        logger.info("%s: owner %s, group %s not applied (the loader does not run as root)",
                    path, meta.owner, meta.group)
        return
    os.fchown(fd, -1 if meta.owner is None else meta.owner,
              -1 if meta.group is None else meta.group)


def read_fd(fd: int, size: int | None) -> bytes:
    parts, remaining = [], size
    while remaining is None or remaining > 0:
        chunk = os.read(fd, _CHUNK if remaining is None else min(_CHUNK, remaining))
        if not chunk:
            break
        parts.append(chunk)
        remaining = None if remaining is None else remaining - len(chunk)
    return b"".join(parts)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
