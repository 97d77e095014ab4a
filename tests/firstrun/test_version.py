"""One version from one place (issue 12): pyproject.toml's [project] version, read back
from the installed metadata as `workbench.__version__`, shown by `suitwb --version` and
by the window's Help → About."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.firstrun.conftest import ROOT


def project_version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def test_workbench_version_is_the_distributions() -> None:
    import workbench
    assert workbench.__version__ == version("suit-workbench") == project_version()


def test_suitwb_version_prints_it() -> None:
    run = subprocess.run([sys.executable, "-m", "workbench.cli.main", "--version"],
                         check=False, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"suitwb {project_version()}"


def test_about_box_shows_it(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUITWB_DATA_DIR", str(tmp_path))
    from PySide6.QtWidgets import QMessageBox

    from gui.about import install
    from gui.main_window import MainWindow
    window = MainWindow()
    qtbot.addWidget(window)
    install(window)
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    about = next(a for a in help_menu.actions() if "About" in a.text())
    about.trigger()
    box = window.findChild(QMessageBox, "about-box")
    assert box is not None and box.isVisible()
    assert f"SUIT Workbench {project_version()}" in box.text()
    box.close()
