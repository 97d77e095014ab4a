"""The Help menu: the documentation pages (docs/*.md, shown in the window), the keyboard
shortcuts (read from the window's own actions, so the list is never out of date), and
About with the versions that matter in a bug report: the workbench (`suitwb --version`'s),
Qt and PySide6, Python, cryptography and python-pkcs11.
"""

from __future__ import annotations

import logging
import platform
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Final

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import qVersion
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from workbench import __version__

if TYPE_CHECKING:
    from gui.main_window import MainWindow

logger = logging.getLogger(__name__)

#: The documentation folder of a source checkout (an installed wheel has none).
DOCS: Final = Path(__file__).resolve().parents[1] / "docs"
#: Distributions whose versions About names, with how a person knows them.
LIBRARIES: Final = (("cryptography", "cryptography"), ("python-pkcs11", "python-pkcs11"),
                    ("pyserial", "pyserial"), ("cbor2", "cbor2"))


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def versions() -> list[tuple[str, str]]:
    """(name, version) of the workbench and what it runs on."""
    found = [("SUIT Workbench", __version__), ("Qt", qVersion()), ("PySide6", pyside_version),
             ("Python", platform.python_version())]
    return found + [(label, _version(name)) for label, name in LIBRARIES]


def about_text() -> str:
    """The About box's text (rich text)."""
    rows = "".join(f"<tr><td>{name}</td><td>{version}</td></tr>" for name, version in versions())
    return (f"<h3>SUIT Workbench {__version__}</h3>"
            "<p>A workstation for secure firmware updates built on the IETF SUIT standards "
            "(RFC 9019, RFC 9124, draft-ietf-suit-manifest).</p>"
            f"<table>{rows}</table>")


def show_about(window: MainWindow) -> QMessageBox:
    """Open the About box (window-modal, so it never blocks the event loop)."""
    box = QMessageBox(QMessageBox.Icon.Information, "About SUIT Workbench", about_text(),
                      QMessageBox.StandardButton.Ok, window)
    box.setObjectName("about-box")
    box.open()
    return box


def doc_pages(folder: Path = DOCS) -> list[tuple[str, Path]]:
    """(title, file) of each documentation page: its first heading, else its name."""
    pages = []
    for path in sorted(folder.glob("*.md")):
        first = path.read_text(encoding="utf-8", errors="replace").lstrip().splitlines()[:1]
        title = first[0].lstrip("# ").strip() if first and first[0].startswith("#") else path.stem
        pages.append((title, path))
    return pages


def _dialog(window: QWidget, title: str, name: str, body: QWidget) -> QDialog:
    dialog = QDialog(window)
    dialog.setObjectName(name)
    dialog.setWindowTitle(title)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.close)
    layout = QVBoxLayout(dialog)
    layout.addWidget(body, 1)
    layout.addWidget(buttons)
    dialog.resize(900, 640)
    dialog.open()
    return dialog


def show_page(window: QWidget, path: Path) -> QDialog:
    """Show one documentation page, rendered, with its images and links to its siblings."""
    browser = QTextBrowser()
    browser.setObjectName("doc-page")
    browser.setOpenExternalLinks(True)
    browser.setSearchPaths([str(path.parent)])
    browser.setMarkdown(path.read_text(encoding="utf-8", errors="replace"))
    return _dialog(window, path.name, "doc-dialog", browser)


def shortcut_rows(window: MainWindow) -> list[tuple[str, str]]:
    """(what, keys) for every menu entry with a shortcut, plus Ctrl+1… for the views."""
    rows = []
    for action in window.findChildren(QAction):
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        text = action.text().replace("&", "")
        if keys and text:
            rows.append((text, keys))
    rows.append(("Show the first, second… view", "Ctrl+1 … Ctrl+9"))
    return sorted(set(rows))


def show_shortcuts(window: MainWindow) -> QDialog:
    """The keyboard shortcuts, as a table."""
    rows = shortcut_rows(window)
    table = QTableWidget(len(rows), 2)
    table.setObjectName("shortcut-table")
    table.setHorizontalHeaderLabels(["Action", "Keys"])
    for row, (text, keys) in enumerate(rows):
        table.setItem(row, 0, QTableWidgetItem(text))
        table.setItem(row, 1, QTableWidgetItem(keys))
    table.resizeColumnsToContents()
    table.horizontalHeader().setStretchLastSection(True)
    return _dialog(window, "Keyboard shortcuts", "shortcuts-dialog", table)


def _opener(window: MainWindow, path: Path) -> Callable[[], QDialog]:
    return lambda: show_page(window, path)


def install(window: MainWindow) -> None:
    """Add the Help menu to the window's menu bar."""
    menu = window.menuBar().addMenu("&Help")
    docs = menu.addMenu("&Documentation")
    pages = doc_pages()
    for title, path in pages:
        window.add_action(docs, title, _opener(window, path))
    if not pages:
        docs.addAction("(the documentation is in the source repository's docs/)").setEnabled(False)
    window.add_action(menu, "&Keyboard shortcuts", lambda: show_shortcuts(window), "Ctrl+/")
    menu.addSeparator()
    window.add_action(menu, "&About SUIT Workbench", lambda: show_about(window))
    window.help_menu = menu  # type: ignore[attr-defined]
