"""Application start-up: parse the window's arguments, create the QApplication, build the
main window with its views, and either run it or (``--screenshot``) render it to a PNG.

    suit-workbench [--demo] [--screenshot PATH] [FILE ...]

FILE may be a project (``.toml``) or an envelope (``.suit``, ``.cbor``) to inspect.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from gui.collector import UiThreadCollector
from gui.main_window import MainWindow
from workbench import __version__

logger = logging.getLogger(__name__)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The window's command line."""
    parser = argparse.ArgumentParser(prog="suit-workbench",
                                     description="SUIT Workbench: the workstation window.")
    parser.add_argument("--demo", action="store_true",
                        help="open the demo workspace (created on first run in the data dir)")
    parser.add_argument("--screenshot", metavar="PATH",
                        help="open the demo workspace, render the window to PATH (PNG) and exit")
    parser.add_argument("files", nargs="*", help="project (.toml) or envelopes to open")
    argv = list(argv)
    if argv[:1] == ["--"]:  # `suitwb gui -- --screenshot x.png` passes the separator on
        argv = argv[1:]
    return parser.parse_args(argv)


def application() -> QApplication:
    """The QApplication, created once."""
    app = QApplication.instance()
    if app is None:
        app = QApplication(["suit-workbench"])
        app.setApplicationName("SUIT Workbench")
        app.setOrganizationName("SUIT Workbench")
        app.setApplicationVersion(__version__)
        UiThreadCollector(app).start()  # collection only on the UI thread (gui/collector.py)
        from gui.authoring.blocks import release_clipboard
        app.aboutToQuit.connect(release_clipboard)  # a copied block must not crash the exit
    return app  # type: ignore[return-value]


def build_window() -> MainWindow:
    """The main window with every view of this release registered."""
    from gui.authoring.install import install_authoring
    window = MainWindow()
    install_authoring(window)
    from gui.authoring.release_fields import install as install_release_fields
    install_release_fields(window)
    from gui.release_panels import install
    install(window)
    from gui.ceremony_wizard import install as install_ceremonies
    install_ceremonies(window)
    from gui.about import install as install_about
    install_about(window)
    from gui.log_panel import install as install_log
    install_log(window)
    from gui.tooltips import apply_tooltips
    apply_tooltips(window)
    # Editors add rows (slots, text fields) as the selection changes: cover those too.
    for signal in (window.workspace.projectOpened, window.workspace.selectionChanged):
        signal.connect(lambda *_: QTimer.singleShot(0, window, lambda: apply_tooltips(window)))
    return window


def settle(window: MainWindow, rounds: int = 50) -> None:
    """Let background jobs finish and their results reach the views."""
    app = application()
    for _ in range(rounds):
        app.processEvents()
        if not window.runner.busy:
            break
        window.runner.wait(100)
    app.processEvents()


def save_screenshot(window: MainWindow, path: str | Path) -> Path:
    """Render the window to a PNG file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    settle(window)
    if not window.grab().save(str(path), "PNG"):
        raise OSError(f"could not write {path}")
    return path


def main(argv: Sequence[str]) -> int:
    """Open the workstation; return the Qt event loop's exit status."""
    args = parse_args(argv)
    from gui.authoring.demo import data_dir
    from gui.log_panel import start_file_log
    file_log = start_file_log(data_dir())
    try:
        return _run(args)
    finally:
        if file_log is not None:
            file_log.close()


def _run(args: argparse.Namespace) -> int:
    app = application()
    window = build_window()
    if args.screenshot:
        window.resize(1280, 800)  # the README's size, whatever the saved layout says
    else:
        window.restore_layout()
    if args.demo or args.screenshot:
        from gui.release_panels import open_demo  # opens the project too, then the demo's token and device
        open_demo(window, flow=bool(args.screenshot))
    for name in args.files:
        window.open_path(name)
    window.show()
    if args.screenshot:
        QTimer.singleShot(0, lambda: app.exit(_screenshot_and_close(window, args.screenshot)))
    return app.exec()


def _screenshot_and_close(window: MainWindow, path: str) -> int:
    try:
        save_screenshot(window, path)
    except OSError as exc:
        logger.error("screenshot not saved: %s", exc)
        print(f"suit-workbench: error: {exc}", file=sys.stderr)  # the launcher's own output
        return 2
    window.workspace.mark_saved()  # nothing to ask about: the demo is saved on disk
    window.close()
    return 0
