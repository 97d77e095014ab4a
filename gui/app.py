"""Application start-up: parse the window's arguments, create the QApplication, show the
main window. (Minimal window until the GUI issues land.)"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from PySide6.QtWidgets import QApplication, QLabel, QMainWindow


def main(argv: Sequence[str]) -> int:
    """Open the workstation; return the Qt event loop's exit status."""
    parser = argparse.ArgumentParser(prog="suit-workbench")
    parser.add_argument("--demo", action="store_true", help="open the demo workspace")
    args = parser.parse_args(list(argv))
    app = QApplication.instance() or QApplication(["suit-workbench"])
    window = QMainWindow()
    window.setWindowTitle("SUIT Workbench" + (" — demo workspace" if args.demo else ""))
    window.setCentralWidget(QLabel("SUIT Workbench"))
    window.resize(1200, 800)
    window.show()
    return app.exec()
