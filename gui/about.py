"""Help → About: the workbench's version, the same one `suitwb --version` prints
(`workbench.__version__`, from the installed distribution's metadata)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import qVersion
from PySide6.QtWidgets import QMessageBox

from workbench import __version__

if TYPE_CHECKING:
    from gui.main_window import MainWindow

logger = logging.getLogger(__name__)


def about_text() -> str:
    """The About box's text (rich text)."""
    return (f"<h3>SUIT Workbench {__version__}</h3>"
            "<p>A workstation for secure firmware updates built on the IETF SUIT standards "
            "(RFC 9019, RFC 9124, draft-ietf-suit-manifest).</p>"
            f"<p>Qt {qVersion()}, PySide6 {pyside_version}</p>")


def show_about(window: MainWindow) -> QMessageBox:
    """Open the About box (window-modal, so it never blocks the event loop)."""
    box = QMessageBox(QMessageBox.Icon.Information, "About SUIT Workbench", about_text(),
                      QMessageBox.StandardButton.Ok, window)
    box.setObjectName("about-box")
    box.open()
    return box


def install(window: MainWindow) -> None:
    """Add Help → About to the window's menu bar."""
    menu = window.menuBar().addMenu("&Help")
    window.add_action(menu, "&About SUIT Workbench", lambda: show_about(window))
