"""Screenshots of each main view (artifacts/gui/; the README shows docs/images/window-*.png from tests/gui2/test_view_pictures.py), and the
`--screenshot` command line run as its own process, as `make`/README use it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from gui.app import build_window, save_screenshot, settle
from gui.authoring.demo import open_demo
from tests.fixtures.vectors import MANIFEST_SPEC
from workbench.project.commands import SetValue

ROOT = Path(__file__).resolve().parents[2]


def _distinct_colours(image: QImage) -> int:
    step = 37
    return len({image.pixel(x, y) for x in range(0, image.width(), step)
                for y in range(0, image.height(), step)})


@pytest.fixture
def demo_window(qtbot):
    window = build_window()
    window.resize(1280, 800)
    window.show()
    with qtbot.waitSignal(window.authoring.session.previewed, timeout=20000):
        open_demo(window)
    yield window
    window.workspace.mark_saved()
    window.close()
    window.runner.wait()
    window.deleteLater()


def test_screenshot_of_each_main_view(qtbot, demo_window, artifacts):
    window = demo_window
    parts = window.authoring
    with qtbot.waitSignal(parts.session.built, timeout=20000) as built:
        parts.build()
    # A second component loaded from the first gives the graph an edge to show.
    parts.add_component()
    window.workspace.push(SetValue(("component", "component1", "load-from"), "app"))
    window.workspace.push(SetValue(("component", "component1", "display-name"), "RAM copy"))
    window.workspace.select("component", "app")
    shots = {}
    for view in ("components", "sequences", "graph"):
        window.show_view(view)
        if view == "sequences":
            parts.sequences.show_sequence("install")
            window.docks["palette"].raise_()
        shots[view] = save_screenshot(window, artifacts / f"{view}.png")
        window.docks["editor"].raise_()
    # The inspector and the diff are wide views: the right-hand docks step aside.
    right = [d for d in window.docks.values()
             if window.dockWidgetArea(d) == Qt.DockWidgetArea.RightDockWidgetArea]
    for dock in right:
        dock.hide()
    with qtbot.waitSignal(window.inspector.loaded, timeout=20000):
        window.open_envelope(built.args[0])
    path = window.inspector.inspection.spans.by_path
    window.inspector.select_path(next(p for p in path if len(p) == 4 and p[-1] == 2))
    shots["inspector"] = save_screenshot(window, artifacts / "inspector.png")
    with qtbot.waitSignal(window.diff.compared, timeout=20000):
        window.show_view("diff")
        window.diff.set_file(0, MANIFEST_SPEC / "example4.cbor")
        window.diff.set_file(1, MANIFEST_SPEC / "example5.cbor")
    settle(window)
    shots["diff"] = save_screenshot(window, artifacts / "diff.png")
    for dock in right:
        dock.show()
    for name, shot in shots.items():
        image = QImage(str(shot))
        assert (image.width(), image.height()) == (1280, 800), name
        assert _distinct_colours(image) > 8, f"{name} looks blank"


def test_screenshot_command_line_renders_the_demo_and_exits(tmp_path, data_dir):
    target = tmp_path / "shot.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "SUITWB_DATA_DIR": str(data_dir)}
    run = subprocess.run([sys.executable, "-m", "gui", "--screenshot", str(target)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    image = QImage(str(target))
    assert (image.width(), image.height()) == (1280, 800)
    assert _distinct_colours(image) > 8
    # The demo workspace was created on first run, from the single-MCU template.
    assert (data_dir / "demo-workspace" / "single-mcu" / "project.toml").is_file()
