"""Session-wide test set-up. Qt must run headless: the platform is chosen before any
QApplication exists, so it is set here, before any test module imports PySide6."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

pytest_plugins = ["tests.fixtures.vectors", "tests.fixtures.softhsm", "tests.fixtures.qt",
                  "tests.fixtures.postgres"]
