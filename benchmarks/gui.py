"""The window with a large release: 500 components and 5,000 commands (issue 6).

Figures:
- time to an interactive window: from creating the main window to the envelope shown in
  the inspector (tree, hex and badges painted), and to the project shown for editing;
- the longest UI-thread stall while editing: a 2 ms heartbeat timer on the UI thread
  records the longest gap between its ticks while a person's edits are replayed
  (add, rename, set a URI, drag a command into a 2,000-command sequence, move a component,
  undo, redo, select) with the live preview rebuilding in its worker meanwhile.
Targets: under 1 s and under 50 ms. Reference, same run: `suit.codec.decode_envelope` of
the same envelope (the format core's decode, which opening it must do anyway).

Run: `QT_QPA_PLATFORM=offscreen .venv/bin/python -m benchmarks.gui` (about 20 s).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PySide6.QtCore import SignalInstance

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

COMPONENTS = 500
COMMANDS = 5000
SEQUENCE_SPLIT = {"install": 2000, "validate": 1500, "load": 1500}


def write_project(folder: Path) -> Path:
    """A project with COMPONENTS components (each a small image) and COMMANDS explicit
    commands, written as a project file."""
    from workbench.project.model import Component, Image, Project
    from workbench.project.projectfile import save_project

    (folder / "images").mkdir(parents=True)
    project = Project(name="large", sequence_number=7)
    project.device.vendor_domain, project.device.model = "example.com", "large"
    for i in range(COMPONENTS):
        (folder / "images" / f"c{i}.bin").write_bytes(i.to_bytes(4, "big") * 64)
        project.components.append(Component(
            name=f"c{i}", id=[f"h'{i:04x}'"], image=Image(file=f"images/c{i}.bin"),
            uri=f"https://updates.example.com/c{i}.bin"))
    for name, count in SEQUENCE_SPLIT.items():
        entries = []
        for k in range(count // 2):
            entries += [{"set-component-index": k % COMPONENTS}, {"image-match": 15}]
        project.sequences[name] = entries
    return save_project(project, folder / "project.toml")


class Heartbeat:
    """Ticks every 2 ms on the UI thread; the longest gap is the longest stall."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer
        self.timer = QTimer(interval=2)
        self.timer.timeout.connect(self._tick)
        self.last = time.perf_counter()
        self.longest = 0.0

    def _tick(self) -> None:
        now = time.perf_counter()
        self.longest = max(self.longest, now - self.last)
        self.last = now

    def start(self) -> None:
        self.last, self.longest = time.perf_counter(), 0.0
        self.timer.start()


def pump(seconds: float) -> None:
    """Run the event loop for a while (the heartbeat ticks, workers report)."""
    from PySide6.QtCore import QEventLoop, QTimer
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def wait_for(signal: SignalInstance, timeout: float = 60.0) -> list[object]:
    """Run the event loop until `signal` fires."""
    from PySide6.QtCore import QEventLoop, QTimer
    loop = QEventLoop()
    got: list[object] = []

    def arrived(*args: object) -> None:
        got.extend(args)
        loop.quit()

    signal.connect(arrived)
    QTimer.singleShot(int(timeout * 1000), loop.quit)
    loop.exec()
    if not got:
        raise TimeoutError(str(signal))
    return got


def edits(window: object) -> list[tuple[str, Callable[[], object]]]:
    """What a person does, one UI event each, as the widgets would call it."""
    from PySide6.QtCore import QModelIndex, Qt
    parts = window.authoring  # type: ignore[attr-defined]
    workspace = window.workspace  # type: ignore[attr-defined]
    install = parts.sequences.models["install"]
    palette = parts.palette.model()
    mime = palette.mimeData([palette.index(palette.row_of("vendor-identifier"), 0)])
    components = parts.components
    move = components.mimeData([components.index(COMPONENTS - 1, 1)])
    return [
        ("add component", parts.add_component),
        ("select component", lambda: workspace.select("component", "c250")),
        ("set fetch URI", lambda: parts.editor._commit(
            lambda: parts.editor._field("uri", "https://mirror.example.com/c250.bin"))),
        ("rename component", lambda: parts.editor._commit(lambda: parts.editor._rename("c250b"))),
        ("drag condition into 2,000 commands", lambda: install.dropMimeData(
            mime, Qt.DropAction.CopyAction, 1000, 0, QModelIndex())),
        ("drag component to the top", lambda: components.dropMimeData(
            move, Qt.DropAction.MoveAction, 0, 0, QModelIndex())),
        ("undo", workspace.undo_stack.undo),
        ("redo", workspace.undo_stack.redo),
        ("show sequences", lambda: window.show_view("sequences")),  # type: ignore[attr-defined]
        ("show components", lambda: window.show_view("components")),  # type: ignore[attr-defined]
    ]


def main() -> None:
    """Measure in a scratch folder that is removed afterwards, whatever happens."""
    with tempfile.TemporaryDirectory(prefix="suitwb-bench-", ignore_cleanup_errors=True) as name, \
            data_dir(Path(name) / "data"):
        measure(Path(name))


@contextmanager
def data_dir(folder: Path) -> Iterator[None]:
    """SUITWB_DATA_DIR set to `folder` meanwhile (the window's settings and records go
    there, not into the person's own data directory), then as it was."""
    before = os.environ.get("SUITWB_DATA_DIR")
    os.environ["SUITWB_DATA_DIR"] = str(folder)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("SUITWB_DATA_DIR", None)
        else:
            os.environ["SUITWB_DATA_DIR"] = before


def measure(folder: Path) -> None:
    """Build the large release in `folder`, open it in the window, replay the edits."""
    from gui.app import application, build_window
    from suit.codec import decode_envelope
    from workbench.project.builder import build_project
    from workbench.project.projectfile import load_project

    app = application()
    project_file = write_project(folder / "large")
    data = build_project(load_project(project_file)).data
    envelope_file = folder / "large.suit"
    envelope_file.write_bytes(data)
    reference = min(_timed(lambda: decode_envelope(data)) for _ in range(5))

    start = time.perf_counter()
    # Any: the authoring parts are attached to the window by gui.authoring.install.
    window: Any = build_window()
    window.resize(1280, 800)
    window.show()
    window.open_envelope(envelope_file)
    wait_for(window.inspector.loaded)
    window.inspector.select_path(next(iter(window.inspector.inspection.spans.by_path)))
    app.processEvents()
    inspector_ready = time.perf_counter() - start

    previewed: list[float] = []
    window.authoring.session.previewed.connect(lambda _p: previewed.append(time.perf_counter()))
    start = time.perf_counter()
    window.authoring.open_project(project_file)
    app.processEvents()
    project_ready = time.perf_counter() - start
    if not previewed:  # the worker may already have delivered it
        wait_for(window.authoring.session.previewed)
    preview_ready = previewed[0] - start

    beat = Heartbeat()
    beat.start()
    worst_edit, worst_name = 0.0, ""
    for name, edit in edits(window):
        pump(0.05)
        took = _timed(edit)
        if took > worst_edit:
            worst_edit, worst_name = took, name
    pump(3.0)  # the previews triggered by the edits rebuild in the worker meanwhile
    stall = beat.longest
    print(f"envelope: {len(data)} bytes, {COMPONENTS} components, {COMMANDS} commands; "
          f"{len(window.inspector.inspection.spans)} CBOR items")
    print(f"reference decode_envelope of the envelope: {reference * 1e3:.1f} ms")
    print(f"time to interactive, inspector: {inspector_ready * 1e3:.0f} ms "
          f"({inspector_ready / reference:.0f}x reference; target < 1000 ms)")
    print(f"time to interactive, project editing: {project_ready * 1e3:.0f} ms "
          f"(preview build with lint in the worker: {preview_ready * 1e3:.0f} ms)")
    print(f"longest single edit on the UI thread: {worst_edit * 1e3:.1f} ms ({worst_name})")
    print(f"longest UI-thread stall while editing: {stall * 1e3:.1f} ms "
          f"({stall / reference:.1f}x reference; target < 50 ms)")
    window.workspace.mark_saved()
    window.close()
    window.runner.wait()


def _timed(func: Callable[[], object]) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
