"""The one way a panel asks for an existing file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFileDialog, QWidget


def open_existing_file(parent: QWidget, title: str, folder: Path, name_filter: str,
                       object_name: str, on_selected: Callable[[str], Any]) -> QFileDialog:
    """Open a window-modal dialog for an existing file and return it; `on_selected` gets the
    chosen path. Not the platform's native dialog: `open()` then never blocks the event loop,
    and tests can find it by `object_name` and drive it."""
    dialog = QFileDialog(parent, title, str(folder), name_filter)
    dialog.setObjectName(object_name)
    dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
    dialog.fileSelected.connect(on_selected)
    dialog.open()
    return dialog
