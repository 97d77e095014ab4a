"""The processor's effects on file components, and the store that routes by component.

`FileStore` is the `ComponentStore` for components that are files under the loader's root
(flasher/loader/files.py says how an id maps to a path and what is refused). Like the
flash store it runs in one of the modes of `StoreContext`:

- ``plan``: every path is checked (confinement, no symlinks) and every metadata parameter
  decoded, so a bad one is refused before a payload byte is asked for; fetches are
  recorded.
- ``install``: each new file is written to a fsynced temporary file next to its target
  and an action is added to `StoreContext.file_actions`; nothing visible changes. The
  updater commits the actions in one state save, then applies them (renames, unlinks),
  so a release is installed whole or not at all (docs/loader.md, *Installing files*).

With ``--root-layout ab`` every path lives in the tree of the slot being written
(DIR/releases/a or b): an install run first empties that tree, builds the whole release in
it, and ends its actions with a ``switch`` of DIR/current, so the release changes with one
rename. The component-slot condition sees the slot being written, as for flash.

`RoutedStore` puts a `FileStore` beside the `FlashStore`: file ids go to the first,
everything else (and the device's facts) to the second.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from flasher.errors import RefusalReason, UpdateRefused
from flasher.loader.components import (
    BOOT,
    INSTALL,
    PLAN,
    FlashStore,
    PlannedFetch,
    StoreContext,
)
from flasher.loader.file_meta import DIRECTORY, SYMLINK, FileMeta, parse_metadata
from flasher.loader.file_ops import DEFAULT_DIR_MODE
from flasher.loader.files import FileTree, is_file_component, parse_path
from flasher.loader.flash import SimulatedFlash
from flasher.loader.layout import ComponentId, Layout
from flasher.loader.state import DeviceState, FileAction, FileJournal, FileRecord
from flasher.protocol import MAX_COMPONENT_SEGMENTS, PATH_MAX
from suit import digest as digests
from suit.processor import DIGEST_PENDING, ComponentStore, DeviceFacts, DigestPending, FetchRequest

#: Largest file component; the store holds a file in memory while it installs it.
MAX_FILE_SIZE: Final = 64 * 1024 * 1024


class FileStore:
    """Implements the file half of `suit.processor.ComponentStore` (see the module doc)."""

    def __init__(self, tree: FileTree, context: StoreContext) -> None:
        self.tree = tree
        self.ctx = context
        # What this run wrote, by component: the temporary file to read it back from (None
        # for a folder), so that no more than one file is held in memory at a time.
        self._prepared: dict[ComponentId, tuple[str, ...] | None] = {}
        self.active = tree.active_slot() if tree.ab else None
        # The slot written during an update (the other tree); at boot, the one in use.
        self.slot = None if not tree.ab else self.active if context.mode == BOOT \
            else 0 if self.active is None else 1 - self.active

    def supports(self, component_id: ComponentId) -> bool:
        return is_file_component(component_id)

    def component_slot(self, component_id: ComponentId) -> int | None:
        return self.slot  # direct layout: None, so a component-slot condition fails

    # -- reading --------------------------------------------------------------------------

    def image_digest(self, component_id: ComponentId, algorithm: int,
                     size: int | None) -> bytes | DigestPending | None:
        if self.ctx.mode == PLAN and component_id in self.ctx.written:
            return DIGEST_PENDING
        data = self.read(component_id, size)
        return None if data is None else digests.compute(algorithm, data)

    def read(self, component_id: ComponentId, size: int | None) -> bytes | None:
        if component_id in self._prepared:
            temp = self._prepared[component_id]
            return b"" if temp is None else self.tree.read(temp, size)
        if self.tree.ab and self.active is None:
            return None  # no release yet
        prefix = () if self.active is None else self.tree.slot_prefix(self.active)
        return self.tree.read(prefix + parse_path(component_id), size)

    # -- writing --------------------------------------------------------------------------

    def fetch(self, component_id: ComponentId, request: FetchRequest) -> None:
        segments = self._checked(component_id)
        size = len(request.integrated) if request.integrated is not None else request.size
        if size is None:
            raise UpdateRefused(RefusalReason.OPERATION_FAILED,
                                f"fetch of {request.uri} states no image-size; the loader "
                                "needs it before asking for the payload")
        _check_size(size, request.uri)
        meta = _checked_meta(request.metadata)
        if self.ctx.mode == PLAN:
            if request.integrated is None:
                self.ctx.fetches.append(PlannedFetch(request.uri, component_id, 0, size))
            self.ctx.written[component_id] = size
            return
        data = request.integrated
        if data is None:
            if self.ctx.received.get(request.uri, -1) < size:
                raise UpdateRefused(RefusalReason.OPERATION_FAILED,
                                    f"payload {request.uri} has not been received in full")
            data = self.tree.staged(request.uri, size)
        self._prepare(component_id, segments, data, meta)

    def write(self, component_id: ComponentId, content: bytes, *,
              metadata: bytes | None = None) -> None:
        segments = self._checked(component_id)
        _check_size(len(content), "content")
        meta = _checked_meta(metadata)
        if self.ctx.mode == PLAN:
            self.ctx.written[component_id] = len(content)
            return
        self._prepare(component_id, segments, content, meta)

    def copy(self, destination: ComponentId, source: ComponentId, size: int | None) -> None:
        segments = self._checked(destination)
        if self.ctx.mode == PLAN and source in self.ctx.written:  # filled by this update
            self.ctx.written[destination] = self.ctx.written[source] if size is None \
                else min(size, self.ctx.written[source])
            return
        data = self.read(source, size)
        if data is None:
            raise UpdateRefused(RefusalReason.OPERATION_FAILED,
                                f"copy from {source!r}: there is no such file")
        if self.ctx.mode == PLAN:
            self.ctx.written[destination] = len(data)
            return
        self._prepare(destination, segments, data, FileMeta())

    def unlink(self, component_id: ComponentId) -> None:
        # M37 §8.4.10.8 directive-unlink: the file goes when the update commits.
        segments = self._checked(component_id)
        self.tree.check_removable(segments)
        if self.ctx.mode == INSTALL:
            self._prepared.pop(component_id, None)
            self.ctx.file_actions.append(FileAction("unlink", component_id, "/".join(segments)))

    def invoke(self, component_id: ComponentId, arguments: bytes | None) -> None:
        # Starting the application is the service manager's job on a Linux device; the
        # loader records the request (as the flash store does at boot).
        self.ctx.invoked.append((component_id, arguments))

    def _checked(self, component_id: ComponentId) -> tuple[str, ...]:
        """The path to write (in the slot's tree for A/B), checked before any write."""
        if self.ctx.mode == BOOT:
            raise UpdateRefused(RefusalReason.COMPONENT_UNAUTHORISED,
                                "files change only in an update, never at boot")
        segments = parse_path(component_id)
        if len(component_id) > MAX_COMPONENT_SEGMENTS or not "".join(segments).isprintable():
            # The status reply carries the id (at most 16 segments) and the path as one line
            # of text (§3): a file it could not report would make the device's status
            # unreadable to every host from then on.
            raise UpdateRefused(RefusalReason.COMPONENT_UNSUPPORTED,
                                f"file component {component_id!r}: more than "
                                f"{MAX_COMPONENT_SEGMENTS} segments or a control character "
                                "in its path")
        if self.slot is not None:
            self.tree.check_current()
            segments = self.tree.slot_prefix(self.slot) + segments
        if self.slot is not None and self.ctx.mode == INSTALL and self.ctx.file_switch is None:
            # The first change of an A/B install empties the other tree: a release tree
            # holds exactly what its manifest says. The switch ends the journal.
            self.tree.clear_slot(self.slot)
            self.ctx.file_switch = "/".join(self.tree.slot_prefix(self.slot))
        if len("/".join(segments).encode()) > PATH_MAX:
            # The status reply carries the path (and the id) in at most PATH_MAX (§3).
            raise UpdateRefused(RefusalReason.COMPONENT_UNSUPPORTED,
                                f"file component {component_id!r}: a path longer than "
                                f"{PATH_MAX} bytes")
        self.tree.check(segments)
        return segments

    def _prepare(self, component_id: ComponentId, segments: tuple[str, ...], data: bytes,
                 meta: FileMeta) -> None:
        path = "/".join(segments)
        if meta.file_type == DIRECTORY:
            mode = DEFAULT_DIR_MODE if meta.mode is None else meta.mode
            action = FileAction("mkdir", component_id, path, FileRecord(path, 0, b"", mode))
        else:
            action = FileAction("install", component_id, path,
                                self.tree.prepare(segments, data, meta))
        self._prepared[component_id] = None if action.kind == "mkdir" \
            else self.tree.temp_of(segments)
        self.ctx.written[component_id] = len(data)
        self.ctx.file_actions.append(action)


def _check_size(size: int, what: str) -> None:
    if size > MAX_FILE_SIZE:
        raise UpdateRefused(RefusalReason.TOO_LARGE,
                            f"{what}: {size} bytes, more than the {MAX_FILE_SIZE} a file "
                            "component may have")


def _checked_meta(metadata: bytes | None) -> FileMeta:
    meta = parse_metadata(metadata)
    if meta.file_type == SYMLINK:
        raise UpdateRefused(RefusalReason.COMPONENT_UNSUPPORTED,
                            "component-metadata file-type symlink: the loader installs no "
                            "symlinks (they could point outside its root)")
    return meta


def component_store(flash: SimulatedFlash, layout: Layout, context: StoreContext,
                    files: FileTree | None) -> ComponentStore:
    """The store a processor run uses: flash alone, or flash and files (``--root``)."""
    return with_files(FlashStore(flash, layout, context), context, files)


def with_files(flash_store: FlashStore, context: StoreContext,
               files: FileTree | None) -> ComponentStore:
    """`flash_store` alone, or routed with the files under ``--root`` by component id."""
    return flash_store if files is None else RoutedStore(flash_store, FileStore(files, context))


def file_journal(number: int, context: StoreContext) -> FileJournal | None:
    """The journal an install run commits to: its actions, then the A/B switch."""
    switch = () if context.file_switch is None else (
        FileAction("switch", (), context.file_switch),)  # last: the release changes here
    actions = (*context.file_actions, *switch)
    return FileJournal(number, actions) if actions else None



def settle_files(tree: FileTree, state: DeviceState) -> DeviceState | None:
    """Apply the committed file journal (again, after a cut: every action is idempotent)
    and return the state to save, None when there is no journal.

    The journal's components get its sequence number too, in case the cut came between
    the commit and the sequence-number save (M37 §8.4.2).
    """
    journal = state.file_journal
    if journal is None:
        return None
    files, numbers = dict(state.files), dict(state.sequence_numbers)
    if any(action.kind == "switch" for action in journal.actions):
        files = {}  # A/B: the new tree holds exactly this release's files
    for action in journal.actions:
        tree.apply(action)
        if action.kind == "switch":
            continue
        if action.kind == "unlink":
            files.pop(action.component_id, None)
        elif action.record is not None:
            files[action.component_id] = action.record
        numbers[action.component_id] = max(numbers.get(action.component_id, 0),
                                           journal.sequence_number)
    tree.clear_staging()
    return replace(state, files=files, file_journal=None, sequence_numbers=numbers)


class RoutedStore:
    """A `ComponentStore` over flash and files: file ids go to the file store."""

    def __init__(self, flash: FlashStore, files: FileStore) -> None:
        self.flash = flash
        self.files = files

    def _pick(self, component_id: ComponentId) -> FlashStore | FileStore:
        return self.files if is_file_component(component_id) else self.flash

    def _same_kind(self, first: ComponentId, second: ComponentId) -> FlashStore | FileStore:
        if is_file_component(first) != is_file_component(second):
            raise UpdateRefused(RefusalReason.COMPONENT_UNSUPPORTED,
                                "copy or swap between a file and a flash component")
        return self._pick(first)

    def supports(self, component_id: ComponentId) -> bool:
        return self._pick(component_id).supports(component_id)

    def vendor_id(self) -> bytes | None:
        return self.flash.vendor_id()

    def class_id(self) -> bytes | None:
        return self.flash.class_id()

    def device_id(self) -> bytes | None:
        return self.flash.device_id()

    def component_slot(self, component_id: ComponentId) -> int | None:
        return self._pick(component_id).component_slot(component_id)

    def image_digest(self, component_id: ComponentId, algorithm: int,
                     size: int | None) -> bytes | DigestPending | None:
        return self._pick(component_id).image_digest(component_id, algorithm, size)

    def read(self, component_id: ComponentId, size: int) -> bytes | None:
        return self._pick(component_id).read(component_id, size)

    def fetch(self, component_id: ComponentId, request: FetchRequest) -> None:
        self._pick(component_id).fetch(component_id, request)

    def fetch_dependency(self, uri: str, max_size: int) -> bytes:
        return self.flash.fetch_dependency(uri, max_size)

    def write(self, component_id: ComponentId, content: bytes, *,
              metadata: bytes | None = None) -> None:
        self._pick(component_id).write(component_id, content, metadata=metadata)

    def copy(self, destination: ComponentId, source: ComponentId, size: int | None) -> None:
        self._same_kind(destination, source).copy(destination, source, size)

    def swap(self, first: ComponentId, second: ComponentId) -> None:
        if is_file_component(first) or is_file_component(second):
            raise UpdateRefused(RefusalReason.COMPONENT_UNSUPPORTED,
                                "swap of file components (install a new file instead)")
        self.flash.swap(first, second)

    def invoke(self, component_id: ComponentId, arguments: bytes | None) -> None:
        self._pick(component_id).invoke(component_id, arguments)

    def unlink(self, component_id: ComponentId) -> None:
        self._pick(component_id).unlink(component_id)

    def wait(self, wait_info: bytes) -> bool:
        return self.flash.wait(wait_info)

    def facts(self) -> DeviceFacts:
        return self.flash.facts()
