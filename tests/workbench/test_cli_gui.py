"""`suitwb gui` hands its options to the window untouched (it runs `python -m gui`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_suitwb_gui_passes_screenshot_through(tmp_path: Path) -> None:
    shot = tmp_path / "window.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "SUITWB_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run([sys.executable, "-m", "workbench.cli.main", "gui", "--screenshot", str(shot)],
                            env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_gui_is_listed_in_help() -> None:
    result = subprocess.run([sys.executable, "-m", "workbench.cli.main", "--help"],
                            capture_output=True, text=True, timeout=60)
    assert "gui" in result.stdout and "--screenshot" in result.stdout
