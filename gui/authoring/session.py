"""The authoring controller: opens, creates and saves projects, keeps a preview build and
its lint findings current after every edit (in a worker, debounced), and builds.

The preview works on a snapshot of the project, so the person can keep editing while a
worker hashes images and builds; a result that arrives after a newer edit is dropped.
"""

from __future__ import annotations

import copy
import dataclasses
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from gui.authoring.notation import explicit_sequence
from gui.workers import JobRunner, Progress
from gui.workspace import Workspace
from suit.errors import WorkbenchError
from suit.payloads import manifest_sequences
from workbench.project import templates
from workbench.project.builder import BuildOptions, BuildResult, build_project, write_envelope
from workbench.project.images import ImageInfo, digest_file
from workbench.project.lint import LintReport, lint_project
from workbench.project.model import Project
from workbench.project.projectfile import load_project, save_project
from workbench.project.values import DIGEST_NAMES

#: How long the preview waits after an edit before rebuilding (typing stays smooth).
PREVIEW_DELAY_MS = 250


@dataclass
class Preview:
    """The project as built now: what the views show beside the project itself.

    Attributes:
        images: Computed digest and size per component name (slot images under
            ``name[k]``); a failed image maps to its error.
        result: The unsigned build, or None if the project cannot be built.
        error: Why it cannot be built.
        generated: The sequences the builder generates, in explicit notation.
        lint: The lint report.
    """

    images: dict[str, ImageInfo | WorkbenchError] = field(default_factory=dict)
    result: BuildResult | None = None
    error: WorkbenchError | None = None
    generated: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    lint: LintReport = field(default_factory=lambda: LintReport(()))


class ImageCache:
    """Digests of image files by (path, size, mtime): each file is hashed once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[tuple[str, int, int], ImageInfo] = {}

    def info(self, path: Path, algorithm: int, progress: Progress, what: str) -> ImageInfo:
        """The digest and size of `path`, hashing it (with progress) if not known."""
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        with self._lock:
            if key in self._known:
                return self._known[key]
        info = digest_file(path, algorithm, lambda n: progress(n, stat.st_size, what))
        with self._lock:
            self._known[key] = info
        return info


def snapshot(project: Project) -> Project:
    """A deep copy for a worker, without the listeners (they hold Qt objects)."""
    return copy.deepcopy(dataclasses.replace(project, listeners=[]))


def preview_project(progress: Progress, project: Project, cache: ImageCache) -> Preview:
    """Hash the images, build unsigned and lint (a worker job)."""
    preview = Preview(images=_hash_images(progress, project, cache))
    progress(0, 0, "building preview")
    try:
        preview.result = build_project(project, BuildOptions())
    except WorkbenchError as exc:
        preview.error = exc
    if preview.result is not None:
        envelope = preview.result.envelope
        infos = {k: v for k, v in preview.images.items() if isinstance(v, ImageInfo)}
        shared = envelope.manifest.common.shared_sequence
        pairs = [("shared", shared)] if shared is not None else []
        for name, sequence in [*pairs, *manifest_sequences(envelope.manifest, envelope)]:
            preview.generated[name] = explicit_sequence(sequence, infos)
    progress(0, 0, "linting")
    preview.lint = lint_project(project)
    return preview


def _hash_images(progress: Progress, project: Project, cache: ImageCache) -> dict[str, Any]:
    algorithm = DIGEST_NAMES.get(project.digest_algorithm, -16)
    images: dict[str, Any] = {}
    for component in project.components:
        files = [(component.name, component.image)] if component.image else []
        files += [(f"{component.name}[{k}]", s.image) for k, s in enumerate(component.slots)]
        for key, image in files:
            if image is None or image.file is None:
                continue
            path = project.folder / image.file
            try:
                images[key] = cache.info(path, algorithm, progress, f"hashing {image.file}")
            except (OSError, WorkbenchError) as exc:
                images[key] = exc if isinstance(exc, WorkbenchError) else \
                    WorkbenchError(f"{image.file}: {exc.strerror or exc}")
    return images


class AuthoringSession(QObject):
    """Project lifecycle and the live preview.

    Signals:
        previewed(object): a new `Preview` for the current project state.
        built(str): the path of an envelope just built.
        blocked(object, str): a build stopped by lint errors: the `LintReport` and the
            target it would have written.
        failed(object, str): an exception and what was being done.
    """

    previewed = Signal(object)
    built = Signal(str)
    blocked = Signal(object, str)
    failed = Signal(object, str)

    def __init__(self, workspace: Workspace, runner: JobRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.runner = runner
        self.cache = ImageCache()
        self.preview = Preview()
        self._generation = 0
        self._running = False
        self._timer = QTimer(self, singleShot=True, interval=PREVIEW_DELAY_MS)
        self._timer.timeout.connect(self.refresh)
        workspace.projectChanged.connect(lambda *_: self.schedule())
        workspace.projectOpened.connect(self.refresh)

    # --- project lifecycle ----------------------------------------------------------------

    def new_from_template(self, template: str, destination: Path) -> Project:
        """Create a project from a template in `destination` and open it."""
        return self.open(templates.create_project(template, destination))

    def open(self, path: str | Path) -> Project:
        """Open a project file (raises ProjectError when it cannot be read)."""
        project = load_project(Path(path))
        self.workspace.set_project(project)
        return project

    def save(self, path: str | Path | None = None) -> Path:
        """Write the project file atomically and mark the state clean."""
        project = self.workspace.project
        if project is None:
            raise WorkbenchError("no project is open")
        target = save_project(project, Path(path) if path else None)
        self.workspace.mark_saved()
        return target

    # --- preview --------------------------------------------------------------------------

    def schedule(self) -> None:
        """Refresh the preview shortly (edits in quick succession refresh once)."""
        self._generation += 1
        self._timer.start()

    def refresh(self) -> None:
        """Start a preview job now (or once the running one ends)."""
        project = self.workspace.project
        if project is None:
            return
        if self._running:
            self._timer.start()
            return
        self._running = True
        generation = self._generation
        job = self.runner.submit(preview_project, snapshot(project), self.cache,
                                 title="Building preview",
                                 on_success=lambda p: self._previewed(p, generation),
                                 on_error=lambda e: self.failed.emit(e, "build the preview"))
        job.finished.connect(self._job_done)

    def _job_done(self) -> None:
        self._running = False

    def _previewed(self, preview: Preview, generation: int) -> None:
        if generation != self._generation:
            return  # the project changed meanwhile; the scheduled refresh brings the new one
        self.preview = preview
        self.previewed.emit(preview)

    # --- build ----------------------------------------------------------------------------

    def build_path(self) -> Path:
        """Where a build of the open project goes: ``build/<name>.suit`` beside it."""
        project = self.workspace.project
        assert project is not None  # noqa: S101 - invariant: callers check a project is open
        return project.folder / "build" / f"{project.name}.suit"

    def build(self, target: Path | None = None, *, anyway: bool = False) -> None:
        """Build the project (unsigned) in a worker and write the envelope atomically.

        The project is linted first: a finding of severity error stops the build and
        `blocked` says so, unless `anyway` (the person confirmed "Build anyway").
        """
        project = self.workspace.project
        if project is None:
            return
        target = target or self.build_path()
        self.runner.submit(_build_to, snapshot(project), target, anyway,
                           title=f"Building {target.name}",
                           on_success=lambda done: self._built(done, target),
                           on_error=lambda e: self.failed.emit(e, "build the envelope"))

    def _built(self, done: Path | LintReport, target: Path) -> None:
        if isinstance(done, LintReport):
            self.blocked.emit(done, str(target))
            return
        self.workspace.last_build = Path(done)
        self.built.emit(str(done))


def _build_to(progress: Progress, project: Project, target: Path,
              anyway: bool) -> Path | LintReport:
    if not anyway:
        progress(0, 3, "linting")
        report = lint_project(project)
        if report.errors:
            return report  # nothing written: the person decides (Build anyway)
    progress(0, 2, "building")
    result = build_project(project, BuildOptions())
    progress(1, 2, f"writing {target.name}")
    target.parent.mkdir(parents=True, exist_ok=True)
    write_envelope(result, target)
    return target
