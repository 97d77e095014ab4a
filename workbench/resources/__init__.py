"""Data files shipped inside the package: project templates, example ceremonies, the unit.

They are read with `importlib.resources`, never through a path computed from
``__file__``, so an installed wheel (or a zipped one) finds them as a source checkout does.
pyproject.toml's package-data lists them for the wheel.

    templates/<name>/...     RFC 9019 §5 device classes (`workbench.project.templates`)
    ceremonies/*.toml        example ceremonies and their rehearsal answers files
    systemd/*.service        the loader as a service on a Linux device (docs/linux-device.md)
"""

from __future__ import annotations

import logging
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Final

from fileio import write_atomic

logger = logging.getLogger(__name__)

TEMPLATES: Final = "templates"
CEREMONIES: Final = "ceremonies"
SYSTEMD: Final = "systemd"
#: The unit template of `suitwb device serve` as a service, one instance per port.
LOADER_UNIT: Final = "suitwb-loader@.service"


def resource(*parts: str) -> Traversable:
    """The packaged file or folder at `parts` below this package (it may not exist)."""
    node = files(__name__)
    for part in parts:
        node = node / part
    return node


def copy_tree(source: Traversable, destination: Path) -> list[Path]:
    """Copy a packaged folder to `destination` (created), file by file.

    `shutil.copytree` needs a real directory; a Traversable may live in a zip.

    Returns:
        The files written, in the order written.

    Raises:
        OSError: a folder cannot be made.
        FileAccessError: a file cannot be written, or its path holds something that is
            not a regular file (fileio.write_atomic).
    """
    destination.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for child in sorted(source.iterdir(), key=lambda c: c.name):
        target = destination / child.name
        if child.is_dir():
            written += copy_tree(child, target)
        elif child.is_file():
            write_atomic(target, child.read_bytes())
            written.append(target)
    logger.debug("copied %d files to %s", len(written), destination)
    return written
