"""Issue 17, acceptance: a picture of each main view at 1280x800 after the demo flow,
and no header section or label of the main views narrower than its text at that size
(nothing clipped). The pictures go to a temporary folder; `make pictures` runs this test
with SUITWB_UPDATE_PICTURES=1 to regenerate docs/images/window-*.png (the docs show them),
so `make test` never leaves the work tree changed."""

from __future__ import annotations

import os
import re
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QDockWidget, QHeaderView, QLabel, QMainWindow, QScrollArea, QTabBar, QWidget

from gui.app import save_screenshot, settle
from gui.release_panels import ReleasePanels, run_flow
from tests.fixtures.vectors import MANIFEST_SPEC
from tests.gui2.steps import TIMEOUT

IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
#: Pixels a header section needs beside its text (margins and the sort indicator's room).
HEADER_PADDING = 8


def _shown(widget: QWidget) -> bool:
    return widget.isVisibleTo(widget.window()) and widget.isVisible() and widget.width() > 0


def clipped(window: QWidget, whole: tuple[QWidget, ...] = ()) -> list[str]:
    """Labels and header sections, visible now, narrower than their text; and columns of
    the views in `whole` (the inspector's tree, the diff) that are off-screen."""
    found = []
    for label in window.findChildren(QLabel):
        text = label.text()
        if (not _shown(label) or not text or label.wordWrap() or "<" in text
                or not label.pixmap().isNull()):
            continue
        needed = max(label.fontMetrics().horizontalAdvance(line) for line in text.splitlines())
        room = label.contentsRect().width() - 2 * label.margin() - 2 * label.indent()
        if room < needed:
            found.append(f"label {text!r} ({label.objectName() or type(label.parent()).__name__}): "
                         f"{room} < {needed} px")
    for header in window.findChildren(QHeaderView):
        if not _shown(header) or header.orientation() != Qt.Orientation.Horizontal:
            continue
        model = header.model()
        for section in range(header.count()):
            if header.isSectionHidden(section) or model is None:
                continue
            text = str(model.headerData(section, Qt.Orientation.Horizontal) or "")
            needed = header.fontMetrics().horizontalAdvance(text) + HEADER_PADDING
            owner = header.parent().objectName() or type(header.parent()).__name__
            if text and header.sectionSize(section) < needed:
                found.append(f"header {text!r} of {owner}: {header.sectionSize(section)} < "
                             f"{needed} px")
            if header.parent() in whole and \
                    header.sectionPosition(section) >= header.viewport().width():
                found.append(f"column {text!r} of {owner} is off-screen (scroll to see it)")
    return found


def tab_bar_problems(window: QMainWindow) -> list[str]:
    """Tabs of the window's visible tab bars that are cut, elided or scrolled out of sight."""
    found = []
    for bar in window.findChildren(QTabBar):
        if not _shown(bar):
            continue
        for index in range(bar.count()):
            rect, text = bar.tabRect(index), bar.tabText(index)
            needed = bar.fontMetrics().horizontalAdvance(text)
            if rect.left() < 0 or rect.right() >= bar.width() or rect.width() < needed:
                found.append(f"tab {text!r} of {bar.objectName() or type(bar.parent()).__name__}:"
                             f" {rect.left()}..{rect.right()} in 0..{bar.width() - 1}, "
                             f"{rect.width()} px for {needed} px of text")
    return found


def sideways_scrolling(window: QMainWindow) -> list[str]:
    """Docked form panels (the component editor) and main views whose content is wider
    than their room, so part of each row is cut off until one scrolls sideways."""
    found = []
    areas = [dock.widget() for dock in window.findChildren(QDockWidget)]
    areas += [window.tabs.currentWidget()]  # the view in front, in its scroll area
    for area in areas:
        if isinstance(area, QScrollArea) and _shown(area) and area.widget() is not None and area.horizontalScrollBar().maximum() > 0:
            name = area.widget().objectName() or type(area.widget()).__name__
            found.append(f"{name} scrolls sideways: {area.widget().width()} px content in "
                         f"{area.viewport().width()} px")
    return found


def test_each_main_view_at_1280x800_is_pictured_and_nothing_is_clipped(
        qtbot, parts: ReleasePanels, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    images = IMAGES if os.environ.get("SUITWB_UPDATE_PICTURES") == "1" else tmp_path
    assert run_flow(parts, timeout=TIMEOUT / 1000)
    window = parts.window
    # The inspector and the diff show something: the signed release and two spec examples.
    with qtbot.waitSignal(window.inspector.loaded, timeout=TIMEOUT):
        window.open_envelope(parts.flash.bundle.text())
    with qtbot.waitSignal(window.diff.compared, timeout=TIMEOUT):
        window.diff.set_file(0, MANIFEST_SPEC / "example4.cbor")
        window.diff.set_file(1, MANIFEST_SPEC / "example5.cbor")
    window.reset_layout()
    window.statusBar().clearMessage()
    assert (window.width(), window.height()) == (1280, 800)
    images.mkdir(parents=True, exist_ok=True)
    problems: dict[str, list[str]] = {}
    for key in list(window.views):
        window.show_view(key)
        qtbot.wait(30)
        settle(window)
        shot = save_screenshot(window, images / f"window-{key}.png")
        image = QImage(str(shot))
        assert (image.width(), image.height()) == (1280, 800), key
        found = clipped(window, (window.inspector.tree, window.diff.table))
        found += tab_bar_problems(window) + sideways_scrolling(window)
        if key == "inspector" and window.inspector.hex.viewport().width() < \
                window.inspector.hex.content_width():
            found.append("hex view narrower than a row of 16 bytes")
        if found:
            problems[key] = found
    window.resize(1920, 1080)  # the other size the window must fit without clipping
    for key in list(window.views):
        window.show_view(key)
        qtbot.wait(30)
        found = clipped(window, (window.inspector.tree, window.diff.table))
        found += tab_bar_problems(window) + sideways_scrolling(window)
        if found:
            problems[f"{key} at 1920x1080"] = found
    assert problems == {}, "\n".join(f"{k}: {v}" for k, v in problems.items())


def test_every_picture_the_readme_and_docs_show_exists() -> None:
    """The README and docs show pictures that exist (the old view-*/panel-* copies were
    removed: they no longer matched the window; window-*.png are regenerated above)."""
    root = IMAGES.parents[1]
    missing = []
    for page in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"!\[[^\]]*\]\(([^)\s]+\.png)\)", text):
            if not (page.parent / target).is_file():
                missing.append(f"{page.relative_to(root)}: {target}")
    assert missing == []
