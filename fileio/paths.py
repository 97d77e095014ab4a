"""Questions about paths that reads and writes share: same file, inside a folder."""

from __future__ import annotations

import os
from pathlib import Path

StrPath = str | os.PathLike[str]


def same_file(a: StrPath, b: StrPath) -> bool:
    """Whether two paths name the same file (device and inode, links followed).

    A path that does not exist, or cannot be examined, is the same as nothing.
    """
    try:
        first, second = os.stat(a), os.stat(b)
    except (OSError, ValueError):
        return False
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


def is_within(path: StrPath, folder: StrPath) -> bool:
    """Whether `path`, with every symbolic link and ``..`` resolved, lies inside `folder`.

    Resolution follows links first, so a link inside the folder that points out of it is
    outside (the bytes read are those of the target).
    """
    try:
        Path(path).resolve().relative_to(Path(folder).resolve())
    except (ValueError, OSError, RuntimeError):  # RuntimeError: a symlink loop (3.11)
        return False
    return True
