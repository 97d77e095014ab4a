"""Checks on a window screenshot: right size, and not blank (a window that failed to
draw, or a black X screen, is one or two colours)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QImage

#: gui.app renders --screenshot at this size, whatever the saved layout says.
SIZE = (1280, 800)


def distinct_colours(image: QImage, step: int = 7) -> int:
    """How many colours a grid of pixels shows."""
    return len({image.pixel(x, y) for x in range(0, image.width(), step)
                for y in range(0, image.height(), step)})


def check_screenshot(path: Path) -> None:
    """Fail unless `path` is a PNG of the window, drawn."""
    image = QImage(str(path))
    assert not image.isNull(), f"{path} is not an image"
    assert (image.width(), image.height()) == SIZE
    assert distinct_colours(image) > 8, f"{path} looks blank"
