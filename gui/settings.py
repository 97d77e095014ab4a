"""What the window remembers between runs, kept with QSettings: recent files, window
geometry and dock layout, the trust anchors the inspector verifies with, the last folder,
and where the factory records and the signing audit log live (a file or a DSN, issue 18).

Settings live in an INI file: under SUITWB_DATA_DIR when set (tests and the demo use it),
else where Qt keeps a user's settings.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from PySide6.QtCore import QByteArray, QSettings

ORGANIZATION: Final = "SUIT Workbench"
APPLICATION: Final = "suit-workbench"
MAX_RECENT: Final = 10


def settings_file() -> str | None:
    """The INI file to use, or None for Qt's per-user default."""
    data_dir = os.environ.get("SUITWB_DATA_DIR")
    return str(Path(data_dir) / "suit-workbench.ini") if data_dir else None


class Settings:
    """Typed access to the window's QSettings."""

    def __init__(self, path: str | None = None) -> None:
        path = path or settings_file()
        if path:
            self._qs = QSettings(path, QSettings.Format.IniFormat)
        else:
            self._qs = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope,
                                 ORGANIZATION, APPLICATION)

    # --- recent files ---------------------------------------------------------------------

    def recent_files(self) -> list[str]:
        """Most recent first; files that no longer exist are left out."""
        return [p for p in _strings(self._qs.value("recent/files", [])) if Path(p).exists()]

    def add_recent(self, path: str | Path) -> list[str]:
        """Put `path` first in the recent list; returns the new list."""
        path = str(Path(path).resolve())
        items = [path, *(p for p in self.recent_files() if p != path)][:MAX_RECENT]
        self._qs.setValue("recent/files", items)
        return items

    def clear_recent(self) -> None:
        """Forget every recent file."""
        self._qs.setValue("recent/files", [])

    # --- layout ---------------------------------------------------------------------------

    def window_state(self) -> tuple[QByteArray | None, QByteArray | None]:
        """(geometry, dock state) saved by `save_window_state`."""
        return self._qs.value("window/geometry"), self._qs.value("window/state")

    def save_window_state(self, geometry: QByteArray, state: QByteArray) -> None:
        """Remember the window's geometry and dock layout."""
        self._qs.setValue("window/geometry", geometry)
        self._qs.setValue("window/state", state)

    # --- trust anchors and folders --------------------------------------------------------

    def trust_anchor_files(self) -> list[str]:
        """PEM or COSE_Key files the inspector verifies signatures with."""
        return _strings(self._qs.value("inspector/trust_anchors", []))

    def set_trust_anchor_files(self, paths: list[str]) -> None:
        """Replace the inspector's trust anchors."""
        self._qs.setValue("inspector/trust_anchors", list(paths))

    def last_folder(self) -> str:
        """The folder the last file dialog was in."""
        return str(self._qs.value("files/last_folder", str(Path.home())))

    def set_last_folder(self, folder: str | Path) -> None:
        """Remember where the person last opened or saved a file."""
        self._qs.setValue("files/last_folder", str(folder))

    # --- shared databases (issue 18) -------------------------------------------------------

    def records_target(self) -> str:
        """The factory records' file or ``postgresql://`` DSN ("" for the default)."""
        return str(self._qs.value("storage/records", "") or "")

    def audit_target(self) -> str:
        """The signing audit log's file or ``postgresql://`` DSN ("" for the default)."""
        return str(self._qs.value("storage/audit", "") or "")

    def set_storage_targets(self, records: str, audit: str) -> None:
        """Remember both (never with a password: see `gui.records_panel.check_target`)."""
        self._qs.setValue("storage/records", records)
        self._qs.setValue("storage/audit", audit)

    def sync(self) -> None:
        """Write to disk now."""
        self._qs.sync()


def _strings(value: object) -> list[str]:
    """A list setting as QSettings returns it: one string for a one-item list, a list for
    more, None or anything else (a hand-edited file) for none."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []
