"""Files under a confined root: where a Linux-class loader installs file components.

A component whose identifier starts with ``'fs'`` is a file (docs/loader.md, *Installing
files*): the other segments, joined with ``/``, are its path relative to the root given
with ``suitwb device serve --root DIR`` (``['fs', 'usr/local/bin/app']`` and
``['fs', 'usr', 'local', 'bin', 'app']`` both name ``DIR/usr/local/bin/app``).

Confinement, checked before anything is written (`parse_path`, `FileTree.check`): a path
that is absolute, has an empty, ``.`` or ``..`` segment, a NUL, is not UTF-8, or starts
in the loader's own ``.suitwb`` folder is refused; so is a path through a symlink. Every
access walks the path one segment at a time from a descriptor of the root, opening each
directory with ``O_NOFOLLOW`` relative to the previous one (``dir_fd``), and writes,
renames and unlinks relative to the last directory's descriptor. A symlink swapped in
after the check therefore cannot redirect a write: there is no window between checking a
path and using it (TOCTOU), because the path is never resolved twice.

Atomic replacement (RFC 9019 §5.3's file-system devices): the new bytes go to a temporary
file in the target's own directory, which is fsynced; `apply` renames it over the target
and fsyncs the directory. Every persistent step asks the `PowerSwitch` first, so tests can
cut the power (or kill the process) at each one.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import logging
import os
import shutil
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final, TypeVar

from flasher.errors import FlasherError, RefusalReason, UpdateRefused
from flasher.loader import file_ops
from flasher.loader.file_meta import FileMeta
from flasher.loader.file_ops import DEFAULT_DIR_MODE
from flasher.loader.flash import PowerCut, PowerSwitch
from flasher.loader.layout import ComponentId
from flasher.loader.state import FileAction, FileRecord

logger = logging.getLogger(__name__)

FS_PREFIX: Final = b"fs"
#: The loader's own folder under the root (staged payloads); no component may name it.
RESERVED: Final = ".suitwb"
DEFAULT_FILE_MODE: Final = 0o644
#: The A/B layout (``--root-layout ab``): DIR/releases/a and DIR/releases/b hold whole
#: release trees; DIR/current is a symlink to the one in use, switched by rename.
RELEASES: Final = "releases"
CURRENT: Final = "current"
SLOT_NAMES: Final = ("a", "b")


_Method = TypeVar("_Method", bound=Callable[..., Any])


def _refusing(method: _Method) -> _Method:
    """An OSError of the file system (a full disk, a read-only folder, a file where a folder
    should be) becomes a refusal with the path, never an internal error."""
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except OSError as exc:
            raise UpdateRefused(RefusalReason.OPERATION_FAILED,
                                f"{exc.filename or 'file system'}: {exc.strerror or exc}"
                                ) from exc
    return wrapper  # type: ignore[return-value]


def is_file_component(component_id: ComponentId) -> bool:
    """Whether the component names a file (its first segment is ``'fs'``)."""
    return len(component_id) >= 2 and component_id[0] == FS_PREFIX


def parse_path(component_id: ComponentId) -> tuple[str, ...]:
    """The path segments of a file component, or `UpdateRefused` (path-outside-root)."""
    try:
        text = "/".join(part.decode("utf-8") for part in component_id[1:])
    except UnicodeDecodeError:
        raise _outside(component_id, "is not UTF-8") from None
    if text.startswith("/"):
        raise _outside(component_id, "is absolute")
    segments = tuple(text.split("/"))
    if ".." in segments:
        raise _outside(component_id, "contains '..'")
    if any(s in ("", ".") or "\0" in s for s in segments):
        raise _outside(component_id, "has an empty, '.' or NUL segment")
    if segments[0] == RESERVED:
        raise _outside(component_id, f"is in the loader's own {RESERVED} folder")
    return segments


def _outside(component_id: ComponentId, problem: str) -> UpdateRefused:
    return UpdateRefused(RefusalReason.PATH_OUTSIDE_ROOT,
                         f"file component {component_id!r}: the path {problem}")


class FileTree:
    """The files under one root, reached only through descriptors walked from it.

    Args:
        root: The folder file components live under (created if missing).
        power: Counts write steps and injects cuts (``file-*`` kinds).
        ab: Keep two release trees and switch between them (see `RELEASES`).
    """

    def __init__(self, root: Path, power: PowerSwitch, *, ab: bool = False) -> None:
        self.root = root
        self.power = power
        self.ab = ab
        self.staging = root / RESERVED / "staging"
        try:
            self.staging.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FlasherError(f"--root {root}: {exc.strerror or exc}",
                               hint="Give a folder the loader may create and write.") from exc

    # -- the A/B layout -------------------------------------------------------------------

    def active_slot(self) -> int | None:
        """The slot DIR/current points to (0 = a, 1 = b), None before the first release."""
        try:
            target = os.readlink(self.root / CURRENT)
        except OSError:
            return None
        return next((k for k, name in enumerate(SLOT_NAMES)
                     if target == f"{RELEASES}/{name}"), None)

    def check_current(self) -> None:
        """Refuse to build a release when DIR/current is not the loader's symlink (the
        switch would fail after the commit)."""
        current = self.root / CURRENT
        if (current.exists() and not current.is_symlink()) or \
                (current.is_symlink() and self.active_slot() is None):
            raise UpdateRefused(RefusalReason.OPERATION_FAILED,
                                f"{current} is not a symlink to {RELEASES}/a or b; the A/B "
                                "layout switches releases by replacing it")

    def slot_prefix(self, slot: int) -> tuple[str, ...]:
        """The path segments of a slot's tree under the root."""
        return (RELEASES, SLOT_NAMES[slot])

    @_refusing
    def clear_slot(self, slot: int) -> None:
        """Empty the tree of a slot that is not in use, before a release is built in it
        (rmtree works through descriptors and never follows a symlink)."""
        assert slot != self.active_slot()  # noqa: S101 - the caller writes the other one
        self._step("file-clear", "/".join(self.slot_prefix(slot)))
        tree = self.root.joinpath(*self.slot_prefix(slot))
        if os.path.lexists(tree):
            shutil.rmtree(tree)  # a failure is a refusal: never build on a half-empty tree

    def _switch(self, target: str) -> None:
        # A new symlink beside DIR/current, renamed over it: the switch is one rename.
        if file_ops.readlink(self.root / CURRENT) == target:
            return  # switched before a cut: the journal is being replayed
        temp = self.root / file_ops.temp_name(CURRENT)
        temp.unlink(missing_ok=True)
        os.symlink(target, temp)
        os.rename(temp, self.root / CURRENT)

    # -- checking and reading -------------------------------------------------------------

    @_refusing
    def check(self, segments: tuple[str, ...]) -> None:
        """Refuse a path through a symlink or a non-directory, or onto a symlink, before
        anything is written (missing folders are fine: they will be created)."""
        with self._parent(segments, create=False) as parent:
            if parent is not None:
                self._leaf_stat(parent, segments)

    @_refusing
    def check_removable(self, segments: tuple[str, ...]) -> None:
        """Refuse, before the commit, an unlink the journal could not carry out (a folder
        that is not empty)."""
        with self._parent(segments, create=False) as parent:
            found = None if parent is None else self._leaf_stat(parent, segments)
            if found is not None and stat.S_ISDIR(found.st_mode):
                fd = os.open(segments[-1], os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW,
                             dir_fd=parent)
                try:
                    if os.listdir(fd):
                        raise UpdateRefused(RefusalReason.OPERATION_FAILED,
                                            f"unlink {'/'.join(segments)}: the folder is "
                                            "not empty")
                finally:
                    os.close(fd)

    @_refusing
    def stat(self, segments: tuple[str, ...]) -> os.stat_result | None:
        """The leaf's lstat, None when it does not exist."""
        with self._parent(segments, create=False) as parent:
            return None if parent is None else self._leaf_stat(parent, segments)

    def digest(self, segments: tuple[str, ...], size: int | None = None) -> bytes | None:
        """SHA-256 of the file's first `size` bytes (all if None), None if there is none."""
        data = self.read(segments, size)
        return None if data is None else hashlib.sha256(data).digest()

    @_refusing
    def read(self, segments: tuple[str, ...], size: int | None = None) -> bytes | None:
        """The file's bytes (at most `size`), None if it does not exist or is not a file."""
        with self._parent(segments, create=False) as parent:
            if parent is None:
                return None
            found = self._leaf_stat(parent, segments)
            if found is None or not stat.S_ISREG(found.st_mode):
                return None
            fd = os.open(segments[-1], os.O_RDONLY | os.O_NOFOLLOW, dir_fd=parent)
            try:
                return file_ops.read_fd(fd, size)
            finally:
                os.close(fd)

    # -- staging payloads (DIR/.suitwb/staging) --------------------------------------------

    @_refusing
    def stage(self, uri: str, offset: int, data: bytes) -> None:
        """Store payload bytes at `offset` of the staged copy, dropping anything after it
        (a resumed transfer restarts at the last durable offset), and fsync."""
        self._step("file-stage", f"{uri} at {offset}")
        fd = os.open(self.staged_path(uri), os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            os.ftruncate(fd, offset)
            os.pwrite(fd, data, offset)
            os.fsync(fd)
        finally:
            os.close(fd)

    @_refusing
    def staged(self, uri: str, size: int) -> bytes:
        """The staged payload (exactly `size` bytes were received)."""
        fd = os.open(self.staged_path(uri), os.O_RDONLY | os.O_NOFOLLOW)
        try:
            return file_ops.read_fd(fd, size)
        finally:
            os.close(fd)

    def staged_path(self, uri: str) -> Path:
        """Where the payload of `uri` is staged (named by a hash: a URI is no file name)."""
        return self.staging / hashlib.sha256(uri.encode()).hexdigest()[:32]

    @_refusing
    def clear_staging(self) -> None:
        """Remove staged payloads (after a commit or an abandoned update)."""
        for entry in self.staging.iterdir():
            entry.unlink(missing_ok=True)

    # -- preparing and applying changes ----------------------------------------------------

    @_refusing
    def prepare(self, segments: tuple[str, ...], data: bytes, meta: FileMeta) -> FileRecord:
        """Write `data` to the temporary file next to the target (folders created as
        needed), apply mode and owner, fsync; the target itself is untouched."""
        path = "/".join(segments)
        self._step("file-temp", path)
        mode = DEFAULT_FILE_MODE if meta.mode is None else meta.mode
        with self._parent(segments, create=True) as parent:
            assert parent is not None  # noqa: S101 - create=True makes every folder
            temp = file_ops.temp_name(segments[-1])
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600,
                         dir_fd=parent)
            try:
                file_ops.write_all(fd, data)
                file_ops.apply_owner(fd, meta, path)
                os.fchmod(fd, mode)
                os.fsync(fd)
            finally:
                os.close(fd)
        return FileRecord(path, len(data), hashlib.sha256(data).digest(), mode)

    def temp_of(self, segments: tuple[str, ...]) -> tuple[str, ...]:
        """The path of the temporary file `prepare` writes for `segments`."""
        return (*segments[:-1], file_ops.temp_name(segments[-1]))

    @_refusing
    def apply(self, action: FileAction) -> None:
        """Carry out one committed action; doing it again changes nothing (replay)."""
        segments = tuple(action.path.split("/"))
        self._step(f"file-{action.kind}", action.path)
        if action.kind == "switch":
            self._switch(action.path)
            file_ops.fsync_dir(self.root)
            return
        with self._parent(segments, create=True) as parent:
            assert parent is not None  # noqa: S101 - create=True makes every folder
            if action.kind == "install":
                file_ops.rename_if_present(parent, segments[-1])
            elif action.kind == "unlink":
                file_ops.unlink_if_present(parent, segments[-1])
            elif action.kind == "mkdir":
                file_ops.mkdir_if_missing(parent, segments[-1], action.record)
            os.fsync(parent)

    @_refusing
    def discard(self, action: FileAction) -> None:
        """Remove the temporary file of an install that will not be committed."""
        if action.kind != "install":
            return
        segments = tuple(action.path.split("/"))
        with self._parent(segments, create=False) as parent:
            if parent is not None:
                file_ops.unlink_if_present(parent, file_ops.temp_name(segments[-1]))

    # -- walking ---------------------------------------------------------------------------

    @contextmanager
    def _parent(self, segments: tuple[str, ...], *, create: bool) -> Iterator[int | None]:
        """A descriptor of the leaf's folder, walked from the root with O_NOFOLLOW; None
        when a folder is missing and `create` is False."""
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for segment in segments[:-1]:
                child = _open_dir(fd, segment, create, segments)
                if child is None:
                    os.close(fd)
                    fd = -1
                    break
                os.close(fd)
                fd = child
            yield None if fd < 0 else fd
        finally:
            if fd >= 0:
                os.close(fd)

    def _leaf_stat(self, parent: int, segments: tuple[str, ...]) -> os.stat_result | None:
        try:
            found = os.stat(segments[-1], dir_fd=parent, follow_symlinks=False)
        except FileNotFoundError:
            return None
        if stat.S_ISLNK(found.st_mode):
            raise _symlink(segments, segments[-1])
        return found

    def _step(self, kind: str, detail: str) -> None:
        cut = self.power.step(kind, detail)
        if cut is not None:
            raise PowerCut(cut)


def _open_dir(parent: int, segment: str, create: bool, segments: tuple[str, ...]) -> int | None:
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    try:
        return os.open(segment, flags, dir_fd=parent)
    except FileNotFoundError:
        if not create:
            return None
        os.mkdir(segment, DEFAULT_DIR_MODE, dir_fd=parent)
        os.fsync(parent)  # the new folder's entry is durable before anything goes in it
        return os.open(segment, flags, dir_fd=parent)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            found = os.stat(segment, dir_fd=parent, follow_symlinks=False)
            if stat.S_ISLNK(found.st_mode):
                raise _symlink(segments, segment) from None
            raise UpdateRefused(RefusalReason.OPERATION_FAILED,
                                f"{'/'.join(segments)}: {segment} is not a folder") from None
        raise


def _symlink(segments: tuple[str, ...], segment: str) -> UpdateRefused:
    return UpdateRefused(RefusalReason.PATH_OUTSIDE_ROOT,
                         f"{'/'.join(segments)}: {segment} is a symlink, which the loader "
                         "never follows (it could lead outside the root)")
