"""The demo workspace: a project from the single-MCU template in the user's data dir
(SUITWB_DATA_DIR overrides), created on first run, opened with its build inspected."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from suit.errors import WorkbenchError
from workbench.project.templates import PROJECT_FILE, create_project

if TYPE_CHECKING:
    from gui.main_window import MainWindow

DEMO_TEMPLATE = "single-mcu"


def data_dir() -> Path:
    """Where the workbench keeps its data: SUITWB_DATA_DIR, else the platform's place."""
    override = os.environ.get("SUITWB_DATA_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir("suit-workbench"))


def demo_project_file() -> Path:
    """The demo project, created from the template the first time."""
    folder = data_dir() / "demo-workspace" / DEMO_TEMPLATE
    project_file = folder / PROJECT_FILE
    if not project_file.is_file():
        create_project(DEMO_TEMPLATE, folder)
    return project_file


def open_demo(window: MainWindow) -> None:
    """Open the demo project in the window; errors go to the error presenter."""
    try:
        window.openers[".toml"](demo_project_file())
    except WorkbenchError as exc:
        window.errors.show(exc, "open the demo workspace")
