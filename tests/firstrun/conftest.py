"""Helpers for the first-run tests: a clean environment (no settings, tokens or data of
the person running the tests leak in) and `suitwb` launchers that run this tree's code."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: Variables that would point the workbench, SoftHSM2 or Qt at the caller's own files.
_LEAKY = ("SOFTHSM2_CONF", "SUITWB_DATA_DIR", "SUITWB_PIN", "XDG_DATA_HOME",
          "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR",
          "PYTHONPATH", "DISPLAY", "XAUTHORITY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """os.environ without anything that points at the caller's files, with HOME=`home`."""
    env = {k: v for k, v in os.environ.items() if k not in _LEAKY}
    env.update(HOME=str(home), **extra)
    return env


def write_launcher(path: Path, module: str) -> Path:
    """A script `path` running ``python -m module`` on this tree's code, as the venv's
    console scripts do for an installed tree."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\nPYTHONPATH="{ROOT}" exec "{sys.executable}" -m {module} "$@"\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


@pytest.fixture
def fake_venv(tmp_path: Path) -> Path:
    """A folder shaped like the Makefile's venv: bin/suitwb and bin/suit-workbench."""
    venv = tmp_path / "venv"
    write_launcher(venv / "bin" / "suitwb", "workbench.cli.main")
    write_launcher(venv / "bin" / "suit-workbench", "gui")
    return venv
